"""Reading an HTTP/1.1 request for the server in `http1.py`: h11 parses, this module checks. No I/O.

The request is parsed by h11 (an `h11.Connection(h11.SERVER)` a request, handed what the previous one
read ahead), the sans-I/O parser hypercorn itself uses, not by hand: a parser in front of a service
is where request smuggling lives, and a well-kept one has met more edge cases than we would. h11
reads the head and frames the body (Content-Length, chunked, trailers). The answer is written by
`http1.py` itself, not through h11's `send`: that is our own output, not a parse, and through h11 it
cost about twice the parse (measured: README, "Inbound HTTP").

What h11 accepts is RFC 9112's request, with two leniencies the RFC allows a server: a bare LF ends a
line (section 2.2) and an obs-fold is read as one space inside its header's value (section 5.2), so
neither can start a header of its own. h11 refuses conflicting lengths, a transfer coding other than
chunked (501), a missing or a second Host, control characters in a field, a leading blank line, a
bad request line. On top of h11, `check_head` on its parsed request: the HTTP version is 1.0 or 1.1
(else 505), the target is in origin- or absolute-form (else 400), not both Content-Length and
Transfer-Encoding (h11 lets the coding win, RFC 9112 section 6.3; a proxy in front may have framed
by the length: that disagreement is how requests are smuggled), and the head is within `max_head`
(431; h11 bounds only a head still incomplete). Every refusal closes the connection after its
answer; tests/runtime/test_http1_refusals.py holds each one on a real socket, and checks the server
never takes what h11 alone refuses.
"""

from __future__ import annotations

import re

import h11

from ..errors import ServiceError

__all__ = ["BadRequest", "REASONS", "REASON_BYTES", "REFUSALS", "check_head", "next_event", "reader"]

REASONS = {100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
           401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type",
           422: "Unprocessable Content", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout", 505: "HTTP Version Not Supported"}  # fmt: skip
# what a refusal says, whatever h11's message (which may quote the request's own bytes)
REFUSALS = {400: "malformed request", 431: "the request head is too large", 500: "internal error",
             501: "only the chunked transfer coding is supported", 505: "unsupported HTTP version"}  # fmt: skip
REASON_BYTES = {status: reason.encode("ascii") for status, reason in REASONS.items()}
# origin-form, or absolute-form (RFC 9112 section 3.2.2); h11 takes any visible characters (`*`, authority-form)
_TARGET = re.compile(rb"(?:https?://[\x21-\x2e\x30-\x7e]+)?/[\x21-\x7e]*")


class BadRequest(ServiceError):
    """The request breaks HTTP/1.1: answered with `status`, and the connection closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def reader(max_head: int, read_ahead: bytes = b"") -> h11.Connection:
    """h11's reader for one request, handed the bytes the previous request read ahead."""
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=max_head)
    if read_ahead:
        connection.receive_data(read_ahead)
    return connection


def next_event(connection: h11.Connection) -> object:
    """h11's next event without waiting (`h11.NEED_DATA` if it needs more): a refusal as `BadRequest`."""
    try:
        return connection.next_event()
    except h11.RemoteProtocolError as error:
        raise BadRequest(error.error_status_hint, str(error)) from None


def check_head(request: h11.Request, max_head: int) -> tuple[bytes, bytes, bool]:
    """What h11 leaves to us (see the module docstring): the target's path and query, and whether the
    client asked to close after this request (or speaks HTTP/1.0)."""
    if request.http_version not in (b"1.1", b"1.0"):
        raise BadRequest(505, "unsupported HTTP version")
    size = len(request.method) + len(request.target)
    framings = 0
    close = request.http_version == b"1.0"
    for name, value in request.headers:  # names lower-case (h11's)
        size += len(name) + len(value) + 4
        if name == b"content-length" or name == b"transfer-encoding":
            framings += 1  # h11 refuses two of either kind
        elif name == b"connection":
            close = close or b"close" in [token.strip() for token in value.lower().split(b",")]
    if size > max_head:  # h11 bounds only a head still incomplete; one read whole may be longer
        raise BadRequest(431, "the request head is too large")
    if framings > 1:  # h11 lets Transfer-Encoding win (RFC 9112 6.3): a proxy may have framed by the length
        raise BadRequest(400, "both content-length and transfer-encoding")
    target = request.target
    if not _TARGET.fullmatch(target):
        raise BadRequest(400, "malformed request target")
    if target[0] != 47:  # absolute-form: its path ("/" is 47)
        target = b"/" + target.split(b"/", 3)[3]
    raw_path, _, query = target.partition(b"?")
    return raw_path, query, close
