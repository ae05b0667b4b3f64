"""A confirmation question as the stores keep it: what `/confirm` and an unanswered end need.

Stored, not held in memory, so a question survives a restart and is answered on any replica: it
carries the command as typed (bound again when confirmed, on the registry then current) and the
asking message's place and identity (the `rejected` record of a declined, expired, replaced or
dropped question is written for that message).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Mapping

__all__ = ["Question", "QuestionKey", "Answer", "question_key_text", "token_matches"]

QuestionKey = tuple[str, str, str]  # (channel, conversation id, participant id)
Answer = Literal["none", "no_token"]  # why `take_question` gave no question


def question_key_text(key: QuestionKey) -> str:
    """One string for a key, as the stores index it; unit separators keep the parts apart."""
    return "\x1f".join(key)


def token_matches(token: str | None, question: Question) -> bool:
    """In constant time: a guess must not learn how much of the token it got right."""
    return token is not None and secrets.compare_digest(token.encode("utf-8", "surrogatepass"), question.token.encode())


@dataclass(frozen=True, slots=True)
class Question:
    token: str
    text: str  # the command as typed
    command: str
    expires_at: float
    channel: str
    conversation_id: str
    participant_id: str
    role: str
    message_id: str
    queue_id: str | None = None
    # the arguments it would run with (JSON form, sensitive ones masked), kept from the asking so an
    # unanswered question's `rejected` record needs no second parse and bind
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> QuestionKey:
        return (self.channel, self.conversation_id, self.participant_id)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @staticmethod
    def from_json(body: str | bytes | Mapping[str, Any]) -> Question:
        data = body if isinstance(body, Mapping) else json.loads(body)
        return Question(
            token=data["token"],
            text=data["text"],
            command=data["command"],
            expires_at=float(data["expires_at"]),
            channel=data["channel"],
            conversation_id=data["conversation_id"],
            participant_id=data["participant_id"],
            role=data["role"],
            message_id=data["message_id"],
            queue_id=data.get("queue_id"),
            args=dict(data.get("args") or {}),
        )
