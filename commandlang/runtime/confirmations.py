"""Confirmation questions waiting for their answer: who was asked, where, with which token, until when.

Pure bookkeeping (no Trio, no I/O): the pipeline asks and answers, and calls
`sweep` on a timer. A question is keyed by channel, conversation and
participant (one question per participant and place; a new one replaces the
last), answered once and only with its token, and forgotten when it expires.
At most `limit` wait at once; past it the oldest is forgotten, so a flood of
unanswered questions holds bounded memory and cannot push out none but the
oldest.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable, Literal

__all__ = ["PendingConfirmation", "ConfirmationBook", "QuestionKey"]

QuestionKey = tuple[str, str, str]  # (channel, conversation id, participant id)


@dataclass(frozen=True, slots=True)
class PendingConfirmation:
    token: str
    text: str  # the command as typed: bound again when confirmed, on the registry then current
    command: str
    expires_at: float
    message: Any = None  # the InboundMessage that asked: a question that ends unanswered is recorded for it


class ConfirmationBook:
    """The questions waiting for an answer, oldest first."""

    def __init__(self, *, ttl: float, limit: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.limit = limit
        self._clock = clock
        self._waiting: dict[QuestionKey, PendingConfirmation] = {}  # insertion order is age order

    def __len__(self) -> int:
        return len(self._waiting)

    def ask(self, key: QuestionKey, text: str, command: str,
            message: Any = None) -> tuple[PendingConfirmation, list[PendingConfirmation]]:
        """Record a new question; returns it and the old ones forgotten for it (replaced, or past the bound)."""
        dropped = [old for old in [self._waiting.pop(key, None)] if old is not None]  # one question a participant
        while len(self._waiting) >= self.limit:
            dropped.append(self._waiting.pop(next(iter(self._waiting))))
        pending = PendingConfirmation(secrets.token_hex(5), text, command, self._clock() + self.ttl, message)
        self._waiting[key] = pending
        return pending, dropped

    def answer(self, key: QuestionKey, token: str | None) -> PendingConfirmation | Literal["none", "no_token"]:
        """The question answered with `token` (then forgotten), or why not: "none" (nothing waits, or it
        expired) or "no_token" (a missing or wrong token: the question keeps waiting)."""
        pending = self._waiting.get(key)
        if pending is None or pending.expires_at < self._clock():
            return "none"
        if token is None or not secrets.compare_digest(token.encode("utf-8", "surrogatepass"), pending.token.encode()):
            return "no_token"
        del self._waiting[key]
        return pending

    def sweep(self) -> list[PendingConfirmation]:
        """Forget the questions whose time ran out; returns them."""
        now = self._clock()
        expired = [key for key, pending in self._waiting.items() if pending.expires_at < now]
        return [self._waiting.pop(key) for key in expired]
