"""The agent panel: a static page (no CDN, no build step) the runtime serves under `/panel`.

An agent desktop embeds `/panel?conversation=<id>&sync=ws://HOST:PORT/sync#token=<t>`
(a Genesys interaction widget fills in the conversation id). Put the token in the
fragment: browsers never send fragments to servers or in Referer headers.
Without a token, `signin.js` signs the agent in with Genesys (`window.commandlangSignIn`),
reading `/panel/config.json` (`PanelSite.config`); `/panel/signin.html` is the OAuth redirect URI.

The policy (`PanelSite.headers`): `default-src 'self'`, scripts and styles from the panel's own
files only (no inline script, no CDN), `connect-src` the page's origin, the sync WebSocket's and
the Genesys login and API origins the browser sign-in talks to, and `frame-ancestors` the
Genesys apps origin of the configured region (`https://apps.<domain>`, regions.py) and nothing
else (never `*`; `'self'` when no Genesys region is configured).

Mount either `panel_app` (ASGI) at `/panel`, or call `panel_response(path)` from
an existing app.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import urlsplit

__all__ = ["panel_response", "panel_app", "PREFIX", "PanelSite"]

PREFIX = "/panel"

_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "/": ("index.html", "text/html; charset=utf-8"),
    "/panel.js": ("panel.js", "text/javascript; charset=utf-8"),
    "/panel.css": ("panel.css", "text/css; charset=utf-8"),
    "/signin.js": ("signin.js", "text/javascript; charset=utf-8"),
    "/signin.html": ("signin.html", "text/html; charset=utf-8"),
}
_CONFIG = "/config.json"


def _origin(url: str) -> str:
    """`scheme://host[:port]` of a URL, "" when it has none."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@dataclass(frozen=True, slots=True)
class PanelSite:
    """What the panel is told about where it runs: the sync URL, the sign-in client, who may frame it."""

    sync_url: str = ""  # ws(s)://host:port/sync the browser connects to ("" unknown: any ws origin)
    frame_ancestors: tuple[str, ...] = ()  # origins allowed to frame the panel (() -> 'self' only)
    signin: Mapping[str, Any] | None = None  # client_id, grant, login_base, api_base (no secret)
    extra: Mapping[str, Any] = field(default_factory=dict)  # more keys for config.json

    def policy(self) -> str:
        """The Content-Security-Policy header's value."""
        connect = ["'self'"]
        sync = _origin(self.sync_url)
        connect += [sync] if sync else ["ws:", "wss:"]
        if self.signin:
            connect += [
                o for o in (_origin(self.signin.get("login_base", "")), _origin(self.signin.get("api_base", ""))) if o
            ]
        ancestors = " ".join(self.frame_ancestors) if self.frame_ancestors else "'self'"
        return (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src {' '.join(dict.fromkeys(connect))}; frame-ancestors {ancestors}; "
            "base-uri 'none'; form-action 'self'; object-src 'none'"
        )

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The security headers every panel answer carries."""
        return [
            (b"content-security-policy", self.policy().encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"x-content-type-options", b"nosniff"),
            (b"cache-control", b"no-cache"),
        ]

    def config(self) -> dict[str, Any]:
        """`GET /panel/config.json`: what signin.js and the panel read at start."""
        signin = None
        if self.signin and self.signin.get("client_id"):
            login = str(self.signin["login_base"]).rstrip("/")
            signin = {
                "client_id": self.signin["client_id"],
                "grant": self.signin.get("grant", "code"),
                "authorize_url": f"{login}/oauth/authorize",
                "token_url": f"{login}/oauth/token",
            }
        return {"sync_url": self.sync_url or None, "signin": signin, **self.extra}


def _read(name: str) -> bytes:
    return resources.files(__name__).joinpath(name).read_bytes()


def panel_response(path: str, site: PanelSite | None = None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) for a GET of `path` (`/panel`, `/panel/`, `/panel/panel.js`, ...)."""
    site = site or PanelSite()
    path = path.split("?", 1)[0]
    if path == PREFIX + _CONFIG:
        body = json.dumps(site.config(), separators=(",", ":")).encode()
        return (
            200,
            [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *site.headers()],
            body,
        )
    entry = _FILES.get(path[len(PREFIX) :]) if path.startswith(PREFIX) else None
    if entry is None:
        body = b"not found\n"
        return (
            404,
            [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
            body,
        )
    name, content_type = entry
    body = _read(name)
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *site.headers()]
    return 200, headers, body


async def panel_app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """ASGI app serving the panel's files (GET and HEAD); `scope["path"]` must include `/panel`."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    if scope["method"] not in ("GET", "HEAD"):
        status, headers, body = 405, [(b"allow", b"GET, HEAD"), (b"content-length", b"0")], b""
    else:
        path = scope["path"]
        if not path.startswith(PREFIX):  # mounted with the prefix moved to root_path
            path = scope.get("root_path", "") + path
        status, headers, body = panel_response(path)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
