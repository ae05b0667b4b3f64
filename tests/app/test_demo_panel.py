"""`commandlang serve --demo` is ready out of the box: it prints a panel link that works at once (a token
signed with this run's sync secret), the chat page links to the panel for its own conversation, and the
panel shows the demo's commands with humanised arguments. Without --demo none of it exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import trio

from commandlang.sync.tokens import issue_token
from tests.browser import DevTools, needs_chromium, open_page
from tests.runtime.support import running_service, sample_service

ROOT = Path(__file__).resolve().parents[2]
SYNC_SECRET = "demo-panel-test-secret"
ARGS = (
    "Array.from(document.querySelectorAll('li.card[data-command=callback] .arg'))"
    ".map(a => [a.dataset.arg, a.querySelector('dd').textContent])"
)


def printed_links(out: str) -> tuple[str, str]:
    chat = re.search(r"^open (http://\S+) in a browser to chat with the demo$", out, re.M)
    panel = re.search(r"^agent panel for it \(demo token, this run only\): (http://\S+)$", out, re.M)
    assert chat and panel, out
    return chat.group(1), panel.group(1)


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_the_printed_panel_link_shows_the_demo_conversation_live(tmp_path: Path) -> None:
    async with sample_service(tmp_path, demo=True) as run:
        chat, panel = printed_links(run.out.getvalue())
        assert chat == f"{run.base}/?conversation=demo"
        assert panel.startswith(f"{run.base}/panel?conversation=demo&sync=ws") and "#token=" in panel
        async with open_page(tmp_path / "profile") as page:
            await page.open(panel)
            await page.viewport(320, 640)
            await page.wait_for("document.body.dataset.connection", "live", timeout=10)
            body = {
                "conversation_id": "demo",
                "message_id": "m-1",
                "participant_id": "demo-user",
                "role": "agent",
                "text": '/callback "+44 20 7946 0000" card=4111111111111111',
            }
            answer = await run.client.post(
                f"{run.base}/local/messages",
                content=json.dumps(body),
                headers={"content-type": "application/json", "origin": run.base},
            )
            assert answer.status_code == 200, answer.text
            await page.wait_for(
                "Array.from(document.querySelectorAll('li.card')).map(c => c.dataset.status)",
                ["completed"],
                timeout=10,
            )
            await page.wait_for(  # `when` is unset: hidden; `within` is 14400 s: 4 h; `card` stays masked
                ARGS,
                [["phone", "+44 20 7946 0000"], ["within", "4 h"], ["topic", "other"], ["card", "****1111"]],
            )
            assert await page.evaluate("document.querySelector('.actor').textContent") == "by demo-user (agent)"
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth") is True

            # The chat page's link opens the panel for the chat's own conversation, with a fresh token.
            await page.call("Page.navigate", url=f"{run.base}/?conversation=chat-2")
            await page.wait_for("!!document.getElementById('panel-link')", True, timeout=10)
            assert await page.evaluate("document.getElementById('panel-link').href") == (
                f"{run.base}/demo/panel?conversation=chat-2"
            )
            await page.evaluate("location.href = document.getElementById('panel-link').href")
            await page.wait_for('location.pathname + location.search.split("&")[0]', "/panel?conversation=chat-2")
            await page.wait_for("document.body.dataset.connection", "live", timeout=10)
            assert await page.evaluate("location.hash.startsWith('#token=')") is True


async def test_without_demo_there_is_no_token_and_no_demo_link(tmp_path: Path) -> None:
    async with running_service(tmp_path) as run:
        out = run.out.getvalue()
        assert "token" not in out and "agent panel" not in out
        assert (await run.client.get(f"{run.base}/demo/panel?conversation=c1")).status_code == 404
        refused = await run.client.get(f"{run.base}/sync/registry")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert (
            await run.client.get(f"{run.base}/sync/registry", headers={"authorization": "Bearer x.y"})
        ).status_code == 401


async def test_the_demo_link_is_for_this_machine_only(tmp_path: Path) -> None:
    async with running_service(tmp_path, demo=True) as run:
        url = f"{run.base}/demo/panel?conversation=c1"
        moved = await run.client.get(url)
        assert moved.status_code == 303 and moved.headers["location"].startswith("/panel?conversation=c1&sync=ws")
        token = moved.headers["location"].split("#token=", 1)[1]
        outline = await run.client.get(f"{run.base}/sync/registry", headers={"authorization": f"Bearer {token}"})
        assert outline.status_code == 200
        assert outline.json()["commands"]["slow"]["args"]["delay"] == {
            "type": "float",
            "list": False,
            "sensitive": False,
        }
        assert (await run.client.get(url, headers={"host": "attacker.example"})).status_code == 421
        assert (await run.client.get(url, headers={"sec-fetch-site": "cross-site"})).status_code == 403
        assert (await run.client.get(f"{run.base}/demo/panel")).status_code == 400


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_the_command_box_runs_a_command_and_sends_its_reply_to_the_customer(tmp_path: Path) -> None:
    """The real service (--demo): suggestions from Registry.complete, the command run as the panel's agent,
    and its reply sent to the customer, who reads it on the demo page's event stream."""
    async with sample_service(tmp_path, demo=True) as run:
        _, panel = printed_links(run.out.getvalue())
        async with open_page(tmp_path / "profile") as page:
            await page.open(panel)
            await page.viewport(320, 640)
            await page.wait_for("document.body.dataset.connection", "live", timeout=10)
            await page.click("#box-input")
            await page.type_text("/sta")
            await page.wait_for(
                "Array.from(document.querySelectorAll('#box-suggestions .label')).map(l => l.textContent)",
                ["/status"],
            )
            await page.press_key("Tab")
            await page.wait_for("document.querySelector('.box-usage').textContent", "/status <order>")
            await page.type_text("42")
            await page.press_enter()
            await page.wait_for(
                "(document.querySelector('.answer .reply-text') || {}).textContent.split(\",\")[0]",
                "Order 42 is out for delivery",
            )
            await page.wait_for(
                "Array.from(document.querySelectorAll('li.card')).map(c => [c.dataset.command, c.dataset.status])",
                [["status", "completed"]],
            )
            assert await page.evaluate("document.querySelector('.actor').textContent") == "by demo-agent (agent)"

            async with run.client.stream("GET", f"{run.base}/local/events?conversation=demo") as events:
                await page.click(".answer .send-to-customer")  # /status is read-only: running it again is harmless
                await page.wait_for("(document.querySelector('.answer .sent') || {}).textContent", "sent to customer")
                seen = ""
                with trio.fail_after(10):
                    async for chunk in events.aiter_text():
                        seen += chunk
                        if "event: reply" in seen and "Order 42 is out for delivery" in seen:
                            break
            # A confirmation question's Confirm is a button: the agent answers it in the panel.
            await page.click("#box-input")
            await page.type_text('/refund 12345 amount=19.99 reason="damaged item"')
            await page.press_enter()
            newest = "document.querySelector('.box-replies').firstElementChild"
            await page.wait_for(f"{newest}.querySelector('.reply-text').textContent", "Refund £19.99 on order 12345?")
            assert await page.evaluate(
                f"Array.from({newest}.querySelectorAll('button.choice')).map(b => b.textContent)"
            ) == ["Confirm", "Cancel"]
            await page.click(".answer:first-child button.choice")
            await page.wait_for(f"{newest}.querySelector('.answer-input').textContent", "Confirm")
            await page.wait_for(
                "Array.from(document.querySelectorAll('li.card[data-command=refund]')).map(c => c.dataset.status)",
                ["completed"],
                timeout=10,
            )
            assert (await page.evaluate(f"{newest}.querySelector('.reply-text').textContent")).startswith("Refund R-")
            await page.screenshot(tmp_path / "demo-panel-320.png")


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_a_large_refund_waits_in_the_panel_until_a_supervisor_approves_it(tmp_path: Path) -> None:
    """The real service: the agent asks for a refund above 100 from the command box and confirms it; the
    card waits for approval; a supervisor's panel (a token with the supervisor role) approves it; it runs."""
    async with sample_service(tmp_path, demo=True, sync_secret=SYNC_SECRET) as run:
        _, panel = printed_links(run.out.getvalue())
        lead = issue_token(SYNC_SECRET, "lead-1", ["conversation:demo"], 600, roles=["agent", "supervisor"])
        waiting = "Array.from(document.querySelectorAll('li.card[data-command=refund]')).map(c => c.dataset.status)"
        async with open_page(tmp_path / "profile") as page:
            await page.open(panel)
            await page.viewport(320, 640)
            await page.wait_for("document.body.dataset.connection", "live", timeout=10)
            await page.click("#box-input")
            await page.type_text('/refund 12345 amount=150 reason="damaged item"')
            await page.press_enter()
            await page.wait_for("document.querySelectorAll('.answer:first-child button.choice').length", 2)
            await page.click(".answer:first-child button.choice")  # Confirm
            await page.wait_for(waiting, ["awaiting_approval"], timeout=10)
            assert await page.evaluate("document.querySelector('li.card .approval').textContent") == (
                "needs approval by: supervisor"
            )
            assert await page.evaluate("document.querySelectorAll('.approve').length") == 0  # not the agent's

            page = DevTools(page.ws)  # the supervisor's own panel, in another tab
            await page.open(panel.split("#")[0] + "#token=" + lead)
            await page.viewport(320, 640)
            await page.wait_for("document.querySelectorAll('li.card .approve').length", 1, timeout=10)
            await page.click("li.card .approve")
            await page.wait_for(waiting, ["completed"], timeout=10)
            assert await page.evaluate("document.querySelector('li.card .approval').textContent") == (
                "approved by lead-1"
            )
