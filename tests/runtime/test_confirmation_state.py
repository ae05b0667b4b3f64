"""A command waiting for its requester's yes is a stored record, `awaiting_confirmation`: the webhook
answers with it and the question, agents watching see it live (and in a fresh snapshot), and the
yes moves that same record on; a no ends it `rejected`; a restart leaves it waiting while its
question is in the store, and ends it when the question is gone."""

from __future__ import annotations

import json
import time

import trio

from commandlang.runtime.questions import Question
from commandlang.sync import Snapshot, SyncClient
from tests.runtime.support import QUESTION_KEY, running_service
from tests.runtime.test_confirmations import CONFIRMED, token_of, wiped
from tests.sync.support import token

SECRET = "confirmation-state-secret"


def watch(run, conversation: str) -> SyncClient:  # noqa: ANN001
    url = f"ws://127.0.0.1:{run.ports.sync}/sync"
    return SyncClient(url, token(f"conversation:{conversation}", secret=SECRET), [f"conversation:{conversation}"])


async def states(client: SyncClient, count: int) -> list[tuple[str, str]]:
    with trio.fail_after(5):
        return [((change := await client.__anext__()).command_id, change.status) for _ in range(count)]  # type: ignore[union-attr]


async def test_the_webhook_answers_with_the_waiting_record_and_the_question_then_the_yes_runs_it(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED, sync_secret=SECRET) as run:
        async with watch(run, "w1") as client:
            assert isinstance(await client.__anext__(), Snapshot)
            asked = (await run.webhook("/wipe 5", conversation="w1", participant="agent-1")).json()
            waiting = asked["command"]
            assert (waiting["status"], waiting["actor"], waiting["args"]) == (
                "awaiting_confirmation",
                "agent-1",
                {"order": 5},
            )
            assert waiting["confirmation"]["asked_of"] == "agent-1" and waiting["error"] is None
            assert asked["replies"][0]["text"] == "Wipe order 5?"  # the question comes with it
            assert wiped(run) == 0
            assert await states(client, 1) == [(waiting["id"], "awaiting_confirmation")]  # seen live

            done = (await run.webhook(f"/confirm {token_of(asked)}", conversation="w1")).json()
            assert done["command"]["id"] == waiting["id"] and done["command"]["status"] == "completed"
            assert await states(client, 3) == [
                (waiting["id"], "pending"),
                (waiting["id"], "executing"),
                (waiting["id"], "completed"),
            ]
        assert wiped(run) == 1
        # durable before anyone saw it: the store's first event of that record is the waiting one
        assert [(e["id"], e["status"]) for e in await run.events()][0] == (waiting["id"], "awaiting_confirmation")


async def test_a_new_watcher_finds_the_waiting_record_in_its_snapshot(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED, sync_secret=SECRET) as run:
        asked = (await run.webhook("/wipe 5", conversation="w2")).json()
        async with watch(run, "w2") as client:
            snapshot = await client.__anext__()
        assert isinstance(snapshot, Snapshot)
        assert [(c["id"], c["status"]) for c in snapshot.commands] == [
            (asked["command"]["id"], "awaiting_confirmation")
        ]


async def test_a_cancel_ends_the_waiting_record_rejected(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED, sync_secret=SECRET) as run:
        async with watch(run, "w3") as client:
            assert isinstance(await client.__anext__(), Snapshot)
            asked = (await run.webhook("/wipe 5", conversation="w3")).json()
            answer = (await run.webhook(f"/cancel {token_of(asked)}", conversation="w3")).json()
            assert answer["command"]["id"] == asked["command"]["id"]
            assert (answer["command"]["status"], answer["command"]["error"]["code"]) == ("rejected", "declined")
            assert await states(client, 2) == [
                (asked["command"]["id"], "awaiting_confirmation"),
                (asked["command"]["id"], "rejected"),
            ]
        assert wiped(run) == 0


async def test_a_restart_leaves_the_waiting_record_waiting_and_the_yes_still_runs_it(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED, question_key=QUESTION_KEY) as before:
        asked = (await before.webhook("/wipe 5", conversation="w4")).json()
    async with running_service(tmp_path, CONFIRMED, question_key=QUESTION_KEY) as after:  # the same state file
        assert "interrupted" not in after.out.getvalue()
        assert [(r["id"], r["status"]) for r in await after.rows()] == [
            (asked["command"]["id"], "awaiting_confirmation")
        ]
        done = (await after.webhook(f"/confirm {token_of(asked)}", conversation="w4")).json()
        assert done["command"]["id"] == asked["command"]["id"] and done["command"]["status"] == "completed"
        assert wiped(after) == 1


async def test_a_restart_ends_a_waiting_record_whose_question_is_gone(tmp_path) -> None:
    now = [time.time()]
    async with running_service(tmp_path, CONFIRMED, clock=lambda: now[0]) as before:
        asked = (await before.webhook("/wipe 5", conversation="w5", participant="agent-1")).json()
        store = before.service.store
        assert store is not None  # an answer taken, then the process died before the record moved on
        assert isinstance(await store.take_question(("webhook", "w5", "agent-1"), token_of(asked), now[0]), Question)
    now[0] += 120  # past the grace a replica has between taking a question and moving its record on
    async with running_service(tmp_path, CONFIRMED, clock=lambda: now[0]) as after:
        [row] = await after.rows()
        assert (row["id"], row["status"], row["error"]["code"]) == (
            asked["command"]["id"],
            "rejected",
            "confirmation_expired",
        )
        late = (await after.webhook(f"/confirm {token_of(asked)}", conversation="w5")).json()
        assert late["command"] is None and "nothing waiting" in late["replies"][0]["text"] and wiped(after) == 0


async def test_an_expired_question_ends_its_waiting_record_even_across_a_restart(tmp_path) -> None:
    now = [time.time()]
    async with running_service(tmp_path, CONFIRMED, clock=lambda: now[0]) as before:
        asked = (await before.webhook("/wipe 5", conversation="w6")).json()
    now[0] += 301
    async with running_service(tmp_path, CONFIRMED, clock=lambda: now[0]) as after:
        await after.service.pipeline.expire_questions()  # what the pipeline's sweep does every 30 s
        [row] = await after.rows()
        assert (row["id"], row["status"], row["error"]["code"]) == (
            asked["command"]["id"],
            "rejected",
            "confirmation_expired",
        )


async def test_the_waiting_record_masks_sensitive_arguments(tmp_path) -> None:
    registry = (
        CONFIRMED
        + """
  pay:
    summary: Charge a card, after a yes
    args:
      card: {type: str, positional: true, required: true, sensitive: true}
    request: {backend: demo, method: GET, path: "/orders/1"}
    confirm: "Charge the card?"
"""
    )
    async with running_service(tmp_path, registry) as run:
        asked = (await run.webhook("/pay 4111111111111111", conversation="w7")).json()
        assert asked["command"]["status"] == "awaiting_confirmation"
        assert asked["command"]["args"] == {"card": "****1111"}
        assert "4111111111111111" not in json.dumps(await run.rows()) + json.dumps(await run.events())


async def test_the_sweep_ends_a_waiting_record_whose_question_is_gone_a_grace_past_its_expiry(tmp_path) -> None:
    now = [time.time()]
    async with running_service(tmp_path, CONFIRMED, clock=lambda: now[0]) as run:
        asked = (await run.webhook("/wipe 5", conversation="w8", participant="agent-1")).json()
        store = run.service.store
        assert store is not None  # taken by a replica that died mid-answer and never came back
        assert isinstance(await store.take_question(("webhook", "w8", "agent-1"), token_of(asked), now[0]), Question)
        pipeline = run.service.pipeline
        now[0] += 301  # expired, but within the grace: another replica could still be moving it on
        await pipeline.expire_questions()
        assert [r["status"] for r in await run.rows()] == ["awaiting_confirmation"]
        now[0] += 60
        await pipeline.expire_questions()
        [row] = await run.rows()
        assert (row["id"], row["status"], row["error"]) == (
            asked["command"]["id"],
            "rejected",
            {"code": "confirmation_expired", "message": "Nobody answered the question in time."},
        )
