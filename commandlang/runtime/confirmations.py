"""Confirmation questions waiting for their answer: who was asked, where, with which token, until when.

A thin layer over the store, which keeps the questions (so one survives a restart and is answered on
any replica; `Store.put_question` and the next two say how): this adds the token, the expiry from the
clock and the bound. A question is keyed by channel, conversation and participant (one question per
participant and place; a new one replaces the last), answered once and only with its token, and
forgotten when it expires. At most `limit` wait at once; past it the oldest is forgotten, so a flood
of unanswered questions holds bounded storage and cannot push out none but the oldest.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable, Literal, Mapping, Sequence

from .messages import InboundMessage
from .questions import Question, QuestionKey
from .store import Store

__all__ = ["PendingConfirmation", "ConfirmationBook", "QuestionKey"]

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
        )
        return question, await self.store.put_question(question, self.limit)

    async def answer(self, key: QuestionKey, token: str | None) -> Question | Literal["none", "no_token"]:
        """The question answered with `token` (then forgotten), or why not: "none" (nothing waits, or it
        expired) or "no_token" (a missing or wrong token: the question keeps waiting)."""
        return await self.store.take_question(key, token, self._clock())

    async def sweep(self) -> Sequence[Question]:
        """Forget the questions whose time ran out; returns them (on several replicas, each to one of them)."""
        return await self.store.expired_questions(self._clock())
