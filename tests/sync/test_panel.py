"""The agent panel: its files, and the page in headless Chromium showing live states across a hub restart.

The browser is driven over the Chrome DevTools Protocol (tests/browser.py).
"""

from __future__ import annotations

from pathlib import Path

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve
from trio_websocket import open_websocket_url

from commandlang.runtime.sqlite import SqliteStore
from commandlang.sync.hub import SyncHub
from commandlang.sync.panel import panel_app, panel_response
from tests.browser import DevTools, needs_chromium, start_chromium

from .support import SECRET, FakeRuntime, token


def test_panel_files_are_served_with_a_strict_policy() -> None:
    status, headers, body = panel_response("/panel?conversation=c1")
    assert status == 200 and b"<table" in body and b"cdn" not in body.lower()
    headers = dict(headers)
    assert (
        headers[b"content-type"].startswith(b"text/html")
        and b"script-src 'self'" in headers[b"content-security-policy"]
    )
    assert headers[b"referrer-policy"] == b"no-referrer"
    status, headers, body = panel_response("/panel/panel.js")
    assert status == 200 and b"resume_after" in body and b"innerHTML" not in body
    assert panel_response("/panel/../secret")[0] == 404 and panel_response("/elsewhere")[0] == 404


ROWS = "Array.from(document.querySelectorAll('tr[data-command-id]')).map(r => [r.dataset.commandId, r.dataset.status])"


@needs_chromium
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

        process, devtools_url = await start_chromium(tmp_path / "profile")
        try:
            async with open_websocket_url(devtools_url, max_message_size=16 * 1024 * 1024) as ws:
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
                await page.wait_for("document.body.dataset.connection", "connecting")
                await runtime.move("a", "failed")  # committed while no hub is up: replayed on resume
                hub, _ = await nursery.start(hub_life, port)
                runtime.hub = hub
                await runtime.create("b", "c1")
                await page.wait_for(ROWS, [["a", "failed"], ["b", "pending"]], timeout=10)
                assert await page.evaluate("window.sameDocument") is True  # no reload
                assert (
                    await page.evaluate("document.querySelector('tr[data-command-id=a] .error').textContent")
                    == "the refund service said no"
                )
        finally:
            process.kill()
            with trio.move_on_after(5):
                await process.wait()
        await hub.aclose()
        await store.aclose()
        nursery.cancel_scope.cancel()
