"""Notification API payloads: channels, subscriptions and the events on the channel WebSocket (pure).

Shapes from the openapi subset (`Channel`, `ChannelTopic`,
`ChannelTopicEntityListing`, `QueueConversationMessageEventTopicMessageConversation`)
and EXAMPLES.md; re-exported by `models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ._validate import drop_none, obj, opt_enum, opt_list, opt_str, req_str

__all__ = [
    "Channel",
    "ChannelTopic",
    "ChannelTopicListing",
    "NotificationEvent",
    "EventMessage",
    "EventParticipant",
    "ConversationMessageEvent",
]


def _check_time(value: str | None) -> None:
    from .models import parse_time

    parse_time(value)


@dataclass(frozen=True, slots=True)
class Channel:
    """A notification channel: its WebSocket URI and when it expires (24 h)."""

    id: str
    connect_uri: str
    expires: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Channel:
        d = obj(data, "Channel")
        channel = cls(
            req_str(d, "id", "Channel"), req_str(d, "connectUri", "Channel"), opt_str(d, "expires", "Channel")
        )
        _check_time(channel.expires)
        return channel

    def to_json(self) -> dict[str, Any]:
        return drop_none({"connectUri": self.connect_uri, "id": self.id, "expires": self.expires})


@dataclass(frozen=True, slots=True)
class ChannelTopic:
    """A subscription: request `{"id"}`, answer with `state` Permitted or Rejected."""

    id: str
    state: str | None = None
    rejection_reason: str | None = None
    missing_permissions: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any, where: str = "ChannelTopic") -> ChannelTopic:
        d = obj(data, where)
        return cls(
            req_str(d, "id", where, allow_empty=False),
            opt_enum(d, "state", where, ("Permitted", "Rejected")),
            opt_str(d, "rejectionReason", where),
            tuple(opt_list(d, "missingPermissions", where)),
        )

    def to_json(self) -> dict[str, Any]:
        data = drop_none({"id": self.id, "state": self.state, "rejectionReason": self.rejection_reason})
        if self.missing_permissions:
            data["missingPermissions"] = list(self.missing_permissions)
        return data


@dataclass(frozen=True, slots=True)
class ChannelTopicListing:
    """`ChannelTopicEntityListing`."""

    entities: tuple[ChannelTopic, ...]

    @classmethod
    def from_json(cls, data: Any) -> ChannelTopicListing:
        d = obj(data, "ChannelTopicEntityListing")
        return cls(
            tuple(
                ChannelTopic.from_json(t, f"ChannelTopicEntityListing.entities[{i}]")
                for i, t in enumerate(opt_list(d, "entities", "ChannelTopicEntityListing"))
            )
        )

    def to_json(self) -> dict[str, Any]:
        return {"entities": [t.to_json() for t in self.entities]}


@dataclass(frozen=True, slots=True)
class NotificationEvent:
    """One frame on the channel WebSocket: `{topicName, version, eventBody, metadata}`."""

    topic_name: str
    event_body: Mapping[str, Any]
    version: str | None = None
    correlation_id: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> NotificationEvent:
        d = obj(data, "NotificationEvent")
        body = d.get("eventBody") or {}
        meta = d.get("metadata") or {}
        return cls(
            req_str(d, "topicName", "NotificationEvent"),
            obj(body, "NotificationEvent.eventBody"),
            str(d["version"]) if d.get("version") is not None else None,
            obj(meta, "NotificationEvent.metadata").get("CorrelationId"),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"topicName": self.topic_name, "eventBody": dict(self.event_body)}
        if self.version is not None:
            data["version"] = self.version
        if self.correlation_id is not None:
            data["metadata"] = {"CorrelationId": self.correlation_id}
        return data


@dataclass(frozen=True, slots=True)
class EventMessage:
    """A message reference in a `.conversations.messages` event (ids, no text)."""

    id: str
    message_time: str | None = None
    message_status: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class EventParticipant:
    """A participant of a message event; `purpose` is customer, agent, acd, workflow, ..."""

    id: str
    purpose: str
    messages: tuple[EventMessage, ...]
    state: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    connected_time: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationMessageEvent:
    """The eventBody of `v2.routing.queues.{id}.conversations.messages` / `v2.users.{id}.conversations.messages`."""

    conversation_id: str
    participants: tuple[EventParticipant, ...]

    @classmethod
    def from_json(cls, data: Any) -> ConversationMessageEvent:
        where = "eventBody"
        d = obj(data, where)
        parts = []
        for i, p in enumerate(opt_list(d, "participants", where)):
            pw = f"{where}.participants[{i}]"
            pd = obj(p, pw)
            msgs = []
            for j, m in enumerate(opt_list(pd, "messages", pw)):
                md = obj(m, f"{pw}.messages[{j}]")
                ref = obj(md.get("message") or {}, f"{pw}.messages[{j}].message")
                if not isinstance(ref.get("id"), str):
                    continue
                meta = md["messageMetadata"] if isinstance(md.get("messageMetadata"), Mapping) else {}
                msgs.append(
                    EventMessage(
                        ref["id"], opt_str(md, "messageTime", pw), opt_str(md, "messageStatus", pw), meta.get("type")
                    )
                )
            queue = pd["queue"] if isinstance(pd.get("queue"), Mapping) else {}
            user = pd["user"] if isinstance(pd.get("user"), Mapping) else {}
            parts.append(
                EventParticipant(
                    req_str(pd, "id", pw),
                    opt_str(pd, "purpose", pw) or "",
                    tuple(msgs),
                    opt_str(pd, "state", pw),
                    queue.get("id"),
                    user.get("id"),
                    opt_str(pd, "connectedTime", pw),
                )
            )
        return cls(req_str(d, "id", where), tuple(parts))
