"""The demo chat page in headless Chromium: type a command, click a quick reply, watch the state change."""

from __future__ import annotations

from pathlib import Path

from trio_websocket import open_websocket_url

from tests.browser import DevTools, needs_chromium, start_chromium
from tests.runtime.support import running_service

ROOT = Path(__file__).resolve().parents[2]
BOT_TEXTS = "Array.from(document.querySelectorAll('.msg.bot')).map(m => m.textContent)"
STATES = "Array.from(document.querySelectorAll('#states .state')).map(s => [s.dataset.command, s.dataset.status])"


@needs_chromium
async def test_type_a_command_confirm_with_a_quick_reply_and_see_it_complete(tmp_path: Path) -> None:
    sample = (ROOT / "commands.yaml").read_text()
    async with running_service(
        tmp_path, sample, templates=ROOT / "templates", local_channel=True, local_agent_role=True
    ) as run:
        process, devtools_url = await start_chromium(tmp_path / "profile")
        try:
            async with open_websocket_url(devtools_url, max_message_size=16 * 1024 * 1024) as ws:
                page = DevTools(ws)
                await page.open(f"{run.base}/?conversation=browser-1")
                await page.wait_for("!!document.querySelector('#text')", True, timeout=10)
                await page.click("#text")
                await page.type_text('/refund 12345 amount=19.99 reason="damaged item"')
                await page.press_enter()
                # the confirmation question, with Confirm and Cancel as quick replies
                await page.wait_for("document.querySelectorAll('.msg.bot .chips button').length", 2, timeout=10)
                texts = await page.evaluate(BOT_TEXTS)
                assert "Refund £19.99 on order 12345?" in texts[-1]  # money: the sample formats amounts
                assert await page.evaluate(
                    "Array.from(document.querySelectorAll('.msg.bot .chips button')).map(b => b.textContent)"
                ) == ["Confirm", "Cancel"]
                await page.click(".msg.bot .chips button")  # Confirm
                await page.wait_for(STATES, [["refund", "completed"]], timeout=10)
                texts = await page.evaluate(BOT_TEXTS)
                assert any(text.startswith("Refund R-") and "created" in text for text in texts), texts
                await page.screenshot(tmp_path / "demo.png")
        finally:
            process.kill()
        refunds = [r for r in run.backend.requests if r.path.endswith("/orders/12345/refunds")]
        assert len(refunds) == 1 and refunds[0].method == "POST"
        assert [row["status"] for row in await run.rows()] == ["completed"]


@needs_chromium
async def test_the_page_sends_the_browser_language_and_the_replies_follow_it(tmp_path: Path) -> None:
    sample = (ROOT / "commands.yaml").read_text()
    async with running_service(
        tmp_path, sample, templates=ROOT / "templates", local_channel=True, local_agent_role=True
    ) as run:
        process, devtools_url = await start_chromium(tmp_path / "profile")
        try:
            async with open_websocket_url(devtools_url, max_message_size=16 * 1024 * 1024) as ws:
                page = DevTools(ws)
                await page.open("about:blank")
                agent = await page.evaluate("navigator.userAgent")
                # a German browser: navigator.language is what the page sends
                await page.call("Emulation.setUserAgentOverride", userAgent=agent, acceptLanguage="de-DE")
                await page.call("Page.navigate", url=f"{run.base}/?conversation=browser-de")  # the same target
                await page.wait_for("location.pathname + navigator.language", "/de-DE", timeout=10)
                await page.wait_for("!!document.querySelector('#text')", True, timeout=10)
                await page.click("#text")
                await page.type_text("/status 42")
                await page.press_enter()
                await page.wait_for("document.querySelectorAll('.msg.bot').length", 2, timeout=10)  # greeting, reply
                texts = await page.evaluate(BOT_TEXTS)
                assert texts[-1].startswith("Bestellung 42: "), texts
                assert "voraussichtlich am" in texts[-1] and "Dezember 2026" in texts[-1]
        finally:
            process.kill()
