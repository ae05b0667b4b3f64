"""Attacks 4 and 5: floods of signed messages that try to grow the service's tables.

- 2,000 distinct unknown command names must not become 2,000 metric series;
- thousands of one-shot conversations must not fill the conversation table
  (whose bound, 10,000, is not a setting: the bursts here add up to more than
  that, so a worker that outlived its empty queue would show as "busy");
- thousands of unanswered confirmations must not stop a fresh one working.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
import trio

from .attack import Recorder, Served, message, serve, signed

UNKNOWN = 2_000
CONVERSATIONS = 8_700  # with UNKNOWN and the confirmations: more one-shot conversations than the table holds
CONFIRMATIONS = 1_000
BUSY = "busy"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Served:
    found = serve(tmp_path_factory.mktemp("floods"), recorder, env={"COMMANDLANG_LOG_LEVEL": "warning"})
    yield found
    found.proc.stop()


async def _burst(served: Served, texts: list[tuple[str, str, str]], concurrency: int = 32) -> list[tuple[int, str]]:
    """POST every (conversation, participant, text) signed, `concurrency` at a time; (status, first reply text)."""
    results: list[tuple[int, str]] = []
    pending = iter(texts)

    async def sender(client: httpx.AsyncClient) -> None:
        for conversation, participant, text in pending:
            body = message(text, conversation=conversation, participant=participant)
            answer = await client.post(
                f"{served.base}/v1/messages", content=body, headers={**signed(body), "content-type": "application/json"}
            )
            replies = answer.json().get("replies") or [{}]
            results.append((answer.status_code, str(replies[0].get("text", ""))))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits, trust_env=False) as client:
        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(sender, client)
    return results


def _scrape(served: Served) -> str:
    return served.metrics()


@pytest.mark.deadline(120)
async def test_unknown_command_names_do_not_become_metric_series(served: Served) -> None:
    before = _scrape(served)
    names = [f"zz{i}" if i % 4 else "zz" + "q" * 200 + str(i) for i in range(UNKNOWN)]
    started = time.monotonic()
    results = await _burst(served, [(f"c-unknown-{i}", "p1", f"/{name} arg") for i, name in enumerate(names)])
    seconds = time.monotonic() - started
    sizes = []
    for _ in range(3):
        sizes.append(len(_scrape(served).encode()))
    after = _scrape(served)
    largest = max(sizes)
    print(
        f"\n{UNKNOWN} unknown command names in {seconds:.1f} s: /metrics {len(before.encode())} bytes before, "
        f"largest scrape after {largest} bytes"
    )
    assert [status for status, _ in results] == [200] * UNKNOWN
    assert all("There is no command by that name" in text for _, text in results)
    assert not any(name in after for name in names)
    assert re.search(r'commandlang_commands_total\{command="unknown",status="rejected"\} (\d+)', after)
    assert (
        float(re.search(r'commandlang_commands_total\{command="unknown",status="rejected"\} (\d+)', after).group(1))
        >= UNKNOWN
    )
    assert largest < len(before.encode()) + 4096  # a few new fixed series at most, nothing per name


@pytest.mark.deadline(120)
async def test_one_shot_conversations_never_fill_the_conversation_table(served: Served) -> None:
    started = time.monotonic()
    results = await _burst(served, [(f"c-once-{i}", "p1", f"/note n{i}") for i in range(CONVERSATIONS)])
    seconds = time.monotonic() - started
    later = await _burst(served, [(f"c-later-{i}", "p1", "/note later") for i in range(50)], concurrency=5)
    depth = [line for line in _scrape(served).splitlines() if line.startswith("commandlang_queue_depth ")]
    print(
        f"\n{CONVERSATIONS} one-shot conversations in {seconds:.1f} s ({CONVERSATIONS / seconds:.0f}/s); "
        f"busy replies: {sum(BUSY in t for _, t in results)} in the burst, {sum(BUSY in t for _, t in later)} after; {depth}"
    )
    assert not any(BUSY in text for _, text in results + later)
    assert [status for status, _ in results + later] == [200] * (CONVERSATIONS + 50)
    assert [float(line.split()[1]) for line in depth] == [0]


@pytest.mark.deadline(120)
async def test_unanswered_confirmations_do_not_stop_a_fresh_one(served: Served) -> None:
    asked = await _burst(served, [(f"c-ask-{i}", f"p{i}", f"/pay ask{i}") for i in range(CONFIRMATIONS)])
    assert all(text.startswith("Pay for") for _, text in asked)
    mark = f"fresh{time.time_ns()}"
    answer = served.webhook(f"/pay {mark}", conversation="c-fresh", participant="p-fresh").json()
    token = next(
        q["payload"].split()[1] for q in answer["replies"][0]["quick_replies"] if q["payload"].startswith("/confirm")
    )
    done = served.webhook(f"/confirm {token}", conversation="c-fresh", participant="p-fresh").json()
    assert done["command"]["status"] == "completed"
    assert len(served.recorder.seen(mark)) == 1
    assert served.recorder.seen("/pay/ask") == []  # none of the unanswered ones ran
