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
from .store import Store, StoreUnavailable

if TYPE_CHECKING:
    from .lifecycle import CommandLifecycle

__all__ = ["PendingConfirmation", "ConfirmationBook", "ConfirmationDesk", "QuestionKey"]

log = logging.getLogger("commandlang.runtime")

PendingConfirmation = Question  # the name the runtime knew it by


class ConfirmationBook:
    """The questions waiting for an answer, in `store`. `limit` is read at each question (tests lower it)."""

    def __init__(self, store: Store, *, ttl: float, limit: int, clock: Callable[[], float]) -> None:
        self.store = store
        self.ttl = ttl
        self.limit = limit
        self._clock = clock

    async def ask(
        self, message: InboundMessage, text: str, command: str, args: Mapping[str, Any] | None = None
    ) -> tuple[Question, Sequence[Question]]:
        """Record a new question for `message`; returns it and the old ones forgotten for it (replaced, or past the bound)."""
        question = Question(
            token=secrets.token_hex(5),
            text=text,
            command=command,
            expires_at=self._clock() + self.ttl,
            channel=message.channel,
            conversation_id=message.conversation_id,
            participant_id=message.participant_id,
            role=message.role,
            message_id=message.message_id,
            queue_id=message.queue_id,
            args=dict(args or {}),
            language=message.language,
        )
        return question, await self.store.put_question(question, self.limit)

    async def answer(self, key: QuestionKey, token: str | None) -> Question | Literal["none", "no_token"]:
        """The question answered with `token` (then forgotten), or why not: "none" (nothing waits, or it
        expired) or "no_token" (a missing or wrong token: the question keeps waiting)."""
        return await self.store.take_question(key, token, self._clock())

    async def sweep(self) -> Sequence[Question]:
        """Forget the questions whose time ran out; returns them (on several replicas, each to one of them)."""
        return await self.store.expired_questions(self._clock())


def _language(generation: Generation, message: InboundMessage) -> str:
    return resolve_language(message.language, generation.registry.spec.settings.languages)


class ConfirmationDesk:
    """The confirm steps of `CommandLifecycle` (which owns the records and runs the commands)."""

    def __init__(self, lifecycle: CommandLifecycle, book: ConfirmationBook, metrics: Metrics) -> None:
        self._lifecycle = lifecycle
        self.book = book
        self._metrics = metrics

    async def ask(self, job: Job, generation: Generation, call: Call) -> None:
        """Ask the requester first: the question (with its Confirm / Cancel quick replies), no record yet."""
        message = job.message
        key = (message.channel, message.conversation_id, message.participant_id)
        pending, dropped = await self.book.ask(message, message.text, call.command, call.masked_args())
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
        if pending == "none":
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
        if action == "cancel":
            await job.deliver(Reply(text=t(N_("Cancelled: /{command} was not run."), command=pending.command)))
            await self.unanswered(job, pending, "declined", "The question was answered no.")
            return
        invocation = None
        try:
            invocation = generation.registry.parse_invocation(pending.text)
            assert invocation is not None
            call = generation.registry.bind(
                invocation, role=message.role, today=self._lifecycle.today(), language=language
            )
        except CommandError as exc:  # the registry changed under the question
            await self._lifecycle.fail_early(job, generation, exc, pending.text, invocation)
            return
        await self._lifecycle.proceed(job, generation, call, pending.text)  # approved next, when it needs it

    async def unanswered(self, job: Job | None, pending: Question, code: str, why: str) -> None:
        """A question declined, expired or dropped: its command ends `rejected` (it never ran), recorded
        for the message that asked (the question keeps its place and identity), with the arguments it
        would have run with (masked)."""
        generation = self._lifecycle.generations.current
        record = self._lifecycle.new_record(pending, pending.command, dict(pending.args), "rejected", generation)
        record = replace(record, error={"code": code, "message": why})
        try:
            await self._lifecycle.save(job, record)
        except StoreUnavailable as exc:  # nothing ran; only the record of it is lost
            log.warning(
                "could not record an unanswered question: %s", exc, extra={"conversation_id": record.conversation_id}
            )
            return
        self._metrics.commands.inc(pending.command, "rejected")
