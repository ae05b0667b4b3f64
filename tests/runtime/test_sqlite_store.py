"""The SQLite store on a real file, what only it does: WAL, group commit, where commits run, locks, upgrades.

What every store does (versions, seq, resume, snapshots, claims, prune) is in test_store_contract.py.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from commandlang.runtime.questions import Question
from commandlang.runtime.sqlite import SqliteStore
from commandlang.runtime.store import StaleTransition, StoreUnavailable, record_body
from tests.runtime.support import sample_record as record


async def open_store(nursery: trio.Nursery, path: Path, **kw) -> SqliteStore:
    store = SqliteStore(str(path), **kw)
    await nursery.start(store.run)
    return store


async def test_changes_survive_a_reopen_and_seq_increases(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, path)
        first = await store.append(record("a"))
        moved = await store.append(first.record.moved("executing", 101.0))
        done = await store.append(moved.record.moved("completed", 102.0))
        assert first.seq < moved.seq < done.seq
        await store.aclose()
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, path)
        again = await store.get("a")
        assert again is not None and again.status == "completed" and again.version == 3
        assert again.args == {"order": 1, "card": "****1111"}
        events = await store.events_after(0, 100)
        assert [e.record.status for e in events] == ["pending", "executing", "completed"]
        await store.aclose()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


async def test_concurrent_appends_are_batched_and_all_durable(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, tmp_path / "s.db", queue_size=16)
        seqs: list[int] = []

        async def one(index: int) -> None:
            seqs.append((await store.append(record(f"r{index}", conversation=f"c{index % 7}"))).seq)

        async with trio.open_nursery() as writers:
            for index in range(300):
                writers.start_soon(one, index)
        assert sorted(seqs) == list(range(1, 301))
        assert (await store.counts())["commands"] == 300
        await store.aclose()


async def test_a_message_is_claimed_once_until_its_key_expires(tmp_path: Path) -> None:
    now = [1000.0]
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, tmp_path / "s.db", clock=lambda: now[0])
        assert await store.claim_message("webhook", "c1", "m1", ttl=60) is True
        assert await store.claim_message("webhook", "c1", "m1", ttl=60) is False
        assert await store.claim_message("genesys", "c1", "m1", ttl=60) is True
        now[0] += 61
        assert await store.claim_message("webhook", "c1", "m1", ttl=60) is True
        await store.aclose()


async def test_append_all_commits_changes_together_in_order(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, tmp_path / "s.db")
        await store.append(record("first"))
        assert store._writer is not None
        commits: list[str] = []
        store._writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        pending = record("a")
        events = await store.append_all([pending, pending.moved("executing", 101)])
        assert [e.seq for e in events] == [2, 3] and [e.record.status for e in events] == ["pending", "executing"]
        assert len(commits) == 1
        with pytest.raises(StaleTransition):  # the second is stale: its error is raised, the first is kept
            await store.append_all([record("b"), pending.moved("completed", 102)])
        assert await store.get("b") is not None
        assert {r.id: r.status for r in await store.unfinished()}["a"] == "executing"  # not completed
        await store.aclose()


async def test_a_quiet_store_commits_on_the_trio_thread_and_a_busy_one_in_a_worker(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, tmp_path / "s.db", inline_max=4, checkpoint_commits=5)
        trio_thread, test_task = threading.get_ident(), trio.lowlevel.current_task()
        commits: list[str] = []

        def trace(sql: str) -> None:
            if sql == "COMMIT":
                commits.append(
                    "worker"
                    if threading.get_ident() != trio_thread
                    else "caller"
                    if trio.lowlevel.current_task() is test_task
                    else "writer"
                )

        assert store._writer is not None
        store._writer.set_trace_callback(trace)
        for index in range(7):
            await store.append(record(f"r{index}"))
        # the first commit may start the WAL file (it syncs its header): a worker; so may the first after
        # the checkpoint that follows the fifth, which the writer task commits (then checkpoints); the
        # others find the writer idle and commit in the caller's task
        assert commits == ["worker", "caller", "caller", "caller", "writer", "worker", "caller"]
        commits.clear()
        async with trio.open_nursery() as writers:  # more than inline_max at once: they share a commit
            for index in range(20):
                writers.start_soon(store.append, record(f"b{index}"))
        assert "worker" in commits and len(commits) <= 2
        assert (await store.counts())["commands"] == 27
        await store.aclose()


async def test_writes_commit_in_the_order_they_were_made(tmp_path: Path) -> None:
    """Also a write made while the writer task, back from a batch, has just taken the next one."""
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, tmp_path / "s.db", inline_max=0)  # the writer task uses workers
        made: list[str] = []
        seqs: dict[str, int] = {}
        pause = random.Random(7)

        async def writer(name: str) -> None:
            for index in range(40):
                await trio.sleep(pause.random() / 2000)
                made.append(f"{name}{index}")  # no checkpoint between this and the store taking the write
                seqs[f"{name}{index}"] = (await store.append(record(f"{name}{index}"))).seq

        async with trio.open_nursery() as writers:
            for name in "abcdefgh":
                writers.start_soon(writer, name)
        assert sorted(made, key=seqs.__getitem__) == made
        await store.aclose()


async def test_a_write_lock_held_elsewhere_is_waited_for_in_a_worker_not_on_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, path)
        await store.append(record("r0"))
        other = sqlite3.connect(path, isolation_level=None)  # another process writing, say
        other.execute("BEGIN IMMEDIATE")
        written = trio.Event()

        async def write() -> None:
            await store.append(record("r1"))
            written.set()

        nursery.start_soon(write)
        ticks, started = 0, time.monotonic()
        while time.monotonic() - started < 0.3:
            await trio.sleep(0.01)
            ticks += 1
        assert not written.is_set() and ticks >= 10  # the write waits; the loop does not
        other.execute("COMMIT")
        other.close()
        with trio.fail_after(5):
            await written.wait()
        assert await store.get("r1") is not None
        await store.aclose()


async def test_a_write_that_cannot_commit_in_time_is_told_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, path, timeout=0.4)
        await store.append(record("r0"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the commit waits for this lock (up to 30 s) in a worker thread
        with trio.fail_after(5):
            with pytest.raises(StoreUnavailable, match="did not answer within 0.4s"):
                await store.append(record("r1"))
        other.execute("COMMIT")
        other.close()
        with trio.fail_after(5):
            await store.append(record("r2"))  # the store serves again once the lock is free
        assert await store.get("r2") is not None
        await store.aclose()


async def test_the_wal_is_checkpointed_although_sqlite_never_does_it_by_itself(tmp_path: Path) -> None:
    sizes = {}
    for name, every in (("checkpointed", 20), ("never", 10**9)):
        path = tmp_path / f"{name}.db"
        async with trio.open_nursery() as nursery:
            store = await open_store(nursery, path, checkpoint_commits=every)
            for index in range(300):
                await store.append(record(f"r{index}"))
            sizes[name] = os.path.getsize(f"{path}-wal")
            await store.aclose()
    assert sizes["checkpointed"] * 5 < sizes["never"], sizes  # started over after each checkpoint


async def test_a_state_file_from_before_queue_snapshots_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = record("q1", now=50.0)
    with sqlite3.connect(path) as connection:  # the schema as an earlier release wrote it
        connection.execute(
            "CREATE TABLE commands (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, "
            "status TEXT NOT NULL, version INTEGER NOT NULL, updated_at REAL NOT NULL, body TEXT NOT NULL)"
        )
        connection.execute(
            "INSERT INTO commands VALUES (?, ?, ?, ?, ?, ?)",
            (
                old.id,
                old.conversation_id,
                old.status,
                old.version,
                old.updated_at,
                record_body(replace(old, queue_id="q-billing")),
            ),
        )
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, path)
        await store.append(replace(record("new"), queue_id="q-billing"))
        await store.append(replace(record("other"), queue_id="q-other"))
        _, records = await store.snapshot_for([], limit=10, queues=["q-billing"])
        assert [r.id for r in records] == ["q1", "new"]
        await store.aclose()


async def test_a_state_file_from_before_stored_questions_gets_their_table_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with trio.open_nursery() as nursery:  # a file of the release before: everything but `questions`
        store = await open_store(nursery, path)
        await store.append(record("kept"))
        await store.aclose()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE questions")
    asked = Question(
        token="t0k3n00000",
        text="/wipe 5",
        command="wipe",
        expires_at=time.time() + 300,
        channel="webhook",
        conversation_id="c1",
        participant_id="p1",
        role="agent",
        message_id="m1",
    )
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, path)
        assert await store.put_question(asked, 10) == []
        assert await store.take_question(asked.key, asked.token, time.time()) == asked
        assert (await store.get("kept")) is not None
        await store.aclose()
