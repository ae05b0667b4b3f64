"""`parse_head` against h11 (the HTTP/1.1 parser hypercorn used): it never takes a head h11 refuses,
and what both take, they read alike."""

from __future__ import annotations

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandlang.runtime.http1_head import BadRequest, parse_head

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
        st.sampled_from([b"/", b"/v1/messages?a=1", b"/a%20b", b"http://h/x", b"*", b"", b"/\x7f", b"/a b"]),
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"http/1.1", b""]),
    ).map(b" ".join),
    st.binary(max_size=20),
)


def _h11(head: bytes) -> h11.Request | None:
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(head + b"\r\n\r\n")
    try:
        event = connection.next_event()
    except h11.RemoteProtocolError:
        return None
    return event if isinstance(event, h11.Request) else None


@settings(max_examples=3000, deadline=None)
@given(_REQUEST_LINES, st.lists(_LINES, max_size=5))
def test_never_more_lenient_than_h11_and_reads_alike(request_line: bytes, lines: list[bytes]) -> None:
    head = b"\r\n".join([request_line, *lines])
    if b"\r\n\r\n" in head + b"\r\n" or head.startswith(b"\r\n"):  # a blank line would end the head early
        return
    try:
        ours = parse_head(head)
    except BadRequest:
        return  # we may be stricter than h11 (a lone CR or LF, say); never laxer
    theirs = _h11(head)
    assert theirs is not None, head
    assert ours.method == theirs.method
    if theirs.target.startswith(b"/"):
        assert ours.raw_path + (b"?" + ours.query if b"?" in theirs.target else b"") == theirs.target
    assert ours.headers == list(theirs.headers)  # lower-case names, values stripped, in order


@pytest.mark.parametrize(
    "head, status",
    [
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked", 501),
        (b"GET /x HTTP/1.1\r\nHost: h\r\nHost: i", 400),
        (b"GET /x HTTP/2.0\r\nHost: h", 505),
        (b"GET /x HTTP/1.1\r\nHost: h\r\n folded", 400),
    ],
)
def test_ambiguous_framing_and_versions_are_refused(head: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_head(head)
    assert refused.value.status == status


def test_a_plain_head_is_read_as_sent() -> None:
    head = parse_head(b"POST http://h:1/v1/messages?x=1 HTTP/1.1\r\nHost: h:1\r\nContent-Length:  12 \r\nX-A: b")
    assert (head.method, head.raw_path, head.query, head.length, head.chunked) == (
        b"POST",
        b"/v1/messages",
        b"x=1",
        12,
        False,
    )
    assert head.headers == [(b"host", b"h:1"), (b"content-length", b"12"), (b"x-a", b"b")]
