"""The agent panel: a static page (no CDN, no build step) the runtime serves under `/panel`.

An agent desktop embeds `/panel?conversation=<id>&sync=ws://HOST:PORT/sync#token=<t>`
(a Genesys interaction widget fills in the conversation id). Put the token in the
fragment: browsers never send fragments to servers or in Referer headers.
The page is not framed-denied on purpose (embedding is its job); its CSP only
lets it load its own files and open WebSockets.

Mount either `panel_app` (ASGI) at `/panel`, or call `panel_response(path)` from
an existing app.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Awaitable, Callable

__all__ = ["panel_response", "panel_app", "PREFIX"]

PREFIX = "/panel"

_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "/": ("index.html", "text/html; charset=utf-8"),
    "/panel.js": ("panel.js", "text/javascript; charset=utf-8"),
    "/panel.css": ("panel.css", "text/css; charset=utf-8"),
    **{
        f"/{name}.js": (f"{name}.js", "text/javascript; charset=utf-8")
        for name in ("labels", "format", "cards", "replies", "commandbox")
    },
}
_SECURITY = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-cache"),
]


def _read(name: str) -> bytes:
    return resources.files(__name__).joinpath(name).read_bytes()


def panel_response(path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) for a GET of `path` (`/panel`, `/panel/`, `/panel/panel.js`, ...)."""
    path = path.split("?", 1)[0]
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
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *_SECURITY]
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
