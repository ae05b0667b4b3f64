"""The panel as a Genesys interaction widget, end to end in headless Chromium against the fake Genesys.

A page standing in for the agent desktop frames `/panel` with the widget's interpolated URL; the agent
clicks Sign in (a popup: the fake's PKCE login), sees the conversation's commands live, types a command
with suggestions and sends its reply to the customer (the fake receives it on the agent's
communication). An agent who is not a participant is refused and sees why. A team lead's queue view
(a top-level page: sign-in by redirect) updates as customers run commands in two conversations.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from tests.browser import DevTools, chromium, needs_chromium, wait_until

from .signin_support import signin_service
from .test_signin_browser import desktop_app, frame_context, in_context, main_world

CARDS = "Array.from(document.querySelectorAll('li.card')).map(c => [c.dataset.command, c.dataset.status])"


class Widget:
    """The panel inside the desktop page's iframe: evaluate in its JS world, click and type as a person."""

    def __init__(self, page: DevTools, context: int) -> None:
        self.page, self.context = page, context

    async def evaluate(self, expression: str, *, gesture: bool = False) -> Any:
        return await in_context(self.page, self.context, expression, gesture=gesture)

    async def wait_for(self, expression: str, expected: Any, timeout: float = 10.0) -> None:
        await wait_until(self.evaluate, expression, expected, timeout)

    async def click(self, selector: str) -> None:
        """A real mouse click: the iframe's place in the desktop page plus the element's in the panel."""
        frame = await self.page.evaluate("(r => [r.x, r.y])(document.getElementById('widget').getBoundingClientRect())")
        box = await self.evaluate(
            f"(e => {{ e.scrollIntoView({{block: 'nearest'}}); const r = e.getBoundingClientRect();"
            f" return [r.x + r.width / 2, r.y + r.height / 2]; }})(document.querySelector({json.dumps(selector)}))"
        )
        x, y = frame[0] + box[0], frame[1] + box[1]
        for kind in ("mousePressed", "mouseReleased"):
            await self.page.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


async def desktop(nursery: trio.Nursery) -> dict[str, str]:
    """The agent desktop's page on its own origin; set `holder["panel"]` to the widget URL before opening it."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = config.errorlog = None
    holder: dict[str, str] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await desktop_app(holder["panel"])(scope, receive, send)

    holder["origin"] = (await nursery.start(partial(serve, app, config)))[0]
    return holder


async def open_widget(page: DevTools, holder: dict[str, str], base: str) -> Widget:
    await page.open(holder["origin"] + "/")
    frame = await frame_context(page, base)
    return Widget(page, await main_world(page, frame["id"]))


def widget_url(base: str, conversation: str, origin: str) -> str:
    return f"{base}/panel?gcConversationId={conversation}&gcHostOrigin={origin}&gcTargetEnv=prod-euw1&gcLangTag=en-us"


@needs_chromium
@pytest.mark.deadline(90)
async def test_an_agent_signs_in_in_the_widget_runs_a_command_and_sends_it_to_the_customer(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        holder = await desktop(nursery)
        async with signin_service(tmp_path, genesys_apps_origin=holder["origin"], genesys_queue_ids="q-support") as (
            run,
            fake,
        ):
            fake.add_browser_client("panel-client", [f"{run.base}/panel/signin.html"], grant="code")
            fake.browser_user = "u-ann"
            conversation = fake.start_conversation(queue_id="q-support", user_id="u-ann")
            fake.inject_customer_message("/status 7", conversation_id=conversation.id)
            holder["panel"] = widget_url(run.base, conversation.id, holder["origin"])
            async with chromium(tmp_path / "profile") as ws:
                page = DevTools(ws)
                widget = await open_widget(page, holder, run.base)
                # framed: the login needs a popup, and a popup needs a click
                await widget.wait_for("document.getElementById('sign-in').hidden", False)
                assert await widget.evaluate("document.getElementById('sign-in').textContent") == (
                    "Sign in with Genesys Cloud"
                )
                await widget.click("#sign-in")
                await widget.wait_for("document.body.dataset.connection", "live", timeout=20)
                await widget.wait_for(CARDS, [["status", "completed"]])
                assert (await widget.evaluate("document.querySelector('.actor').textContent")).endswith("(customer)")

                await widget.click("#box-input")
                await page.type_text("/sta")
                await widget.wait_for(
                    "Array.from(document.querySelectorAll('#box-suggestions .label')).map(l => l.textContent)",
                    ["/status"],
                )
                await page.press_key("Tab")
                await page.type_text("42")
                await widget.click(".box-to-customer input")
                await widget.click("#box-input")
                await page.press_enter()
                await widget.wait_for("(document.querySelector('.answer .sent') || {}).textContent", "sent to customer")
                with trio.fail_after(10):
                    while not any(
                        m.sender == "agent" and "Order 42" in m.text for m in fake.transcript(conversation.id)
                    ):
                        await trio.sleep(0.05)
                await widget.wait_for(CARDS, [["status", "completed"], ["status", "completed"]])
                assert await widget.evaluate("document.querySelector('li.card .actor').textContent") == (
                    "by u-ann (agent)"
                )
                assert await widget.evaluate("document.documentElement.scrollWidth <= window.innerWidth") is True
                await page.screenshot(tmp_path / "desktop-with-widget.png")
        nursery.cancel_scope.cancel()


@needs_chromium
@pytest.mark.deadline(90)
async def test_an_agent_who_is_not_a_participant_is_refused_and_sees_why(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        holder = await desktop(nursery)
        async with signin_service(tmp_path, genesys_apps_origin=holder["origin"]) as (run, fake):
            fake.add_browser_client("panel-client", [f"{run.base}/panel/signin.html"], grant="code")
            fake.browser_user = "u-bob"  # signed in to Genesys, but Ann's conversation is not his
            conversation = fake.start_conversation(queue_id="q-support", user_id="u-ann")
            holder["panel"] = widget_url(run.base, conversation.id, holder["origin"])
            async with chromium(tmp_path / "profile") as ws:
                page = DevTools(ws)
                widget = await open_widget(page, holder, run.base)
                await widget.wait_for("document.getElementById('sign-in').hidden", False)
                await widget.click("#sign-in")
                await widget.wait_for(
                    "document.getElementById('problem').textContent",
                    f"Cannot show commands: you are not a participant of conversation {conversation.id}.",
                    timeout=20,
                )
                assert await widget.evaluate("document.body.dataset.connection") == "closed"
                assert await widget.evaluate("document.getElementById('sign-in').hidden") is False  # try again
                assert await widget.evaluate("document.querySelectorAll('li.card').length") == 0
        nursery.cancel_scope.cancel()


@needs_chromium
@pytest.mark.deadline(90)
async def test_a_team_leads_queue_view_updates_as_commands_run_in_two_conversations(tmp_path: Path) -> None:
    async with signin_service(tmp_path, genesys_queue_ids="q-support") as (run, fake):
        fake.add_browser_client("panel-client", [f"{run.base}/panel/signin.html"], grant="code")
        fake.browser_user = "u-lee"  # in the "Team leads" group: a supervisor of every queue
        async with chromium(tmp_path / "profile") as ws:
            page = DevTools(ws)
            await page.open(f"{run.base}/panel?queue=q-support")  # top level: sign-in by redirect, no click
            await page.viewport(320, 640)
            await page.wait_for("document.body.dataset.connection", "live", timeout=20)
            assert await page.evaluate("document.getElementById('title').textContent") == "Queue"
            await page.evaluate(
                "(s => { s.value = ''; s.dispatchEvent(new Event('change')); })"
                "(document.getElementById('filter-status'))"
            )  # every status: these commands finish fast
            first = fake.inject_customer_message("/status 5", queue_id="q-support")
            second = fake.inject_customer_message("/status 6", queue_id="q-support")
            conversations = [
                next(c for c, conv in fake.conversations.items() if any(m.id == m_.id for m in conv.messages))
                for m_ in (first, second)
            ]
            await page.wait_for(CARDS, [["status", "completed"], ["status", "completed"]], timeout=20)
            shown = await page.evaluate(
                "Array.from(document.querySelectorAll('li.card .conversation')).map(n => [n.dataset.id, n.textContent])"
            )
            assert sorted(shown) == sorted([c, f"conversation {c[:8]}…"] for c in conversations)
            await page.wait_for(
                "Array.from(document.querySelectorAll('li.card [data-arg=order] dd')).map(n => n.textContent)",
                ["6", "5"],  # newest first
            )
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth") is True
            await page.screenshot(tmp_path / "queue-view-320.png")
