"""What the HTTP/1.1 server (runtime/http1.py, h11 underneath) refuses, on real loopback sockets.

The property that matters against request smuggling: a refused request closes its connection, and
nothing sent after it on that connection is ever served. And the differential: whatever head a
client sends, the server accepts it only if h11 on its own does, and what it hands the app (method,
target, headers in order) is h11's reading of it."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import h11
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commandlang.runtime.http1 import Http1Settings
from commandlang.runtime.listener import serve_app

from .test_http1 import exchange, parse_answer

_REFUSED = {400, 431, 501, 505}


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app: what the server handed it, as JSON (headers as a list: order and repeats kept)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "query": scope["query_string"].decode("latin-1"),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "body": body.decode("latin-1"),
    }
    data = json.dumps(seen).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})


@asynccontextmanager
async def served(**bounds: float) -> AsyncIterator[int]:
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            lambda task_status: serve_app(
                _echo, "127.0.0.1", 0, shutdown=shutdown, http=Http1Settings(**bounds), task_status=task_status
            )
        )
        yield port
        shutdown.set()


_NEXT = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "head, status",
    [
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nxx", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length : 1\r\n\r\nx", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxyz\r\n0\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\n\r\n", 400),
        (b"GET /x HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        (b"GET /x http/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET  /x HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\rTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\n folded: first\r\nHost: h\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\nHost: h\r\nX A: b\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),  # TLS spoken to the plain port
    ],
)
async def test_a_refused_request_closes_and_nothing_after_it_is_served(head: bytes, status: int) -> None:
    async with served() as port:
        results, closed = await exchange(port, head + _NEXT, answers=2)
    assert [answer for answer, _, _ in results] == [status]
    assert closed and results[0][1]["connection"] == "close"
    assert json.loads(results[0][2])["error"]  # a fixed text: nothing of the request is echoed back


async def test_heads_over_the_cap_are_431_and_a_chunk_line_over_it_is_refused() -> None:
    big = b"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n"
    async with served() as port:
        results, _ = await exchange(port, big)
        assert results[0][0] == 200
    async with served(max_head=1024) as port:
        results, closed = await exchange(port, big + _NEXT, answers=2)
        assert [answer for answer, _, _ in results] == [431] and closed
        chunked = b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"e" * 2000
        results, closed = await exchange(port, chunked)
        assert results[0][0] in _REFUSED and closed


async def test_what_h11_reads_leniently_cannot_start_a_header_of_its_own() -> None:
    """RFC 9112 lets a server take a bare LF as a line end (2.2) and an obs-fold as a space (5.2): h11
    does both. Neither can smuggle a framing header: the folded text stays inside its header's value."""
    folded = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\nok"
    bare_lf = b"POST /x HTTP/1.1\nHost: h\nContent-Length: 2\n\nok"
    async with served() as port:
        for data in (folded, bare_lf):
            results, closed = await exchange(port, data + _NEXT, answers=2)
            seen = json.loads(results[0][2])
            assert results[0][0] == 200 and seen["body"] == "ok", data
            assert "transfer-encoding" not in [name for name, _ in seen["headers"]], data
            assert json.loads(results[1][2])["raw_path"] == "/smuggled" and not closed  # framed as sent
        results, _ = await exchange(port, folded)
        assert ["x-a", "1 Transfer-Encoding: chunked"] in json.loads(results[0][2])["headers"]


_NAMES = st.sampled_from(
    [b"Host", b"Content-Length", b"Transfer-Encoding", b"Connection", b"X-Signature", b"Expect", b"a b", b"X:Y", b""]
)
_VALUES = st.one_of(
    st.sampled_from([b"x", b"5", b"05", b"-1", b"5, 5", b"chunked", b"gzip, chunked", b"close", b"100-continue"]),
    st.binary(max_size=12),
)
_LINES = st.one_of(
    st.tuples(_NAMES, _VALUES).map(lambda kv: kv[0] + b": " + kv[1]),
    st.sampled_from([b" folded", b"\tfolded", b"no-colon", b"X-A:\x00", b"X-A: a\rb", b"X-A: a\nb"]),
)
_REQUEST_LINES = st.one_of(
    st.tuples(
        st.sampled_from([b"GET", b"POST", b"HEAD", b"G T", b"", b"P\x00ST"]),
        st.sampled_from([b"/", b"/v1/messages?a=1", b"/a%20b", b"http://h/x?y", b"*", b"", b"/\x7f", b"/a b", b"h:1"]),
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2", b"http/1.1", b""]),
    ).map(b" ".join),
    st.binary(max_size=20),
)


def _h11_reading(data: bytes) -> h11.Request | None:
    """h11 on its own, as a server: the request it reads from `data`, or None if it refuses it."""
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(data)
    try:
        event = connection.next_event()
    except h11.RemoteProtocolError:
        return None
    return event if isinstance(event, h11.Request) else None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_REQUEST_LINES, st.lists(_LINES, max_size=5))
def test_the_server_accepts_only_what_h11_accepts_and_reads_it_alike(request_line: bytes, lines: list[bytes]) -> None:
    data = b"\r\n".join([request_line, *lines]) + b"\r\n\r\n"
    if data.index(b"\r\n\r\n") != len(data) - 4 or b"\n\n" in data or b"\n\r\n" in data[:-4]:
        return  # a blank line inside would end the head early: another request than the one drawn

    async def check() -> None:
        async with served() as port:
            answer = await _once(port, data)
        theirs = _h11_reading(data)
        while answer.startswith(b"HTTP/1.1 100 "):  # Expect: 100-continue, then the answer
            answer = answer.split(b"\r\n\r\n", 1)[1]
        if not answer:  # the server read a head and waited for its body, which never came
            assert theirs is not None, data
            return
        head, _, body = answer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status in _REFUSED:
            assert b"\r\nconnection: close\r\n" in head + b"\r\n", data
            return
        assert status == 200 and theirs is not None, data  # never laxer than h11
        assert theirs.http_version in (b"1.0", b"1.1") and theirs.target[:1] in (b"/", b"h"), data
        if theirs.method == b"HEAD":
            return  # answered without its body
        seen = json.loads(body)
        target = seen["raw_path"] + ("?" + seen["query"] if b"?" in theirs.target else "")
        assert seen["method"] == theirs.method.decode() and theirs.target.endswith(target.encode()), data
        assert seen["headers"] == [[k.decode("latin-1"), v.decode("latin-1")] for k, v in theirs.headers], data

    trio.run(check)


async def _once(port: int, data: bytes) -> bytes:
    """Send `data`, end our side, and read everything the server answers until it closes."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    answer = b""
    async with stream:
        await stream.send_all(data)
        await stream.send_eof()
        with trio.fail_after(5):
            while chunk := await stream.receive_some(65536):
                answer += chunk
    return answer


_PIECES = st.lists(st.binary(min_size=1, max_size=40), max_size=4)
_EXTENSIONS = st.sampled_from([b"", b";a=1", b";a", b' ;a="q"', b";\x00"])
_TRAILERS = st.sampled_from([b"", b"x-t: 1\r\n", b"x-t: 1\r\nx-u: 2\r\n", b"bad trailer\r\n"])


def _h11_body(data: bytes) -> tuple[bytes, bytes] | None:
    """h11 alone on a request and what follows it: (the body, the rest after it) or None if it refuses."""
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(data)
    connection.receive_data(b"")
    body = b""
    try:
        while type(event := connection.next_event()) is not h11.EndOfMessage:
            if type(event) is h11.Data:
                body += event.data
            elif event is h11.NEED_DATA or type(event) is h11.ConnectionClosed:
                return None
    except h11.RemoteProtocolError:
        return None
    return body, connection.trailing_data[0]


@settings(max_examples=100, deadline=None)
@given(_PIECES, _EXTENSIONS, _TRAILERS, st.booleans(), st.sampled_from([b"0", b"00", b"0000000000000000"]))
def test_a_body_is_framed_as_h11_frames_it_and_the_next_request_is_served(
    pieces: list[bytes], extension: bytes, trailers: bytes, chunked: bool, last: bytes
) -> None:
    body = b"".join(pieces)
    if chunked:
        framed = b"".join(b"%x%s\r\n%s\r\n" % (len(p), extension, p) for p in pieces) + last + b"\r\n" + trailers
        head = b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        data = head + framed + b"\r\n"
    else:
        data = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    theirs = _h11_body(data + _NEXT)

    async def check() -> None:
        async with served() as port:
            answer = await _once(port, data + _NEXT)  # the server closes after what it answers
        results = []
        while parsed := parse_answer(answer):
            results.append(parsed[0])
            answer = parsed[1]
        if theirs is None:  # refused, and nothing after it served
            assert [status for status, _, _ in results] in ([400], [431]), data
            assert results[0][1]["connection"] == "close", data
            return
        assert theirs == (body, _NEXT), data
        assert [status for status, _, _ in results] == [200, 200], data
        assert json.loads(results[0][2])["body"] == body.decode("latin-1"), data
        assert json.loads(results[1][2])["raw_path"] == "/smuggled", data

    trio.run(check)
