"""Confirmation questions live in the store: one survives a restart of the service, and with Redis one
asked on a replica is answered on another, runs once, and when unanswered is recorded once."""

from __future__ import annotations

import time

from tests.redis_server import RedisServer
from tests.runtime.support import QUESTION_KEY, running_service
from tests.runtime.test_confirmations import CONFIRMED, token_of, wiped


async def test_a_question_survives_a_restart_and_is_answered_after_it(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED, question_key=QUESTION_KEY) as before:
        token = token_of((await before.webhook("/wipe 5", conversation="s1")).json())
    async with running_service(tmp_path, CONFIRMED, question_key=QUESTION_KEY) as after:  # the same state file
        done = (await after.webhook(f"/confirm {token}", conversation="s1")).json()
        assert done["command"]["status"] == "completed" and wiped(after) == 1
        assert (await after.webhook(f"/confirm {token}", conversation="s1")).json()["command"] is None


async def test_a_question_asked_on_one_replica_is_answered_on_the_other_and_runs_once(
    tmp_path, redis: RedisServer
) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    async with (
        running_service(tmp_path / "a", CONFIRMED, redis_url=redis.url, replica_id="a", question_key=QUESTION_KEY) as a,
        running_service(tmp_path / "b", CONFIRMED, redis_url=redis.url, replica_id="b", question_key=QUESTION_KEY) as b,
    ):
        asked = (await a.webhook("/wipe 5", conversation="x1")).json()
        token = token_of(asked)
        # the waiting record is shared too: the other replica sees it live, and its snapshot has it
        _, live = await b.service.store.snapshot_for(["x1"], 10)  # type: ignore[union-attr]
        assert [(r.id, r.status) for r in live] == [(asked["command"]["id"], "awaiting_confirmation")]
        wrong = (await b.webhook(f"/confirm {token[:-1]}", conversation="x1")).json()
        assert wrong["command"] is None and "type /confirm followed by the code" in wrong["replies"][0]["text"]
        done = (await b.webhook(f"/confirm {token}", conversation="x1")).json()
        assert done["command"]["status"] == "completed" and done["command"]["id"] == asked["command"]["id"]
        again = (await a.webhook(f"/confirm {token}", conversation="x1")).json()  # accepted once, on any replica
        assert again["command"] is None and "nothing waiting" in again["replies"][0]["text"]
        assert wiped(a) + wiped(b) == 1


async def test_an_expired_question_is_recorded_once_whichever_replicas_sweep(tmp_path, redis: RedisServer) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    now = [time.time()]
    async with (
        running_service(tmp_path / "a", CONFIRMED, redis_url=redis.url, replica_id="a", clock=lambda: now[0]) as a,
        running_service(tmp_path / "b", CONFIRMED, redis_url=redis.url, replica_id="b", clock=lambda: now[0]) as b,
    ):
        token_of((await a.webhook("/wipe 5", conversation="x2")).json())
        now[0] += 301
        assert await b.service.pipeline.expire_questions() + await a.service.pipeline.expire_questions() == 1
        rows = [r for r in await a.rows() if r["conversation_id"] == "x2"]
        assert [(r["status"], r["error"]["code"]) for r in rows] == [("rejected", "confirmation_expired")]
