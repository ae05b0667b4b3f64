"""The runtime's HTTP/1.1 server for its ASGI app (`HttpApp`): a thin Trio loop over h11, one task a connection.

Why not hypercorn here: profiled at 50 conversations, hypercorn's per-request machinery (a task,
a memory channel, events, three or four cancel scopes per request, the response head and body in
two sends) was the largest share of the service's CPU per command, more than the executor or the
store (see bench/RESULTS.notes.md). This serves the same ASGI app with the app called in the
connection's own task, the response written with one `send`, and one cancel scope per connection
whose deadline moves to whatever the connection is waiting for (none while the app runs: the app
bounds its own waits). hypercorn still serves the demo backend and the fake Genesys.

Requests are read by h11, checked by `http1_head.py` (what h11 refuses, what we refuse on top);
answers are written here. Keep-alive and pipelining as HTTP/1.1 says; a request whose body the app
did not read to the end (a refusal on its head, 413) closes the connection after the answer. `Expect: 100-continue` is
answered when the app first reads the body. Responses carry `date`, a `content-length` when the
app's body comes whole, chunked framing when it streams without one (HTTP/1.0: the end of the
connection); a HEAD is answered without body.

Bounds: the head must arrive whole within `keep_alive_timeout` of the connection opening or of
the previous answer (else the connection is closed), a peer that takes no bytes of an answer for
`send_timeout` is dropped, a head, a chunk-size line or the trailers over `max_head` are refused
(h11's `max_incomplete_event_size`). What a body may be (size, time, budget) is the app's to bound
(`runtime/http.py`). How many connections may be open is `runtime/listener.py`'s.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote

import h11
import trio

from .http1_head import REASON_BYTES, REFUSALS, BadRequest, check_head, next_event, reader

__all__ = ["Http1Settings", "Http1Server", "WHOLE_BODY"]

# The ASGI scope extension carrying a request body that arrived whole with its head: the app takes it
# without a receive() (and so without setting a deadline for a wait that cannot happen).
WHOLE_BODY = "commandlang.whole_body"

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
log = logging.getLogger("commandlang.http")


class _Gone(Exception):
    """The peer closed or reset the connection."""


class Http1Settings:
    """The server's bounds (see the module docstring); one instance shared by every connection."""

    def __init__(
        self, *, keep_alive_timeout: float = 5.0, send_timeout: float = 30.0, max_head: int = 16 * 1024
    ) -> None:
        self.keep_alive_timeout = keep_alive_timeout
        self.send_timeout = send_timeout
        self.max_head = max_head


class Http1Server:
    """Serves the ASGI `app` on accepted stdlib sockets: `await server.serve_connection(sock, prefix)`.

    `terminate()` (shutdown): connections waiting for a request close now, busy ones after their answer."""

    def __init__(self, app: Any, settings: Http1Settings | None = None) -> None:
        self.app = app
        self.settings = settings or Http1Settings()
        self.terminated = False
        self._idle: set[trio.CancelScope] = set()
        self._date = (0, b"")

    def terminate(self) -> None:
        self.terminated = True
        for scope in list(self._idle):
            scope.cancel()

    def date(self) -> bytes:
        now = int(time.time())
        if self._date[0] != now:  # formatted once a second
            self._date = (now, formatdate(now, usegmt=True).encode("ascii"))
        return self._date[1]

    async def serve_connection(self, sock: socket.socket, prefix: bytes = b"") -> None:
        """Serve requests on `sock` (non-blocking, ours to close) until either side ends the connection."""
        try:
            peer = sock.getpeername()
            local = sock.getsockname()
            connection = _Connection(self, sock, prefix, (peer[0], peer[1]), (local[0], local[1]))
            with trio.CancelScope() as connection.scope:
                while not self.terminated and await connection.serve_one():
                    pass
        except (_Gone, OSError):
            pass
        finally:
            trio.lowlevel.notify_closing(sock)
            sock.close()


class _Connection:
    """One connection: the h11 state machine reading the request being served, and that request's state.

    h11 reads each request (a fresh `h11.Connection` a request, handed the bytes the previous one read
    ahead); the answer is written by `_head`: our own output, not a parse (see the module docstring)."""

    def __init__(self, server: Http1Server, sock: socket.socket, prefix: bytes, client: tuple, local: tuple) -> None:
        self.server = server
        self.settings = server.settings
        self.sock = sock
        self.h11 = reader(self.settings.max_head, prefix)
        self.client = client
        self.local = local
        self.scope = trio.CancelScope()
        self.read_ahead = 0  # bytes taken in after this request's end (pipelined), bounded by max_head
        # the request in progress
        self.body_done = True
        self.body_told = True  # the app was given the body's last message
        self.pending = b""  # body bytes read with the head, not yet given to the app
        self.head_method = False
        self.version_10 = False
        self.continued = False  # `100 Continue` sent
        self.started: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self.head_sent = False
        self.stream_chunked = False
        self.complete = False
        self.close_after = False
        self.broken = False

    # -- reading ----------------------------------------------------------
    async def _fill(self, deadline: float | None = None) -> None:
        """Hand h11 what the peer sent next; `_Gone` at its end. With `deadline`, the connection ends if
        nothing comes by then (without, the app's own deadlines bound the wait)."""
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                if deadline is not None:
                    self.scope.deadline = deadline
                try:
                    await trio.lowlevel.wait_readable(self.sock)
                finally:
                    self.scope.deadline = math.inf
                continue
            except OSError:
                raise _Gone from None
            if not data:
                raise _Gone
            self.h11.receive_data(data)
            return

    async def _read_head(self) -> h11.Request | None:
        deadline = trio.current_time() + self.settings.keep_alive_timeout
        while (event := next_event(self.h11)) is h11.NEED_DATA:
            idle = self.scope
            self.server._idle.add(idle)
            try:
                if self.server.terminated:
                    return None
                await self._fill(deadline)
            finally:
                self.server._idle.discard(idle)
        if type(event) is not h11.Request:
            return None  # h11.ConnectionClosed
        return event

    def _scope(self, request: h11.Request) -> dict[str, Any]:
        raw_path, query, self.close_after = check_head(request, self.settings.max_head)
        method = request.method
        self.head_method = method == b"HEAD"
        self.version_10 = request.http_version == b"1.0"
        self.body_done, self.body_told, self.read_ahead = False, False, 0
        self.pending = self._take_body()  # what came with the head
        path = raw_path.decode("ascii")
        return {
            "extensions": {WHOLE_BODY: self.pending} if self.body_done else {},
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version.decode("ascii"),
            "method": method.decode("ascii"),
            "scheme": "http",
            "path": unquote(path) if "%" in path else path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": list(request.headers),  # lower-case names, values stripped
            "client": self.client,
            "server": self.local,
        }

    def _take_body(self) -> bytes:
        """The body bytes h11 holds now, without waiting; `body_done` once h11 saw its end."""
        parts = []
        while type(event := next_event(self.h11)) is h11.Data:
            parts.append(event.data)
        self.body_done = type(event) is h11.EndOfMessage
        return b"".join(parts)

    async def receive(self) -> dict[str, Any]:
        """ASGI receive: the body as it arrives, then (once it is all read) `http.disconnect` at the end."""
        if self.pending or self.body_done:
            body, self.pending = self.pending, b""
            if not self.body_told:
                self.body_told = self.body_done
                return {"type": "http.request", "body": body, "more_body": not self.body_done}
            return await self._until_disconnect()
        if self.h11.they_are_waiting_for_100_continue and not self.head_sent and not self.continued:
            self.continued = True
            await self._write(_CONTINUE)
        try:
            while (event := next_event(self.h11)) is h11.NEED_DATA:
                await self._fill()
        except _Gone:
            self.broken = True
            return {"type": "http.disconnect"}
        body = bytes(event.data) + self._take_body() if type(event) is h11.Data else b""
        self.body_done = self.body_done or type(event) is h11.EndOfMessage  # trailers dropped
        self.body_told = self.body_done
        return {"type": "http.request", "body": body, "more_body": not self.body_done}

    async def _until_disconnect(self) -> dict[str, Any]:
        """After the body: wait until the peer goes (what a streaming answer watches for)."""
        while not self.broken:
            if self.read_ahead > self.settings.max_head:  # a pipelined flood: stop reading, it waits its turn
                await trio.sleep_forever()
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(self.sock)
                continue
            except OSError:
                data = b""
            if not data:
                self.broken = True
                break
            self.read_ahead += len(data)
            self.h11.receive_data(data)  # h11 keeps it (PAUSED) for the next request
        return {"type": "http.disconnect"}

    # -- writing ----------------------------------------------------------
    async def _write(self, data: bytes) -> None:
        if self.broken:
            return
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.broken = True
                return
            view = view[sent:]
            if view:
                self.scope.deadline = trio.current_time() + self.settings.send_timeout
                try:
                    await trio.lowlevel.wait_writable(self.sock)
                finally:
                    self.scope.deadline = math.inf

    async def send(self, message: dict[str, Any]) -> None:
        """ASGI send: the head is kept until the first body part, so a whole answer is one write."""
        kind = message["type"]
        if kind == "http.response.start":
            if self.started is not None:
                raise RuntimeError("http.response.start sent twice")
            self.started = (int(message["status"]), list(message.get("headers", ())))
            return
        if kind != "http.response.body" or self.started is None or self.complete:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        body = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        status = self.started[0]
        bodiless = self.head_method or status < 200 or status in (204, 304)
        if bodiless:
            body = b""
        if not self.head_sent:
            data = self._head(status, self.started[1], len(body), more, bodiless) + (
                (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") if self.stream_chunked else body
            )
        elif self.stream_chunked:
            data = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
        else:
            data = body
        if not more:
            self.complete = True
            if self.stream_chunked:
                data += b"0\r\n\r\n"
        if data:
            await self._write(data)

    def _head(self, status: int, headers: list, size: int, more: bool, bodiless: bool) -> bytes:
        self.head_sent = True
        lines = [b"HTTP/1.1 %d %s" % (status, REASON_BYTES.get(status, b"Unknown"))]
        has_length = False
        for name, value in headers:
            name, value = bytes(name), bytes(value)
            if b"\r" in name or b"\n" in name or b"\r" in value or b"\n" in value:
                raise RuntimeError("a response header holds a line break")
            lowered = name.lower()
            if lowered == b"content-length":
                has_length = True
            elif lowered == b"connection" and b"close" in value.lower():
                self.close_after = True
            elif lowered in (b"transfer-encoding", b"date"):
                continue  # framing and date are ours
            lines.append(name + b": " + value)
        if not has_length and not (status < 200 or status in (204, 304)):
            if not more:
                lines.append(b"content-length: %d" % size)
            elif self.version_10 or bodiless:
                self.close_after = True  # delimited by the end of the connection
            else:
                self.stream_chunked = True
                lines.append(b"transfer-encoding: chunked")
        if not self.body_done or self.server.terminated:
            self.close_after = True  # an unread body, or shutting down: this connection ends here
        if self.close_after:
            lines.append(b"connection: close")
        lines.append(b"date: " + self.server.date())
        return b"\r\n".join(lines) + b"\r\n\r\n"

    # -- one request --------------------------------------------------------
    async def serve_one(self) -> bool:
        """Serve the next request; True when the connection may carry another."""
        self.started, self.head_sent, self.stream_chunked, self.complete = None, False, False, False
        self.continued = False
        try:
            request = await self._read_head()
            if request is None:
                return False
            scope = self._scope(request)
        except BadRequest as refusal:
            await self._refuse(refusal)
            return False
        try:
            await self.server.app(scope, self.receive, self.send)
        except BadRequest as refusal:
            await self._refuse(refusal)
            return False
        except _Gone:
            return False
        except Exception:  # a bug in the app costs this request: answered 500 if nothing was sent yet
            log.exception("the HTTP app failed", extra={"stage": "http"})
            if self.started is None:
                await self._refuse(BadRequest(500, "internal error"))
            return False
        if not self.complete:
            if self.started is None:
                await self._refuse(BadRequest(500, "the app sent no answer"))
            return False
        if self.broken or self.close_after or not self.body_done:
            return False
        read_ahead = self.h11.trailing_data[0]
        self.h11 = reader(self.settings.max_head, read_ahead)
        if read_ahead:  # pipelined: let the others run before the next one
            await trio.lowlevel.checkpoint()
        return True

    async def _refuse(self, refusal: BadRequest) -> None:
        """Answer a refusal and end the connection (whatever the app sent is not sent after it)."""
        if self.head_sent:
            return
        self.head_sent = True
        status = refusal.status
        body = b'{"error":"%s"}' % REFUSALS.get(status, str(refusal)).encode("ascii", "replace")
        await self._write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n"
            b"date: %s\r\n\r\n%s" % (status, REASON_BYTES.get(status, b"Unknown"), len(body), self.server.date(), body)
        )
