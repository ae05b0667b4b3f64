"""A question as the stores keep it: a confirmation (`/confirm`) or an approval (`/approve`), and
what an unanswered end needs.

A confirmation is asked of the requester: keyed by (channel, conversation, participant), answered
by that participant with its token. An approval is asked of whoever holds one of its `roles`
(never the requester): keyed by its token alone (`approval_key`), since an approver may answer
from another conversation, a panel or another replica. Either way its command already has a record
(`command_id`: `awaiting_confirmation` or `awaiting_approval`) that the answer moves on; a question
kept by an older version has none, and its end writes a `rejected` record of its own. One machinery
holds both.

Stored, not held in memory, so a question survives a restart and is answered on any replica: it
carries the command as typed (bound again when confirmed, on the registry then current) and the
asking message's place and identity (the `rejected` record of a declined, expired, replaced or
dropped question is written for that message).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Mapping

if TYPE_CHECKING:
    from .messages import InboundMessage

__all__ = ["Question", "QuestionKey", "Answer", "approval_key", "question_key_text", "token_matches"]

QuestionKey = tuple[str, str, str]  # (channel, conversation id, participant id); approvals: `approval_key`
Answer = Literal["none", "no_token"]  # why `take_question` gave no question
QuestionKind = Literal["confirm", "approve"]


def approval_key(token: str) -> QuestionKey:
    """The key an approval is kept under: its token (what `/approve TOKEN` and the panel name)."""
    return ("\x00approval", token, "")


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
    kind: QuestionKind = "confirm"
    # the record the answer moves on (`awaiting_confirmation` or `awaiting_approval`)
    command_id: str | None = None
    # approvals only: who may answer, and when it was asked
    roles: tuple[str, ...] = ()
    asked_at: float = 0.0
    user_id: str | None = None  # the requester's person id when the channel has one (`metadata["user_id"]`)
    language: str | None = None  # the conversation's language as its channel said it (replies after the answer)

    @property
    def key(self) -> QuestionKey:
        if self.kind == "approve":
            return approval_key(self.token)
        return (self.channel, self.conversation_id, self.participant_id)

    @staticmethod
    def asked_by(message: InboundMessage, **fields: Any) -> Question:
        """A question asked of `message`'s place and identity (channel, conversation, participant, role,
        message and queue ids, language), with the rest of its `fields` as given."""
        return Question(
            channel=message.channel,
            conversation_id=message.conversation_id,
            participant_id=message.participant_id,
            role=message.role,
            message_id=message.message_id,
            queue_id=message.queue_id,
            language=message.language,
            **fields,
        )

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
            kind="approve" if data.get("kind") == "approve" else "confirm",
            command_id=data.get("command_id"),
            roles=tuple(data.get("roles") or ()),
            asked_at=float(data.get("asked_at") or 0.0),
            user_id=data.get("user_id"),
            language=data.get("language"),
        )
