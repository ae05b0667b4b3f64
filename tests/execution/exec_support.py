"""Builders shared by the execution tests: registries, calls, a running demo backend."""

from __future__ import annotations

import functools
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Mapping

import trio

from commandlang.binding.call import Call
from commandlang.registry.model import (
    ArgSpec,
    AuthSpec,
    BackendSpec,
    CommandSpec,
    RegistrySpec,
    RequestSpec,
    RetryPolicy,
    Settings,
    TypeSpec,
)
from commandlang.testing.demo_backend import DemoBackend, serve_demo_backend

SECRET_TOKEN = "tok-SECRET-bearer-5f2a9"
SECRET_KEY = "key-SECRET-apikey-77c1"
SECRET_CARD = "4111111111111111"


def arg(name: str, type_name: str = "str", **kw: Any) -> ArgSpec:
    return ArgSpec(name=name, type=TypeSpec(type_name), **kw)


COMMANDS = {
    "order.status": CommandSpec(
        name="order.status",
        args=(arg("order", "str", positional=True, required=True),),
        request=RequestSpec(backend="orders", method="GET", path="/orders/{order}"),
    ),
    "echo": CommandSpec(
        name="echo",
        args=(arg("value", "str", positional=True, required=True), arg("q", "str")),
        request=RequestSpec(backend="orders", method="GET", path="/echo/{value}", query={"q": "{{ args.q }}"}),
    ),
    "refund": CommandSpec(
        name="refund",
        args=(
            arg("order", "str", positional=True, required=True),
            arg("amount", "decimal"),
            arg("reason", "str", has_default=True, default="unspecified"),
            arg("card", "str", sensitive=True),
        ),
        request=RequestSpec(
            backend="orders",
            method="POST",
            path="/orders/{order}/refunds",
            json={"amount": "{{ args.amount }}", "reason": "{{ args.reason }}", "card": "{{ args.card }}"},
        ),
    ),
    "callback": CommandSpec(
        name="callback",
        args=(arg("phone", "str", positional=True, required=True),),
        request=RequestSpec(backend="orders", method="POST", path="/callbacks", json={"phone": "{{ args.phone }}"}),
    ),
    "ticket.close": CommandSpec(
        name="ticket.close",
        args=(arg("ticket", "int", positional=True, required=True),),
        request=RequestSpec(backend="orders", default_contract=True),
    ),
}


def make_registry(
    base_url: str,
    *,
    timeout: float = 5.0,
    retry: RetryPolicy = RetryPolicy(),
    max_response_bytes: int = 1024 * 1024,
    auth: AuthSpec = AuthSpec(),
    headers: Mapping[str, str] | None = None,
    command_headers: Mapping[str, str] | None = None,
    max_connections: int = 100,
) -> RegistrySpec:
    backend = BackendSpec(
        name="orders",
        base_url=base_url.rstrip("/") + "/v1",
        timeout=timeout,
        retry=retry,
        max_response_bytes=max_response_bytes,
        auth=auth,
        headers=dict(headers or {}),
        max_connections=max_connections,
    )
    commands = dict(COMMANDS)
    if command_headers:
        commands = {name: _with_headers(spec, command_headers) for name, spec in commands.items()}
    return RegistrySpec(version=1, settings=Settings(), backends={"orders": backend}, commands=commands, aliases={})


def _with_headers(spec: CommandSpec, headers: Mapping[str, str]) -> CommandSpec:
    from dataclasses import replace

    assert spec.request is not None
    return replace(spec, request=replace(spec.request, headers=dict(headers)))


def call(registry: RegistrySpec, command: str, **args: Any) -> Call:
    spec = registry.commands[command]
    filled = {a.name: (a.default if a.has_default else None) for a in spec.args}
    filled.update(args)
    return Call(command=command, args=filled, spec=spec)


@dataclass
class RunningDemo:
    backend: DemoBackend
    url: str


@asynccontextmanager
async def running_demo() -> AsyncIterator[RunningDemo]:
    """The demo backend on 127.0.0.1, a free port, for the duration of the block."""
    backend = DemoBackend()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(functools.partial(serve_demo_backend, "127.0.0.1", 0, backend=backend))
        try:
            yield RunningDemo(backend, f"http://127.0.0.1:{port}")
        finally:
            nursery.cancel_scope.cancel()


def closed_port_url() -> str:
    """A URL on which nothing listens (a port we bound and released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class RawServer:
    """A hand-written HTTP/1.1 server whose answers the test scripts; counts connections and requests."""

    def __init__(self, answer) -> None:  # answer(request_index_on_connection, head) -> bytes | None (None: close)
        self.answer = answer
        self.connections = 0
        self.requests = 0
        self.open_now = 0
        self.most_open = 0
        self.received: list[tuple[bytes, bytes]] = []  # (head, body) of every request

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        buffer = b""
        index = 0
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += await stream.receive_some(65536)
                self.received.append((head, buffer[:length]))
                buffer = buffer[length:]
                self.requests += 1
                reply = await self.answer(index, head)
                index += 1
                if reply is None:
                    return
                await stream.send_all(reply)
        except trio.BrokenResourceError:
            return
        finally:
            self.open_now -= 1
            await trio.aclose_forcefully(stream)


def ok(body: bytes = b'{"ok": true}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


async def start(nursery: trio.Nursery, server: RawServer) -> str:
    listeners = await nursery.start(functools.partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
    return f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
