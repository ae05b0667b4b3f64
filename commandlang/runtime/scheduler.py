"""The conversation scheduler: per-conversation queues and workers under one concurrency limit.

It knows nothing of commands: it runs opaque work items with a handler, keyed by conversation.
Items of one conversation run one at a time, in arrival order, on that conversation's worker;
different conversations run concurrently up to `max_concurrency`. Every queue is bounded and so
is the table of conversations: `offer` refuses an item it cannot queue (and says why) instead of
dropping it silently; the caller answers "busy". A worker ends as soon as its queue is empty, so
the table holds only conversations with work and one-shot conversations cannot fill it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, Literal, TypeVar

import trio
import trio.lowlevel

__all__ = ["ConversationScheduler", "Refusal"]

T = TypeVar("T")

# why `offer` turned an item away (the label of the `refused` metric):
# "conversations": the table of conversations is full, or the scheduler is not running;
# "conversation_queue": this conversation's queue is full.
Refusal = Literal["conversations", "conversation_queue"]


class _Conversation(Generic[T]):
    def __init__(self, size: int) -> None:
        self.send, self.receive = trio.open_memory_channel[T](size)


class ConversationScheduler(Generic[T]):
    """Start `run` with `nursery.start`; `offer` items; `drain` or `cancel` to stop.

    `handler(item)` must not raise: an exception would end every worker with it (the
    pipeline's handler answers and records its own failures)."""

    def __init__(
        self,
        handler: Callable[[T], Awaitable[None]],
        *,
        max_concurrency: int,
        conversation_queue: int,
        max_conversations: int,
    ) -> None:
        self._handler = handler
        self._queue_size = conversation_queue
        self._max_conversations = max_conversations
        self._limiter = trio.CapacityLimiter(max_concurrency)
        self._conversations: dict[str, _Conversation[T]] = {}
        self._nursery: trio.Nursery | None = None
        self.accepting = False  # False before `run`, and once `drain` or `cancel` began
        self._in_flight = 0  # items queued or running
        self._idle = trio.Event()
        self._idle.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the conversation workers until cancelled (see `cancel`)."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self.accepting = True
                task_status.started()
                await trio.sleep_forever()
        finally:
            self.accepting = False
            self._nursery = None

    def offer(self, conversation_id: str, item: T) -> Refusal | None:
        """Queue `item` on its conversation; None when queued, else why it was refused. Never blocks."""
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            if len(self._conversations) >= self._max_conversations or self._nursery is None:
                return "conversations"
            conversation = self._conversations[conversation_id] = _Conversation[T](self._queue_size)
            self._nursery.start_soon(self._worker, conversation_id, conversation)
        try:
            conversation.send.send_nowait(item)
        except trio.WouldBlock:
            return "conversation_queue"
        self._in_flight += 1
        if self._idle.is_set():
            self._idle = trio.Event()
        return None

    def queue_depth(self) -> int:
        """Items waiting in conversation queues (not counting the running ones)."""
        return sum(c.receive.statistics().current_buffer_used for c in self._conversations.values())

    def in_flight(self) -> int:
        """Items queued or running."""
        return self._in_flight

    def conversations(self) -> int:
        """Conversations with queued or running work (the size of the table `max_conversations` caps)."""
        return len(self._conversations)

    def cancel(self) -> None:
        """Stop taking items and cancel every worker (their handlers see `trio.Cancelled`)."""
        self.accepting = False
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def drain(self, timeout: float) -> bool:
        """Stop taking items and wait up to `timeout` for queued and running ones; True if all ended."""
        self.accepting = False
        with trio.move_on_after(timeout):
            while self._in_flight or self.queue_depth():
                await self._idle.wait()
                await trio.lowlevel.checkpoint()
        return not (self._in_flight or self.queue_depth())

    async def _worker(self, conversation_id: str, conversation: _Conversation[T]) -> None:
        while True:
            try:
                item = conversation.receive.receive_nowait()
            except trio.WouldBlock:
                # Nothing can arrive between this check and the removal (no await in between).
                del self._conversations[conversation_id]
                return
            try:
                async with self._limiter:
                    await self._handler(item)
            finally:
                self._in_flight -= 1
                if not self._in_flight:
                    self._idle.set()
