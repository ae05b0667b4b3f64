"""Agent panel benchmark: how fast headless Chromium shows a conversation's commands at 320 px.

    python bench/bench_panel.py [--commands 500] [--updates 300] [--json]

A real SQLite store, sync hub and the panel's files on 127.0.0.1 (tests/sync/panel_support.py), the page
in headless Chromium. Two figures: the time from opening the panel to every card of a snapshot of
`--commands` commands drawn (load, hello, snapshot, render), and the time for `--updates` state changes
published back to back (each one stored, then sent) to all show, beside the time the store and hub took
to take them, so the page's share is the difference. Wall clock, one run, polled every 5 ms; the machine
is shared, so read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import trio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.sync.panel_support import open_panel, panel_world  # noqa: E402
from tests.sync.support import token  # noqa: E402

COUNT = "document.querySelectorAll('li.card').length"
DONE = "document.querySelectorAll('li.card[data-status=completed]').length"


async def wait(page, expression: str, expected: int, timeout: float = 60.0) -> None:  # noqa: ANN001
    with trio.fail_after(timeout):
        while await page.evaluate(expression) != expected:
            await trio.sleep(0.005)


async def measure(commands: int, updates: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with panel_world(Path(tmp)) as world:
            runtime = world.runtime
            for number in range(commands):
                await runtime.create(f"c{number}", "c1", args={"order": number, "within": 3600, "note": None})
            started = time.perf_counter()
            page = await open_panel(world, world.url("conversation=c1", token("conversation:c1")))
            await wait(page, COUNT, commands)
            snapshot = time.perf_counter() - started
            await wait(page, "document.body.dataset.connection === 'live' ? 1 : 0", 1)

            started = time.perf_counter()
            for number in range(updates):
                await runtime.move(f"c{number}", "completed")
            published = time.perf_counter() - started
            await wait(page, DONE, updates)
            shown = time.perf_counter() - started
    return {
        "snapshot_ms": round(snapshot * 1000, 1),
        "burst_published_ms": round(published * 1000, 1),
        "burst_shown_ms": round(shown * 1000, 1),
        "per_update_shown_ms": round(shown * 1000 / max(1, updates), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = trio.run(measure, args.commands, min(args.updates, args.commands))
    figures.update(commands=args.commands, updates=min(args.updates, args.commands))
    if args.json:
        print(json.dumps(figures))
        return
    print(f"snapshot of {figures['commands']} commands drawn at 320 px: {figures['snapshot_ms']} ms after opening")
    print(
        f"{figures['updates']} state changes: stored and published in {figures['burst_published_ms']} ms, "
        f"all shown after {figures['burst_shown_ms']} ms ({figures['per_update_shown_ms']} ms each)"
    )


if __name__ == "__main__":
    main()
