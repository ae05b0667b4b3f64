"""The HTTP/1.1 server (runtime/http1.py) on real loopback sockets: framing, keep-alive, refusals."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import AsyncIterator

import trio

from commandlang.runtime.http import HttpApp, Request, Response, json_response
from commandlang.runtime.http1 import Http1Settings
from commandlang.runtime.listener import serve_app


async def _echo(request: Request) -> Response:
    return json_response(200, {"path": request.path, "query": dict(request.query), "body": request.body.decode()})


async def _boom(request: Request) -> Response:
    raise RuntimeError("a bug")


async def _stream(request, receive, send) -> None:  # noqa: ANN001
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for part in (b"one ", b"two ", b"three"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _stream_boom(request, receive, send) -> None:  # noqa: ANN001
    raise RuntimeError("a bug before the answer started")


def _app() -> HttpApp:
    app = HttpApp(body_timeout=2.0)
    app.route("POST", "/echo", _echo, max_body=1000)
    app.route("GET", "/echo", _echo)
    app.route("GET", "/boom", _boom)
    app.stream("GET", "/stream", _stream)
    app.stream("GET", "/stream-boom", _stream_boom)
    return app


@asynccontextmanager
async def served(**settings: float) -> AsyncIterator[int]:
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            lambda task_status: serve_app(
                _app(), "127.0.0.1", 0, shutdown=shutdown, http=Http1Settings(**settings), task_status=task_status
            )
        )
        yield port
        shutdown.set()


async def exchange(port: int, data: bytes, answers: int = 1) -> tuple[list[tuple[int, dict, bytes]], bool]:
    """Send `data`, read `answers` responses (or until the server closes); also whether it closed after."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    buffer, results, closed = b"", [], False
    async with stream:
        await stream.send_all(data)
        with trio.fail_after(5):
            while len(results) < answers:
                parsed = parse_answer(buffer)
                if parsed is not None:
                    results.append(parsed[0])
                    buffer = parsed[1]
                    continue
                chunk = await stream.receive_some(65536)
                if not chunk:
                    closed = True
                    break
                buffer += chunk
            if not closed:
                with trio.move_on_after(0.3):
                    closed = not await stream.receive_some(65536)
    return results, closed


def parse_answer(buffer: bytes) -> tuple[tuple[int, dict, bytes], bytes] | None:
    if b"\r\n\r\n" not in buffer:
        return None
    top, rest = buffer.split(b"\r\n\r\n", 1)
    first, *lines = top.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    status = int(first.split()[1])
    if status == 100:
        return (status, headers, b""), rest
    if "content-length" in headers:
        size = int(headers["content-length"])
        return ((status, headers, rest[:size]), rest[size:]) if len(rest) >= size else None
    if headers.get("transfer-encoding") == "chunked":
        body, at = b"", 0
        while True:
            end = rest.find(b"\r\n", at)
            if end < 0:
                return None
            size = int(rest[at:end], 16)
            if len(rest) < end + 2 + size + 2:
                return None
            if size == 0:
                return (status, headers, body), rest[end + 4 :]
            body += rest[end + 2 : end + 2 + size]
            at = end + 2 + size + 2
    return (status, headers, rest), b""


def _get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


def _post(body: bytes, extra: str = "") -> bytes:
    return f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


async def test_keep_alive_and_pipelined_requests_are_answered_in_order() -> None:
    async with served() as port:
        results, closed = await exchange(port, _get("/echo?a=1") + _post(b"hello") + _get("/echo%20x"), answers=3)
    assert [(status, json.loads(body)) for status, _, body in results] == [
        (200, {"path": "/echo", "query": {"a": "1"}, "body": ""}),
        (200, {"path": "/echo", "query": {}, "body": "hello"}),
        (404, {"error": "no such path: /echo x"}),
    ]
    assert all("date" in headers and "connection" not in headers for _, headers, _ in results)
    assert not closed  # kept alive


async def test_a_chunked_body_with_expect_continue_is_read_whole() -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
    async with served() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(head)
            with trio.fail_after(5):
                assert await stream.receive_some(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
                await stream.send_all(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n")
                data = b""
                while parse_answer(data) is None:
                    data += await stream.receive_some(65536)
    (status, _, body), _ = parse_answer(data)  # type: ignore[misc]
    assert status == 200 and b'"body":"hello world"' in body


async def test_framing_that_could_smuggle_a_request_is_refused_and_closed() -> None:
    cases = {
        "both lengths": _post(b"x", "Transfer-Encoding: chunked\r\n"),
        "two lengths": b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
        "no host": b"GET /echo HTTP/1.1\r\n\r\n",
        "a bad request line": b"GET  /echo HTTP/1.1\r\nHost: x\r\n\r\n",
        "a control character": b"GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
        "a bad chunk size": b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    }
    async with served() as port:
        for name, data in cases.items():
            results, closed = await exchange(port, data + _get("/echo"), answers=2)
            assert [status for status, _, _ in results] == [400], name
            assert closed and results[0][1]["connection"] == "close", name
        results, closed = await exchange(
            port, _post(b"x", "Transfer-Encoding: gzip\r\n").replace(b"Content-Length: 1\r\n", b"")
        )
        assert results[0][0] == 501 and closed
        results, closed = await exchange(port, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n")
        assert results[0][0] == 200
    async with served(max_head=1024) as port:
        results, closed = await exchange(port, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n")
        assert results[0][0] == 431 and closed


async def test_an_unread_body_closes_the_connection_after_the_refusal() -> None:
    async with served() as port:
        results, closed = await exchange(port, _post(b"y" * 2000) + _get("/echo"), answers=2)
    assert [status for status, _, _ in results] == [413]
    assert closed


async def test_streaming_head_http10_and_a_failing_handler() -> None:
    async with served() as port:
        results, closed = await exchange(port, _get("/stream"))
        assert results[0][0] == 200 and results[0][1]["transfer-encoding"] == "chunked"
        assert results[0][2] == b"one two three" and not closed
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:  # HEAD has no route here: its 405 comes without the body its length announces
            await stream.send_all(b"HEAD /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            with trio.fail_after(5):
                while chunk := await stream.receive_some(65536):
                    data += chunk
        assert data.startswith(b"HTTP/1.1 405 ") and data.endswith(b"\r\n\r\n") and b"content-length: " in data
        results, closed = await exchange(port, b"GET /echo HTTP/1.0\r\n\r\n")
        assert results[0][0] == 200 and closed
        results, closed = await exchange(port, _get("/boom") + _get("/echo"), answers=2)
        assert [status for status, _, _ in results] == [500, 200]  # the app's own 500: the connection lives on
        results, closed = await exchange(port, _get("/stream-boom") + _get("/echo"), answers=2)
        assert [status for status, _, _ in results] == [500] and closed  # out of the app: the server's 500


async def test_an_idle_or_slow_head_is_cut_after_the_keep_alive_timeout() -> None:
    async with served(keep_alive_timeout=0.3) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"GET /echo HTTP/1.1\r\n")  # the rest of the head never comes
            with trio.fail_after(5):
                assert await stream.receive_some(100) == b""
