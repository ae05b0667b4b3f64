"""`H11Transport`: HTTP/1.1 over h11 and Trio streams, with a small connection pool.

Two doors onto one pool: `request`, the `Transport` of door.py and the Executor's
hot path (a method, a `Target`, header bytes and a body in, a `RawResponse` out; no
`httpx.Request`/`httpx.Response` built per call, ~20% less Executor CPU per request:
bench/bench_executor.py, "Executor (H11 via httpx models)" beside "Executor
(H11Transport)"), and `handle_async_request`, so any `httpx.AsyncClient` can use it.
Both send the same bytes; tests/execution/test_wire.py compares what a server receives.

Why not httpx's default transport: under Trio, httpcore 1.0.9's pool rescans
every connection for every queued request (encode/httpcore#1035, still open),
so a shared client collapses from ~900 requests/s sequentially to ~280/s at 50
concurrent requests. Here the pool is a LIFO free-list per origin and a
`trio.Semaphore` bounding open connections: taking a connection is O(1), and
waiters are served in FIFO order by Trio.

Scope: HTTP/1.1 (plain or TLS), keep-alive, streamed request bodies,
responses streamed to the caller (Content-Length, chunked, or read-to-close;
h11 does the framing and validates every header). A connection goes back to
the pool only once its response has been read to the end and both sides may
continue; otherwise it is closed. A pooled connection the server closed while
idle is detected before use (the socket reads as ready) and, if the race is
lost anyway (the server closes it as we send), an idempotent or keyed request
is retried once on a fresh connection. Timeouts (connect, read, write, pool;
httpx's `timeout` extension on the httpx door) are enforced with Trio cancel
scopes and raised as httpx's timeout exceptions; errors are httpx's
`TransportError` family on both doors.
"""

from __future__ import annotations

import select
import ssl
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import AsyncIterable, AsyncIterator, Mapping, Sequence, cast

import h11
import httpx
import trio

from .response import HttpxStream, read_capped
from .target import Target

__all__ = ["H11Transport", "PoolLimits", "RawResponse"]

_RECEIVE_SIZE = 65536
_REPLAYABLE = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"TRACE"})
_NO_TIMEOUTS: Mapping[str, float | None] = {}


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
        # poll, not select: select refuses descriptor numbers past 1023, which a busy service (its soft
        # descriptor limit raised at start, a thousand sync sessions) reaches, and then no idle
        # connection would ever look alive again
        poller = select.poll()
        try:
            poller.register(sock.fileno(), select.POLLIN)
            readable = poller.poll(0)
        except (OSError, ValueError):
            return False
        return not readable  # EOF, unexpected bytes or an error: either way it cannot carry a new request

    async def receive_event(self) -> h11.Event:
        while True:
            event = self.h11.next_event()
            if isinstance(event, h11.Event):
                return event
            if event is h11.PAUSED:  # only after the end of a response, which no caller reads past
                raise httpx.RemoteProtocolError("read past the end of a response")
            data = await self.stream.receive_some(_RECEIVE_SIZE)
            # b"" means EOF (h11 turns it into ConnectionClosed or an error); trio's socket and TLS
            # streams hand out bytes, which is what h11 takes
            self.h11.receive_data(cast(bytes, data))

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


class _Origin:
    """The pool for one (scheme, host, port)."""

    __slots__ = ("idle", "slots")

    def __init__(self, limits: PoolLimits) -> None:
        self.idle: deque[_Connection] = deque()
        self.slots = trio.Semaphore(limits.max_connections)


class RawResponse:
    """A response whose body is still streaming: iterate it for the body's chunks, then `aclose()`.

    `headers` are h11's: a list of (lower-case name, value) byte pairs. `aclose()` must be
    called (it gives the connection back to the pool, or closes it if the body was not read
    to the end); it waits for nothing when the connection goes back to the pool.
    """

    __slots__ = (
        "status_code",
        "headers",
        "http_version",
        "reason",
        "_transport",
        "_origin",
        "_conn",
        "_complete",
        "_read_timeout",
    )

    def __init__(
        self,
        event: h11.Response,
        transport: H11Transport,
        origin: _Origin,
        conn: _Connection,
        read_timeout: float | None,
    ) -> None:
        self.status_code: int = event.status_code
        self.headers: list[tuple[bytes, bytes]] = list(event.headers)
        self.http_version: bytes = event.http_version
        self.reason: bytes = event.reason
        self._transport = transport
        self._origin = origin
        self._conn: _Connection | None = conn
        self._complete = False
        self._read_timeout = read_timeout

    def header(self, name: bytes) -> str | None:
        """The first value of header `name` (lower-case bytes), decoded as Latin-1, or None."""
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None

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

    async def read(self, limit: int) -> bytes:
        """The whole body; `BodyTooLarge` past `limit` bytes. Then `release()`."""
        return await read_capped(self, limit, self.header(b"content-length"))

    async def release(self) -> None:
        """Give the connection back to the pool (read to the end) or close it, even when cancelled."""
        if not self.release_nowait():
            with trio.CancelScope(shield=True):
                await self.aclose()

    def release_nowait(self) -> bool:
        """Give a fully read connection back to the pool without waiting; False when it must be closed."""
        conn = self._conn
        if conn is None:
            return True
        if self._complete and self._transport._recycle(self._origin, conn):
            self._conn = None
            return True
        return False

    async def aclose(self) -> None:
        if self.release_nowait():
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.aclose()
            finally:
                self._origin.slots.release()


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

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        if self.scope is None:
            return False
        suppressed = self.scope.__exit__(kind, exc, traceback)
        if self.scope.cancelled_caught:
            raise self.error(f"{self.error.__name__} after {self.seconds}s")
        return bool(suppressed)


Body = bytes | AsyncIterable[bytes] | None


class H11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 for Trio over h11 with a bounded keep-alive pool per origin; an httpx transport too."""

    def __init__(self, limits: PoolLimits = PoolLimits(), *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.limits = limits
        self._origins: dict[tuple[bytes, bytes, int], _Origin] = {}
        self._ssl_context = ssl_context
        self._closed = False

    # -- the two doors ------------------------------------------------------
    async def request(
        self,
        method: bytes,
        target: Target,
        headers: Sequence[tuple[bytes, bytes]],
        body: Body = None,
        *,
        timeouts: Mapping[str, float | None] = _NO_TIMEOUTS,
    ) -> RawResponse:
        """Send one request; the answer comes back with its body still streaming (close it).

        `headers` are sent after `Host` (which this adds) as given; with a `bytes` body the
        caller gives its Content-Length, with a streamed one h11 frames it (chunked unless a
        Content-Length is given). Raises httpx's `TransportError`s (timeouts included).
        """
        return await self._open(method, target, [(b"Host", target.netloc), *headers], body, timeouts)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and return the response with its body still streaming.

        The caller must close the response (httpx's client always does): that gives the
        connection back to the pool, or closes it when the body was not read to the end.
        """
        try:
            body: Body = request.content
        except httpx.RequestNotRead:
            body = request.stream  # type: ignore[assignment]  # a streaming body: sent piece by piece
        raw = await self._open(
            request.method.encode("ascii"),
            Target.from_httpx(request.url),
            request.headers.raw,
            body,
            request.extensions.get("timeout", _NO_TIMEOUTS),
        )
        return httpx.Response(
            status_code=raw.status_code,
            headers=raw.headers,
            stream=HttpxStream(raw),
            extensions={"http_version": b"HTTP/" + raw.http_version, "reason_phrase": raw.reason},
        )

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when their responses do."""
        self._closed = True
        for origin in self._origins.values():
            while origin.idle:
                await origin.idle.pop().aclose()

    # -- pool -------------------------------------------------------------
    def _origin(self, key: tuple[bytes, bytes, int]) -> _Origin:
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(self.limits)
        return origin

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
                    context = self._tls_context()
                    stream = trio.SSLStream(
                        stream, context, server_hostname=host.decode("ascii"), https_compatible=True
                    )
                    await stream.do_handshake()
        except (OSError, OverflowError) as exc:  # OverflowError: a port over 65535 in a base_url
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

    def _tls_context(self) -> ssl.SSLContext:
        """The given context, else the system default built on first use and kept: building one loads
        and parses the whole CA bundle (milliseconds of CPU), too much to repeat for every connection."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _recycle(self, origin: _Origin, conn: _Connection) -> bool:
        """Put a connection whose exchange ended cleanly back in the pool; False when it cannot be."""
        if (
            self._closed
            or conn.h11.our_state is not h11.DONE
            or conn.h11.their_state is not h11.DONE
            or len(origin.idle) >= self.limits.max_idle
        ):
            return False
        conn.h11.start_next_cycle()
        conn.idle_since = trio.current_time()
        origin.idle.append(conn)
        origin.slots.release()
        return True

    # -- one request --------------------------------------------------------
    async def _open(
        self,
        method: bytes,
        target: Target,
        headers: list[tuple[bytes, bytes]],  # with Host: h11 takes a list
        body: Body,
        timeouts: Mapping[str, float | None],
    ) -> RawResponse:
        if self._closed:
            raise httpx.ConnectError("transport is closed")
        key = target.origin
        origin = self._origin(key)
        try:
            origin.slots.acquire_nowait()  # the common case: no wait, and no extra trip through the scheduler
        except trio.WouldBlock:
            with _timeout(timeouts.get("pool"), httpx.PoolTimeout):
                await origin.slots.acquire()
        try:
            return await self._send(method, target, headers, body, origin, timeouts)
        except BaseException:
            origin.slots.release()
            raise

    async def _send(
        self,
        method: bytes,
        target: Target,
        headers: list[tuple[bytes, bytes]],  # with Host: h11 takes a list
        body: Body,
        origin: _Origin,
        timeouts: Mapping[str, float | None],
    ) -> RawResponse:
        replayable = method in _REPLAYABLE or any(name.lower() == b"idempotency-key" for name, _ in headers)
        conn = await self._take_idle(origin)
        if conn is None:
            conn = await self._connect(target.origin, timeouts.get("connect"))
        try:
            try:
                return await self._exchange(method, target.target, headers, body, origin, conn, timeouts)
            except _StaleConnection:
                await conn.aclose()
                if not replayable or not isinstance(body, (bytes, type(None))):  # a stream cannot be sent twice
                    raise httpx.RemoteProtocolError(
                        "server closed a kept-alive connection; not safe to resend"
                    ) from None
            conn = await self._connect(target.origin, timeouts.get("connect"))  # one retry, on a fresh connection
            try:
                return await self._exchange(method, target.target, headers, body, origin, conn, timeouts)
            except _StaleConnection:
                raise httpx.RemoteProtocolError("server closed the connection without answering") from None
        except BaseException:
            await conn.aclose()
            raise

    async def _exchange(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],  # with Host: h11 takes a list
        body: Body,
        origin: _Origin,
        conn: _Connection,
        timeouts: Mapping[str, float | None],
    ) -> RawResponse:
        """Send one request and read the response head; the body streams later."""
        answered = False
        try:
            with _timeout(timeouts.get("write"), httpx.WriteTimeout):
                head = conn.h11.send(h11.Request(method=method, target=target, headers=headers)) or b""
                if body is None or isinstance(body, bytes):  # a body in memory: one write with the head
                    data = head + (conn.h11.send(h11.Data(data=body)) or b"" if body else b"")
                    await conn.stream.send_all(data + (conn.h11.send(h11.EndOfMessage()) or b""))
                else:
                    await conn.stream.send_all(head)
                    async for chunk in body:
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
        return RawResponse(event, self, origin, conn, timeouts.get("read"))
