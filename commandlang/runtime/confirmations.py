"""Confirmation questions waiting for their answer: who was asked, where, with which token, until when;
and `ConfirmationDesk`, the lifecycle's confirm steps (ask, answer, end unanswered).

A thin layer over the store, which keeps the questions (so one survives a restart and is answered on
any replica; `Store.put_question` and the next two say how): this adds the token, the expiry from the
clock and the bound. A question is keyed by channel, conversation and participant (one question per
participant and place; a new one replaces the last), answered once and only with its token, and
forgotten when it expires. At most `limit` wait at once; past it the oldest is forgotten, so a flood
of unanswered questions holds bounded storage and cannot push out none but the oldest.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence

from ..binding.call import Call
from ..diagnostics import CommandError
from ..registry.languages import resolve_language
from ..replies.context import ReplyContext
from ..replies.i18n import translator
from ..replies.model import Reply
from ..texts import N_
from .generation import Generation
from .messages import InboundMessage, Job
from .metrics import Metrics
from .questions import Question, QuestionKey
from .sealing import UNREADABLE_CODE, UNREADABLE_REPLY, UNREADABLE_WHY, QuestionSeal
from .store import CommandRecord, StaleTransition, Store, StoreUnavailable

if TYPE_CHECKING:
    from .lifecycle import CommandLifecycle

__all__ = ["PendingConfirmation", "ConfirmationBook", "ConfirmationDesk", "QuestionKey"]

log = logging.getLogger("commandlang.runtime")

PendingConfirmation = Question  # the name the runtime knew it by


class ConfirmationBook:
    """The questions waiting for an answer, in `store`. `limit` is read at each question (tests lower it).
    `seal` seals every question's typed text before the store sees it (runtime/sealing.py)."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: float,
        limit: int,
        clock: Callable[[], float],
        seal: QuestionSeal | None = None,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.limit = limit
        self._clock = clock
        self.seal = seal if seal is not None else QuestionSeal.random()

    async def ask(
        self,
        message: InboundMessage,
        text: str,
        command: str,
        args: Mapping[str, Any] | None = None,
        *,
        command_id: str | None = None,
    ) -> tuple[Question, Sequence[Question]]:
        """Record a new question for `message` (its `awaiting_confirmation` record: `command_id`); returns
        it and the old ones forgotten for it (replaced, or past the bound)."""
        question = Question.asked_by(
            message,
            token=secrets.token_hex(5),
            text=text,
            command=command,
            expires_at=self._clock() + self.ttl,
            args=dict(args or {}),
            command_id=command_id,
        )
        return question, await self.store.put_question(self.seal.seal(question), self.limit)

    def now(self) -> float:
        """The clock questions expire by."""
        return self._clock()

    async def answer(self, key: QuestionKey, token: str | None) -> Question | Literal["none", "no_token"]:
        """The question answered with `token` (then forgotten), or why not: "none" (nothing waits, or it
        expired) or "no_token" (a missing or wrong token: the question keeps waiting). Its text is still
        sealed: `seal.open` it before use."""
        return await self.store.take_question(key, token, self._clock())

    async def sweep(self) -> Sequence[Question]:
        """Forget the questions whose time ran out; returns them (on several replicas, each to one of them)."""
        return await self.store.expired_questions(self._clock())


def _language(generation: Generation, message: InboundMessage) -> str:
    return resolve_language(message.language, generation.registry.spec.settings.languages)


class ConfirmationDesk:
    """The confirm steps of `CommandLifecycle` (which owns the records and runs the commands).

    The question and its record: the question is stored first, then its `awaiting_confirmation`
    record (masked args, the requester as actor and as the one who may answer), then the question is
    shown; a record that waits always has a question whose expiry ends it. The yes moves that record
    on (same id); a no, an expiry or a newer question ends it `rejected`."""

    def __init__(self, lifecycle: CommandLifecycle, book: ConfirmationBook, metrics: Metrics) -> None:
        self._lifecycle = lifecycle
        self.book = book
        self._metrics = metrics

    async def ask(self, job: Job, generation: Generation, call: Call) -> None:
        """Ask the requester first: the question (with its Confirm / Cancel quick replies) and its record."""
        message = job.message
        key = (message.channel, message.conversation_id, message.participant_id)
        record = self._lifecycle.new_record(
            message, call.command, call.masked_args(), "awaiting_confirmation", generation
        )
        pending, dropped = await self.book.ask(
            message, message.text, call.command, call.masked_args(), command_id=record.id
        )
        record = replace(record, confirmation={"asked_of": message.participant_id, "expires_at": pending.expires_at})
        await self._lifecycle.save(job, record)
        await self._lifecycle.forget(dropped, key)
        context = ReplyContext(
            args=call.args,
            user={"id": message.participant_id, "role": message.role},
            conversation_id=message.conversation_id,
            confirm_token=pending.token,
            language=_language(generation, message),
        )
        await job.deliver(generation.renderer.render(call.spec, "confirm", context))

    async def answer(self, job: Job, generation: Generation, action: str, token: str | None) -> None:
        """`/confirm TOKEN` or `/cancel TOKEN` from the participant who was asked, on the channel and in
        the conversation it was asked in, within `confirm_ttl`. The token is required: it is what ties
        the answer to the question the participant saw."""
        message = job.message
        language = _language(generation, message)
        t = translator(language)
        pending = await self.book.answer((message.channel, message.conversation_id, message.participant_id), token)
        waiting = await self._waiting(pending) if isinstance(pending, Question) else None
        if pending == "none" or waiting == "ended":
            await job.deliver(
                Reply(text=t(N_("There is nothing waiting for your confirmation (it may have expired).")))
            )
            return
        if pending == "no_token":
            answer_how = N_(
                "To answer, use the buttons, or type /{action} followed by the code shown with the question."
            )
            await job.deliver(Reply(text=t(answer_how, action=action)))
            return
        assert isinstance(pending, Question) and waiting != "ended"
        if action == "cancel":
            await job.deliver(Reply(text=t(N_("Cancelled: /{command} was not run."), command=pending.command)))
            await self.unanswered(job, pending, "declined", "The question was answered no.")
            return
        opened = self.book.seal.open(pending)
        if opened is None:  # sealed under another key (a restart with a random one, a rotation)
            await job.deliver(Reply(text=t(UNREADABLE_REPLY)))
            await self.unanswered(job, pending, UNREADABLE_CODE, UNREADABLE_WHY)
            return
        pending = opened
        invocation = None
        try:
            invocation = generation.registry.parse_invocation(pending.text)
            assert invocation is not None
            call = generation.registry.bind(
                invocation, role=message.held_roles, today=self._lifecycle.today(), language=language
            )
        except CommandError as exc:  # the registry changed under the question
            await self._lifecycle.fail_early(job, generation, exc, pending.text, invocation, waiting=waiting)
            return
        # approved next, when it needs it
        await self._lifecycle.proceed(job, generation, call, pending.text, waiting=waiting)

    async def _waiting(self, question: Question) -> CommandRecord | None | Literal["ended"]:
        """The question's `awaiting_confirmation` record; None when it has none (asked by an older
        version, or its write failed), "ended" when it no longer waits (a restart's `end_stranded`)."""
        if question.command_id is None:
            return None
        record = await self._lifecycle.store.get(question.command_id)
        if record is None:
            return None
        return record if record.status == "awaiting_confirmation" else "ended"

    async def unanswered(self, job: Job | None, pending: Question, code: str, why: str) -> None:
        """A question declined, expired or dropped: its command ends `rejected` (it never ran). Its
        `awaiting_confirmation` record moves there; a question without one gets a `rejected` record
        for the message that asked (the question keeps its place and identity), with the arguments it
        would have run with (masked)."""
        generation = self._lifecycle.generations.current
        error = {"code": code, "message": why}
        try:
            waiting = await self._waiting(pending)
            if waiting == "ended":
                return  # ended already (on another replica, or at a restart)
            if waiting is None:
                record = self._lifecycle.new_record(
                    pending, pending.command, dict(pending.args), "rejected", generation
                )
                record = replace(record, error=error)
            else:
                record = waiting.moved("rejected", self.book.now(), error)
            await self._lifecycle.save(job, record)
        except StaleTransition:  # another replica ended it first
            return
        except StoreUnavailable as exc:  # nothing ran; only the record of it is lost
            log.warning(
                "could not record an unanswered question: %s", exc, extra={"conversation_id": pending.conversation_id}
            )
            return
        self._metrics.commands.inc(pending.command, "rejected")

    async def end_stranded(self, grace: float, *, at_start: bool = False) -> int:
        """End `rejected` (`confirmation_expired`) the `awaiting_confirmation` records whose question is
        gone (taken by an answer that a crash cut short) or expired. At start-up (`at_start`): those
        expired, and those whose question is gone and that are older than `grace`; with every sweep:
        those whose question is gone, `grace` past their expiry (a replica that died mid-answer and never
        came back). The grace is for a shared store: another replica may be between taking a question
        and moving its record on (were it ended meanwhile, that move is refused and nothing runs)."""
        store, now = self._lifecycle.store, self.book.now()
        _, records = await store.snapshot(1)  # every live record (and the newest one)
        count = 0
        for record in records:
            if record.status != "awaiting_confirmation":
                continue
            question = await store.get_question((record.channel, record.conversation_id, record.actor), now)
            if question is not None and question.command_id == record.id:
                continue  # still asked: the sweep ends it when it expires
            expires_at = float((record.confirmation or {}).get("expires_at") or 0.0)
            if at_start:
                stranded = now >= expires_at or record.updated_at <= now - grace
            else:
                stranded = now >= expires_at + grace
            if not stranded:
                continue
            why = "Nobody answered the question in time." if now >= expires_at else "The question was lost."
            error = {"code": "confirmation_expired", "message": why}
            try:
                await self._lifecycle.save(None, record.moved("rejected", now, error))
            except StaleTransition:
                continue
            self._metrics.commands.inc(record.command, "rejected")
            count += 1
        return count
