"""One message's way from text to a final state: parse -> bind -> [awaiting_confirmation] ->
[awaiting_approval] -> pending
-> [ack] -> executing -> backend call -> reply -> completed | failed | timed_out | cancelled; a message
that never became a runnable command ends `rejected`. The approval steps are `approvals.ApprovalDesk`'s.

It knows nothing of queues: the scheduler calls `process(job)` once per message, in order within a
conversation. Every state change is durable in the store before the job, the sync hub or anyone
else sees it (`_save`: the store, then the job, then the event sink). `process` never raises but
`trio.Cancelled`: a bug of ours or a store outage is answered "something went wrong" and recorded
when the store allows, so the conversation's worker keeps going.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import trio

from ..binding.call import Call
from ..diagnostics import CommandError
from ..execution.answer import answer
from ..registry.languages import resolve_language
from ..replies.context import ReplyContext
from ..replies.errors import command_error_reply
from ..replies.approvals import parse_approval
from ..replies.help import help_reply
from ..replies.i18n import translator
from ..replies.model import Reply
from ..replies.render import parse_confirmation
from ..texts import N_, msg
from ..syntax.tree import Invocation, Value
from .approvals import ApprovalDesk, LateReplies
from .confirmations import ConfirmationBook, ConfirmationDesk
from .generation import Generation, GenerationHolder
from .messages import EventSink, InboundMessage, Job
from .metrics import Metrics
from .questions import Question, QuestionKey
from .store import (
    TERMINAL,
    CommandRecord,
    StaleTransition,
    StateEvent,
    Status,
    Store,
    StoreUnavailable,
)

__all__ = ["SOMETHING_WENT_WRONG", "CommandLifecycle", "conversation_language"]

log = logging.getLogger("commandlang.runtime")

#: How long an `awaiting_confirmation` record whose question is gone is left alone (another replica may be
#: between taking the question and moving the record on): past it, or past its expiry, it ends `rejected`.
STRANDED_GRACE = 60.0

SOMETHING_WENT_WRONG = N_("Sorry, something went wrong on our side. Please try again.")


def conversation_language(generation: Generation, message: InboundMessage | Question) -> str:
    """The declared language every reply to `message` is written in (`registry.languages.resolve_language`)."""
    return resolve_language(message.language, generation.registry.spec.settings.languages)


class CommandLifecycle:
    """Takes one message (a `Job`) from its text to its final state; see the module docstring."""

    def __init__(
        self,
        generations: GenerationHolder,
        store: Store,
        events: EventSink,
        metrics: Metrics,
        confirmations: ConfirmationBook,
        *,
        default_timeout: float,
        clock: Callable[[], float],
        today: Callable[[], date] | None = None,
        late_replies: LateReplies = lambda channel: None,
    ) -> None:
        self.generations = generations
        self.store = store
        self.events = events
        self.metrics = metrics
        self.confirmations = confirmations
        self._default_timeout = default_timeout
        self._clock = clock
        self._today = today
        self._processing: set[Job] = set()  # the jobs between the start and the end of `process`
        self.confirming = ConfirmationDesk(self, confirmations, metrics)
        self.approvals = ApprovalDesk(
            self,
            store,
            metrics,
            limit=lambda: confirmations.limit,
            clock=clock,
            late_replies=late_replies,
            seal=confirmations.seal,
        )

    def today(self) -> date | None:
        """The date arguments like `today` are read against (None: the real one)."""
        return self._today() if self._today else None

    def is_command(self, text: str) -> bool:
        """True when the text is meant as a command (one with a syntax error too: it gets an answer)."""
        try:
            return self.generations.current.registry.parse_invocation(text) is not None
        except CommandError:
            return True

    def running_ids(self) -> set[str]:
        """The ids of the commands this process is running now (their records may be pending or executing)."""
        return {job.record.id for job in self._processing if job.record is not None}

    async def process(self, job: Job) -> None:
        """Run one message to its final state; raises nothing but `trio.Cancelled` (then it ends `cancelled`)."""
        generation = self.generations.acquire()
        started = trio.current_time()
        self._processing.add(job)
        try:
            await self._run(job, generation)
            # answered without a record of its own (help, a question, an approval's answer, which moves
            # the requester's record): the claim is settled here, not by a first record
            if job.record is None or (job.record.channel, job.record.message_id) != (
                job.message.channel,
                job.message.message_id,
            ):
                await self._settle(job)
        except trio.Cancelled:
            # Shutdown past the drain deadline: the command ends `cancelled`, durably.
            if job.record is not None and job.record.status not in TERMINAL:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await self._save_final(
                        job,
                        job.record.moved(
                            "cancelled",
                            self._clock(),
                            {"code": "cancelled", "message": "The service stopped before this command finished."},
                        ),
                    )
            raise
        except Exception as exc:  # a bug of ours, or the store gone: never kill the worker or leave the user unanswered
            if isinstance(exc, StoreUnavailable):
                log.error(
                    "state store unavailable mid-command: %s",
                    exc,
                    extra={"conversation_id": job.message.conversation_id},
                )
            else:
                log.exception("command failed unexpectedly", extra={"conversation_id": job.message.conversation_id})
            language = conversation_language(generation, job.message)
            await job.deliver(Reply(text=translator(language)(SOMETHING_WENT_WRONG)))
            if job.record is not None and job.record.status not in TERMINAL:
                await self._save_final(
                    job,
                    job.record.moved(
                        "failed",
                        self._clock(),
                        {"code": "internal_error", "message": "Something went wrong on our side."},
                    ),
                )
        finally:
            self._processing.discard(job)
            self.generations.release(generation)
            self.metrics.stage_seconds.observe(trio.current_time() - started, "total")
            job.finish()

    async def _settle(self, job: Job) -> None:
        try:
            await self.store.settle_message(job.message.channel, job.message.conversation_id, job.message.message_id)
        except Exception:  # noqa: BLE001 - at worst the claim is released at the next start
            log.warning("could not settle a message's claim", extra={"conversation_id": job.message.conversation_id})

    async def _run(self, job: Job, generation: Generation) -> None:
        message = job.message
        job.language = conversation_language(generation, message)  # for channels that compile late replies
        confirmation = parse_confirmation(message.text)
        if confirmation is not None and not generation.registry.spec.resolve("confirm"):
            await self.confirming.answer(job, generation, *confirmation)
            return
        approval = parse_approval(message.text)
        if approval is not None and not generation.registry.spec.resolve(approval.decision):
            await self.approvals.answer(job, generation, approval)
            return
        registry = generation.registry
        language = conversation_language(generation, message)
        started = trio.current_time()
        invocation = None
        try:
            invocation = registry.parse_invocation(message.text)
            if invocation is None:
                return
            if invocation.name == "help" and registry.spec.resolve("help") is None:
                first = invocation.positionals[0].value if invocation.positionals else None
                topic = first.text if isinstance(first, Value) else None
                await job.deliver(help_reply(registry.spec, message.held_roles, topic, language=language))
                return
            call = registry.bind(invocation, role=message.held_roles, today=self.today(), language=language)
        except CommandError as exc:
            if exc.diagnostic.code == "unknown_command" and registry.spec.settings.unknown_command == "ignore":
                return  # this registry treats unknown commands as ordinary chat
            await self.fail_early(job, generation, exc, message.text, invocation)
            return
        finally:
            self.metrics.stage_seconds.observe(trio.current_time() - started, "parse_bind")
        if call.spec.confirm is not None:
            await self.confirming.ask(job, generation, call)
            return
        await self.proceed(job, generation, call, message.text)

    async def proceed(
        self, job: Job, generation: Generation, call: Call, text: str, *, waiting: CommandRecord | None = None
    ) -> None:
        """A bound (and confirmed) command: held for an approver when `approve.when` holds, else run;
        `waiting`: its `awaiting_confirmation` record, which moves on."""
        context = ReplyContext(
            args=call.args,
            user={"id": job.message.participant_id, "role": job.message.role},
            conversation_id=job.message.conversation_id,
        )
        if generation.renderer.needs_approval(call.spec, context):
            await self.approvals.ask(job, generation, call, text, waiting=waiting)
            return
        await self.execute(job, generation, call, waiting=waiting)

    async def fail_early(
        self,
        job: Job,
        generation: Generation,
        exc: CommandError,
        text: str,
        invocation: Invocation | None,
        *,
        waiting: CommandRecord | None = None,
    ) -> None:
        """A parse or bind error: a friendly reply and a `rejected` record (never a failure); no backend call.

        `invocation` is None when the text did not even parse (a syntax error); `waiting`: the command's
        `awaiting_confirmation` record (bound again after the yes), which ends `rejected` instead."""
        name = invocation.name if invocation is not None else None
        spec = generation.registry.spec.resolve(name) if name else None
        language = conversation_language(generation, job.message)
        await job.deliver(
            command_error_reply(exc.diagnostic, text, spec, registry=generation.registry.spec, language=language)
        )
        error = {"code": exc.diagnostic.code, "message": exc.diagnostic.message}
        if waiting is not None:
            record = waiting.moved("rejected", self._clock(), error)
        else:
            record = self.new_record(job.message, spec.name if spec else (name or "?"), {}, "rejected", generation)
            record = replace(record, error=error)
        await self.save(job, record)
        # Labels only from the registry: every name a customer can type must not become a series.
        self.metrics.commands.inc(spec.name if spec else "unknown", "rejected")

    async def forget(self, dropped: Sequence[Question], key: QuestionKey) -> None:
        """Questions forgotten when `key`'s was asked: the one it replaced, or the oldest past the bound."""
        for old in dropped:
            replaced = old.key == key
            if not replaced:
                self.metrics.refused.inc("confirmation_evicted")
            if old.kind == "approve":
                crowded = N_("Too many questions were waiting: this request was dropped.")
                await self.approvals.expire(old, msg(crowded))
                continue
            await self.confirming.unanswered(
                None,
                old,
                "confirmation_replaced" if replaced else "confirmation_expired",
                "A newer question replaced this one."
                if replaced
                else "Too many questions were waiting: this one was dropped.",
            )

    async def expire_questions(self) -> int:
        """Forget the questions nobody answered in time; each one's command ends `rejected`. Returns how many."""
        try:
            expired = await self.confirmations.sweep()
        except StoreUnavailable as exc:  # the next sweep tries again; meanwhile an expired question is refused anyway
            log.warning("could not sweep expired questions: %s", exc, extra={"stage": "confirm"})
            return 0
        for pending in expired:
            if pending.kind == "approve":
                minutes = max(1, round((pending.expires_at - pending.asked_at) / 60))
                nobody = N_("Nobody approved it within {minutes} minutes.")
                await self.approvals.expire(pending, msg(nobody, minutes=minutes))
                continue
            await self.confirming.unanswered(
                None, pending, "confirmation_expired", "Nobody answered the question in time."
            )
        try:  # after the expired ones, which end with their own reason
            await self.confirming.end_stranded(STRANDED_GRACE)
        except StoreUnavailable as exc:
            log.warning("could not look for stranded confirmations: %s", exc, extra={"stage": "confirm"})
        return len(expired)

    async def execute(
        self,
        job: Job,
        generation: Generation,
        call: Call,
        *,
        requester: InboundMessage | Question | None = None,
        waiting: CommandRecord | None = None,
        approval: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Run a bound command to its final state; returns the reply it delivered.

        A confirmed or approved command goes on from its `waiting` record (with the decided `approval`,
        and the arguments it was bound again with), its templates seeing the `requester` as the user."""
        message = requester or job.message
        spec = call.spec
        if waiting is None:
            record = self.new_record(message, call.command, call.masked_args(), "pending", generation)
        else:
            record = replace(waiting.moved("pending", self._clock(), approval=approval), args=call.masked_args())
        language = conversation_language(generation, message)
        context = ReplyContext(
            args=call.args,
            user={"id": message.participant_id, "role": message.role},
            conversation_id=message.conversation_id,
            language=language,
        )
        if spec.ack is not None:
            await self.save(job, record)
            await job.send_ack(generation.renderer.render(spec, "ack", context))
            record = await self.save(job, record.moved("executing", self._clock()))
        else:  # nothing happens between the two: one commit
            record = (await self._save_all(job, [record, record.moved("executing", self._clock())]))[-1]
        deadline = trio.current_time() + (spec.timeout or self._default_timeout)
        started = trio.current_time()
        outcome = None
        if spec.request is not None:
            outcome = await generation.executor.execute(call, deadline=deadline, command_id=record.id)
            self.metrics.stage_seconds.observe(trio.current_time() - started, "backend")
            if getattr(outcome, "attempts", 1) > 1:
                self.metrics.retries.inc(spec.request.backend, amount=outcome.attempts - 1)
        started = trio.current_time()
        result = answer(
            generation.renderer,
            call,
            outcome,
            user=context.user,
            conversation_id=message.conversation_id,
            language=language,
        )
        self.metrics.stage_seconds.observe(trio.current_time() - started, "render")
        await job.deliver(result.reply)
        await self.save(job, record.moved(result.status, self._clock(), result.error))  # type: ignore[arg-type]
        self.metrics.commands.inc(call.command, result.status)
        return result.reply

    async def recover(self) -> int:
        """Mark commands a crash left pending or executing as failed (`interrupted`); returns how many."""
        released = await self.store.release_unsettled()
        if released:
            # claimed, then still queued when the process died: not run, so not a duplicate when delivered again
            log.warning(
                "%d message(s) were queued but not started when the service stopped: they run if delivered again",
                released,
                extra={"stage": "recover"},
            )
        interrupted = await self.interrupt(await self.store.unfinished())
        await self.confirming.end_stranded(STRANDED_GRACE, at_start=True)
        return interrupted

    async def interrupt(self, records: Sequence[CommandRecord]) -> int:
        """Mark records left pending or executing by a stopped process as failed (`interrupted`); returns how many.

        Another replica may get to one first: that one is skipped."""
        count = 0
        for record in records:
            moved = record.moved(
                "failed",
                self._clock(),
                {"code": "interrupted", "message": "The service restarted before this command finished."},
            )
            try:
                await self.save(None, moved)
            except StaleTransition:
                continue
            count += 1
        return count

    # -- state -----------------------------------------------------------
    def new_record(
        self,
        message: InboundMessage | Question,
        command: str,
        args: dict[str, Any],
        status: Status,
        generation: Generation,
    ) -> CommandRecord:
        """Version 1 of a command's record, made now, for the message that asked for it."""
        now = self._clock()
        return CommandRecord(
            id=str(uuid.uuid4()),
            conversation_id=message.conversation_id,
            command=command,
            args=args,
            status=status,
            actor=message.participant_id,
            role=message.role,
            channel=message.channel,
            message_id=message.message_id,
            created_at=now,
            updated_at=now,
            queue_id=message.queue_id,
            registry_version=generation.version,
        )

    async def _save_final(self, job: Job, record: CommandRecord) -> None:
        """`_save` on the way out of a failure: if the store is gone too, the record stays unfinished
        (a restart, or another replica's sweep, marks it interrupted) and the worker goes on."""
        try:
            await self.save(job, record)
        except StoreUnavailable as exc:
            log.error(
                "could not record /%s as %s: %s",
                record.command,
                record.status,
                exc,
                extra={"conversation_id": record.conversation_id, "command_id": record.id},
            )

    async def _save_all(self, job: Job | None, records: list[CommandRecord]) -> list[CommandRecord]:
        """Like `_save` for changes that may be committed together."""
        for event in await self.store.append_all(records):
            self._publish(job, event)
        return records

    async def save(self, job: Job | None, record: CommandRecord) -> CommandRecord:
        """Durable first, then visible: the store, then the job, then the sync hub."""
        self._publish(job, await self.store.append(record))
        return record

    def _publish(self, job: Job | None, event: StateEvent) -> None:
        record = event.record
        if job is not None:
            job.update(record)
        self.events.publish(event)
        log.log(
            logging.INFO if record.status in TERMINAL else logging.DEBUG,
            "/%s %s",
            record.command,
            record.status,
            extra={
                "conversation_id": record.conversation_id,
                "command_id": record.id,
                "command": record.command,
                "stage": "state",
                "status": record.status,
                "channel": record.channel,
                **({"error": record.error["code"]} if record.error else {}),
            },
        )
