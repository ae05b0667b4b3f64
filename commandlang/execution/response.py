"""Reading an answer: the whole body under a size cap, from our transport or any httpx one.

`RawResponse` (transport.py) and `HttpxAnswer` (an `httpx.Response` from any other
transport) offer the same few things: `status_code`, `header(name)`, the body's chunks,
`read(limit)` and `release()`, so the Executor reads both alike; `HttpxStream` is the
other way round, a `RawResponse`'s body for the transport's httpx door.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterable, AsyncIterator

import httpx
import trio

from ..errors import CommandlangError

if TYPE_CHECKING:
    from .transport import RawResponse

__all__ = ["BodyTooLarge", "HttpxAnswer", "HttpxStream", "read_capped"]


class BodyTooLarge(httpx.RemoteProtocolError, CommandlangError):
    """A response body over the caller's limit (declared or while streaming): refused, never held whole."""


async def read_capped(chunks: AsyncIterable[bytes], limit: int, declared: str | None = None) -> bytes:
    """The whole body of a streamed response, or `BodyTooLarge` once it passes `limit` bytes
    (at once when the declared Content-Length says it will)."""
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the answer declares {declared} bytes, over the limit of {limit}")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the answer passed the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


class HttpxAnswer:
    """An `httpx.Response` seen through `RawResponse`'s interface, for transports other than ours."""

    __slots__ = ("response", "status_code")

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code

    def header(self, name: bytes) -> str | None:
        return self.response.headers.get(name.decode("ascii"))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self.response.stream
        if not isinstance(stream, AsyncIterable):  # an async transport answers with an async stream
            raise TypeError(f"{type(stream).__name__} is not an async byte stream")
        async for chunk in stream:
            yield chunk

    async def read(self, limit: int) -> bytes:
        """The whole body; `BodyTooLarge` past `limit` bytes. Then `release()`."""
        return await read_capped(self, limit, self.header(b"content-length"))

    async def release(self) -> None:
        """Close the response (httpx gives its connection back), even when cancelled."""
        with trio.CancelScope(shield=True):
            await self.response.aclose()


class HttpxStream(httpx.AsyncByteStream):
    """A `RawResponse`'s body as httpx's response stream (the transport's httpx door)."""

    def __init__(self, raw: RawResponse) -> None:
        self._raw = raw

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._raw:
            yield chunk

    async def aclose(self) -> None:
        await self._raw.aclose()
