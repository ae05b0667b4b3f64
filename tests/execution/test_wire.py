"""The Executor sends what httpx would send, whichever door of the transport it uses.

It talks to `H11Transport` through the transport's own `request` door, and to any other
httpx transport with an `httpx.Request`; the reference is plain httpx given the prepared
request (`json=`, `params=`, headers), as the Executor once built it. A server on
127.0.0.1 records the bytes of all three for the same call: method, target, headers
(order aside) and body must agree.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import trio

from commandlang.execution import Executor, H11Transport, Success, prepare_request
from commandlang.replies.templates import TemplateEngine

from .exec_support import RawServer, call, make_registry, ok, start

ENGINE = TemplateEngine()


async def answer_ok(index: int, head: bytes) -> bytes:
    return ok(b"{}")


def what_arrived(server: RawServer) -> list[tuple[bytes, list[tuple[bytes, bytes]], bytes]]:
    """Each request as (request line, sorted lower-cased headers, body)."""
    arrived = []
    for head, body in server.received:
        request_line, *lines = head.split(b"\r\n")
        headers = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(b":") for line in lines)]
        arrived.append((request_line, sorted(headers), body))
    return arrived


class ThroughHttpxModels(httpx.AsyncBaseTransport):
    """H11Transport as any httpx transport: the Executor then builds an httpx.Request."""

    def __init__(self) -> None:
        self.inner = H11Transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


CALLS = [
    ("order.status", {"order": "12345"}),
    ("order.status", {"order": "../admin"}),
    ("order.status", {"order": "Zürich/€?#"}),
    ("echo", {"value": "a b", "q": "x y&z=1/é"}),
    ("echo", {"value": "v", "q": None}),  # an absent optional query parameter is left out
    ("refund", {"order": "7", "amount": Decimal("19.99"), "reason": 'déjà vu "quoted"', "card": "4111"}),
    ("callback", {"phone": "+44 20 7946 0958"}),
    ("ticket.close", {"ticket": 42}),  # the default contract: POST /commands/ticket.close
]


@pytest.mark.parametrize(("command", "args"), CALLS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CALLS)])
async def test_both_doors_send_the_same_bytes(command: str, args: dict) -> None:
    server = RawServer(answer_ok)
    async with trio.open_nursery() as nursery:
        registry = make_registry(
            await start(nursery, server), headers={"X-Api-Key": "k-1"}, command_headers={"X-Reason": "{{ command }}/é"}
        )
        for factory in (lambda backend: H11Transport(), lambda backend: ThroughHttpxModels()):
            async with Executor(registry, ENGINE, transport_factory=factory) as executor:
                outcome = await executor.execute(call(registry, command, **args), command_id="cmd-1")
            assert isinstance(outcome, Success), outcome
        prepared = prepare_request(call(registry, command, **args), registry, ENGINE, idempotency_key="cmd-1")
        request = httpx.Request(  # as the Executor built it before the transport had its own door
            prepared.method,
            prepared.url,
            params=list(prepared.query) or None,
            # values as UTF-8 bytes: httpx itself would refuse a str that is not ASCII
            headers={
                "Accept-Encoding": "identity",
                "User-Agent": "commandlang",
                **{name: value.encode() for name, value in prepared.headers},
            },
            json=prepared.json if prepared.has_body else None,
        )
        transport = H11Transport()
        response = await transport.handle_async_request(request)
        await response.aread()
        await response.aclose()
        await transport.aclose()
        nursery.cancel_scope.cancel()
    ours, through_models, plain_httpx = what_arrived(server)
    assert ours == through_models == plain_httpx
    request_line, headers, body = ours
    if body:
        assert (b"content-type", b"application/json") in headers
    assert request_line.endswith(b" HTTP/1.1") and (b"x-api-key", b"k-1") in headers
    assert (b"x-reason", f"{command}/é".encode()) in headers  # a non-ASCII header value goes out as UTF-8


async def test_the_default_door_is_the_transports_own() -> None:
    """Guard for the benchmark's figures: the Executor must not fall back to httpx models for H11Transport."""
    async with trio.open_nursery() as nursery:
        registry = make_registry(await start(nursery, RawServer(answer_ok)))
        sent: list[bytes] = []

        class Watching(H11Transport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                raise AssertionError("the Executor built an httpx.Request")

            async def request(self, method, target, headers, body=None, **kw):  # type: ignore[override]
                sent.append(target.target)
                return await super().request(method, target, headers, body, **kw)

        async with Executor(registry, ENGINE, transport_factory=lambda backend: Watching()) as executor:
            outcome = await executor.execute(call(registry, "echo", value="v", q="1 2"), command_id="c")
        nursery.cancel_scope.cancel()
    assert isinstance(outcome, Success) and sent == [b"/v1/echo/v?q=1+2"]
