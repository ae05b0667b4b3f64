"""Wiring the agents' sign-in: a channel's `WatchPolicy` behind `POST /sync/token`, and the panel's site.

The composition root's part of issue 16: `sync/signin.py` defines the port and the route,
`channels/genesys/people.py` implements it; neither imports the other, this module joins them.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..runtime.config import ServiceConfig
from ..runtime.http import Request
from ..sync.panel import PanelSite
from ..sync.signin import SignInSource, TokenExchange

__all__ = ["signin_exchange", "panel_site"]

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::\d{1,5})?$")


def _source(channels: Iterable[Any]) -> SignInSource | None:
    return next((c for c in channels if isinstance(c, SignInSource)), None)


def signin_exchange(config: ServiceConfig, channels: Iterable[Any], secret: str) -> TokenExchange | None:
    """The `POST /sync/token` route's exchange, when a channel (Genesys) signs agents in."""
    source = _source(channels)
    if source is None or not secret:
        return None
    return TokenExchange(source.watch_policy, secret, ttl=config.signin_ttl)


def _sync_url(config: ServiceConfig, request: Request, sync_port: int | None) -> str:
    """Where the browser reaches `/sync`: the configured public URL, else the request's host on the sync port."""
    if config.sync_public_url:
        return config.sync_public_url
    if sync_port is None:
        return ""
    host = request.headers.get("host", "")
    match = _HOST.match(host)
    hostname = match.group(1) if match else config.host
    return f"ws://{hostname}:{sync_port}/sync"


def panel_site(config: ServiceConfig, channels: Iterable[Any], request: Request, sync_port: int | None) -> PanelSite:
    """What the panel's answers say about where it runs (CSP origins, `/panel/config.json`)."""
    source = _source(channels)
    signin = source.panel_signin() if source is not None else None
    apps = (signin or {}).get("apps_origin") or ""
    return PanelSite(
        sync_url=_sync_url(config, request, sync_port),
        frame_ancestors=(apps,) if apps else (),
        signin=signin if signin and signin.get("client_id") else None,
        extra={"apps_origin": apps or None},
    )
