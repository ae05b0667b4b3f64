"""`SharedClient`: an `httpx.AsyncClient` for a client shared by every user of the service."""

from __future__ import annotations

from typing import Any

import httpx

from .transport import H11Transport

__all__ = ["SharedClient"]


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass

    def set_cookie_header(self, request: httpx.Request) -> None:
        pass


class SharedClient(httpx.AsyncClient):
    """An AsyncClient without a cookie jar.

    One client serves every user's commands (a backend's, the Genesys API's), so a cookie one
    answer sets must never ride along on another user's request; and parsing Set-Cookie on
    every response was ~7-10% of the client's CPU per request.

    `h11` is the transport when it is an `H11Transport`: callers on a hot path may send through
    its own `request` door and skip httpx's models (the Genesys API client does).
    """

    def __init__(self, *args: Any, transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, transport=transport, **kwargs)
        self.h11: H11Transport | None = transport if isinstance(transport, H11Transport) else None

    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()

    @cookies.setter
    def cookies(self, value: object) -> None:
        pass
