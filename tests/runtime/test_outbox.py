"""The shared outbox (runtime/outbox.py) alone, on real Trio; the MockClock where deadlines matter."""

from __future__ import annotations

import time

import pytest
import trio

from commandlang.replies import Reply
from commandlang.runtime.messages import InboundMessage, OutboundReply
from commandlang.runtime.outbox import Outbox, OutboxCounts


def item(conversation: str, n: int) -> OutboundReply:
    asked = InboundMessage("test", conversation, f"m-{n}", "p-1", "agent", "/status 1", time.time())
    return OutboundReply(conversation, Reply(text=str(n)), f"cmd-{n}", asked)


class Recorder:
    """A `deliver` that records what it got, in order; it sleeps a varying time so tasks interleave."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.got: list[tuple[str, str]] = []
        self.active = 0
        self.most_active = 0

    async def __call__(self, outbound: OutboundReply) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await trio.sleep(self.delay * (1 + int(outbound.reply.text) % 3))
            self.got.append((outbound.conversation_id, outbound.reply.text))
        finally:
            self.active -= 1


@pytest.mark.mock_clock
async def test_each_conversation_keeps_its_order_under_concurrent_senders() -> None:
    deliver = Recorder(delay=0.01)
    outbox = Outbox(deliver, name="test", size=16, shards=3)
    conversations = [f"c-{k}" for k in range(8)]
    async with trio.open_nursery() as nursery:
        await nursery.start(outbox.run)

        async def sender(conversation: str) -> None:
            for n in range(20):
                await outbox.send(item(conversation, n))
                await trio.sleep(0)  # let the other senders interleave

        async with trio.open_nursery() as senders:
            for conversation in conversations:
                senders.start_soon(sender, conversation)
        await outbox.aclose(deadline=60)
    for conversation in conversations:
        assert [n for c, n in deliver.got if c == conversation] == [str(n) for n in range(20)]
    assert outbox.counts() == OutboxCounts(delivered=160, failed=0, queued=0)


@pytest.mark.mock_clock
async def test_conversations_on_different_shards_are_delivered_in_parallel() -> None:
    deliver = Recorder(delay=1.0)
    outbox = Outbox(deliver, name="test", shards=4)
    first = "c-a"
    other = next(f"c-{k}" for k in range(100) if outbox.shard_of(f"c-{k}") != outbox.shard_of(first))
    async with trio.open_nursery() as nursery:
        await nursery.start(outbox.run)
        started = trio.current_time()
        await outbox.send(item(first, 0))
        await outbox.send(item(other, 0))
        await outbox.aclose()
        assert trio.current_time() - started == pytest.approx(1.0, abs=0.1)  # side by side, not 2 s
    assert deliver.most_active == 2


@pytest.mark.mock_clock
async def test_send_waits_while_the_shard_is_full() -> None:
    gate = trio.Event()

    async def deliver(outbound: OutboundReply) -> None:
        await gate.wait()

    outbox = Outbox(deliver, name="test", size=2, shards=1, deadline=60)
    async with trio.open_nursery() as nursery:
        await nursery.start(outbox.run)
        await outbox.send(item("c-1", 0))  # taken by the delivery task (it waits on the gate)
        await trio.testing.wait_all_tasks_blocked()
        await outbox.send(item("c-1", 1))
        await outbox.send(item("c-1", 2))  # the queue (2) is full now
        with trio.move_on_after(5) as waited:
            await outbox.send(item("c-1", 3))
        assert waited.cancelled_caught  # backpressure: it waited rather than dropping or growing
        assert outbox.counts().queued == 2
        gate.set()
        with trio.fail_after(1):
            await outbox.send(item("c-1", 3))  # room again once the shard moves
        await outbox.aclose()
    assert outbox.counts() == OutboxCounts(delivered=4, failed=0, queued=0)


@pytest.mark.mock_clock
async def test_close_delivers_what_is_queued() -> None:
    deliver = Recorder(delay=0.5)
    outbox = Outbox(deliver, name="test", shards=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(outbox.run)
        for n in range(6):
            await outbox.send(item("c-1", n))
        await outbox.aclose(deadline=30)
        with pytest.raises(trio.ClosedResourceError):  # nothing is taken past the drain
            await outbox.send(item("c-1", 9))
    assert [n for _, n in deliver.got] == [str(n) for n in range(6)]


@pytest.mark.mock_clock
async def test_close_waits_at_most_its_deadline() -> None:
    async def stuck(outbound: OutboundReply) -> None:
        await trio.sleep_forever()

    outbox = Outbox(stuck, name="test", shards=1, deadline=1000)
    async with trio.open_nursery() as nursery:
        await nursery.start(outbox.run)
        for n in range(3):
            await outbox.send(item("c-1", n))
        started = trio.current_time()
        await outbox.aclose(deadline=2)
        assert trio.current_time() - started == pytest.approx(2, abs=0.1)
        assert outbox.counts().queued == 2  # one in delivery, two never started
        nursery.cancel_scope.cancel()  # the service cancels the channel's tasks after its closers


async def test_close_without_delivery_tasks_returns_at_once() -> None:
    outbox = Outbox(Recorder(), name="test")
    with trio.fail_after(0.5):
        await outbox.aclose(deadline=10)


@pytest.mark.mock_clock
async def test_a_failing_or_slow_delivery_does_not_stop_the_shard() -> None:
    got: list[str] = []

    async def deliver(outbound: OutboundReply) -> None:
        text = outbound.reply.text
        if text == "1":
            raise LookupError("no such conversation")  # expected: one log line
        if text == "2":
            raise RuntimeError("a bug")  # unexpected: logged with its traceback, still only this item
        if text == "3":
            await trio.sleep(100)  # past the per-item deadline
        got.append(text)

    outbox = Outbox(deliver, name="test", shards=1, deadline=5, expected=(LookupError,))
    async with trio.open_nursery() as nursery:
        await nursery.start(outbox.run)
        started = trio.current_time()
        for n in range(5):
            await outbox.send(item("c-1", n))
        await outbox.aclose(deadline=60)
        assert trio.current_time() - started == pytest.approx(5, abs=0.1)  # the slow one cut at its deadline
    assert got == ["0", "4"]
    assert outbox.counts() == OutboxCounts(delivered=2, failed=3, queued=0)


@pytest.mark.mock_clock
async def test_cancelling_the_delivery_tasks_is_not_a_failure() -> None:
    async def stuck(outbound: OutboundReply) -> None:
        await trio.sleep_forever()

    outbox = Outbox(stuck, name="test", shards=2, deadline=1000)
    with trio.move_on_after(1):
        async with trio.open_nursery() as nursery:
            await nursery.start(outbox.run)
            await outbox.send(item("c-1", 0))
    assert outbox.counts().failed == 0  # trio.Cancelled went to its scope, not into the counters


def test_an_outbox_needs_a_shard_room_and_a_deadline() -> None:
    for bad in ({"shards": 0}, {"size": 0}, {"deadline": 0}):
        with pytest.raises(ValueError):
            Outbox(Recorder(), name="test", **bad)  # type: ignore[arg-type]
