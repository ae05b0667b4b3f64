"""`H11Transport`: an httpx transport over h11 and Trio streams, with a small connection pool.

Why not httpx's default transport: under Trio, httpcore 1.0.9's pool rescans
every connection for every queued request (encode/httpcore#1035, still open),
so a shared client collapses from ~900 requests/s sequentially to ~280/s at 50
concurrent requests. Here the pool is a LIFO free-list per origin and a
`trio.Semaphore` bounding open connections: taking a connection is O(1), and
waiters are served in FIFO order by Trio.

Scope: HTTP/1.1 (plain or TLS), keep-alive, request bodies from httpx streams,
responses streamed to the caller (Content-Length, chunked, or read-to-close;
h11 does the framing). A connection goes back to the pool only once its
response has been read to the end and both sides may continue; otherwise it
is closed. A pooled connection the server closed while idle is detected before
use (the socket reads as ready) and, if the race is lost anyway (the server
closes it as we send), an idempotent or keyed request is retried once on a
fresh connection. Timeouts from httpx's `timeout` extension (connect, read,
write, pool) are enforced with Trio cancel scopes and raised as httpx's
timeout exceptions.
"""

from __future__ import annotations

import select
import ssl
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator

import h11
import httpx
import trio

__all__ = ["H11Transport", "PoolLimits"]

_RECEIVE_SIZE = 65536
_REPLAYABLE = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """How many connections one origin may hold open, and how long an idle one is kept."""

    max_connections: int = 100
    max_idle: int = 50
    idle_expiry: float = 4.0  # below common server keep-alive timeouts (hypercorn's default is 5 s)


class _StaleConnection(Exception):
    """A pooled connection turned out closed before the server said anything."""


class _Connection:
    """One HTTP/1.1 connection: a Trio stream plus its h11 state machine."""

    __slots__ = ("stream", "h11", "idle_since", "reused")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0
        self.reused = False

    def looks_alive(self, now: float, expiry: float) -> bool:
        """An idle connection is usable if fresh and the server has not closed it (nothing readable)."""
        if now - self.idle_since > expiry:
            return False
        sock = getattr(self.stream, "socket", None)
        if sock is None:
            # TLS: readable bytes may be a TLS 1.3 session ticket, not a close; rely on the
            # expiry and on the one safe retry in `_send` instead
            return True
        try:
            readable, _, _ = select.select([sock.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable  # EOF or unexpected bytes: either way it cannot carry a new request

    async def receive_event(self) -> h11.Event:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self.stream.receive_some(_RECEIVE_SIZE)
            self.h11.receive_data(data)  # b"" means EOF; h11 turns it into ConnectionClosed or an error

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


class _Origin:
    """The pool for one (scheme, host, port)."""

    __slots__ = ("idle", "slots")

    def __init__(self, limits: PoolLimits) -> None:
        self.idle: deque[_Connection] = deque()
        self.slots = trio.Semaphore(limits.max_connections)


class _ResponseStream(httpx.AsyncByteStream):
    """Streams a response body from h11; gives the connection back (or closes it) when done."""

    def __init__(self, transport: H11Transport, origin: _Origin, conn: _Connection, read_timeout: float | None) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: _Connection | None = conn
        self._complete = False
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        while True:
            try:
                with _timeout(self._read_timeout, httpx.ReadTimeout):
                    event = await conn.receive_event()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise httpx.ReadError(f"connection lost while reading the body: {exc.__class__.__name__}") from None
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from None
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._complete = True
                return
            else:  # ConnectionClosed before the end of the body
                raise httpx.RemoteProtocolError("peer closed the connection before the end of the body")

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._transport._release(self._origin, conn, reusable=self._complete)


class _timeout:
    """`trio.move_on_after` that raises an httpx timeout exception instead; no scope at all for None
    (this sits on the hot path several times per request, and most timeouts are None under the Executor)."""

    __slots__ = ("seconds", "error", "scope")

    def __init__(self, seconds: float | None, error: type[httpx.TimeoutException]) -> None:
        self.seconds, self.error = seconds, error
        self.scope: trio.CancelScope | None = None

    def __enter__(self) -> None:
        if self.seconds is not None:
            self.scope = trio.move_on_after(self.seconds)
            self.scope.__enter__()

    def __exit__(self, *exc_info: object) -> bool:
        if self.scope is None:
            return False
        suppressed = self.scope.__exit__(*exc_info)  # type: ignore[arg-type]
        if self.scope.cancelled_caught:
            raise self.error(f"{self.error.__name__} after {self.seconds}s")
        return bool(suppressed)


class H11Transport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` for Trio over h11 with a bounded keep-alive pool per origin."""

    def __init__(self, limits: PoolLimits = PoolLimits(), *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.limits = limits
        self._origins: dict[tuple[bytes, bytes, int], _Origin] = {}
        self._ssl_context = ssl_context
        self._closed = False

    # -- pool -------------------------------------------------------------
    def _origin(self, url: httpx.URL) -> tuple[_Origin, tuple[bytes, bytes, int]]:
        scheme = url.raw_scheme
        port = url.port or (443 if scheme == b"https" else 80)
        key = (scheme, url.raw_host, port)
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(self.limits)
        return origin, key

    async def _take_idle(self, origin: _Origin) -> _Connection | None:
        now = trio.current_time()
        while origin.idle:
            conn = origin.idle.pop()  # LIFO: the warmest connection is the least likely to be stale
            if conn.looks_alive(now, self.limits.idle_expiry):
                conn.reused = True
                return conn
            await conn.aclose()
        return None

    async def _connect(self, key: tuple[bytes, bytes, int], timeout: float | None) -> _Connection:
        scheme, host, port = key
        try:
            with _timeout(timeout, httpx.ConnectTimeout):
                stream: trio.abc.Stream = await trio.open_tcp_stream(host.decode("ascii"), port)
                if scheme == b"https":
                    context = self._ssl_context or ssl.create_default_context()
                    stream = trio.SSLStream(stream, context, server_hostname=host.decode("ascii"), https_compatible=True)
                    await stream.do_handshake()
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect: {exc.__class__.__name__}") from None
        except trio.BrokenResourceError as exc:
            raise httpx.ConnectError(f"TLS handshake failed: {exc.__class__.__name__}") from None
        sock = getattr(stream, "socket", None)
        if sock is not None:
            try:  # small request/response pairs: do not wait for Nagle
                sock.setsockopt(trio.socket.IPPROTO_TCP, trio.socket.TCP_NODELAY, 1)
            except OSError:
                pass
        return _Connection(stream)

    async def _release(self, origin: _Origin, conn: _Connection, *, reusable: bool) -> None:
        try:
            if (
                reusable
                and not self._closed
                and conn.h11.our_state is h11.DONE
                and conn.h11.their_state is h11.DONE
                and len(origin.idle) < self.limits.max_idle
            ):
                conn.h11.start_next_cycle()
                conn.idle_since = trio.current_time()
                origin.idle.append(conn)
            else:
                await conn.aclose()
        finally:
            origin.slots.release()

    # -- requests ---------------------------------------------------------
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and return the response with its body still streaming.

        The caller must close the response (httpx's client always does): that gives the
        connection back to the pool, or closes it when the body was not read to the end.
        """
        if self._closed:
            raise httpx.ConnectError("transport is closed")
        timeouts = request.extensions.get("timeout", {})
        origin, key = self._origin(request.url)
        try:
            origin.slots.acquire_nowait()  # the common case: no wait, and no extra trip through the scheduler
        except trio.WouldBlock:
            with _timeout(timeouts.get("pool"), httpx.PoolTimeout):
                await origin.slots.acquire()
        try:
            return await self._send(request, origin, key, timeouts)
        except BaseException:
            origin.slots.release()
            raise

    async def _send(self, request: httpx.Request, origin: _Origin, key: tuple[bytes, bytes, int], timeouts: dict) -> httpx.Response:
        replayable = request.method in _REPLAYABLE or "idempotency-key" in request.headers
        conn = await self._take_idle(origin)
        if conn is None:
            conn = await self._connect(key, timeouts.get("connect"))
        try:
            try:
                return await self._exchange(request, origin, conn, timeouts)
            except _StaleConnection:
                await conn.aclose()
                if not replayable:
                    raise httpx.RemoteProtocolError("server closed a kept-alive connection; not safe to resend") from None
            conn = await self._connect(key, timeouts.get("connect"))  # one retry, on a fresh connection
            try:
                return await self._exchange(request, origin, conn, timeouts)
            except _StaleConnection:
                raise httpx.RemoteProtocolError("server closed the connection without answering") from None
        except BaseException:
            await conn.aclose()
            raise

    async def _exchange(self, request: httpx.Request, origin: _Origin, conn: _Connection, timeouts: dict) -> httpx.Response:
        """Send one request and read the response head; the body streams later."""
        target = request.url.raw_path
        headers = request.headers.raw  # already a list of (bytes, bytes); h11 validates it
        answered = False
        try:
            with _timeout(timeouts.get("write"), httpx.WriteTimeout):
                head = conn.h11.send(h11.Request(method=request.method, target=target, headers=headers)) or b""
                try:
                    body: bytes | None = request.content
                except httpx.RequestNotRead:
                    body = None  # a streaming body: sent piece by piece below
                if body is not None:  # a body already in memory (json=, content=): one write with the head
                    data = head + (conn.h11.send(h11.Data(data=body)) or b"" if body else b"")
                    await conn.stream.send_all(data + (conn.h11.send(h11.EndOfMessage()) or b""))
                else:
                    await conn.stream.send_all(head)
                    async for chunk in request.stream:  # type: ignore[union-attr]
                        if chunk:
                            await conn.stream.send_all(conn.h11.send(h11.Data(data=chunk)) or b"")
                    tail = conn.h11.send(h11.EndOfMessage())
                    if tail:
                        await conn.stream.send_all(tail)
            with _timeout(timeouts.get("read"), httpx.ReadTimeout):
                while True:
                    event = await conn.receive_event()
                    if isinstance(event, h11.InformationalResponse):
                        continue
                    answered = True
                    break
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            if conn.reused and not answered:
                raise _StaleConnection() from None
            raise httpx.ReadError(f"connection lost: {exc.__class__.__name__}") from None
        except h11.RemoteProtocolError as exc:
            if conn.reused and not answered:  # EOF on a kept-alive connection before any answer
                raise _StaleConnection() from None
            raise httpx.RemoteProtocolError(str(exc)) from None
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from None
        if isinstance(event, h11.ConnectionClosed):
            if conn.reused:
                raise _StaleConnection()
            raise httpx.RemoteProtocolError("server closed the connection without answering")
        assert isinstance(event, h11.Response)
        stream = _ResponseStream(self, origin, conn, timeouts.get("read"))
        return httpx.Response(
            status_code=event.status_code,
            headers=event.headers.raw_items() if hasattr(event.headers, "raw_items") else list(event.headers),
            stream=stream,
            extensions={"http_version": b"HTTP/" + event.http_version, "reason_phrase": event.reason},
        )

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when their responses do."""
        self._closed = True
        for origin in self._origins.values():
            while origin.idle:
                await origin.idle.pop().aclose()
