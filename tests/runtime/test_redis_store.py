"""The Redis store against a real redis-server, what only it does: replicas sharing it, leases, the live feed.

What every store does (versions, seq, resume, snapshots, claims, prune) is in test_store_contract.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio

from commandlang.runtime.redis_store import RedisStore
from commandlang.runtime.sqlite import StoreUnavailable
from commandlang.runtime.store import ClaimedElsewhere, StateEvent

from tests.redis_server import RedisServer
from tests.runtime.support import sample_record as record


async def open_store(nursery: trio.Nursery, server: RedisServer, replica: str = "r1", **kw) -> RedisStore:
    store = RedisStore(server.url, replica_id=replica, **kw)
    await nursery.start(store.run)
    return store


async def test_records_events_and_seq(redis: RedisServer) -> None:
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, redis)
        first = await store.append(record("a"))
        moved = await store.append(first.record.moved("executing", 101.0))
        done = await store.append(moved.record.moved("completed", 102.0))
        assert (first.seq, moved.seq, done.seq) == (1, 2, 3)
        await store.aclose()
    async with trio.open_nursery() as nursery:  # another process, the same Redis
        store = await open_store(nursery, redis, replica="r2")
        again = await store.get("a")
        assert again is not None and again.status == "completed" and again.version == 3
        assert again.args == {"order": 1, "card": "****1111"} and again.message_id == "m-a"
        assert await store.get("nope") is None
        events = await store.events_after(0, 100)
        assert [(e.seq, e.record.status) for e in events] == [(1, "pending"), (2, "executing"), (3, "completed")]
        await store.aclose()


async def test_concurrent_appends_from_two_replicas_get_gapless_seqs(redis: RedisServer) -> None:
    async with trio.open_nursery() as nursery:
        stores = [await open_store(nursery, redis, replica=name) for name in ("r1", "r2")]
        seqs: list[int] = []

        async def one(index: int) -> None:
            seqs.append((await stores[index % 2].append(record(f"r{index}", conversation=f"c{index % 7}"))).seq)

        async with trio.open_nursery() as writers:
            for index in range(200):
                writers.start_soon(one, index)
        assert sorted(seqs) == list(range(1, 201))
        assert await stores[0].counts() == {"commands": 200, "events": 200}
        for store in stores:
            await store.aclose()


async def test_a_message_is_claimed_once_until_its_key_expires(redis: RedisServer) -> None:
    async with trio.open_nursery() as nursery:
        one, two = await open_store(nursery, redis, replica="r1"), await open_store(nursery, redis, replica="r2")
        assert await one.claim_message("webhook", "c1", "m1", ttl=0.3) is True
        await one.settle_message("webhook", "c1", "m1")  # answered there
        assert await two.claim_message("webhook", "c1", "m1", ttl=0.3) is False  # the other replica sees the claim
        assert await two.claim_message("genesys", "c1", "m1", ttl=60) is True
        await trio.sleep(0.4)  # Redis expires the key itself
        assert await two.claim_message("webhook", "c1", "m1", ttl=60) is True
        await one.aclose()
        await two.aclose()


async def test_a_claim_another_replica_has_not_started_is_busy_until_it_starts_or_dies(redis: RedisServer) -> None:
    """A delivery failed over from a replica that holds the message queued must not be told "duplicate"."""
    async with trio.open_nursery() as nursery:
        holder, other = (
            await open_store(nursery, redis, replica="holder"),
            await open_store(nursery, redis, replica="other"),
        )
        assert await holder.claim_message("webhook", "c1", "m1", ttl=60)
        assert await holder.claim_message("webhook", "c1", "m1", ttl=60) is False  # queued here: it runs here
        with pytest.raises(ClaimedElsewhere):
            await other.claim_message("webhook", "c1", "m1", ttl=60)
        assert await holder.claim_message("webhook", "c1", "m-a", ttl=60)
        await holder.append(record("a"))  # the message m-a has its record: its claim is settled
        assert await other.claim_message("webhook", "c1", "m-a", ttl=60) is False  # a plain duplicate now
        assert await holder.claim_message("webhook", "c1", "m2", ttl=60)
        await holder.aclose()  # the holder dies before starting m2: its lease is gone
        assert await other.claim_message("webhook", "c1", "m2", ttl=60) is True  # taken over: it runs here
        assert await other.claim_message("webhook", "c1", "m2", ttl=60) is False
        await other.aclose()


async def test_a_restart_recovers_its_own_work_and_a_dead_replicas_but_not_a_live_ones(redis: RedisServer) -> None:
    async with trio.open_nursery() as nursery:
        alive = await open_store(nursery, redis, replica="alive")
        crashed = await open_store(nursery, redis, replica="crashed")
        for store, name in ((alive, "alive"), (crashed, "crashed")):
            assert await store.claim_message("webhook", "c1", f"queued-{name}", ttl=60)  # claimed, never started
            assert await store.claim_message("webhook", "c1", f"m-run-{name}", ttl=60)
            await store.append(record(f"run-{name}"))  # settles m-run-*, leaves a pending command
        await crashed.aclose()  # gives up its lease, as a replica that stopped for good would have let it lapse
        newcomer = await open_store(nursery, redis, replica="newcomer")
        assert [r.id for r in await newcomer.unfinished()] == ["run-crashed"]
        assert await newcomer.release_unsettled() == 1
        assert (
            await newcomer.claim_message("webhook", "c1", "queued-crashed", ttl=60) is True
        )  # runs when delivered again
        with pytest.raises(ClaimedElsewhere):  # still alive's, queued there: "busy", not "duplicate"
            await newcomer.claim_message("webhook", "c1", "queued-alive", ttl=60)
        assert {r.id for r in await alive.unfinished()} == {"run-alive", "run-crashed"}  # its own, and the dead one's
        await alive.aclose()
        await newcomer.aclose()


async def test_follow_feeds_every_replicas_events_in_order(redis: RedisServer) -> None:
    class Sink:
        def __init__(self) -> None:
            self.events: list[StateEvent] = []

        def publish(self, event: StateEvent) -> None:
            self.events.append(event)

    sink = Sink()
    async with trio.open_nursery() as nursery:
        writer_a = await open_store(nursery, redis, replica="a")
        writer_b = await open_store(nursery, redis, replica="b")
        await writer_a.append(record("before"))  # before the feed starts: not sent
        await nursery.start(writer_b.follow, sink)
        for index in range(20):
            await (writer_a if index % 2 else writer_b).append(record(f"x{index}"))
        with trio.fail_after(5):
            while len(sink.events) < 20:
                await trio.sleep(0.01)
        assert [e.seq for e in sink.events] == list(range(2, 22))
        assert [e.record.id for e in sink.events] == [f"x{i}" for i in range(20)]
        nursery.cancel_scope.cancel()


async def test_the_feed_carries_on_after_redis_restarts(redis: RedisServer) -> None:
    seen: list[int] = []

    class Sink:
        def publish(self, event: StateEvent) -> None:
            seen.append(event.seq)

    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, redis, timeout=2.0)
        await nursery.start(store.follow, Sink())
        await store.append(record("a"))
        with trio.fail_after(5):
            while seen != [1]:
                await trio.sleep(0.01)
        redis.stop()
        with pytest.raises(StoreUnavailable):  # said at once, not after a hang
            with trio.fail_after(5):
                await store.append(record("b"))
        redis.start()  # the append-only file brings the data back
        with trio.fail_after(10):
            while True:
                try:
                    await store.append(record("c"))
                    break
                except StoreUnavailable:
                    await trio.sleep(0.1)
            while seen != [1, 2]:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()


async def test_an_unreachable_redis_fails_the_start_clearly(tmp_path) -> None:
    store = RedisStore(f"unix://{tmp_path}/nothing.sock", replica_id="r1", timeout=2.0)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            with pytest.raises(StoreUnavailable, match="cannot reach Redis"):
                await nursery.start(store.run)


async def test_queue_snapshots_and_their_pruning(redis: RedisServer) -> None:
    async with trio.open_nursery() as nursery:
        store = await open_store(nursery, redis)
        for index in range(4):
            queue = "q-billing" if index % 2 else "q-other"
            await store.append(replace(record(f"r{index}", conversation=f"c{index}", now=float(index)), queue_id=queue))
        _, records = await store.snapshot_for([], limit=10, queues=["q-billing"])
        assert [r.id for r in records] == ["r1", "r3"]
        done = await store.append((await store.get("r1")).moved("completed", 1.5))
        assert (await store.snapshot_for([], limit=0, queues=["q-billing"]))[1] == [await store.get("r3")]  # live only
        await store.prune(older_than=done.record.updated_at + 0.1)
        _, records = await store.snapshot_for(["c0"], limit=10, queues=["q-billing"])
        assert [r.id for r in records] == ["r0", "r3"]  # r1 pruned from its queue too; c0's r0 by conversation
        await store.aclose()
