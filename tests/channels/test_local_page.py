"""The demo chat page in headless Chromium: type a command, click a quick reply, watch the state change."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import needs_chromium, open_page
from tests.runtime.support import running_service, sample_service

ROOT = Path(__file__).resolve().parents[2]
BOT_TEXTS = "Array.from(document.querySelectorAll('.msg.bot')).map(m => m.textContent)"
STATES = "Array.from(document.querySelectorAll('#states .state')).map(s => [s.dataset.command, s.dataset.status])"


@needs_chromium
async def test_type_a_command_confirm_with_a_quick_reply_and_see_it_complete(tmp_path: Path) -> None:
    async with sample_service(tmp_path, local_channel=True) as run:
        async with open_page(tmp_path / "profile") as page:
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
            # the command's state shows it waiting for that yes
            await page.wait_for(STATES, [["refund", "awaiting_confirmation"]], timeout=10)
            waiting = "document.querySelector('#states .status').textContent"
            assert await page.evaluate(waiting) == "awaiting confirmation"
            await page.click(".msg.bot .chips button")  # Confirm
            await page.wait_for(STATES, [["refund", "completed"]], timeout=10)
            texts = await page.evaluate(BOT_TEXTS)
            assert any(text.startswith("Refund R-") and "created" in text for text in texts), texts
            await page.screenshot(tmp_path / "demo.png")
        refunds = [r for r in run.backend.requests if r.path.endswith("/orders/12345/refunds")]
        assert len(refunds) == 1 and refunds[0].method == "POST"
        assert [row["status"] for row in await run.rows()] == ["completed"]


SUGGESTIONS = "Array.from(document.querySelectorAll('#suggestions li .label')).map(l => l.textContent)"
SELECTED = "document.querySelector('#suggestions li[aria-selected=true] .label')?.textContent"
VALUE = "document.querySelector('#text').value"
OPEN = "!document.querySelector('#suggestions').hidden"


@needs_chromium
@pytest.mark.deadline(60)  # a long browser flow: Chromium's start and ~40 key events on a loaded 2-core machine
async def test_suggestions_as_you_type_tab_accepts_arrows_move_escape_closes(tmp_path: Path) -> None:
    async with sample_service(tmp_path, local_channel=True, sync_secret="s3") as run:
        async with open_page(tmp_path / "profile") as page:
            await page.open(f"{run.base}/?conversation=browser-2")
            await page.wait_for("!!document.querySelector('#text')", True, timeout=10)
            await page.click("#text")
            await page.type_text("/ref")
            await page.wait_for(SUGGESTIONS, ["/refund"], timeout=10)
            await page.press_key("Tab")
            await page.wait_for(VALUE, "/refund ", timeout=10)
            await page.wait_for(SUGGESTIONS + "[0]", "<order>")  # the required positional first
            await page.wait_for("document.querySelector('#usage').textContent", run_usage("refund"), timeout=10)
            await page.type_text("12345 am")
            await page.wait_for(SUGGESTIONS, ["amount="], timeout=10)
            await page.press_key("Tab")
            await page.type_text("19.99 ")
            await page.wait_for(SUGGESTIONS, ["reason=", "--no-notify"], timeout=10)
            await page.screenshot(tmp_path / "suggestions.png")
            await page.press_key("ArrowDown")
            await page.wait_for(SELECTED, "--no-notify", timeout=10)
            await page.press_key("ArrowDown")  # past the end: back to the first
            await page.wait_for(SELECTED, "reason=", timeout=10)
            await page.press_key("ArrowUp")
            await page.press_key("Tab")
            await page.wait_for(VALUE, "/refund 12345 amount=19.99 --no-notify ", timeout=10)
            await page.press_key("Escape")
            await page.wait_for(OPEN, False, timeout=10)
            await page.screenshot(tmp_path / "suggestions-closed.png")
            # Enter sends what is typed (the suggestion list never swallows it)
            await page.evaluate("document.querySelector('#text').value = ''")
            await page.type_text("/sta")
            await page.wait_for(SUGGESTIONS, ["/status"], timeout=10)
            await page.press_key("Tab")
            await page.type_text("42")
            await page.press_enter()
            await page.wait_for(STATES, [["status", "completed"]], timeout=10)
            await page.wait_for(OPEN, False, timeout=10)
            # a customer is offered only what a customer may run
            await page.evaluate("document.querySelector('#role').value = 'customer'")
            await page.evaluate("document.querySelector('#text').value = ''")
            await page.type_text("/")
            await page.wait_for(f"{SUGGESTIONS}.includes('/status')", True, timeout=10)
            assert "/refund" not in await page.evaluate(SUGGESTIONS)
            # an agent's command box reply sent to the customer shows on the page
            from tests.sync.support import token

            agent = token("conversation:browser-2", agent="agent-5", secret="s3")
            response = await run.client.post(
                f"{run.base}/sync/commands",
                json={"conversation_id": "browser-2", "text": "/status 77", "send_to_customer": True},
                headers={"authorization": f"Bearer {agent}"},
            )
            assert response.status_code == 200 and response.json()["channel"] == "local"
            await page.wait_for(f"{BOT_TEXTS}.some(t => t.startsWith('Order 77'))", True, timeout=10)


def run_usage(name: str) -> str:
    import commandlang

    return commandlang.load_registry(ROOT / "commands.yaml", env={}).spec.commands[name].usage()


async def test_the_demo_suggestions_route_is_gated_like_the_page(tmp_path: Path) -> None:
    async with running_service(tmp_path, local_channel=True) as run:
        url = f"{run.base}/local/complete"
        same = {"origin": run.base, "content-type": "application/json"}
        ok = await run.client.post(url, json={"text": "/st", "role": "agent"}, headers=same)
        assert ok.status_code == 200 and [s["label"] for s in ok.json()["suggestions"]] == ["/status"]
        refused = [
            await run.client.post(url, json={"text": "/st"}, headers={"content-type": "application/json"}),
            await run.client.post(url, json={"text": "/st"}, headers={**same, "origin": "https://evil.example"}),
            await run.client.post(url, content=b'{"text": "/st"}', headers={**same, "content-type": "text/plain"}),
            await run.client.post(url, json={"text": "/st"}, headers={**same, "host": "rebound.example"}),
        ]
        assert [r.status_code for r in refused] == [403, 403, 415, 421]
        junk = await run.client.post(url, content=b"{", headers=same)
        assert junk.status_code == 400


@needs_chromium
async def test_the_page_sends_the_browser_language_and_the_replies_follow_it(tmp_path: Path) -> None:
    async with sample_service(tmp_path, local_channel=True) as run:
        async with open_page(tmp_path / "profile") as page:
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
