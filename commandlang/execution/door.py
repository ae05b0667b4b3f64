"""One door for HTTP: `Transport.request(method, target, headers, body)` gives back a `StreamingResponse`.

`H11Transport` (transport.py) is a `Transport` itself: the fast path, with no httpx
models built per call. Any other httpx transport (httpcore's pool, a test's
`MockTransport`, a proxy's) goes through `HttpxDoor`, which builds the
`httpx.Request` and wraps the `httpx.Response`. `as_transport` is the one place
the two are told apart; the Executor sees only the door.
"""

from __future__ import annotations

from typing import AsyncIterator, Mapping, Protocol, Sequence

import httpx

from .response import HttpxAnswer
from .target import Target
from .transport import _NO_TIMEOUTS, Body, H11Transport

__all__ = ["HttpxDoor", "StreamingResponse", "Transport", "as_transport"]


class StreamingResponse(Protocol):
    """A response with its body still streaming (`RawResponse`, `HttpxAnswer`); `release()` it."""

    status_code: int

    def header(self, name: bytes) -> str | None: ...
    def __aiter__(self) -> AsyncIterator[bytes]: ...
    async def read(self, limit: int) -> bytes: ...
    async def release(self) -> None: ...


class Transport(Protocol):
    """Sends one request: `headers` after `Host` (the transport adds it), with the caller's framing
    (Content-Length for a `bytes` body). Raises httpx's `TransportError`s, timeouts included."""

    async def request(
        self,
        method: bytes,
        target: Target,
        headers: Sequence[tuple[bytes, bytes]],
        body: Body = None,
        *,
        timeouts: Mapping[str, float | None] = _NO_TIMEOUTS,
    ) -> StreamingResponse: ...

    async def aclose(self) -> None: ...


class HttpxDoor:
    """Any httpx transport seen as a `Transport`: an `httpx.Request` in, an `HttpxAnswer` out."""

    __slots__ = ("inner",)

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def request(
        self,
        method: bytes,
        target: Target,
        headers: Sequence[tuple[bytes, bytes]],
        body: Body = None,
        *,
        timeouts: Mapping[str, float | None] = _NO_TIMEOUTS,
    ) -> HttpxAnswer:
        # the target is already normalised as httpx would (target.py), so parsing it again changes nothing
        url = httpx.URL((target.scheme + b"://" + target.netloc + target.target).decode("ascii"))
        request = httpx.Request(
            method.decode("ascii"),
            url,
            headers=list(headers),
            content=body,
            extensions={"timeout": dict(timeouts)} if timeouts else None,
        )
        return HttpxAnswer(await self.inner.handle_async_request(request))

    async def aclose(self) -> None:
        await self.inner.aclose()


def as_transport(transport: httpx.AsyncBaseTransport) -> Transport:
    """Our transport through its own door (no httpx models per call); any other through `HttpxDoor`."""
    return transport if isinstance(transport, H11Transport) else HttpxDoor(transport)
