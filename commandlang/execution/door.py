"""One door for HTTP: `Transport.request(method, target, headers, body)` gives back a `StreamingResponse`.

`H11Transport` (transport.py) is a `Transport` itself: the fast path, with no httpx
models built per call. Any other httpx transport (httpcore's pool, a test's
`MockTransport`, a proxy's) goes through `HttpxDoor`, which builds the
`httpx.Request` and wraps the `httpx.Response`. `as_transport` is the one place
the two are told apart; the Executor and the Genesys API client see only the door.

`ClientSend` is an httpx client seen as a transport (its `send`, so its mounts and
proxies apply), for callers handed a stock `httpx.AsyncClient`; `fetch` is the one
way a caller that wants the whole answer (the Genesys clients) sends and reads: the
body under a cap, the connection given back, an `Answer` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Mapping, Protocol, Sequence

import httpx

from ..jsonsafe import loads_bounded
from .response import HttpxAnswer
from .target import Target
from .transport import _NO_TIMEOUTS, Body, H11Transport

__all__ = ["Answer", "ClientSend", "HttpxDoor", "StreamingResponse", "Transport", "as_transport", "fetch"]


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


class ClientSend(httpx.AsyncBaseTransport):
    """An httpx client as a transport: `client.send` (its mounts and proxies apply; its default
    headers and timeout do not, the request is already built). Closing it leaves the client open:
    the client's owner closes it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.client.send(request, stream=True)

    async def aclose(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole answer: its status, its body and its headers (`header(name)`, lower-case bytes)."""

    status_code: int
    content: bytes
    response: StreamingResponse  # released; kept for its header lookup

    def header(self, name: bytes) -> str | None:
        return self.response.header(name)

    def json(self) -> Any:
        """The body as JSON (`jsonsafe.loads_bounded`: too deep or a lone surrogate is a `ValueError`)."""
        return loads_bounded(self.content)


async def fetch(
    door: Transport,
    method: bytes,
    target: Target,
    headers: Sequence[tuple[bytes, bytes]],
    body: bytes | None = None,
    *,
    limit: int,
) -> Answer:
    """Send one request through `door` and read its whole body under `limit` (`BodyTooLarge`, a
    `TransportError`, past it); the connection goes back to the pool (or closes) either way."""
    response = await door.request(method, target, headers, body)
    try:
        content = await response.read(limit)
    finally:
        await response.release()
    return Answer(response.status_code, content, response)
