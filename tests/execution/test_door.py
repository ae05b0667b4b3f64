"""The one door (execution/door.py): `fetch` through a `SharedClient`'s own door or any httpx client's
sends the same bytes, reads the whole answer under its cap, and never reuses a connection it left unread."""

from __future__ import annotations

import httpx
import pytest
import trio

from commandlang.execution import H11Transport, Target
from commandlang.execution.client import SharedClient, door_of
from commandlang.execution.door import HttpxDoor, fetch
from commandlang.execution.response import BodyTooLarge

from .exec_support import RawServer, ok, start
from .test_wire import what_arrived

HEADERS = [(b"Accept", b"application/json"), (b"Content-Type", b"application/json"), (b"Content-Length", b"7")]


async def answer_ok(index: int, head: bytes) -> bytes:
    return ok(b'{"a": "\xc3\xa9"}', b"Retry-After: 3\r\n")


async def test_either_client_sends_the_same_bytes_and_reads_the_same_answer() -> None:
    server = RawServer(answer_ok)
    async with trio.open_nursery() as nursery:
        base = await start(nursery, server)
        answers = []
        async with SharedClient(transport=H11Transport()) as shared, httpx.AsyncClient() as plain:
            assert isinstance(door_of(shared), H11Transport)  # its transport's own door: no httpx models
            assert isinstance(door_of(plain), HttpxDoor)  # a stock client: through its `send`
            for client in (shared, plain):
                answer = await fetch(
                    door_of(client),
                    b"POST",
                    Target.from_url(f"{base}/v1/x", [("q", "a b")]),
                    HEADERS,
                    b'{"b":1}',
                    limit=100,
                )
                answers.append((answer.status_code, answer.json(), answer.header(b"retry-after")))
        nursery.cancel_scope.cancel()
    assert answers == [(200, {"a": "é"}, "3")] * 2
    ours, plain_httpx = what_arrived(server)
    assert ours == plain_httpx and ours[0] == b"POST /v1/x?q=a+b HTTP/1.1" and ours[2] == b'{"b":1}'


async def test_an_answer_over_the_cap_is_refused_and_its_connection_not_reused() -> None:
    async def big(index: int, head: bytes) -> bytes:
        return ok(b"[" + b"1," * 500 + b"1]")

    server = RawServer(big)
    async with trio.open_nursery() as nursery:
        base = await start(nursery, server)
        async with SharedClient(transport=H11Transport()) as client:
            for _ in range(2):
                with pytest.raises(BodyTooLarge):  # an httpx.TransportError: callers retry or fail as for a reset
                    await fetch(client.door, b"GET", Target.from_url(f"{base}/big"), [], limit=100)
            answer = await fetch(client.door, b"GET", Target.from_url(f"{base}/big"), [], limit=10_000)
        nursery.cancel_scope.cancel()
    assert len(answer.json()) == 501
    assert server.connections == 3  # the two refused answers were not read to the end: their connections closed
