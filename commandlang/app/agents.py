"""The agent-facing routes on the HTTP port, wired once the sync secret and port are known.

The panel's static files (`/panel`, served as a Genesys interaction widget), its command box
(`POST /sync/complete`, `/sync/commands`, `GET /sync/registry`), its Approve / Deny
(`POST /sync/approvals/{id}`), the Genesys sign-in (`POST /sync/token`, when a channel signs
agents in) and, with `--demo` only, the ready panel link (`GET /demo/panel`). Each is a sync
module behind the sync token; this module only composes them for `Service`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..api import Registry
from ..runtime.config import ServiceConfig
from ..runtime.http import HttpApp, Request, Response, json_response
from ..runtime.messages import Channel, CustomerReach, Submit
from ..runtime.metrics import Metrics
from ..runtime.store import Store
from ..sync.approvals import PanelApprovals
from ..sync.commands_api import CommandBox
from ..sync.signin import MAX_BODY as SIGNIN_MAX_BODY
from .signin import panel_site, signin_exchange

__all__ = ["AgentRoutes"]


@dataclass
class AgentRoutes:
    """What an agent's browser reaches on the HTTP port; `mount` adds it to the service's app."""

    config: ServiceConfig
    channels: list[Channel]
    store: Store
    submit: Submit
    registry: Callable[[], Registry]
    sync_secret: str
    sync_port: int | None
    metrics: Metrics
    clock: Callable[[], float]
    signin: Any = field(default=None, init=False)  # sync.signin.TokenExchange when a channel signs agents in

    def mount(self, app: HttpApp) -> None:
        config, clock = self.config, self.clock
        app.route_prefix("GET", "/panel", self._panel)
        # the panel's Approve / Deny buttons: the same sync tokens
        approvals = PanelApprovals(self.sync_secret, self.store, self.submit, wait=config.webhook_wait, clock=clock)
        app.mount(approvals.route())
        for spec in self._command_box().routes():  # POST /sync/complete, /sync/commands, GET /sync/registry
            app.mount(spec)
        exchange = self.signin = signin_exchange(config, self.channels, self.sync_secret)
        if exchange is not None:  # POST /sync/token: a Genesys access token for a sync token
            app.route("POST", "/sync/token", exchange.handle, admit=exchange.admit, max_body=SIGNIN_MAX_BODY)
            self.metrics.gauge(
                "commandlang_signin_issued", "Sync tokens POST /sync/token issued", lambda: exchange.issued
            )
            self.metrics.gauge(
                "commandlang_signin_refused", "POST /sync/token answered 401 or 403", lambda: exchange.refused
            )
        else:  # the path exists either way: a caller learns why, not "no such path"
            app.route("POST", "/sync/token", _no_signin, max_body=0, admit=_refuse_body)
        if config.demo and self.sync_secret and self.sync_port is not None:
            from .panel_routes import DemoPanel

            demo_panel = DemoPanel(self.sync_secret, self.sync_port, clock)
            app.route("GET", "/demo/panel", demo_panel.handle, max_body=0, admit=demo_panel.admit)

    def demo_lines(self, http_port: int) -> list[str]:
        """--demo only: the chat page and a ready agent panel for the same conversation (panel_routes)."""
        from .panel_routes import demo_lines

        return list(demo_lines(self.config.host, http_port, self.sync_port, self.sync_secret, self.clock))

    async def _panel(self, request: Request) -> Response:
        from ..sync.panel import panel_response

        status, headers, body = panel_response(
            request.path, panel_site(self.config, self.channels, request, self.sync_port)
        )
        return Response(status, body, {name.decode(): value.decode() for name, value in headers})

    def _command_box(self) -> CommandBox:
        """The panel's command box: the sync token as credential, the runtime through `submit`."""
        reach = {c.name: c.customer_sink() for c in self.channels if isinstance(c, CustomerReach)}
        return CommandBox(self.sync_secret, self.submit, self.registry, self.store, reach, clock=self.clock)


_NO_SIGNIN = (
    "no sign-in channel is configured: POST /sync/token exchanges a Genesys Cloud access token and needs "
    "the Genesys channel (GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET); without it, issue sync tokens with "
    "`commandlang token`"
)


def _refuse_body(request: Request) -> Response | None:
    return json_response(501, {"error": _NO_SIGNIN})  # on the head: no body is read for it


async def _no_signin(request: Request) -> Response:
    return json_response(501, {"error": _NO_SIGNIN})
