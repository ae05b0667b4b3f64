"""The `Store` contract, the same tests against every store (runtime/store.py states it; runtime/stores.py lists them).

A new store adds its URL to `STORE_URLS` and passes these before anything else. Store-specific
behaviour (SQLite's group commit and WAL, Redis's replicas and feed) stays in each store's own tests.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import AsyncIterator, Callable

import pytest
import trio

from commandlang.runtime.config import ServiceConfig
from commandlang.runtime.questions import Question
from commandlang.runtime.store import CommandRecord, SharedStore, StaleTransition, Store
from commandlang.runtime.stores import STORES, open_store

from tests.runtime.memory_store import MemoryState, MemoryStore
from tests.runtime.support import all_records
from tests.runtime.support import sample_record as record

# store name -> the URL of a fresh, empty one for one test
STORE_URLS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": lambda request, tmp_path: f"sqlite://{tmp_path}/state.db",
    "redis": lambda request, tmp_path: request.getfixturevalue("redis").url,
}


# and the tests' own in-memory store (tests/runtime/memory_store.py), which no URL serves
@pytest.fixture(params=[*sorted(STORE_URLS), "memory"])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., AsyncIterator[Store]]:
    """`async with opened() as store`: the store running; opened again, the same state (a restart)."""
    url = STORE_URLS[request.param](request, tmp_path) if request.param != "memory" else None
    memory = MemoryState()

    @asynccontextmanager
    async def opener(replica: str = "r1") -> AsyncIterator[Store]:
        store = (
            open_store(ServiceConfig(store=url, replica_id=replica), clock=time.time)
            if url is not None
            else MemoryStore(memory, clock=time.time)
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            try:
                yield store
            finally:
                await store.aclose()

    return opener


def test_every_registered_scheme_is_covered() -> None:
    served = {"sqlite": "sqlite", "redis": "redis", "rediss": "redis", "unix": "redis"}
    assert set(STORES) == set(served) and set(served.values()) == set(STORE_URLS)


async def test_the_store_has_every_method_of_the_protocol(opened) -> None:
    async with opened() as store:
        assert isinstance(store, Store)
        if isinstance(store, SharedStore):  # and a shared one answers what the service asks of it
            assert store.replica_id == "r1" and store.lease > 0
            assert await store.caught_up(timeout=1) is True  # nothing appended, nothing to wait for
            assert await store.orphaned() == [] and await store.own_unfinished() == []


async def test_a_record_round_trips_and_survives_a_restart(opened) -> None:
    full = replace(record("a"), queue_id="q-1", registry_version="v7")
    async with opened() as store:
        assert await store.get("a") is None
        first = await store.append(full)
        failed = await store.append(first.record.moved("executing", 101.0))
        done = await store.append(failed.record.moved("failed", 102.0, {"code": "backend_error", "message": "503"}))
        assert done.record == await store.get("a")
    async with opened() as store:
        again = await store.get("a")
        assert again == done.record and again.version == 3 and again.message_id == "m-a"
        assert (again.args, again.queue_id, again.registry_version) == ({"order": 1, "card": "****1111"}, "q-1", "v7")
        assert again.error == {"code": "backend_error", "message": "503"}
        assert [e.record for e in await store.events_after(0, 10)] == [first.record, failed.record, done.record]


async def test_only_the_next_version_is_accepted_and_a_refused_change_leaves_no_trace(opened) -> None:
    async with opened() as store:
        created = await store.append(record("a"))
        with pytest.raises(StaleTransition):
            await store.append(record("a"))  # created twice
        finished = created.record.moved("executing", 101).moved("completed", 102)
        with pytest.raises(StaleTransition):
            await store.append(finished)  # skipped a version: a lost update
        executing = await store.append(created.record.moved("executing", 101))
        with pytest.raises(StaleTransition):
            await store.append(created.record.moved("cancelled", 101))  # a concurrent writer lost the race
        assert await store.get("a") == executing.record
        assert [e.seq for e in await store.events_after(0, 10)] == [1, 2]  # refused changes took no seq
        assert (await store.append(record("b"))).seq == 3


async def test_seq_is_dense_and_in_commit_order_under_concurrent_writers(opened) -> None:
    async with opened() as store:
        returned: dict[int, CommandRecord] = {}  # seq -> the record its append was given

        async def writer(name: str) -> None:
            event = await store.append(record(name, conversation=name))
            returned[event.seq] = event.record
            for status in ("executing", "completed"):
                event = await store.append(event.record.moved(status, event.record.updated_at + 1))
                returned[event.seq] = event.record

        async with trio.open_nursery() as writers:
            for index in range(40):
                writers.start_soon(writer, f"w{index}")
        events = await store.events_after(0, 1000)
        assert [e.seq for e in events] == list(range(1, 121))  # 1, 2, 3, ...: no gap
        for name in {e.record.id for e in events}:  # each command's changes in the order they were made
            assert [e.record.status for e in events if e.record.id == name] == ["pending", "executing", "completed"]
        assert {e.seq: e.record for e in events} == returned


async def test_several_changes_in_one_call_land_in_order(opened) -> None:
    async with opened() as store:
        pending = record("a")
        executing = pending.moved("executing", 101)
        events = await store.append_all([pending, executing])
        assert [(e.seq, e.record.status) for e in events] == [(1, "pending"), (2, "executing")]
        with pytest.raises(StaleTransition):  # the second is stale: its error is raised, the first still lands
            await store.append_all([record("b"), executing])
        assert (await store.get("a")).status == "executing" and (await store.get("b")).status == "pending"
        assert [e.seq for e in await store.events_after(0, 10)] == [1, 2, 3]


async def test_events_after_a_seq_pages_and_says_when_a_snapshot_is_needed(opened) -> None:
    async with opened() as store:
        assert await store.events_after(0, 10) == []  # empty store: nothing to resume, nothing missed
        for index in range(5):
            await store.append(record(f"r{index}", now=float(index)))
        assert [e.seq for e in await store.events_after(3, 100)] == [4, 5]
        assert [e.seq for e in await store.events_after(0, 2)] == [1, 2]
        assert await store.events_after(5, 100) == []
        assert await store.events_after(99, 100) is None  # from another store: needs a snapshot


async def test_prune_drops_old_final_records_and_events_but_keeps_live_ones(opened) -> None:
    async with opened() as store:
        for index in range(5):
            await store.append(record(f"r{index}", now=float(index)))
        done = await store.append((await store.get("r0")).moved("completed", 1.5))  # seq 6
        assert await store.prune(older_than=2.5) >= 4  # r0 (final), events 1..3
        assert await store.get("r0") is None and await store.get("r1") is not None  # pending r1 stays
        assert await store.events_after(0, 100) is None  # pruned past it
        assert [e.seq for e in await store.events_after(3, 100)] == [4, 5, 6]
        high, records = await store.snapshot(limit=10)
        assert high == done.seq and [r.id for r in records] == ["r1", "r2", "r3", "r4"]
        await store.prune(older_than=100.0)  # every event: the latest seq is still known, and resuming from it works
        assert await store.snapshot(limit=0) == (6, [await store.get(f"r{i}") for i in range(1, 5)])
        assert await store.events_after(6, 10) == [] and await store.events_after(5, 10) is None
        assert (await store.append(record("next"))).seq == 7


async def test_snapshots_hold_the_live_records_and_the_most_recent_in_scope(opened) -> None:
    async with opened() as store:
        for index in range(6):
            queue = "q-billing" if index % 2 else "q-other"
            await store.append(
                replace(record(f"r{index}", conversation=f"c{index % 3}", now=float(index)), queue_id=queue)
            )
        for name, now in (("r0", 10.0), ("r1", 11.0), ("r4", 12.0)):
            await store.append((await store.get(name)).moved("completed", now))
        high, records = await store.snapshot(limit=1)  # every live one, and the newest final one
        assert high == 9 and [r.id for r in records] == ["r2", "r3", "r5", "r4"]  # in (updated_at, id) order
        assert [r.id for r in (await store.snapshot(limit=10))[1]] == ["r2", "r3", "r5", "r0", "r1", "r4"]
        high, records = await store.snapshot_for(["c1"], limit=1)  # c1: r1 (final), r4 (final, newest)
        assert high == 9 and [r.id for r in records] == ["r4"]
        assert [r.id for r in (await store.snapshot_for(["c0", "c1"], limit=0))[1]] == ["r3"]  # live only
        assert [r.id for r in (await store.snapshot_for([], limit=10, queues=["q-billing"]))[1]] == ["r3", "r5", "r1"]
        _, records = await store.snapshot_for(["c2"], limit=10, queues=["q-billing"])  # either scope
        assert [r.id for r in records] == ["r2", "r3", "r5", "r1"]
        assert (await store.snapshot_for(["nobody"], limit=10)) == (9, [])


async def test_unfinished_lists_pending_and_executing_oldest_first(opened) -> None:
    async with opened() as store:
        a = await store.append(record("a", now=1.0))
        await store.append(a.record.moved("executing", 5.0))
        b = await store.append(record("b", now=2.0))
        await store.append(b.record.moved("completed", 3.0))
        await store.append(record("c", now=4.0))
        assert [(r.id, r.status) for r in await store.unfinished()] == [("c", "pending"), ("a", "executing")]


async def test_a_message_is_claimed_once_per_channel_and_conversation_until_its_ttl(opened) -> None:
    async with opened() as store:
        assert await store.claim_message("webhook", "c1", "m1", ttl=0.5) is True
        assert await store.claim_message("webhook", "c1", "m1", ttl=0.5) is False  # a duplicate delivery
        assert await store.claim_message("genesys", "c1", "m1", ttl=60) is True  # another channel's message
        assert await store.claim_message("webhook", "c2", "m1", ttl=60) is True  # another conversation's
        await trio.sleep(0.6)
        assert await store.claim_message("webhook", "c1", "m1", ttl=60) is True  # forgotten past its ttl


async def test_claims_settle_release_and_unsettled_ones_are_forgotten_at_the_next_start(opened) -> None:
    async with opened() as store:
        for message_id in ("m-a", "m-queued", "m-help", "m-busy"):
            assert await store.claim_message("webhook", "c1", message_id, ttl=60)
        await store.append(record("a"))  # m-a got its record: settled
        await store.settle_message("webhook", "c1", "m-help")  # answered without a record
        await store.release_message("webhook", "c1", "m-busy")  # refused: may come again at once
        assert await store.claim_message("webhook", "c1", "m-busy", ttl=60) is True
        await store.release_message("webhook", "c1", "m-busy")
    async with opened() as store:  # the restart
        assert await store.release_unsettled() == 1  # m-queued only
        assert await store.claim_message("webhook", "c1", "m-queued", ttl=60) is True  # runs when delivered again
        for message_id in ("m-a", "m-help"):
            assert await store.claim_message("webhook", "c1", message_id, ttl=60) is False
        assert await store.release_unsettled() == 1  # m-queued again: claimed, never settled


async def test_every_record_is_readable_for_tests_and_operators(opened) -> None:
    async with opened() as store:
        for index in range(3):
            await store.append(record(f"r{index}", now=float(index)))
        await store.append((await store.get("r0")).moved("completed", 9.0))
        assert [(r.id, r.status) for r in await all_records(store)] == [
            ("r1", "pending"),
            ("r2", "pending"),
            ("r0", "completed"),
        ]
        assert store.describe() and "\n" not in store.describe()


# -- confirmation questions ----------------------------------------------
def question(
    participant: str, token: str = "t0k3n00000", expires_at: float = 1000.0, conversation: str = "c1"
) -> Question:
    return Question(
        token=token,
        text="/refund 7",
        command="refund",
        expires_at=expires_at,
        channel="webhook",
        conversation_id=conversation,
        participant_id=participant,
        role="agent",
        message_id=f"m-{participant}",
        queue_id="q-1",
    )


async def test_a_question_is_taken_once_with_its_token_and_survives_a_restart(opened) -> None:
    asked = question("p1")
    async with opened() as store:
        assert await store.put_question(asked, 10) == []
        assert await store.take_question(asked.key, None, 500.0) == "no_token"
        assert await store.take_question(asked.key, "t0k3n0000", 500.0) == "no_token"  # a prefix is wrong
        assert await store.take_question(asked.key, "t0k3n0000\udc80", 500.0) == "no_token"  # and never an error
        assert await store.take_question(("webhook", "c1", "p2"), asked.token, 500.0) == "none"  # another participant
    async with opened() as store:  # the wrong answers left it waiting, and it outlived the restart
        taken = await store.take_question(asked.key, asked.token, 500.0)
        assert taken == asked and Question.from_json(taken.to_json()) == asked
        assert await store.take_question(asked.key, asked.token, 500.0) == "none"  # answered once


async def test_a_new_question_replaces_the_last_and_past_the_bound_the_oldest_goes(opened) -> None:
    async with opened() as store:
        first, second, third = question("p1"), question("p2"), question("p3")
        for asked in (first, second, third):
            assert await store.put_question(asked, 3) == []
        again = replace(second, token="n3wt0k3n00")
        assert await store.put_question(again, 3) == [second]  # one question per participant and place
        fourth = question("p4")
        assert await store.put_question(fourth, 3) == [first]  # the oldest asked
        fifth = question("p5")
        assert await store.put_question(fifth, 2) == [third, again]  # a lower bound: oldest first
        assert await store.take_question(fifth.key, fifth.token, 0.0) == fifth


async def test_expired_questions_are_refused_then_swept_once(opened) -> None:
    async with opened() as store:
        early, late = question("p1", expires_at=100.0), question("p2", expires_at=200.0)
        await store.put_question(early, 10)
        await store.put_question(late, 10)
        assert await store.take_question(early.key, early.token, 150.0) == "none"  # expired: refused
        assert await store.expired_questions(50.0) == []
        assert await store.expired_questions(150.0) == [early]
        assert await store.expired_questions(150.0) == []  # each to one caller only
        assert await store.expired_questions(250.0) == [late]
        assert await store.take_question(late.key, late.token, 0.0) == "none"


# -- approvals -----------------------------------------------------------
def approval(token: str = "a1b2c3d4e5f6", expires_at: float = 1000.0, command_id: str = "w") -> Question:
    return replace(
        question("p1", token=token, expires_at=expires_at),
        kind="approve",
        command_id=command_id,
        roles=("supervisor",),
        asked_at=10.0,
    )


async def test_an_approval_is_kept_under_its_token_read_without_taking_and_survives_a_restart(opened) -> None:
    asked = approval()
    async with opened() as store:
        assert await store.put_question(asked, 10) == []
        assert await store.put_question(question("p1"), 10) == []  # the requester's own confirmation: another key
        assert await store.get_question(asked.key, 500.0) == asked
        assert await store.get_question(asked.key, 500.0) == asked  # reading takes nothing
        assert await store.get_question(asked.key, 1500.0) is None  # expired: as if gone
        assert await store.get_question(approval("0" * 12).key, 500.0) is None
    async with opened() as store:
        taken = await store.take_question(asked.key, asked.token, 500.0)
        assert taken == asked and Question.from_json(taken.to_json()) == asked
        assert await store.get_question(asked.key, 500.0) is None
        assert await store.take_question(asked.key, asked.token, 500.0) == "none"


async def test_an_approval_is_taken_once_when_two_replicas_race_for_it(opened) -> None:
    asked = approval()
    results: list[object] = []
    async with opened("r1") as one, opened("r2") as two:
        await one.put_question(asked, 10)

        async def take(store: Store) -> None:
            results.append(await store.take_question(asked.key, asked.token, 500.0))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(take, one)
            nursery.start_soon(take, two)
    assert sorted(map(str, results)) == sorted([str(asked), "none"])


async def test_a_record_awaiting_approval_is_live_but_never_unfinished_and_keeps_its_approval(opened) -> None:
    waiting = replace(
        record("w", status="awaiting_approval", now=1.0),
        approval={"id": "a1b2c3d4e5f6", "roles": ["supervisor"], "requested_by": "p1", "expires_at": 1801.0},
    )
    async with opened() as store:
        await store.append(waiting)
        await store.append(record("old", status="rejected", now=0.5))
        assert await store.unfinished() == []  # a restart leaves it waiting
        if isinstance(store, SharedStore):
            assert await store.orphaned() == [] and await store.own_unfinished() == []
        _, live = await store.snapshot(limit=0)
        assert [r.id for r in live] == ["w"]  # live: the panel shows it to approvers
        _, scoped = await store.snapshot_for(["c1"], limit=0)
        assert "w" in [r.id for r in scoped]
    async with opened() as store:
        stored = await store.get("w")
        assert stored == waiting and stored.to_json()["approval"]["requested_by"] == "p1"
        approved = stored.moved("pending", 2.0, approval={**stored.approval, "decision": "approved"})
        await store.append(approved)
        assert [r.id for r in await store.unfinished()] == ["w"]
        assert (await store.get("w")).approval["decision"] == "approved"


async def test_events_since_lists_the_changes_made_from_a_time_on_oldest_first(opened) -> None:
    async with opened() as store:
        a = await store.append(record("a", now=1.0))
        await store.append(record("b", now=5.0))
        await store.append(a.record.moved("executing", 6.0))
        assert [(e.record.id, e.record.status) for e in await store.events_since(5.0, 10)] == [
            ("b", "pending"),
            ("a", "executing"),
        ]
        assert [e.record.id for e in await store.events_since(0.0, 2)] == ["a", "b"]
        assert await store.events_since(7.0, 10) == []
