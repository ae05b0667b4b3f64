"""A lean HTTP/1.1 server for the runtime's ASGI app (`HttpApp`), one connection at a time.

Why not hypercorn here: profiled at 50 conversations, hypercorn's per-request machinery (a task,
a memory channel, events, three or four cancel scopes and h11's generic event layer per request,
the response head and body in two sends) was the largest share of the service's CPU per command,
more than the executor or the store (see bench/RESULTS.notes.md). This serves the same ASGI app
with one non-blocking `recv` per request head, the app called in the connection's own task, the
response written with one `send`, and one cancel scope per connection whose deadline moves to
whatever the connection is waiting for (none while the app runs: the app bounds its own waits).
hypercorn still serves the demo backend and the fake Genesys.

What it accepts is `http1_head.py`'s (RFC 9112, strictly: anything else is answered 400, 501
or 505, 431 for a head over `max_head`, and the connection closes); one empty line before a
request line is skipped (RFC 9112 section 2.2); `Expect: 100-continue` is answered when the app
first reads the body.
Keep-alive and pipelining as HTTP/1.1 says; a request whose body the app did not read to the end
(a refusal on its head, 413) closes the connection after the answer. Responses carry `date`, a
`content-length` when the app's body comes whole, chunked framing when it streams without one;
a HEAD is answered without body.

Bounds: the head must arrive whole within `keep_alive_timeout` of the connection opening or of
the previous answer (else the connection is closed), a peer that takes no bytes of an answer for
`send_timeout` is dropped, a chunk-size line or the trailers over `max_head` are refused. What a
body may be (size, time, budget) is the app's to bound (`runtime/http.py`). How many connections
may be open is `runtime/listener.py`'s.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote

import trio

from .http1_head import REASONS, BadRequest, parse_head

__all__ = ["Http1Settings", "Http1Server", "WHOLE_BODY"]

# The ASGI scope extension carrying a request body that arrived whole with its head: the app takes it
# without a receive() (and so without setting a deadline for a wait that cannot happen).
WHOLE_BODY = "commandlang.whole_body"

log = logging.getLogger("commandlang.http")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


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
    """One connection's state: the bytes read ahead, and the request being served."""

    def __init__(self, server: Http1Server, sock: socket.socket, prefix: bytes, client: tuple, local: tuple) -> None:
        self.server = server
        self.settings = server.settings
        self.sock = sock
        self.buffer = bytearray(prefix)
        self.client = client
        self.local = local
        self.scope = trio.CancelScope()
        # the request in progress
        self.remaining = 0  # body bytes still to read (Content-Length framing)
        self.chunked = False
        self.body_done = True
        self.body_told = True  # the app was given the body's last message
        self.expect_continue = False
        self.whole_body = b""  # a body that came whole with its head (see WHOLE_BODY)
        self.head_method = False
        self.version_10 = False
        self.started: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self.head_sent = False
        self.stream_chunked = False
        self.complete = False
        self.close_after = False
        self.broken = False

    # -- reading ----------------------------------------------------------
    async def _fill(self, deadline: float | None = None) -> None:
        """Read what the peer sent next into the buffer; `_Gone` at its end. With `deadline`, the connection
        ends if nothing comes by then (without, the app's own deadlines bound the wait)."""
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                if deadline is None:
                    await trio.lowlevel.wait_readable(self.sock)
                    continue
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
            self.buffer += data
            return

    async def _read_head(self) -> bytes | None:
        buffer = self.buffer
        deadline = trio.current_time() + self.settings.keep_alive_timeout
        while True:
            if buffer[:2] == b"\r\n":  # one empty line before a request line is allowed
                del buffer[:2]
            end = buffer.find(b"\r\n\r\n")
            if end > self.settings.max_head or (end < 0 and len(buffer) > self.settings.max_head):
                raise BadRequest(431, "the request head is too large")
            if end >= 0:
                head = bytes(buffer[:end])
                del buffer[: end + 4]
                return head
            idle = self.scope
            self.server._idle.add(idle)
            try:
                if self.server.terminated:
                    return None
                await self._fill(deadline)
            finally:
                self.server._idle.discard(idle)

    def _parse(self, raw: bytes) -> dict[str, Any]:
        head = parse_head(raw)
        self.version_10 = head.http_10
        self.expect_continue = head.expect_continue
        self.chunked = head.chunked
        self.remaining = head.length
        self.body_done = not self.chunked and not self.remaining
        self.body_told = False
        self.close_after = head.close
        self.head_method = head.method == b"HEAD"
        raw_path, query = head.raw_path, head.query
        path = raw_path.decode("ascii")
        extensions = {}
        self.whole_body = b""
        if self.remaining and len(self.buffer) >= self.remaining:  # the whole body came with the head
            self.whole_body = bytes(self.buffer[: self.remaining])
            del self.buffer[: self.remaining]
            self.remaining, self.body_done = 0, True
            extensions[WHOLE_BODY] = self.whole_body
        return {
            "extensions": extensions,
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.0" if self.version_10 else "1.1",
            "method": head.method.decode("ascii"),
            "scheme": "http",
            "path": unquote(path) if "%" in path else path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": head.headers,
            "client": self.client,
            "server": self.local,
        }

    async def receive(self) -> dict[str, Any]:
        """ASGI receive: the body as it arrives, then (once it is all read) `http.disconnect` at the end."""
        if self.body_done:
            if not self.body_told:
                self.body_told = True
                body, self.whole_body = self.whole_body, b""
                return {"type": "http.request", "body": body, "more_body": False}
            return await self._until_disconnect()
        if self.expect_continue and not self.buffer and not self.head_sent:
            self.expect_continue = False
            await self._write(_CONTINUE)
        try:
            body = await (self._chunk() if self.chunked else self._bytes())
        except _Gone:
            self.broken = True
            return {"type": "http.disconnect"}
        self.body_told = self.body_done
        return {"type": "http.request", "body": body, "more_body": not self.body_done}

    async def _bytes(self) -> bytes:
        if not self.buffer:
            await self._fill()
        take = min(len(self.buffer), self.remaining)
        body = bytes(self.buffer[:take])
        del self.buffer[:take]
        self.remaining -= take
        self.body_done = not self.remaining
        return body

    async def _line(self) -> bytes:
        limit = self.settings.max_head
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > limit:
                raise BadRequest(400, "a chunk line is too long")
            await self._fill()
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    async def _chunk(self) -> bytes:
        """The next piece of a chunked body (RFC 9112 section 7.1); extensions ignored, trailers dropped."""
        if not self.remaining:
            size = (await self._line()).split(b";", 1)[0].strip()
            if not size or len(size) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in size):
                raise BadRequest(400, "bad chunk size")
            self.remaining = int(size, 16)
            if not self.remaining:  # the last chunk: trailers up to an empty line
                total = 0
                while line := await self._line():
                    total += len(line)
                    if total > self.settings.max_head:
                        raise BadRequest(400, "the trailers are too large")
                self.body_done = True
                return b""
        body = await self._bytes()
        self.body_done = False
        if not self.remaining:
            if await self._line():
                raise BadRequest(400, "a chunk is longer than its size")
        return body

    async def _until_disconnect(self) -> dict[str, Any]:
        """After the body: wait until the peer goes (what a streaming answer watches for)."""
        while not self.broken:
            if len(self.buffer) > self.settings.max_head:  # a pipelined flood: stop reading, it waits its turn
                await trio.sleep_forever()
            try:
                await self._fill()
            except _Gone:
                self.broken = True
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
        lines = [b"HTTP/1.1 %d %s" % (status, REASONS.get(status, "Unknown").encode())]
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
        try:
            head = await self._read_head()
            if head is None:
                return False
            scope = self._parse(head)
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
        if self.buffer:  # pipelined: let the others run before the next one
            await trio.lowlevel.checkpoint()
        return True

    async def _refuse(self, refusal: BadRequest) -> None:
        if self.head_sent:
            return
        self.started, self.close_after = (refusal.status, [(b"content-type", b"application/json")]), True
        self.body_done = True
        body = b'{"error":"%s"}' % str(refusal).encode("ascii", "replace")
        await self.send({"type": "http.response.body", "body": body})
