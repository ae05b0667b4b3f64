"""The agent panel: its files, and the page in headless Chromium at a side panel's 320 px: humanised
arguments, live statuses, the queue view's filters, the connection's state across a hub restart and
refusals, the agent's language, relative times, approvals (the command box: test_panel_box.py).

The browser is driven over the Chrome DevTools Protocol (tests/browser.py); the HTTP side is
panel_support.PanelRoutes (the real panel files and registry outline; stubs for the service's routes
with their shapes).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve
from syrupy.assertion import SnapshotAssertion

from commandlang.runtime.sqlite import SqliteStore
from commandlang.sync.hub import SyncHub
from commandlang.sync.panel import panel_app, panel_response
from commandlang.sync.tokens import issue_token
from tests.browser import DevTools, chromium, needs_chromium

from .panel_support import CARD_TEXT, CARDS, NO_SIDEWAYS_SCROLL, open_panel, panel_world
from .support import SECRET, FakeRuntime, token

PANEL_FILES = ("panel.js", "labels.js", "format.js", "cards.js", "replies.js", "commandbox.js")


def test_panel_files_are_served_with_a_strict_policy() -> None:
    status, headers, body = panel_response("/panel?conversation=c1")
    assert status == 200 and b'<ol id="commands"' in body and b"cdn" not in body.lower()
    assert b"style=" not in body and b"<script>" not in body  # nothing inline: the CSP allows files only
    headers = dict(headers)
    assert (
        headers[b"content-type"].startswith(b"text/html")
        and b"script-src 'self'" in headers[b"content-security-policy"]
    )
    assert headers[b"referrer-policy"] == b"no-referrer"
    for name in PANEL_FILES:
        status, headers, body = panel_response(f"/panel/{name}")
        assert status == 200 and dict(headers)[b"content-type"].startswith(b"text/javascript"), name
        assert b"innerHTML" not in body and not re.search(rb"\.style\b", body), name  # textContent and classes only
    assert b"resume_after" in panel_response("/panel/panel.js")[2]
    assert panel_response("/panel/../secret")[0] == 404 and panel_response("/elsewhere")[0] == 404


ROWS = "Array.from(document.querySelectorAll('li[data-command-id]')).map(r => [r.dataset.commandId, r.dataset.status])"


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_panel_in_chromium_shows_states_live_across_a_hub_restart(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        store = SqliteStore(str(tmp_path / "s.db"))
        await nursery.start(store.run)
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = config.errorlog = None
        binds = await nursery.start(hypercorn_serve, panel_app, config)
        http = binds[0]

        async def hub_life(port: int, *, task_status: trio.TaskStatus[tuple[SyncHub, int]]) -> None:
            hub = SyncHub(store, SECRET, ping_interval=1)
            async with trio.open_nursery() as inner:
                bound = await inner.start(hub.serve, "127.0.0.1", port)
                task_status.started((hub, bound))

        hub_scope = trio.CancelScope()

        async def hub_in_scope(port: int, *, task_status: trio.TaskStatus[tuple[SyncHub, int]]) -> None:
            with hub_scope:
                await hub_life(port, task_status=task_status)

        hub, port = await nursery.start(hub_in_scope, 0)
        runtime = FakeRuntime(store, hub)
        await runtime.create("a", "c1")
        await runtime.create("other", "c2")

        async with chromium(tmp_path / "profile") as ws:
            page = DevTools(ws)
            await page.open(
                f"{http}/panel?conversation=c1&sync=ws://127.0.0.1:{port}/sync#token={token('conversation:c1')}"
            )
            await page.wait_for(ROWS, [["a", "pending"]], timeout=10)
            await page.wait_for("document.body.dataset.connection", "live")
            await runtime.move("a", "executing")
            await page.wait_for(ROWS, [["a", "executing"]])
            await page.evaluate("window.sameDocument = true")

            hub_scope.cancel()  # kill the hub; the page notices and keeps retrying
            await page.wait_for("document.body.dataset.connection", "reconnecting")
            seq = await page.evaluate("document.body.dataset.lastSeq")
            assert f"resuming after #{seq}" in await page.evaluate("document.getElementById('connection').textContent")
            await runtime.move("a", "failed")  # committed while no hub is up: replayed on resume
            hub, _ = await nursery.start(hub_life, port)
            runtime.hub = hub
            await runtime.create("b", "c1")
            await page.wait_for(ROWS, [["b", "pending"], ["a", "failed"]], timeout=10)  # newest first
            await page.wait_for("document.body.dataset.connection", "live")
            assert await page.evaluate("window.sameDocument") is True  # no reload
            assert (
                await page.evaluate("document.querySelector('li[data-command-id=a] .error').textContent")
                == "the refund service said no"
            )
        await hub.aclose()
        await store.aclose()
        nursery.cancel_scope.cancel()


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_a_conversation_at_320_px_humanised_and_live(tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    async with panel_world(tmp_path) as world:
        runtime = world.runtime
        long_phone = "+44 20 7946 0000 " + "x" * 80  # a long value wraps instead of widening the page
        await runtime.create(
            "cb",
            "c1",
            command="callback",
            args={"phone": long_phone, "when": None, "within": 14400, "topic": "billing", "card": "****1111"},
            actor="agent-7",
            role="agent",
        )
        await runtime.create(
            "rf",
            "c1",
            args={"order": 12345, "amount": "19.990", "reason": None},
            status="awaiting_confirmation",
        )
        page = await open_panel(world, world.url("conversation=c1", token("conversation:c1")))
        await page.wait_for(CARDS, [["rf", "awaiting_confirmation"], ["cb", "pending"]], timeout=10)
        await page.wait_for("document.body.dataset.connection", "live")
        await page.wait_for(  # the outline arrived: 14400 s of a duration reads 4 h
            "document.querySelector('li[data-command-id=cb] [data-arg=within] dd').textContent", "4 h"
        )
        assert await page.evaluate(NO_SIDEWAYS_SCROLL) is True
        await page.screenshot(tmp_path / "panel-320.png")  # kept with the test's files for review
        await runtime.move("cb", "executing")
        await page.wait_for(CARDS, [["rf", "awaiting_confirmation"], ["cb", "executing"]])
        assert await page.evaluate(CARD_TEXT) == snapshot
        times = await page.evaluate("Array.from(document.querySelectorAll('time.updated')).map(t => t.textContent)")
        assert times == ["just now", "just now"]
        assert await page.evaluate("document.querySelector('li[data-command-id=cb] .elapsed').textContent") in (
            "running 0 s",
            "running 1 s",
        )
        assert await page.evaluate("document.documentElement.lang") == "en"


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_the_agents_language_labels_the_panel(tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    async with panel_world(tmp_path) as world:
        await world.runtime.create("a", "c1", status="executing", actor="agent-7", role="agent")
        await world.runtime.create("b", "c1", status="awaiting_approval", args={"order": 7, "amount": "1250.00"})
        page = await open_panel(world, world.url("conversation=c1&gcLangTag=de-DE", token("conversation:c1")))
        await page.wait_for(CARDS, [["b", "awaiting_approval"], ["a", "executing"]], timeout=10)
        await page.wait_for("document.getElementById('connection').textContent", "live")
        await page.wait_for(
            "document.querySelector('li[data-command-id=b] [data-arg=amount] dd').textContent", "1.250,00"
        )
        assert await page.evaluate(CARD_TEXT) == snapshot
        assert (await page.evaluate("document.getElementById('box-input').placeholder")).startswith("/befehl")
        tables = await page.evaluate(
            "(L => Object.fromEntries(Object.keys(L).map(k => [k, Object.keys(L[k]).sort()])))"
            "(window.commandlangLabels.LABELS)"
        )
        assert sorted(tables) == ["de", "en", "es", "fr", "nl"]
        assert all(keys == tables["en"] for keys in tables.values())  # every language says everything


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_refusals_say_why(tmp_path: Path) -> None:
    async with panel_world(tmp_path) as world:
        page = await open_panel(world, world.url("conversation=c1", token("conversation:c2")))
        await page.wait_for("document.body.dataset.closeCode", "4403", timeout=10)
        assert await page.evaluate("document.getElementById('problem').textContent") == (
            "Cannot show commands: you may not watch this conversation or queue."
        )
        assert await page.evaluate("document.getElementById('connection').textContent") == "not connected"
        expired = token("conversation:c1", ttl=-10)
        page = await open_panel(world, world.url("conversation=c1", expired))
        await page.wait_for("document.body.dataset.closeCode", "4401", timeout=10)
        assert "invalid or has expired" in await page.evaluate("document.getElementById('problem').textContent")


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_the_queue_view_filters_newest_first(tmp_path: Path) -> None:
    async with panel_world(tmp_path) as world:
        runtime = world.runtime
        runtime.now = time.time() - 600  # asked ten minutes ago
        await runtime.create("q1", "c1", "queue-a")
        await runtime.create("q2", "c2", "queue-a", command="callback", args={"phone": "+4420", "within": 900})
        await runtime.create("elsewhere", "c3", "queue-b")
        page = await open_panel(
            world, world.url("gcConversationId=c9&queue=queue-a", token("queue:queue-a", agent="lead-1"))
        )
        await page.wait_for(CARDS, [["q2", "pending"], ["q1", "pending"]], timeout=10)
        assert await page.evaluate("document.getElementById('title').textContent") == "Queue"
        assert await page.evaluate("document.getElementById('box-area').hidden") is True  # no command box here
        assert await page.evaluate(
            "Array.from(document.querySelectorAll('.conversation')).map(n => n.textContent)"
        ) == ["conversation c2", "conversation c1"]
        waited = await page.evaluate("document.querySelector('li[data-command-id=q1] .elapsed').textContent")
        assert re.fullmatch(r"waiting (9 min \d+ s|10 min)", waited), waited
        runtime.now = time.time()
        await runtime.move("q1", "executing")
        await runtime.create("q3", "c1", "queue-a")  # a second conversation's command arrives live
        await page.wait_for(CARDS, [["q3", "pending"], ["q2", "pending"], ["q1", "executing"]])
        await runtime.move("q1", "completed")  # the default filter shows what is still active
        await page.wait_for(CARDS, [["q3", "pending"], ["q2", "pending"]])

        async def choose(select: str, value: str) -> None:
            await page.evaluate(
                f"(s => {{ s.value = {value!r}; s.dispatchEvent(new Event('change')); }})"
                f"(document.getElementById({select!r}))"
            )

        await choose("filter-status", "")
        await page.wait_for(CARDS, [["q3", "pending"], ["q2", "pending"], ["q1", "completed"]])
        await choose("filter-status", "completed")
        await page.wait_for(CARDS, [["q1", "completed"]])
        await choose("filter-status", "")
        await choose("filter-command", "callback")
        await page.wait_for(CARDS, [["q2", "pending"]])
        assert await page.evaluate(
            "Array.from(document.querySelectorAll('#filter-command option')).map(o => o.value)"
        ) == ["", "callback", "refund"]
        assert await page.evaluate(NO_SIDEWAYS_SCROLL) is True


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_relative_times_update(tmp_path: Path) -> None:
    async with panel_world(tmp_path) as world:
        world.runtime.now = time.time() - 130
        await world.runtime.create("old", "c1", status="completed")
        world.runtime.now = time.time() - 56
        await world.runtime.create("new", "c1", status="completed")
        page = await open_panel(world, world.url("conversation=c1", token("conversation:c1")))
        when = "Array.from(document.querySelectorAll('time.updated')).map(t => t.textContent)"
        await page.wait_for(f"{when}[1]", "2 min ago", timeout=10)
        assert re.fullmatch(r"5\d s ago", (await page.evaluate(when))[0])
        await page.wait_for(f"{when}[0]", "1 min ago", timeout=15)  # the panel ticks; no reload, no event


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_a_supervisor_approves_or_denies_in_the_panel(tmp_path: Path) -> None:
    async with panel_world(tmp_path) as world:
        runtime = world.runtime
        for number in (1, 2):
            await runtime.create(
                f"r{number}",
                "c1",
                args={"order": number, "amount": "250.00"},
                status="awaiting_approval",
                approval={"id": f"ap{number}", "roles": ["supervisor"], "requested_by": "cust-1", "expires_at": 0},
            )
        agent = await open_panel(world, world.url("conversation=c1", token("conversation:c1", agent="agent-7")))
        await agent.wait_for(CARDS, [["r2", "awaiting_approval"], ["r1", "awaiting_approval"]], timeout=10)
        assert await agent.evaluate("document.querySelector('li[data-command-id=r1] .approval').textContent") == (
            "needs approval by: supervisor"
        )
        assert await agent.evaluate("document.querySelectorAll('.approve').length") == 0  # an agent may not

        lead = issue_token(SECRET, "lead-1", ["conversation:c1"], 3600, roles=["agent", "supervisor"])
        page = await open_panel(world, world.url("conversation=c1", lead))
        await page.wait_for("document.querySelectorAll('li.card .approve').length", 2, timeout=10)
        await page.click("li[data-command-id=r1] .approve")
        await page.wait_for(CARDS, [["r2", "awaiting_approval"], ["r1", "pending"]])
        assert await page.evaluate("document.querySelector('li[data-command-id=r1] .approval').textContent") == (
            "approved by lead-1"
        )
        await page.click("li[data-command-id=r2] .approval-reason")
        await page.type_text("over the limit")
        await page.click("li[data-command-id=r2] .deny")
        await page.wait_for(CARDS, [["r2", "rejected"], ["r1", "pending"]])
        assert world.routes.decisions == [
            ("ap1", {"decision": "approve", "reason": None}),
            ("ap2", {"decision": "deny", "reason": "over the limit"}),
        ]
        assert await page.evaluate("document.querySelector('li[data-command-id=r2] .approval').textContent") == (
            "denied by lead-1 (over the limit)"
        )
