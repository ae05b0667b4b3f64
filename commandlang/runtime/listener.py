"""Serving the HTTP app: our accept loop in front of the HTTP/1.1 server of `http1.py`.

A server with no cap on open connections lets a thousand slow clients take every
file descriptor of the process and with it `/healthz`, the store and the sync
hub (hypercorn, which served this app before `http1.py`, has none). So the
accept loop caps them and hands each accepted socket to `Http1Server`:
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
import socket
from dataclasses import dataclass
from typing import Any

import trio

from .http1 import Http1Server, Http1Settings

__all__ = ["ConnectionGate", "ConnectionLimits", "connection_limits", "descriptor_room", "raise_fd_limit", "serve_app"]

log = logging.getLogger("commandlang.http")

GRACEFUL_TIMEOUT = 5.0  # running requests may finish this long after shutdown
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


async def open_listeners(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Non-blocking listening sockets on every address `host` resolves to (as `trio.open_tcp_listeners`),
    all on one port: with port 0, the one the first got."""
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    listeners: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in infos:
            if listeners and port == 0:
                address = (address[0], listeners[0].getsockname()[1], *address[2:])
            listener = socket.socket(family, kind, proto)
            listeners.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            listener.bind(address)
            listener.listen(backlog)
            listener.setblocking(False)
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    return listeners


async def serve_app(
    app: Any,
    host: str,
    port: int,
    *,
    shutdown: trio.Event,
    limits: ConnectionLimits | None = None,
    gate: ConnectionGate | None = None,
    http: Http1Settings | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the ASGI `app` until `shutdown` is set; reports the bound port (port 0: a free one).
    `http`: the HTTP/1.1 server's timeouts and head limit (`Http1Settings`' defaults otherwise).

    On shutdown: stop accepting, close idle keep-alive connections, give running requests
    `GRACEFUL_TIMEOUT` (5 s) to finish."""
    gate = gate or ConnectionGate(limits or ConnectionLimits())
    server = Http1Server(app, http)
    listeners = await open_listeners(host, port, min(4096, gate.limits.max_connections))
    try:
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as acceptors:
                for listener in listeners:
                    acceptors.start_soon(_accept_loop, listener, connections, gate, server)
                task_status.started(listeners[0].getsockname()[1])
                await shutdown.wait()
                acceptors.cancel_scope.cancel()
            for listener in listeners:
                trio.lowlevel.notify_closing(listener)
                listener.close()
            server.terminate()
            connections.cancel_scope.deadline = trio.current_time() + GRACEFUL_TIMEOUT
    finally:
        for listener in listeners:
            if listener.fileno() != -1:
                trio.lowlevel.notify_closing(listener)
                listener.close()


async def _accept_loop(
    listener: socket.socket, nursery: trio.Nursery, gate: ConnectionGate, server: Http1Server
) -> None:
    while True:
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            await trio.lowlevel.wait_readable(listener)
            continue
        except OSError as exc:
            if exc.errno not in _ACCEPT_RETRY:
                raise
            log.warning("out of file descriptors accepting a connection: retrying", extra={"stage": "http"})
            await trio.sleep(0.1)
            continue
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        nursery.start_soon(_connection, sock, gate, server)
        await trio.lowlevel.checkpoint()  # a burst of connections must not starve the ones being served


async def _receive_some(sock: socket.socket, size: int) -> bytes:
    while True:
        try:
            return sock.recv(size)
        except BlockingIOError:
            await trio.lowlevel.wait_readable(sock)


async def _send_all(sock: socket.socket, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)


async def _connection(sock: socket.socket, gate: ConnectionGate, server: Http1Server) -> None:
    limits = gate.limits
    if gate.open < limits.max_connections:
        gate.open += 1
        try:
            await _serve_one(server, sock)
        finally:
            gate.open -= 1
        return
    gate.refused += 1
    if len(gate.peeking) >= limits.health_reserve:  # make room: the one that has kept quiet longest goes
        gate.peeking.pop(next(iter(gate.peeking))).cancel()
    key = object()
    handed_over = False
    try:
        head = b""
        with trio.move_on_after(limits.peek_timeout) as peek:
            gate.peeking[key] = peek
            while b"\n" not in head and len(head) < 64:
                data = await _receive_some(sock, 64)
                if not data:
                    break
                head += data
        gate.peeking.pop(key, None)
        if head.startswith(_HEALTH) and gate.health_serving < limits.health_reserve:
            gate.refused -= 1  # served after all
            gate.health_serving += 1
            handed_over = True
            try:
                await _serve_one(server, sock, head)
            finally:
                gate.health_serving -= 1
            return
        if not peek.cancelled_caught:
            with trio.move_on_after(1):
                await _send_all(sock, _BUSY)
    except OSError:
        pass
    finally:
        gate.peeking.pop(key, None)
        if not handed_over:
            trio.lowlevel.notify_closing(sock)
            sock.close()


async def _serve_one(server: Http1Server, sock: socket.socket, prefix: bytes = b"") -> None:
    """One connection through the HTTP/1.1 server (which closes the socket); a failure of one (a bug)
    is logged and costs that connection only, never the listener."""
    try:
        await server.serve_connection(sock, prefix)
    except Exception:  # trio.Cancelled is a BaseException: shutdown still passes through
        log.exception("an HTTP connection failed", extra={"stage": "http"})
