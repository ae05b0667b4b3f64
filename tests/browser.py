"""Drive headless Chromium over the Chrome DevTools Protocol (its --remote-debugging-port WebSocket)
with trio-websocket: no Selenium or Playwright, which would download browsers.

Tests using it skip when /usr/bin/chromium (or $COMMANDLANG_TEST_CHROMIUM) is absent; CI installs
Debian's `chromium` package.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

CHROMIUM = os.environ.get("COMMANDLANG_TEST_CHROMIUM", "/usr/bin/chromium")  # e.g. google-chrome elsewhere

needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"needs headless Chromium at {CHROMIUM} (apt: chromium; or set COMMANDLANG_TEST_CHROMIUM)",
)


async def wait_until(evaluate: Callable[[str], Awaitable[Any]], expression: str, expected: Any, timeout: float) -> None:
    """Evaluate `expression` every 50 ms until it is `expected`; AssertionError with the last value after `timeout`."""
    value = None
    with trio.move_on_after(timeout):
        while (value := await evaluate(expression)) != expected:
            await trio.sleep(0.05)
        return
    raise AssertionError(f"{expression} is {value!r}, expected {expected!r}")


class DevTools:
    """The few CDP calls the tests need, on one page target (flattened session)."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws, self.ids, self.session = ws, itertools.count(1), None

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        await self.ws.send_message(json.dumps(message))
        while True:
            reply = json.loads(await self.ws.get_message())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    async def open(self, url: str) -> None:
        target = await self.call("Target.createTarget", url=url)
        self.session = (await self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True))[
            "sessionId"
        ]

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, expected: Any, timeout: float = 5.0) -> None:
        await wait_until(self.evaluate, expression, expected, timeout)

    async def type_text(self, text: str) -> None:
        """Type as a person does: one key event per character into the focused element."""
        for char in text:
            await self.call("Input.dispatchKeyEvent", type="keyDown", text=char)
            await self.call("Input.dispatchKeyEvent", type="keyUp", text=char)

    async def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                text="\r" if kind == "keyDown" else "",
            )

    async def press_key(self, key: str) -> None:
        """A key without text: Tab, Escape, ArrowDown, ArrowUp (what a person presses in a suggestion list)."""
        codes = {"Tab": 9, "Escape": 27, "ArrowUp": 38, "ArrowDown": 40}
        for kind in ("rawKeyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=codes[key])

    async def viewport(self, width: int, height: int) -> None:
        """Lay the page out at `width` x `height` CSS pixels, like a side panel of that size."""
        await self.call(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
        )

    async def click(self, selector: str) -> None:
        """A real mouse click at the centre of the first element matching `selector` (scrolled into view first,
        as a person would scroll to it)."""
        box = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'nearest'}});"
            f" const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    async def screenshot(self, path: Path) -> None:
        import base64

        data = (await self.call("Page.captureScreenshot", format="png"))["data"]
        path.write_bytes(base64.b64decode(data))


async def start_chromium(profile: Path) -> tuple[trio.Process, str]:
    """Start headless Chromium; returns the process and its browser DevTools WebSocket URL."""
    process = await trio.lowlevel.open_process(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            # this machine's network is closed: no background fetches that would fail loudly
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,800",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    active = profile / "DevToolsActivePort"  # Chromium writes its port and browser path here
    with trio.fail_after(15):
        while not active.exists() or len(active.read_text().splitlines()) < 2:
            await trio.sleep(0.05)
    port, path = active.read_text().splitlines()[:2]
    return process, f"ws://127.0.0.1:{port}{path}"


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[WebSocketConnection]:
    """Headless Chromium for the block: its browser DevTools WebSocket, and the process killed (and reaped) after."""
    process, devtools_url = await start_chromium(profile)
    try:
        async with open_websocket_url(devtools_url, max_message_size=16 * 1024 * 1024) as ws:
            yield ws
    finally:
        process.kill()
        with trio.move_on_after(5):
            await process.wait()


@asynccontextmanager
async def open_page(profile: Path) -> AsyncIterator[DevTools]:
    """`chromium`, with the DevTools connection wrapped for the page helpers."""
    async with chromium(profile) as ws:
        yield DevTools(ws)
