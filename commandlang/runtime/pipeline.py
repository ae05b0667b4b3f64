"""The pipeline: the one door channels submit messages through, and what the service starts and stops.

A thin facade over two parts: intake here (not-a-command, shutting down, the dedupe claim, busy
refusals answered), `scheduler.ConversationScheduler` (per-conversation bounded queues and
workers under one concurrency limit; knows nothing of commands) and `lifecycle.CommandLifecycle`
(one message from text to its final state: parse, bind, confirm, pending, ack, executing,
backend, reply, final; knows nothing of queues).

Ordering and load: commands of one conversation run one at a time, in arrival order; different
conversations run concurrently up to `max_concurrency`. Every queue is bounded; a full one refuses
the newest message with a "busy" reply, never drops it silently. Every state change is durable in
the store before the job, the sync hub or anyone else sees it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import trio

from ..replies.i18n import translator
from ..replies.model import Reply
from ..texts import N_
from .approvals import LateReplies
from .confirmations import ConfirmationBook
from .generation import GenerationHolder
from .lifecycle import CommandLifecycle, conversation_language
from .messages import EventSink, InboundMessage, Job, ReplySink
from .metrics import Metrics
from .scheduler import ConversationScheduler
from .sealing import QuestionSeal
from .store import ClaimedElsewhere, CommandRecord, Store, StoreUnavailable

__all__ = ["Pipeline", "PipelineConfig"]

log = logging.getLogger("commandlang.runtime")

BUSY_TEXT = N_("We're busy right now and could not take that command. Please try again in a moment.")
SHUTTING_DOWN_TEXT = N_("The assistant is restarting. Please send that command again in a minute.")


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """The pipeline's limits and timeouts."""

    max_concurrency: int = 64
    conversation_queue: int = 32  # waiting commands per conversation
    max_conversations: int = 10_000  # conversations with queued or running work
    dedupe_ttl: float = 24 * 3600.0
    default_timeout: float = 30.0  # a command without `timeout`
    confirm_ttl: float = 300.0
    max_confirmations: int = 10_000  # questions waiting for an answer; past it the oldest is forgotten


class Pipeline:
    """Runs commands for every channel. Start `run` with `nursery.start`; `submit` from channels."""

    def __init__(
        self,
        generations: GenerationHolder,
        store: Store,
        events: EventSink,
        metrics: Metrics,
        config: PipelineConfig = PipelineConfig(),
        *,
        clock: Callable[[], float] = time.time,
        today: Callable[[], date] | None = None,
        late_replies: LateReplies = lambda channel: None,
        seal: QuestionSeal | None = None,
    ) -> None:
        """`late_replies(channel)`: where that channel sends a reply nobody waits for (an approval's
        outcome for its requester), or None. `seal`: the key questions' typed texts are sealed with in
        the store (runtime/sealing.py; None: a random one for this process)."""
        self.generations = generations
        self.store = store
        self.events = events
        self.metrics = metrics
        self.config = config
        self.confirmations = ConfirmationBook(
            store, ttl=config.confirm_ttl, limit=config.max_confirmations, clock=clock, seal=seal
        )
        self.lifecycle = CommandLifecycle(
            generations,
            store,
            events,
            metrics,
            self.confirmations,
            default_timeout=config.default_timeout,
            clock=clock,
            today=today,
            late_replies=late_replies,
        )
        self.scheduler: ConversationScheduler[Job] = ConversationScheduler(
            self.lifecycle.process,
            max_concurrency=config.max_concurrency,
            conversation_queue=config.conversation_queue,
            max_conversations=config.max_conversations,
        )
        self._scope: trio.CancelScope | None = None
        self.stopped = trio.Event()  # set once `run` has ended and every worker with it
        metrics.gauge("commandlang_queue_depth", "Commands waiting in conversation queues", self.queue_depth)
        metrics.gauge("commandlang_in_flight", "Commands being processed", self.scheduler.in_flight)

    # -- lifecycle -------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the conversation workers until cancelled (see `drain`)."""
        try:
            with trio.CancelScope() as self._scope:
                async with trio.open_nursery() as nursery:
                    await nursery.start(self.scheduler.run)
                    task_status.started()
                    while True:  # unanswered confirmation questions expire; nothing else here needs a clock
                        await trio.sleep(min(30.0, self.config.confirm_ttl))
                        await self.expire_questions()
        finally:
            self._scope = None
            self.stopped.set()

    def cancel_running(self) -> None:
        """Past the drain deadline: cancel every worker; their commands end `cancelled`, durably."""
        self.scheduler.cancel()
        if self._scope is not None:
            self._scope.cancel()

    def queue_depth(self) -> int:
        """Commands waiting in conversation queues."""
        return self.scheduler.queue_depth()

    async def drain(self, timeout: float) -> bool:
        """Stop taking messages and wait up to `timeout` for queued and running commands; True if all ended."""
        return await self.scheduler.drain(timeout)

    async def recover(self) -> int:
        """Mark commands a crash left pending or executing as failed (`interrupted`); returns how many."""
        return await self.lifecycle.recover()

    async def interrupt(self, records: Sequence[CommandRecord]) -> int:
        """Mark records left pending or executing by a stopped process as failed (`interrupted`); returns how many.

        Another replica may get to one first: that one is skipped."""
        return await self.lifecycle.interrupt(records)

    def running_ids(self) -> set[str]:
        """The ids of the commands this process is running now (their records may be pending or executing)."""
        return self.lifecycle.running_ids()

    async def expire_questions(self) -> int:
        """Forget the questions nobody answered in time; each one's command ends `rejected`. Returns how many."""
        return await self.lifecycle.expire_questions()

    # -- intake ----------------------------------------------------------
    async def submit(self, message: InboundMessage, sink: ReplySink | None = None) -> Job:
        """Take one inbound message; the returned job says what became of it."""
        job = Job(message, sink)
        is_command = self.lifecycle.is_command(message.text)
        if not is_command:
            self.metrics.messages.inc(message.channel, "chat")
            job.finish()  # ordinary chat: no reply, no state
            return job
        if not self.scheduler.accepting:
            self.metrics.refused.inc("shutting_down")
            await self._refuse(job, SHUTTING_DOWN_TEXT)
            return job
        try:
            claimed = await self.store.claim_message(
                message.channel, message.conversation_id, message.message_id, self.config.dedupe_ttl
            )
        except ClaimedElsewhere:  # another replica has it queued: "try again" finds it run there, or released
            self.metrics.refused.inc("claimed_elsewhere")
            await self._refuse(job, BUSY_TEXT)
            return job
        except StoreUnavailable as exc:  # nothing may run unrecorded: the channel delivers it again later
            log.warning(
                "state store unavailable, message refused: %s", exc, extra={"conversation_id": message.conversation_id}
            )
            self.metrics.refused.inc("store_unavailable")
            await self._refuse(job, BUSY_TEXT)
            return job
        if not claimed:
            self.metrics.messages.inc(message.channel, "duplicate")
            job.duplicate = True
            job.finish()  # delivered twice: the first delivery runs it
            return job
        self.metrics.messages.inc(message.channel, "command")
        refusal = self.scheduler.offer(message.conversation_id, job)
        if refusal is not None:
            self.metrics.refused.inc(refusal)
            await self.store.release_message(
                message.channel, message.conversation_id, message.message_id
            )  # "try again" must work
            await self._refuse(job, BUSY_TEXT)
        return job

    async def _refuse(self, job: Job, text: str) -> None:
        """Answer a message we will not run (its claim already released or never taken)."""
        job.refused = True
        job.language = conversation_language(self.lifecycle.generations.current, job.message)
        await job.deliver(Reply(text=translator(job.language)(text)))
        job.finish()
