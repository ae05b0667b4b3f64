"""Serving the HTTP app: hypercorn's HTTP/1.1 protocol behind our own accept loop.

hypercorn has no cap on open connections, and every connection costs a file
descriptor: a thousand slow clients took every descriptor of the process and
with it `/healthz`, the store and the sync hub. So the accept loop is ours
(it mirrors `hypercorn.trio.run.worker_serve`, without the lifespan protocol
our app has no use for) and hands each accepted stream to hypercorn's own
`TCPServer`, which does all of HTTP:
- at most `max_connections` connections are served at once;
- past that, `health_reserve` more may be open for a moment: each has
  `peek_timeout` seconds to show its request line, and only `GET /healthz`
  and `GET /readyz` are served (an orchestrator can still see the service
  alive and ready under a flood); every other one is told 503 and closed.
  When the reserve is full, the connection that has waited longest without
  showing a request line is dropped for the newcomer: a flood of idle
  connections cycles through the reserve in milliseconds, while a probe
  (which sends its request as it connects) is read at once.
`raise_fd_limit` lifts the soft descriptor limit to the hard one at start;
the service sizes `max_connections` from what it got.
"""

from __future__ import annotations

import errno
import logging
import resource
from dataclasses import dataclass
from typing import Any

import trio

__all__ = ["ConnectionGate", "ConnectionLimits", "connection_limits", "descriptor_room", "raise_fd_limit", "serve_app"]

log = logging.getLogger("commandlang.http")

_ACCEPT_RETRY = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}  # as trio.serve_listeners
_HEALTH = (b"GET /healthz ", b"GET /healthz?", b"GET /readyz ", b"GET /readyz?")
_BUSY_BODY = b'{"error":"too many connections: try again in a moment"}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n"
    b"content-length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int = 1000
    health_reserve: int = 32
    peek_timeout: float = 2.0


class ConnectionGate:
    """Counts open connections against `ConnectionLimits` (read by `/metrics`)."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open = 0
        self.peeking: dict[object, trio.CancelScope] = {}  # reserve connections not yet read, oldest first
        self.health_serving = 0
        self.refused = 0

    @property
    def reserve_open(self) -> int:
        return len(self.peeking) + self.health_serving


def raise_fd_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # some sandboxes refuse: keep what we have
            pass
    return soft


def descriptor_room() -> int:
    """Raise the soft descriptor limit to the hard one; returns how many descriptors each listener (HTTP
    connections, sync sessions) may hold: 256 stay for the store, backend pools and logs."""
    return max(64, (raise_fd_limit() - 256) // 2)


def connection_limits(max_connections: int, room: int) -> ConnectionLimits:
    """`max_connections` (COMMANDLANG_MAX_CONNECTIONS), lowered to `room` with a warning when it does not fit."""
    wanted = max(1, max_connections)
    if wanted > room:
        log.warning(
            "COMMANDLANG_MAX_CONNECTIONS=%d does not fit the descriptor limit: serving at most %d HTTP connections",
            wanted,
            room,
            extra={"stage": "start"},
        )
    return ConnectionLimits(max_connections=min(wanted, room))


class _Replayed(trio.abc.HalfCloseableStream):
    """A socket stream whose first bytes were already read (the peeked request line): they come first.

    hypercorn's `TCPServer` reads `.socket` for the peer address and tells TLS from plain by the
    absence of `do_handshake`, so this has the one and not the other."""

    def __init__(self, stream: trio.SocketStream, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix
        self.socket = stream.socket

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            data, self._prefix = self._prefix, b""
            return data
        return bytes(await self._stream.receive_some(max_bytes))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


async def serve_app(
    app: Any,
    host: str,
    port: int,
    *,
    shutdown: trio.Event,
    limits: ConnectionLimits | None = None,
    gate: ConnectionGate | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the ASGI `app` until `shutdown` is set; reports the bound port (port 0: a free one).

    On shutdown: stop accepting, close idle keep-alive connections, give running requests
    hypercorn's graceful timeout (5 s) to finish."""
    from hypercorn.config import Config
    from hypercorn.trio.tcp_server import TCPServer
    from hypercorn.trio.worker_context import WorkerContext
    from hypercorn.utils import wrap_app

    config = Config()
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 5.0
    config.keep_alive_timeout = 5.0  # an idle connection, or one slow to send its headers, is cut after this
    config.include_server_header = False
    gate = gate or ConnectionGate(limits or ConnectionLimits())
    context = WorkerContext(None)
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")

    async def serve_connection(stream: trio.abc.Stream) -> None:
        # hypercorn annotates the stream as SSLStream[SocketStream]; it only sends and receives, so any
        # trio Stream (the plain socket) serves, as hypercorn's own serve passes either
        await TCPServer(wrapped, config, context, {}, stream)  # type: ignore[arg-type]

    listeners = await trio.open_tcp_listeners(port, host=host, backlog=min(4096, gate.limits.max_connections))
    async with trio.open_nursery() as connections:
        async with trio.open_nursery() as acceptors:
            for listener in listeners:
                acceptors.start_soon(_accept_loop, listener, connections, gate, serve_connection)
            task_status.started(listeners[0].socket.getsockname()[1])
            await shutdown.wait()
            acceptors.cancel_scope.cancel()
        for listener in listeners:
            await listener.aclose()
        await context.terminated.set()
        connections.cancel_scope.deadline = trio.current_time() + config.graceful_timeout


async def _accept_loop(listener: trio.SocketListener, nursery: trio.Nursery, gate: ConnectionGate, serve: Any) -> None:
    while True:
        try:
            stream = await listener.accept()
        except OSError as exc:
            if exc.errno not in _ACCEPT_RETRY:
                raise
            log.warning("out of file descriptors accepting a connection: retrying", extra={"stage": "http"})
            await trio.sleep(0.1)
            continue
        nursery.start_soon(_connection, stream, gate, serve)


async def _connection(stream: trio.SocketStream, gate: ConnectionGate, serve: Any) -> None:
    limits = gate.limits
    if gate.open < limits.max_connections:
        gate.open += 1
        try:
            await _serve_one(serve, stream)
        finally:
            gate.open -= 1
        return
    gate.refused += 1
    if len(gate.peeking) >= limits.health_reserve:  # make room: the one that has kept quiet longest goes
        gate.peeking.pop(next(iter(gate.peeking))).cancel()
    key = object()
    try:
        head = b""
        with trio.move_on_after(limits.peek_timeout) as peek:
            gate.peeking[key] = peek
            while b"\n" not in head and len(head) < 64:
                data = await stream.receive_some(64)
                if not data:
                    break
                head += data
        gate.peeking.pop(key, None)
        if head.startswith(_HEALTH) and gate.health_serving < limits.health_reserve:
            gate.refused -= 1  # served after all
            gate.health_serving += 1
            try:
                await _serve_one(serve, _Replayed(stream, head))
            finally:
                gate.health_serving -= 1
            return
        if not peek.cancelled_caught:
            with trio.move_on_after(1):
                await stream.send_all(_BUSY)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        gate.peeking.pop(key, None)
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def _serve_one(serve: Any, stream: trio.abc.Stream) -> None:
    """One connection through hypercorn; a failure of one (a bug, a peer that breaks the protocol in a way
    hypercorn does not expect) is logged and costs that connection only, never the listener."""
    try:
        await serve(stream)
    except Exception:  # trio.Cancelled is a BaseException: shutdown still passes through
        log.exception("an HTTP connection failed", extra={"stage": "http"})
        with trio.CancelScope(shield=True):
            await stream.aclose()
