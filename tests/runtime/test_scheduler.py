"""The conversation scheduler alone (runtime/scheduler.py), on Trio's autojumping MockClock: sleeps take no
real time, so these are fast and deterministic. Items are plain tuples: the scheduler knows nothing of commands."""

from __future__ import annotations

import pytest
import trio

from commandlang.runtime.scheduler import ConversationScheduler

pytestmark = pytest.mark.mock_clock


class Recorder:
    """A handler that sleeps `seconds` per item and records when each started and ended."""

    def __init__(self, seconds: float = 1.0) -> None:
        self.seconds = seconds
        self.log: list[tuple[str, object, float]] = []
        self.running = 0
        self.most = 0  # the most items running at once
        self.cancelled: list[object] = []

    async def __call__(self, item: tuple[str, int]) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        self.log.append(("start", item, trio.current_time()))
        try:
            await trio.sleep(self.seconds)
        except trio.Cancelled:
            self.cancelled.append(item)
            raise
        finally:
            self.running -= 1
        self.log.append(("end", item, trio.current_time()))


def scheduler(
    handler: Recorder, *, max_concurrency: int = 8, conversation_queue: int = 8, max_conversations: int = 100
) -> ConversationScheduler[tuple[str, int]]:
    return ConversationScheduler(
        handler,
        max_concurrency=max_concurrency,
        conversation_queue=conversation_queue,
        max_conversations=max_conversations,
    )


async def test_one_conversation_runs_strictly_in_arrival_order_one_at_a_time() -> None:
    handler = Recorder()
    s = scheduler(handler)
    async with trio.open_nursery() as nursery:
        await nursery.start(s.run)
        start = trio.current_time()
        for index in range(4):
            assert s.offer("c1", ("c1", index)) is None
        assert await s.drain(timeout=60) is True
        nursery.cancel_scope.cancel()
    assert [(kind, item) for kind, item, _ in handler.log] == [
        (kind, ("c1", index)) for index in range(4) for kind in ("start", "end")
    ]
    assert handler.most == 1 and trio.current_time() - start == pytest.approx(4.0)


async def test_different_conversations_run_concurrently_up_to_the_limit() -> None:
    handler = Recorder()
    s = scheduler(handler, max_concurrency=3)
    async with trio.open_nursery() as nursery:
        await nursery.start(s.run)
        start = trio.current_time()
        for index in range(6):
            assert s.offer(f"c{index}", (f"c{index}", 0)) is None
        assert await s.drain(timeout=60) is True
        nursery.cancel_scope.cancel()
    assert handler.most == 3  # never more than the limit
    assert trio.current_time() - start == pytest.approx(2.0)  # six one-second items, three at a time


async def test_a_full_conversation_queue_refuses_the_newest_and_others_are_unaffected() -> None:
    handler = Recorder()
    s = scheduler(handler, conversation_queue=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(s.run)
        assert s.offer("c1", ("c1", 0)) is None
        assert s.offer("c1", ("c1", 1)) is None
        assert s.offer("c1", ("c1", 2)) == "conversation_queue"  # the newest is refused, not an older one
        assert s.offer("c2", ("c2", 0)) is None  # another conversation has its own queue
        assert s.queue_depth() == 3 and s.in_flight() == 3
        await trio.sleep(0.5)  # c1's first item started: a place is free again
        assert s.offer("c1", ("c1", 3)) is None
        assert await s.drain(timeout=60) is True
        nursery.cancel_scope.cancel()
    ran = [item for kind, item, _ in handler.log if kind == "end"]
    assert ("c1", 2) not in ran and [i for c, i in ran if c == "c1"] == [0, 1, 3]


async def test_the_conversation_table_is_capped_and_frees_up_when_work_ends() -> None:
    handler = Recorder()
    s = scheduler(handler, max_conversations=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(s.run)
        assert s.offer("c1", ("c1", 0)) is None and s.offer("c2", ("c2", 0)) is None
        assert s.offer("c3", ("c3", 0)) == "conversations"
        assert s.offer("c1", ("c1", 1)) is None  # a conversation already in the table may still queue
        await trio.sleep(1.5)  # c2 is done, its worker ended: its row is free
        assert s.conversations() == 1
        assert s.offer("c3", ("c3", 0)) is None
        assert await s.drain(timeout=60) is True
        nursery.cancel_scope.cancel()


async def test_workers_end_as_soon_as_their_queue_is_empty() -> None:
    handler = Recorder()
    s = scheduler(handler, max_concurrency=50)
    async with trio.open_nursery() as nursery:
        await nursery.start(s.run)
        for index in range(50):  # one-shot conversations
            s.offer(f"c{index}", (f"c{index}", 0))
        assert s.conversations() == 50
        await trio.sleep(1.5)
        assert s.conversations() == 0 and s.in_flight() == 0  # a worker removes its row as it ends
        nursery.cancel_scope.cancel()


async def test_drain_stops_intake_waits_for_the_work_then_reports() -> None:
    handler = Recorder(seconds=5.0)
    s = scheduler(handler)
    async with trio.open_nursery() as nursery:
        await nursery.start(s.run)
        s.offer("c1", ("c1", 0))
        s.offer("c1", ("c1", 1))
        start = trio.current_time()
        assert await s.drain(timeout=3) is False  # not done in time: says so
        assert s.accepting is False and trio.current_time() - start == pytest.approx(3.0)
        assert await s.drain(timeout=60) is True  # waits for both, no longer
        assert trio.current_time() - start == pytest.approx(10.0)
        nursery.cancel_scope.cancel()


async def test_before_run_nothing_is_queued_and_cancel_reaches_the_running_handlers() -> None:
    handler = Recorder(seconds=100.0)
    s = scheduler(handler)
    assert s.accepting is False and s.offer("c1", ("c1", 0)) == "conversations"  # no workers to run it
    async with trio.open_nursery() as nursery:
        await nursery.start(s.run)
        s.offer("c1", ("c1", 1))
        s.offer("c2", ("c2", 1))
        await trio.sleep(1)
        s.cancel()
    assert sorted(handler.cancelled) == [("c1", 1), ("c2", 1)] and s.accepting is False
