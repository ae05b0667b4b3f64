"""An HTTP/1.1 request head, parsed strictly (RFC 9112), for the server in `http1.py`. No I/O.

What passes: a request line `METHOD SP target SP HTTP/1.1` (or `HTTP/1.0`), the target in
origin-form or absolute-form and visible ASCII only; header lines `name: value` with a token name
and no control character in the value (so no obs-fold and no bare CR or LF); `Host` exactly once
on HTTP/1.1, at most once on 1.0; a body framed by `Content-Length` (digits, repeated values must
agree) or by `Transfer-Encoding: chunked` alone. Both framings at once is refused: that ambiguity
is how requests are smuggled past a proxy. Anything else raises `BadRequest` with the status to
answer (400; 501 for another transfer coding; 505 for another HTTP version). tests/runtime/
test_http1_head.py checks it never takes a head h11 (hypercorn's parser) refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ServiceError

__all__ = ["BadRequest", "RequestHead", "parse_head", "REASONS"]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(rb"(?:https?://[\x21-\x2e\x30-\x7e]+)?/[\x21-\x7e]*")  # origin- or absolute-form
# every header line at once, in one C call: a token, a colon, a value without control characters
_FIELDS = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*")
REASONS = {100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
           401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type",
           422: "Unprocessable Content", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout", 505: "HTTP Version Not Supported"}  # fmt: skip


class BadRequest(ServiceError):
    """The request breaks HTTP/1.1: answered with `status`, and the connection closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class RequestHead:
    """What the server needs of a request head. `headers`: lower-case names, values stripped."""

    method: bytes
    raw_path: bytes
    query: bytes
    http_10: bool
    headers: list[tuple[bytes, bytes]]
    length: int  # Content-Length (0 without one)
    chunked: bool
    close: bool  # the client asked to close after this request (or speaks HTTP/1.0)
    expect_continue: bool


def parse_head(head: bytes) -> RequestHead:
    """The head (up to, without, its blank line), checked as the module docstring says."""
    request_line, _, fields = head.partition(b"\r\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]):
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if version == b"HTTP/1.1":
        http_10 = False
    elif version == b"HTTP/1.0":
        http_10 = True
    else:
        raise BadRequest(505 if version.startswith(b"HTTP/") else 400, "unsupported HTTP version")
    if target.startswith((b"http://", b"https://")):  # absolute-form (RFC 9112 section 3.2.2): its path
        target = b"/" + target.split(b"/", 3)[3]
    if fields and not _FIELDS.fullmatch(fields + b"\r\n"):
        raise BadRequest(400, "a malformed header line")
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    codings: list[bytes] = []
    hosts = 0
    close = http_10
    expect_continue = False
    for line in fields.split(b"\r\n") if fields else ():
        name, _, value = line.partition(b":")
        name, value = name.lower(), value.strip(b" \t")
        headers.append((name, value))
        if name == b"content-length":
            if not value.isdigit() or len(value) > 18 or (length is not None and int(value) != length):
                raise BadRequest(400, "bad content-length")
            length = int(value)
        elif name == b"transfer-encoding":
            codings += [coding.strip().lower() for coding in value.split(b",")]
        elif name == b"host":
            hosts += 1
        elif name == b"connection":
            close = close or b"close" in {token.strip().lower() for token in value.split(b",")}
        elif name == b"expect":
            expect_continue = value.lower() == b"100-continue"
    if hosts > 1 or (hosts == 0 and not http_10):
        raise BadRequest(400, "a request needs one host header (HTTP/1.0: at most one)")
    if codings:
        if length is not None:
            raise BadRequest(400, "both content-length and transfer-encoding")
        if codings != [b"chunked"]:
            raise BadRequest(501, "only the chunked transfer coding is supported")
    raw_path, _, query = target.partition(b"?")
    return RequestHead(method, raw_path, query, http_10, headers, length or 0, bool(codings), close, expect_continue)
