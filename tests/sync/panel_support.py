"""What the panel's Chromium tests share: the panel's files and a stand-in for the service's panel routes on a
real HTTP server, a hub on a real socket, and headless Chromium laid out at a side panel's 320 px.

The HTTP side serves `/panel/*` (the real files), `GET /sync/registry` (the real outline of the sample
registry), and `POST /sync/complete` and `POST /sync/commands` as small stubs with the shapes of runtime.md
section 3 and sync/commands_api.py (`replace`, `usage`, `sent_to_customer`); the stubs check the sync token
like the service does and record what the page sent them.
"""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, AsyncIterator

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from commandlang.registry import load_spec
from commandlang.registry.outline import registry_outline
from commandlang.runtime.http import answer_lifespan, read_body
from commandlang.runtime.sqlite import SqliteStore
from commandlang.sync.hub import SyncHub
from commandlang.sync.panel import panel_app
from commandlang.sync.tokens import TokenError, verify_token
from tests.browser import DevTools, chromium

from .support import SECRET, FakeRuntime

SAMPLE = Path(__file__).resolve().parents[2] / "commands.yaml"
CARDS = "Array.from(document.querySelectorAll('li.card')).map(c => [c.dataset.commandId, c.dataset.status])"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"

#: What the stub completes, by the text before the cursor: enough for the keyboard flow the tests type.
COMPLETIONS: dict[str, list[dict[str, str]]] = {
    "/c": [
        {"label": "/callback", "insert": "/callback ", "detail": "Schedule a phone call back", "kind": "command"},
        {"label": "/cancel", "insert": "/cancel ", "detail": "alias of /refund", "kind": "command"},
    ],
    "/callback ": [
        {"label": "<phone>", "insert": "", "detail": "str, e.g. +44 20 7946 0000", "kind": "value"},
    ],
    "/callback +4420 to": [{"label": "topic=", "insert": "topic=", "detail": "enum", "kind": "argument"}],
    "/callback +4420 topic=": [
        {"label": choice, "insert": choice, "detail": "topic", "kind": "choice"}
        for choice in ("billing", "delivery", "returns", "other")
    ],
}


@dataclass
class PanelRoutes:
    """The stand-in HTTP app; `runtime` runs what `/sync/commands` is sent."""

    runtime: FakeRuntime | None = None
    commands_sent: list[dict[str, Any]] = field(default_factory=list)
    completions_asked: list[str] = field(default_factory=list)
    credentials: list[str] = field(default_factory=list)  # the sync token of each API request, in order
    decisions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (approval id, body)
    signin_script: str | None = None  # served as /panel/signin.js (h16-signin writes the real one)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        path = scope["path"]
        if path == "/panel/signin.js" and self.signin_script is not None:
            body = self.signin_script.encode()
            headers = [(b"content-type", b"text/javascript"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if path.startswith("/panel"):
            await panel_app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        body = await read_body(receive) or b""
        try:
            credential = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
            if path.startswith("/sync/"):  # not the browser's own /favicon.ico
                self.credentials.append(credential)
            agent = verify_token(SECRET, credential).agent
        except TokenError as exc:
            await self._answer(send, 401, {"error": str(exc)})
            return
        if path == "/sync/registry":
            spec, _ = load_spec(str(SAMPLE), {"ORDERS_API": "http://127.0.0.1:9/v1"})
            assert spec is not None
            await self._answer(send, 200, registry_outline(spec))
        elif path == "/sync/complete":
            request = json.loads(body)
            before = request["text"][: request["cursor"]]
            self.completions_asked.append(before)
            # the current token: after the last space, or after the `=` of an option whose value is typed
            start = max(before.rfind(" "), before.rfind("=") if before.endswith("=") else -1) + 1
            answer: dict[str, Any] = {
                "suggestions": COMPLETIONS.get(before, []),
                "replace": {"start": start, "end": len(before)},
                "usage": "/callback <phone> [when=<datetime>] [within=<duration>]" if "/callback " in before else None,
            }
            if "within=abc" in before:
                answer["diagnostics"] = [
                    {"code": "bad_value", "message": 'within must be a duration like 2h, got "abc"', "column": 17}
                ]
            await self._answer(send, 200, answer)
        elif path == "/sync/commands":
            await self._answer(send, 200, await self._run(json.loads(body), agent))
        elif path.startswith("/sync/approvals/"):
            await self._answer(send, 200, await self._decide(path.rsplit("/", 1)[1], json.loads(body), agent))
        else:
            await self._answer(send, 404, {"error": "not found"})

    async def _run(self, request: dict[str, Any], agent: str) -> dict[str, Any]:
        self.commands_sent.append(request)
        assert self.runtime is not None
        number = len(self.commands_sent)
        if request["text"].startswith("/callback +4420 within=abc"):
            event = await self.runtime.create(
                f"box-{number}",
                request["conversation_id"],
                command="callback",
                args={},
                status="rejected",
                actor=agent,
                role="agent",
            )
            record = event.record.to_json()
            record["error"] = {"code": "bad_value", "message": 'within must be a duration like 2h, got "abc"'}
            return {"command": record, "replies": [{"text": 'within must be a duration like 2h, got "abc"'}]}
        to_customer: dict[str, Any] = {"sent_to_customer": True} if request["send_to_customer"] else {}
        if request["text"].startswith("/status"):
            event = await self.runtime.create(
                f"box-{number}",
                request["conversation_id"],
                command="status",
                args={"order": 42},
                status="completed",
                actor=agent,
                role="agent",
            )
            reply = {"text": "Order 42 is shipped"}
            return {"command": event.record.to_json(), "replies": [reply], "channel": "webhook", **to_customer}
        event = await self.runtime.create(
            f"box-{number}",
            request["conversation_id"],
            command="callback",
            args={"phone": "+4420", "when": None, "within": 14400, "topic": "delivery", "card": None},
            status="executing",
            actor=agent,
            role="agent",
        )
        reply = {"text": "Booking your callback..."}
        return {"command": event.record.to_json(), "replies": [reply], "channel": "webhook", **to_customer}

    async def _decide(self, approval_id: str, request: dict[str, Any], agent: str) -> dict[str, Any]:
        """h17's POST /sync/approvals/{id}: approved -> pending, denied -> rejected, with the decision."""
        self.decisions.append((approval_id, request))
        assert self.runtime is not None
        record = next(r for r in self.runtime.records.values() if (r.approval or {}).get("id") == approval_id)
        approved = request["decision"] == "approve"
        decision = {"decision": "approved" if approved else "denied", "decided_by": agent, "reason": request["reason"]}
        self.runtime.now += 1
        error = None if approved else {"code": "approval_denied", "message": "denied by " + agent}
        moved = replace(
            record.moved("pending" if approved else "rejected", self.runtime.now, error),
            approval={**(record.approval or {}), **decision},
        )
        event = await self.runtime.append(moved)
        return {"command": event.record.to_json(), "replies": []}

    @staticmethod
    async def _answer(send: Any, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class PanelWorld:
    http: str
    sync: str
    runtime: FakeRuntime
    routes: PanelRoutes
    page: DevTools

    def url(self, query: str, token: str) -> str:
        return f"{self.http}/panel?{query}&sync={self.sync}#token={token}"


@asynccontextmanager
async def panel_world(tmp_path: Path) -> AsyncIterator[PanelWorld]:
    """Store, hub, HTTP and Chromium (a 320 x 640 page) all running; stopped on exit."""
    async with trio.open_nursery() as nursery:
        store = SqliteStore(str(tmp_path / "s.db"))
        await nursery.start(store.run)
        hub = SyncHub(store, SECRET, ping_interval=1)
        port = await nursery.start(hub.serve, "127.0.0.1", 0)
        runtime = FakeRuntime(store, hub)
        runtime.now = time.time()  # relative times read "just now", as for a command that just ran
        routes = PanelRoutes(runtime)
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = config.errorlog = None
        binds = await nursery.start(hypercorn_serve, routes, config)
        try:
            async with chromium(tmp_path / "profile") as ws:
                page = DevTools(ws)
                yield PanelWorld(binds[0], f"ws://127.0.0.1:{port}/sync", runtime, routes, page)
        finally:
            with trio.CancelScope(shield=True):
                await hub.aclose()
                await store.aclose()
            nursery.cancel_scope.cancel()


async def open_panel(world: PanelWorld, url: str) -> DevTools:
    page = world.page
    await page.open(url)
    await page.viewport(320, 640)
    return page


CARD_TEXT = """Array.from(document.querySelectorAll('li.card')).map(c => ({
  command: c.querySelector('.command-name').textContent,
  status: c.querySelector('.status').textContent,
  args: Array.from(c.querySelectorAll('.arg')).map(a => a.querySelector('dt').textContent + ' ' +
                                                       a.querySelector('dd').textContent),
  actor: c.querySelector('.actor').textContent,
  error: c.querySelector('.error') ? c.querySelector('.error').textContent : null,
  note: c.querySelector('.ack, .approval') ? c.querySelector('.ack, .approval').textContent : null,
  conversation: c.querySelector('.conversation') ? c.querySelector('.conversation').textContent : null,
}))"""
