"""The panel's actions in headless Chromium at 320 px: the command box's keyboard flow and the Genesys
sign-in path (against panel_support's stubs of /sync/complete, /sync/commands and signin.js's contract).
The same against the real service: tests/app/test_demo_panel.py and tests/sync/test_panel_widget.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.browser import needs_chromium

from .panel_support import CARDS, NO_SIDEWAYS_SCROLL, open_panel, panel_world
from .support import token


SUGGESTIONS = "Array.from(document.querySelectorAll('#box-suggestions [role=option]')).map(o => o.querySelector('.label').textContent)"
SELECTED = "(document.querySelector('#box-suggestions [aria-selected=true] .label') || {}).textContent"
VALUE = "document.getElementById('box-input').value"


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_the_command_box_keyboard_flow(tmp_path: Path) -> None:
    """Type with suggestions (arrows move, Tab accepts), see an error before sending, Enter runs the command,
    its ack shows while it runs, its reply can go to the customer. Against panel_support's stub endpoints."""
    async with panel_world(tmp_path) as world:
        page = await open_panel(world, world.url("conversation=c1", token("conversation:c1", agent="agent-7")))
        await page.wait_for("document.body.dataset.connection", "live", timeout=10)
        await page.click("#box-input")
        assert await page.evaluate("document.activeElement.id") == "box-input"
        await page.type_text("/c")
        await page.wait_for(SUGGESTIONS, ["/callback", "/cancel"])
        assert await page.evaluate("document.getElementById('box-input').getAttribute('aria-expanded')") == "true"
        await page.press_key("ArrowDown")
        assert await page.evaluate(SELECTED) == "/cancel"
        await page.press_key("ArrowUp")
        assert await page.evaluate(SELECTED) == "/callback"
        await page.press_key("Tab")
        assert await page.evaluate(VALUE) == "/callback "
        assert await page.evaluate("document.activeElement.id") == "box-input"  # Tab stayed in the box
        await page.wait_for(SUGGESTIONS, ["<phone>"])  # what comes next, asked for without a keystroke
        await page.type_text("+4420 to")
        await page.wait_for(SUGGESTIONS, ["topic="])
        await page.press_key("Tab")
        await page.wait_for(SUGGESTIONS, ["billing", "delivery", "returns", "other"])
        await page.press_key("ArrowDown")
        await page.press_key("Tab")
        assert await page.evaluate(VALUE) == "/callback +4420 topic=delivery"
        assert "/c" in world.routes.completions_asked  # debounced: not one request per keystroke of "+4420 to"
        assert "/callback +4" not in world.routes.completions_asked

        await page.evaluate("document.getElementById('box-input').value = '/callback +4420 '")
        await page.type_text("within=abc")
        await page.wait_for(
            "document.querySelector('.box-problem').textContent", 'within must be a duration like 2h, got "abc"'
        )
        assert await page.evaluate("document.getElementById('box-input').getAttribute('aria-invalid')") == "true"
        await page.press_enter()  # sent anyway: the service rejects it and the box keeps the text to fix
        await page.wait_for("Array.from(document.querySelectorAll('.answer')).map(a => a.dataset.status)", ["rejected"])
        assert await page.evaluate("document.querySelector('.box-problem').dataset.code") == "bad_value"
        assert await page.evaluate(VALUE) == "/callback +4420 within=abc"
        assert await page.evaluate("document.querySelectorAll('.answer .send-to-customer').length") == 0

        await page.evaluate("document.getElementById('box-input').value = ''")
        await page.type_text("/callback +4420 topic=delivery")
        await page.wait_for("document.querySelector('.box-usage').textContent.split(' ')[0]", "/callback")
        await page.press_enter()
        await page.wait_for(CARDS, [["box-2", "executing"], ["box-1", "rejected"]])
        # the hub's event may come before the answer: the answer clears the box and brings the ack
        await page.wait_for(VALUE, "")
        assert await page.evaluate("document.querySelector('.box-problem').hidden") is True
        await page.wait_for(
            "(document.querySelector('li[data-command-id=box-2] .ack') || {}).textContent",
            "still running: Booking your callback...",
        )
        assert await page.evaluate("document.querySelector('.answer .reply-text').textContent") == (
            "Booking your callback..."
        )
        assert world.routes.commands_sent[-1] == {
            "conversation_id": "c1",
            "text": "/callback +4420 topic=delivery",
            "send_to_customer": False,
        }
        await world.runtime.move("box-2", "completed")
        await page.wait_for(CARDS, [["box-2", "completed"], ["box-1", "rejected"]])
        assert await page.evaluate("document.querySelectorAll('li[data-command-id=box-2] .ack').length") == 0

        # A command that changes something is not offered to the customer afterwards (that would run it
        # again): the agent chooses before running. A read-only one is.
        assert await page.evaluate("document.querySelectorAll('.answer .send-to-customer').length") == 0
        await page.click(".box-to-customer input")
        assert await page.evaluate("document.querySelector('.box-to-customer input').checked") is True
        await page.click("#box-input")
        await page.type_text("/callback +4420 topic=billing")
        await page.press_enter()
        await page.wait_for("document.querySelectorAll('.answer').length", 3)
        assert world.routes.commands_sent[-1] == {
            "conversation_id": "c1",
            "text": "/callback +4420 topic=billing",
            "send_to_customer": True,
        }
        assert await page.evaluate("document.querySelector('.answer .sent').textContent") == "sent to customer"
        assert await page.evaluate("document.querySelector('.box-to-customer input').checked") is False

        await page.type_text("/status 42")
        await page.press_enter()
        await page.wait_for("document.querySelectorAll('.answer').length", 4)
        newest = "document.querySelector('.box-replies').firstElementChild"
        assert await page.evaluate(f"{newest}.dataset.commandText") == "/status 42"
        await page.click(".answer:first-child .send-to-customer")
        await page.wait_for(f"({newest}.querySelector('.sent') || {{}}).textContent", "sent to customer")
        assert world.routes.commands_sent[-1] == {
            "conversation_id": "c1",
            "text": "/status 42",
            "send_to_customer": True,
        }
        assert await page.evaluate(NO_SIDEWAYS_SCROLL) is True
        await page.screenshot(tmp_path / "command-box-320.png")


def stub_signin(first: str, renewed: str) -> str:
    """signin.js's contract (window.commandlangSignIn(options) -> Promise<grant>, options.onRenew(grant)),
    granting `first`; `window.renewNow()` renews with `renewed`."""
    grant = '{{token: "{}", expires_at: 0, agent: "agent-7", scopes: ["conversation:c1"]}}'
    return f"""
window.commandlangSignIn = function (options) {{
  window.signInOptions = JSON.parse(JSON.stringify(options));
  window.renewNow = function () {{ options.onRenew({grant.format(renewed)}); }};
  return Promise.resolve({grant.format(first)});
}};"""


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_without_a_token_the_panel_signs_in_and_renews(tmp_path: Path) -> None:
    first, renewed = token("conversation:c1", agent="agent-7"), token("conversation:c1", agent="agent-7", ttl=7200)
    async with panel_world(tmp_path) as world:
        world.routes.signin_script = stub_signin(first, renewed)
        await world.runtime.create("a", "c1")
        query = (
            "gcConversationId=c1&gcHostOrigin=https%3A%2F%2Fapps.mypurecloud.de&gcTargetEnv=prod-euc1"
            f"&gcLangTag=en-US&sync={world.sync}"
        )
        page = await open_panel(world, f"{world.http}/panel?{query}")
        await page.wait_for(CARDS, [["a", "pending"]], timeout=10)
        assert await page.evaluate("window.signInOptions") == {
            "conversation": "c1",
            "conversationId": "c1",
            "hostOrigin": "https://apps.mypurecloud.de",
            "targetEnv": "prod-euc1",
            "langTag": "en-US",
        }
        await page.wait_for("document.body.dataset.connection", "live")
        with trio.fail_after(5):
            while not world.routes.credentials:
                await trio.sleep(0.05)
        assert world.routes.credentials == [first]  # the outline was asked for with the grant
        await page.evaluate("window.sameDocument = true; window.renewNow()")
        await world.runtime.move("a", "executing")  # while the panel reconnects with the renewed token
        await page.wait_for(CARDS, [["a", "executing"]], timeout=10)
        await page.wait_for("document.body.dataset.connection", "live")
        await page.click("#box-input")
        await page.type_text("/c")
        await page.wait_for(SUGGESTIONS, ["/callback", "/cancel"])
        assert world.routes.credentials[-1] == renewed  # the command box uses the renewed token
        assert await page.evaluate("window.sameDocument") is True
        assert await page.evaluate("document.getElementById('announce').textContent") == "/refund: running"


@needs_chromium
@pytest.mark.deadline(60)  # a loaded machine starts Chromium slowly
async def test_a_slow_command_from_the_chat_shows_that_its_ack_went_out(tmp_path: Path) -> None:
    """A command the agent did not run from the panel (its ack text is not the panel's to see) still says, while
    it runs, that the customer was told it is on its way, when its command declares an `ack:`; one without does not."""
    async with panel_world(tmp_path) as world:
        page = await open_panel(world, world.url("conversation=c1", token("conversation:c1", agent="agent-7")))
        await page.wait_for("document.body.dataset.connection", "live", timeout=10)
        await world.runtime.create("chat-1", "c1", command="callback", args={"phone": "+4420"}, status="executing")
        await world.runtime.create("chat-2", "c1", command="ping", status="executing")
        ack = "(document.querySelector('li[data-command-id={}] .ack') || {{}}).textContent"
        await page.wait_for(ack.format("chat-1"), "the customer was told it is on its way", timeout=10)
        assert await page.evaluate(ack.format("chat-2")) is None
        await world.runtime.move("chat-1", "completed")
        await page.wait_for(CARDS + ".length", 2, timeout=10)
        await page.wait_for("document.querySelectorAll('li[data-command-id=chat-1] .ack').length", 0, timeout=10)
