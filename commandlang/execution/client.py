"""`SharedClient`: an `httpx.AsyncClient` for a client shared by every user of the service."""

from __future__ import annotations

from typing import Any

import httpx

from .door import ClientSend, HttpxDoor, Transport, as_transport

__all__ = ["SharedClient", "door_of"]


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

    `door` is its transport through the one door (door.py): over an `H11Transport`, callers on a
    hot path send without httpx's models (the Genesys API client does).
    """

    def __init__(self, *args: Any, transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, transport=transport, **kwargs)
        self.door: Transport = as_transport(transport) if transport is not None else HttpxDoor(ClientSend(self))

    @property
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()

    @cookies.setter
    def cookies(self, value: object) -> None:
        pass


def door_of(client: httpx.AsyncClient) -> Transport:
    """The door to send through for `client`: a `SharedClient`'s own, any other client's `send`."""
    return client.door if isinstance(client, SharedClient) else HttpxDoor(ClientSend(client))
