"""One outbox for every channel's late replies: bounded, sharded by conversation, drained on close.

A channel that sends replies after the request that asked for them has been
answered (the webhook's callback URL, Genesys's Conversations API and bot
sessions) queues them here with `send` and gives the outbox its own platform
call, `deliver(item)`. The outbox runs `shards` delivery tasks, one bounded
queue each; a conversation always hashes to the same shard, so its items are
delivered one at a time, in the order they were queued, while other
conversations go out in parallel on the other shards.

- Backpressure: `send` waits while its shard is full (nothing is dropped). The
  wait is bounded because each item on the shard gets at most `deadline`
  seconds.
- Per-item deadline: `deliver` is cancelled after `deadline` seconds and the
  item counts as failed; a failure (expected or not) is logged and counted,
  and the shard goes on with the next item.
- Drain: `aclose` stops taking items and waits, at most its deadline, for
  what is queued to be delivered (the service calls it after the pipeline's
  drain, so the last late replies still go out).
- Counters: `counts()` (delivered, failed, queued) for the service's metrics.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Awaitable, Callable

import trio

from .messages import OutboundReply

__all__ = ["Outbox", "OutboxCounts"]

log = logging.getLogger("commandlang.runtime.outbox")

Deliver = Callable[[OutboundReply], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """Since start: items delivered, items that failed (error or deadline); now: items still queued."""

    delivered: int
    failed: int
    queued: int


class Outbox:
    """`send` queues an `OutboundReply` on its conversation's shard; `run` delivers them with `deliver`."""

    def __init__(
        self,
        deliver: Deliver,
        *,
        name: str,
        size: int = 1000,
        shards: int = 4,
        deadline: float = 30.0,
        expected: tuple[type[Exception], ...] = (),
    ) -> None:
        if shards < 1 or size < 1 or deadline <= 0:
            raise ValueError("an outbox needs at least one shard, room for one item and a positive deadline")
        self.name = name
        self.deadline = deadline
        self._deliver = deliver
        self._expected = expected  # failures logged as one line; anything else also gets its traceback
        # The size is shared out between the shards: the whole outbox holds at most `size` items.
        self._shards = [trio.open_memory_channel[OutboundReply](max(1, size // shards)) for _ in range(shards)]
        self._running = 0
        self._started = False
        self._drained = trio.Event()
        self.delivered = 0
        self.failed = 0

    def shard_of(self, conversation_id: str) -> int:
        """The shard a conversation's items always go to (a stable hash: not Python's salted `hash`)."""
        # surrogatepass: a conversation id is whatever the platform sent, lone surrogates included
        return zlib.crc32(conversation_id.encode("utf-8", "surrogatepass")) % len(self._shards)

    async def send(self, item: OutboundReply) -> None:
        """Queue `item` behind its conversation's earlier items; waits while the shard is full.

        After `aclose` this raises `trio.ClosedResourceError`: nothing may be queued past the drain.
        """
        await self._shards[self.shard_of(item.conversation_id)][0].send(item)

    def counts(self) -> OutboxCounts:
        queued = sum(receive.statistics().current_buffer_used for _, receive in self._shards)
        return OutboxCounts(self.delivered, self.failed, queued)

    def gauges(self) -> dict[str, tuple[str, Callable[[], float]]]:
        """Its counts for its channel's `MetricsSource.gauges` (`commandlang_<channel>_outbox_...`)."""
        return {
            "outbox_delivered": (f"Replies the {self.name} outbox delivered (since start)", lambda: self.delivered),
            "outbox_failed": (f"Replies the {self.name} outbox gave up on (since start)", lambda: self.failed),
            "outbox_queued": (f"Replies waiting in the {self.name} outbox", lambda: self.counts().queued),
        }

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The delivery tasks, until cancelled or, after `aclose`, until every shard is drained."""
        async with trio.open_nursery() as nursery:
            for _, receive in self._shards:
                await nursery.start(self._shard, receive)
            self._started = True
            task_status.started()

    async def aclose(self, deadline: float = 10.0) -> None:
        """Take no more items and deliver what is queued, waiting at most `deadline` seconds."""
        for send, _ in self._shards:
            send.close()
        if not self._started:
            return  # no delivery task ever ran (e.g. a webhook without a callback URL): nothing to wait for
        with trio.move_on_after(deadline):
            await self._drained.wait()
        if not self._drained.is_set():
            log.warning(
                "outbox %s: %d item(s) still queued after the %.0f s drain; they are dropped",
                self.name,
                self.counts().queued,
                deadline,
            )

    async def _shard(
        self,
        receive: trio.MemoryReceiveChannel[OutboundReply],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        self._running += 1
        task_status.started()
        try:
            async for item in receive:  # ends once `aclose` closed the sending side and the queue is empty
                await self._deliver_one(item)
        finally:
            self._running -= 1
            if self._running == 0:
                self._drained.set()

    async def _deliver_one(self, item: OutboundReply) -> None:
        # Only Exception is caught: trio.Cancelled (a BaseException) must reach its cancel scope.
        try:
            with trio.fail_after(self.deadline):
                await self._deliver(item)
        except trio.TooSlowError:
            self.failed += 1
            log.error(
                "outbox %s: reply to conversation %s not delivered within %.0f s",
                self.name,
                item.conversation_id,
                self.deadline,
            )
        except self._expected as exc:
            self.failed += 1
            log.error("outbox %s: reply to conversation %s not delivered: %s", self.name, item.conversation_id, exc)
        except Exception:
            # a bug in one delivery must not stop the conversations queued behind it on this shard
            self.failed += 1
            log.exception("outbox %s: reply to conversation %s failed unexpectedly", self.name, item.conversation_id)
        else:
            self.delivered += 1
