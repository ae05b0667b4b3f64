"""The fake's conversations, shaped exactly as the SDK models say (SDK 269, checked by the oracle).

Three views of one conversation, which the old fake mixed up:
- the generic `Conversation` (`GET /api/v2/conversations/{id}`): `Participant.messages` are the
  participants' communications (`Message`), and `Message.id` is what the agent send endpoint takes;
- `MessageConversation` (`GET /api/v2/conversations/messages/{id}`): `MessageMediaParticipant.messages`
  are `MessageDetails`, individual messages;
- the `.conversations.messages` topic events: every `participants[].messages[]` entry is one message.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = ["FakeMessage", "FakeAgent", "FakeConversation", "error_body", "iso", "new_id"]


def iso(ts: float) -> str:
    """Epoch seconds as the ISO-8601 UTC form Genesys writes."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """A fresh id in the UUID form Genesys uses."""
    return str(uuid.uuid4())


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The ErrorBody JSON every Genesys API error answers with."""
    return {
        "message": message,
        "code": code,
        "status": status,
        "contextId": new_id(),
        "details": [],
        "errors": [],
        **extra,
    }


@dataclass
class FakeMessage:
    """A message in a fake conversation, as the customer or agent would see it."""

    id: str
    sender: str  # customer | agent | bot
    text: str
    timestamp: float
    content: list[dict[str, Any]] = field(default_factory=list)
    media_ids: list[str] = field(default_factory=list)
    participant_id: str | None = None  # the agent participant who sent it (agent messages)

    @property
    def direction(self) -> str:
        """inbound for the customer, outbound for the agent and the bot."""
        return "inbound" if self.sender == "customer" else "outbound"

    @property
    def status(self) -> str:
        return "received" if self.sender == "customer" else "sent"

    def message_data(self, conversation_id: str) -> dict[str, Any]:
        """This message as SDK 269 `MessageData` JSON: the text is `normalizedMessage.text` (269 has no `textBody`)."""
        norm: dict[str, Any] = {
            "id": self.id,
            "type": "Structured" if self.content else "Text",
            "text": self.text,
            "direction": self.direction.capitalize(),
            "originatingEntity": "Bot" if self.sender == "bot" else "Human",
        }
        if self.content:
            norm["content"] = self.content
        return {
            "id": self.id,
            "conversationId": conversation_id,
            "timestamp": iso(self.timestamp),
            "direction": self.direction,
            "messengerType": "webmessaging",
            "status": self.status,
            "normalizedMessage": norm,
        }

    def details(self) -> dict[str, Any]:
        """`MessageDetails` (the generic and the messaging conversation's per-message entry)."""
        return {
            "messageId": self.id,
            "messageTime": iso(self.timestamp),
            "messageStatus": self.status,
            "messageMetadata": {"type": "Structured" if self.content else "Text"},
        }

    def event_details(self) -> dict[str, Any]:
        """`QueueConversationMessageEventTopicMessageDetails`: one message of a `.messages` topic event."""
        return {
            "message": {"id": self.id},
            "messageTime": iso(self.timestamp),
            "messageStatus": self.status,
            "messageMetadata": {"type": "Structured" if self.content else "Text"},
        }


@dataclass
class FakeAgent:
    """An agent participant: its own communication (the send endpoint's `communicationId`).

    An agent who is transferred away or reconnects is a new participant with a new communication
    (SOURCES.md 2: take the last connected agent participant)."""

    participant_id: str
    communication_id: str
    connected_at: float  # epoch seconds
    user_id: str | None = None
    state: str = "connected"  # connected | disconnected


@dataclass
class FakeConversation:
    """A web-messaging conversation: a customer, and the agent participants it had (none while in a bot flow)."""

    id: str
    queue_id: str | None
    user_id: str | None
    customer_participant_id: str = field(default_factory=new_id)
    customer_communication_id: str = field(default_factory=new_id)
    messages: list[FakeMessage] = field(default_factory=list)
    agents: list[FakeAgent] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)

    @property
    def agent(self) -> FakeAgent | None:
        """The last connected agent participant, if any."""
        return next((a for a in reversed(self.agents) if a.state == "connected"), None)

    @property
    def has_agent(self) -> bool:
        return self.agent is not None

    @property
    def agent_participant_id(self) -> str:
        """The connected agent's participant id ("" when none)."""
        return self.agent.participant_id if self.agent else ""

    @property
    def communication_id(self) -> str:
        """The connected agent's communication id ("" when none)."""
        return self.agent.communication_id if self.agent else ""

    def find(self, message_id: str) -> FakeMessage | None:
        """The message with this id, if any."""
        return next((m for m in self.messages if m.id == message_id), None)

    def _agent_messages(self, agent: FakeAgent) -> list[FakeMessage]:
        return [m for m in self.messages if m.sender == "agent" and m.participant_id == agent.participant_id]

    def event_body(self) -> dict[str, Any]:
        """The `.conversations.messages` eventBody (`QueueConversationMessageEventTopicMessageConversation`):
        ids and status only, no text; every `participants[].messages[]` entry is one message."""
        queue = {"id": self.queue_id} if self.queue_id else None
        customer: dict[str, Any] = {
            "id": self.customer_participant_id,
            "purpose": "customer",
            "state": "connected",
            "type": "webmessaging",
            "connectedTime": iso(self.started_at),
            "messages": [m.event_details() for m in self.messages if m.sender == "customer"],
        }
        if queue:
            customer["queue"] = queue
        participants = [customer]
        for agent in self.agents:
            entry: dict[str, Any] = {
                "id": agent.participant_id,
                "purpose": "agent",
                "state": agent.state,
                "type": "webmessaging",
                "connectedTime": iso(agent.connected_at),
                "messages": [m.event_details() for m in self._agent_messages(agent)],
            }
            if queue:
                entry["queue"] = queue
            if agent.user_id:
                entry["user"] = {"id": agent.user_id}
            participants.append(entry)
        return {"id": self.id, "participants": participants}

    def conversation_json(self) -> dict[str, Any]:
        """The generic `Conversation` (GET /api/v2/conversations/{id}): `Participant.messages` are the
        participants' communications (`Message`), whose `id` the send endpoint takes."""
        customer = {
            "id": self.customer_participant_id,
            "purpose": "customer",
            "connectedTime": iso(self.started_at),
            "messages": [
                {
                    "id": self.customer_communication_id,
                    "state": "connected",
                    "type": "webmessaging",
                    "connectedTime": iso(self.started_at),
                    "messages": [m.details() for m in self.messages if m.sender == "customer"],
                }
            ],
        }
        if self.queue_id:
            customer["queueId"] = self.queue_id
        participants = [customer]
        for agent in self.agents:
            entry: dict[str, Any] = {
                "id": agent.participant_id,
                "purpose": "agent",
                "connectedTime": iso(agent.connected_at),
                "messages": [
                    {
                        "id": agent.communication_id,
                        "state": agent.state,
                        "type": "webmessaging",
                        "connectedTime": iso(agent.connected_at),
                        "messages": [m.details() for m in self._agent_messages(agent)],
                    }
                ],
            }
            if agent.user_id:
                entry["userId"] = agent.user_id
            if self.queue_id:
                entry["queueId"] = self.queue_id
            participants.append(entry)
        return {"id": self.id, "startTime": iso(self.started_at), "participants": participants}

    def message_conversation_json(self) -> dict[str, Any]:
        """`MessageConversation` (GET /api/v2/conversations/messages/{id}): `MessageMediaParticipant.messages`
        are `MessageDetails`, individual messages; no communication id anywhere."""
        customer = {
            "id": self.customer_participant_id,
            "purpose": "customer",
            "state": "connected",
            "connectedTime": iso(self.started_at),
            "messages": [m.details() for m in self.messages if m.sender == "customer"],
        }
        participants = [customer]
        for agent in self.agents:
            entry: dict[str, Any] = {
                "id": agent.participant_id,
                "purpose": "agent",
                "state": agent.state,
                "connectedTime": iso(agent.connected_at),
                "messages": [m.details() for m in self._agent_messages(agent)],
            }
            if agent.user_id:
                entry["user"] = {"id": agent.user_id}
            participants.append(entry)
        return {"id": self.id, "participants": participants}
