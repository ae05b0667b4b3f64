"""With `--demo` only: ready agent panel links (the printed one and the chat page's "agent panel" link).

`GET /demo/panel?conversation=ID` (mounted only with `--demo`, answered only on a loopback Host to a
loopback client) mints a short-lived token for that one conversation and redirects to the panel with it
in the URL fragment, which browsers never send to servers. A production service has no such door:
agents sign in with Genesys (`POST /sync/token`) or get a token from `commandlang token`.
"""

from __future__ import annotations

import time
from typing import Callable
from urllib.parse import quote, urlencode

from ..replies.scrub import is_loopback_host
from ..runtime.http import Request, Response, json_response
from ..sync.tokens import issue_token

__all__ = ["DEMO_AGENT", "DEMO_CONVERSATION", "DEMO_TOKEN_TTL", "demo_lines", "demo_panel_url", "DemoPanel"]

DEMO_AGENT = "demo-agent"
DEMO_CONVERSATION = "demo"  # the conversation the printed chat and panel links share
DEMO_TOKEN_TTL = 8 * 3600.0


def demo_panel_url(
    http_base: str, sync_url: str, secret: str | bytes, conversation: str, *, clock: Callable[[], float] = time.time
) -> str:
    """The panel for `conversation` with a fresh demo token in the fragment."""
    token = issue_token(secret, DEMO_AGENT, [f"conversation:{conversation}"], DEMO_TOKEN_TTL, now=clock)
    query = urlencode({"conversation": conversation, "sync": sync_url}, safe=":/")  # ws://host:port/sync reads as is
    return f"{http_base}/panel?{query}#token={quote(token)}"


def demo_lines(
    host: str, http_port: int, sync_port: int | None, secret: str | bytes, clock: Callable[[], float] = time.time
) -> list[str]:
    """What `serve --demo` prints: the chat page and a ready agent panel for the same conversation. The
    panel's token is signed with this run's sync secret (random when COMMANDLANG_SYNC_SECRET is unset), so
    it works at once."""
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    base = f"http://{host}:{http_port}"
    lines = [f"open {base}/?conversation={DEMO_CONVERSATION} in a browser to chat with the demo"]
    if secret and sync_port is not None:
        panel = demo_panel_url(base, f"ws://{host}:{sync_port}/sync", secret, DEMO_CONVERSATION, clock=clock)
        lines.append(f"agent panel for it (demo token, this run only): {panel}")
    return lines


class DemoPanel:
    """`GET /demo/panel`: the demo chat page's link to the agent panel for its own conversation."""

    def __init__(self, secret: str | bytes, sync_port: int, clock: Callable[[], float] = time.time) -> None:
        self.secret, self.sync_port, self.clock = secret, sync_port, clock

    def admit(self, request: Request) -> Response | None:
        host = request.headers.get("host", "")
        if not (is_loopback_host(host) and request.client is not None and is_loopback_host(request.client)):
            return json_response(421, {"error": "the demo panel link answers only on this machine"})
        if request.headers.get("sec-fetch-site", "none").lower() == "cross-site":
            return json_response(403, {"error": "cross-site requests are refused"})
        return None

    async def handle(self, request: Request) -> Response:
        conversation = request.query.get("conversation", "").strip()
        if not conversation or len(conversation) > 200 or any(c.isspace() for c in conversation):
            return json_response(400, {"error": "give ?conversation=ID"})
        host = request.headers.get("host", "127.0.0.1")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        url = demo_panel_url("", f"ws://{name}:{self.sync_port}/sync", self.secret, conversation, clock=self.clock)
        return Response(303, b"", {"location": url, "cache-control": "no-store", "referrer-policy": "no-referrer"})
