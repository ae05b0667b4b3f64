"""signin.js in headless Chromium against the fake Genesys: authorize -> code -> token -> /sync/token -> a grant.

The page is the service's own `/panel/signin.html` (it loads signin.js under the panel's CSP); the
test calls `window.commandlangSignIn` as the panel does (tests/browser.py drives Chromium over CDP).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from commandlang.sync.tokens import verify_token
from tests.browser import DevTools, chromium, needs_chromium

from .signin_support import SYNC_SECRET, signin_service

SHOW = ".then(g => JSON.stringify(g), e => 'error: ' + e.message + ' (' + e.status + ')')"


async def sign_in(page: DevTools, options: str) -> Any:
    """Call `commandlangSignIn(options)` as a click would (a user gesture lets the popup open)."""
    result = await page.call(
        "Runtime.evaluate",
        expression=f"window.commandlangSignIn({options}){SHOW}",
        awaitPromise=True,
        returnByValue=True,
        userGesture=True,
    )
    value = result["result"].get("value")
    return value if value.startswith("error: ") else json.loads(value)


@needs_chromium
@pytest.mark.deadline(90)
async def test_pkce_sign_in_in_a_popup_gives_a_grant_renewed_before_it_expires(tmp_path: Path) -> None:
    # a 66 s token: signin.js renews it a minute before its end, so within the test
    async with signin_service(tmp_path, signin_ttl=66.0) as (run, fake):
        fake.add_browser_client("panel-client", [f"{run.base}/panel/signin.html"], grant="code")
        fake.browser_user = "u-ann"
        conversation = fake.start_conversation(queue_id="q-support", user_id="u-ann")
        other = fake.start_conversation(queue_id="q-sales", user_id="u-bob")
        async with chromium(tmp_path / "profile") as ws:
            page = DevTools(ws)
            widget = (
                f"{run.base}/panel/signin.html?gcConversationId={conversation.id}"
                "&gcHostOrigin=https%3A%2F%2Fapps.mypurecloud.ie&gcTargetEnv=prod-euw1&gcLangTag=en-us"
            )
            await page.open(widget)
            await page.wait_for("typeof window.commandlangSignIn", "function", timeout=10)
            assert await page.evaluate("JSON.stringify(window.commandlangSignIn.page())") == json.dumps(
                {
                    "conversation": conversation.id,
                    "queue": None,
                    "hostOrigin": "https://apps.mypurecloud.ie",
                    "targetEnv": "prod-euw1",
                    "lang": "en-us",
                },
                separators=(",", ":"),
            )
            grant = await sign_in(page, "{popup: true, onRenew: function (g) { window.renewed = g; }}")
            assert not isinstance(grant, str), grant
            assert grant["agent"] == "u-ann" and grant["scopes"] == [f"conversation:{conversation.id}"]
            assert verify_token(SYNC_SECRET, grant["token"]).agent == "u-ann"
            # the whole browser flow ran against the fake: authorize, then the PKCE exchange
            authorize = fake.requests_to("/oauth/authorize")
            assert [r.status for r in authorize] == [302]
            assert fake.auth_codes == {}  # the code was exchanged (and used up)

            await page.wait_for("!!window.renewed", True, timeout=30)
            renewed = await page.evaluate("JSON.stringify(window.renewed)")
            assert json.loads(renewed)["token"] != grant["token"]

            # another agent's conversation: refused, and the page gets the reason
            refused = await sign_in(page, f"{{popup: true, conversation: {json.dumps(other.id)}}}")
            assert refused == f"error: you are not a participant of conversation {other.id} (403)"


@needs_chromium
@pytest.mark.deadline(90)
async def test_implicit_sign_in_by_redirect_in_a_top_level_page(tmp_path: Path) -> None:
    async with signin_service(tmp_path, genesys_panel_grant="token") as (run, fake):
        fake.add_browser_client("panel-client", [f"{run.base}/panel/signin.html"], grant="token")
        fake.browser_user = "u-lee"
        async with chromium(tmp_path / "profile") as ws:
            page = DevTools(ws)
            await page.open(f"{run.base}/panel/signin.html?queue=q-sales")
            await page.wait_for("typeof window.commandlangSignIn", "function", timeout=10)
            await page.evaluate("window.commandlangSignIn({popup: false}); 'leaving'")
            # the page went to the fake's login, came back with #access_token, and returned where it was
            with trio.fail_after(15):
                while len(fake.requests_to("/oauth/authorize")) < 1:
                    await trio.sleep(0.05)
            await page.wait_for("location.search + location.hash", "?queue=q-sales", timeout=15)
            await page.wait_for("typeof window.commandlangSignIn", "function", timeout=10)
            grant = await sign_in(page, "{}")
            assert not isinstance(grant, str), grant
            assert grant["agent"] == "u-lee" and grant["scopes"] == ["queue:q-sales"]
            assert grant["roles"] == ["agent", "supervisor"]
            assert len(fake.requests_to("/oauth/authorize")) == 1  # the token this tab kept was used


def desktop_app(panel_url: str):
    """An ASGI page standing in for the agent desktop: the widget's iframe with its interpolated URL."""
    page = (
        "<!doctype html><title>Agent desktop</title>"
        f'<iframe id="widget" src="{panel_url}" '
        'sandbox="allow-scripts allow-same-origin allow-forms allow-modals allow-popups" '
        'width="360" height="600"></iframe>'
    ).encode()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": page})

    return app


async def main_world(page: DevTools, frame_id: str) -> int:
    """The id of a frame's main JS world (from the contexts `Runtime.enable` announces)."""
    message_id = next(page.ids)
    await page.ws.send_message(
        json.dumps({"id": message_id, "method": "Runtime.enable", "params": {}, "sessionId": page.session})
    )
    found, replied = None, False
    with trio.fail_after(10):
        while found is None or not replied:
            message = json.loads(await page.ws.get_message())
            replied = replied or message.get("id") == message_id
            if message.get("method") == "Runtime.executionContextCreated":
                context = message["params"]["context"]
                aux = context.get("auxData", {})
                if aux.get("frameId") == frame_id and aux.get("isDefault"):
                    found = context["id"]
    return found


async def in_context(page: DevTools, context: int, expression: str, *, gesture: bool = False, wait: bool = False):
    result = await page.call(
        "Runtime.evaluate",
        expression=expression,
        contextId=context,
        returnByValue=True,
        userGesture=gesture,
        awaitPromise=wait,
    )
    return result["result"].get("value")


async def frame_context(page: DevTools, url_prefix: str, timeout: float = 10.0) -> dict:
    """The child frame whose URL starts with `url_prefix`, once its document has loaded."""
    with trio.fail_after(timeout):
        while True:
            tree = await page.call("Page.getFrameTree")
            frames = [child["frame"] for child in tree["frameTree"].get("childFrames", [])]
            frame = next((f for f in frames if f.get("url", "").startswith(url_prefix)), None)
            if frame is not None:
                world = await page.call("Page.createIsolatedWorld", frameId=frame["id"], worldName="probe")
                ready = await page.call(
                    "Runtime.evaluate",
                    expression="document.readyState",
                    contextId=world["executionContextId"],
                    returnByValue=True,
                )
                if ready["result"].get("value") == "complete":
                    return frame
            await trio.sleep(0.1)


@needs_chromium
@pytest.mark.deadline(90)
async def test_inside_the_agent_desktops_iframe_the_sign_in_uses_a_popup(tmp_path: Path) -> None:
    from functools import partial

    from hypercorn.config import Config
    from hypercorn.trio import serve

    async with trio.open_nursery() as nursery:
        binds = {}
        for name in ("desktop", "rogue"):
            config = Config()
            config.bind = ["127.0.0.1:0"]
            config.accesslog = config.errorlog = None
            holder: dict[str, str] = {}
            binds[name] = holder

            async def app(scope, receive, send, holder=holder):
                await desktop_app(holder["panel"])(scope, receive, send)

            holder["origin"] = (await nursery.start(partial(serve, app, config)))[0]
        async with signin_service(tmp_path, genesys_apps_origin=binds["desktop"]["origin"]) as (run, fake):
            fake.add_browser_client("panel-client", [f"{run.base}/panel/signin.html"], grant="code")
            fake.browser_user = "u-ann"
            conversation = fake.start_conversation(queue_id="q-support", user_id="u-ann")
            panel = (
                f"{run.base}/panel/signin.html?gcConversationId={conversation.id}"
                f"&gcHostOrigin={binds['desktop']['origin']}&gcTargetEnv=prod-euw1&gcLangTag=en-us"
            )
            for holder in binds.values():
                holder["panel"] = panel
            async with chromium(tmp_path / "profile") as ws:
                page = DevTools(ws)
                await page.open(binds["desktop"]["origin"] + "/")
                frame = await frame_context(page, run.base)
                # in the widget's own JS world (the iframe's), as the panel's Sign in button does
                context = await main_world(page, frame["id"])
                assert await in_context(page, context, "window.self !== window.top") is True
                grant = await in_context(page, context, f"window.commandlangSignIn(){SHOW}", gesture=True, wait=True)
                grant = json.loads(grant) if not grant.startswith("error: ") else grant
                assert not isinstance(grant, str), grant
                assert grant["agent"] == "u-ann" and grant["scopes"] == [f"conversation:{conversation.id}"]
                assert [r.status for r in fake.requests_to("/oauth/authorize")] == [302]

                # the rogue desktop (another origin) is not allowed to frame the panel
                rogue = DevTools(ws)
                await rogue.open(binds["rogue"]["origin"] + "/")
                with trio.fail_after(10):
                    while True:
                        tree = await rogue.call("Page.getFrameTree")
                        children = [c["frame"] for c in tree["frameTree"].get("childFrames", [])]
                        if children and children[0].get("unreachableUrl", "").startswith(run.base):
                            break  # Chromium shows its error page instead: frame-ancestors refused it
                        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
