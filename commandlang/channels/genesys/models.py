"""Typed Genesys Cloud REST and notification payloads (pure; shapes from shared/genesys/).

Names follow the openapi subset's definitions (`AdditionalMessage`,
`MessageData`, `UploadMediaRequest`, `MessageMediaUploadData`, `Channel`,
`ChannelTopic`, `ErrorBody`, the `...conversations.messages` event bodies).
Structured content and the Bot Connector payloads are in `content.py`, the
notification channel and event payloads in `events.py`; both are re-exported here. Every `from_json` raises `ModelError` on what the real API
would reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ._validate import ModelError, drop_none, obj, opt_enum, opt_int, opt_list, opt_str, opt_str_map, req_str
from .content import *  # noqa: F401,F403 - one import point for every model
from .events import Channel, ChannelTopic, ChannelTopicListing, ConversationMessageEvent, EventMessage, EventParticipant, NotificationEvent
from .content import ContentItem, _content_list
from .content import __all__ as _content_all
from .botmodels import *  # noqa: F401,F403 - the Bot Connector payloads and the bot list
from .botmodels import __all__ as _bot_all

__all__ = [
    "ModelError", "TokenResponse", "ErrorBody", "AdditionalMessage", "NormalizedMessage", "MessageData",
    "MessageListing", "UploadMediaRequest", "MediaUploadData", "Channel", "ChannelTopic", "ChannelTopicListing",
    "NotificationEvent", "EventMessage", "EventParticipant", "ConversationMessageEvent", "ConversationParticipant",
    "MessageConversation", "MAX_TEXT_BODY", "parse_time", *_content_all, *_bot_all,
]

MAX_TEXT_BODY = 2000  # AdditionalMessage.textBody on non-SMS channels
_BAD_FILENAME = re.compile(r"[\s\\{^}%`\]\">\[~<#|]")
DIRECTIONS = ("inbound", "outbound")
MESSAGE_STATUSES = ("queued", "sent", "failed", "received", "delivery-success", "delivery-failed", "read",
                    "removed", "published")
MESSENGER_TYPES = ("sms", "facebook", "twitter", "whatsapp", "webmessaging", "instagram", "open", "apple")


def parse_time(value: str | None) -> float | None:
    """ISO-8601 (`2026-11-24T10:00:00Z`, with or without millis) to epoch seconds."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise ModelError(f"not an ISO-8601 date-time: {value!r}") from exc


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """`POST /oauth/token` answer; `expires_in` is seconds."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"

    @classmethod
    def from_json(cls, data: Any) -> TokenResponse:
        d = obj(data, "TokenResponse")
        ttl = opt_int(d, "expires_in", "TokenResponse")
        if ttl is None or ttl <= 0:
            raise ModelError("TokenResponse.expires_in must be a positive integer")
        return cls(req_str(d, "access_token", "TokenResponse", allow_empty=False), ttl,
                   opt_str(d, "token_type", "TokenResponse") or "bearer")

    def to_json(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "token_type": self.token_type, "expires_in": self.expires_in}


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """The error shape of every Genesys API error response."""

    message: str
    code: str
    status: int
    context_id: str | None = None
    message_params: Mapping[str, str] = field(default_factory=dict)
    details: tuple[Any, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> ErrorBody:
        d = obj(data, "ErrorBody")
        return cls(opt_str(d, "message", "ErrorBody") or "", opt_str(d, "code", "ErrorBody") or "",
                   opt_int(d, "status", "ErrorBody") or 0, opt_str(d, "contextId", "ErrorBody"),
                   opt_str_map(d, "messageParams", "ErrorBody"), tuple(opt_list(d, "details", "ErrorBody")))

    def to_json(self) -> dict[str, Any]:
        data = drop_none({"message": self.message, "code": self.code, "status": self.status,
                          "contextId": self.context_id, "details": list(self.details), "errors": []})
        if self.message_params:
            data["messageParams"] = dict(self.message_params)
        return data


@dataclass(frozen=True, slots=True)
class AdditionalMessage:
    """Body of the agent send endpoint: text and media only (no quick replies or cards)."""

    text_body: str
    media_ids: tuple[str, ...] = ()
    messaging_template: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Any) -> AdditionalMessage:
        where = "AdditionalMessage"
        d = obj(data, where)
        unknown = set(d) - {"textBody", "mediaIds", "messagingTemplate"}
        if unknown:  # e.g. someone trying `content` for quick replies: the real endpoint has no such field
            raise ModelError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; only textBody, mediaIds, messagingTemplate")
        text = req_str(d, "textBody", where)
        if len(text) > MAX_TEXT_BODY:
            raise ModelError(f"{where}.textBody: {len(text)} characters, at most {MAX_TEXT_BODY}")
        media = opt_list(d, "mediaIds", where)
        if not all(isinstance(m, str) and m for m in media):
            raise ModelError(f"{where}.mediaIds: expected an array of media id strings")
        template = d.get("messagingTemplate")
        if template is not None and (media or text):
            raise ModelError(f"{where}: messagingTemplate cannot be combined with textBody or mediaIds")
        if not text and not media and template is None:
            raise ModelError(f"{where}: textBody is empty and there are no mediaIds")
        return cls(text, tuple(media), template)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"textBody": self.text_body}
        if self.media_ids:
            data["mediaIds"] = list(self.media_ids)
        if self.messaging_template is not None:
            data["messagingTemplate"] = dict(self.messaging_template)
        return data


@dataclass(frozen=True, slots=True)
class NormalizedMessage:
    """`ConversationNormalizedMessage`: the message's type, text and content items."""

    type: str
    text: str | None = None
    content: tuple[ContentItem, ...] = ()
    direction: str | None = None
    originating_entity: str | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "normalizedMessage") -> NormalizedMessage:
        d = obj(data, where)
        from .content import MESSAGE_TYPES

        kind = opt_enum(d, "type", where, MESSAGE_TYPES)
        if kind is None:
            raise ModelError(f"{where}.type is required")
        return cls(kind, opt_str(d, "text", where), _content_list(d, where),
                   opt_enum(d, "direction", where, ("Inbound", "Outbound")),
                   opt_enum(d, "originatingEntity", where, ("Human", "Bot")))

    def to_json(self) -> dict[str, Any]:
        data = drop_none({"type": self.type, "text": self.text, "direction": self.direction,
                          "originatingEntity": self.originating_entity})
        if self.content:
            data["content"] = [c.to_json() for c in self.content]
        return data


@dataclass(frozen=True, slots=True)
class MessageData:
    """One message of a messaging conversation as the Conversations API returns it."""

    id: str
    timestamp: str
    status: str
    text_body: str = ""
    direction: str | None = None
    messenger_type: str | None = None
    conversation_id: str | None = None
    normalized_message: NormalizedMessage | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "MessageData") -> MessageData:
        d = obj(data, where)
        norm = d.get("normalizedMessage")
        timestamp = req_str(d, "timestamp", where)
        parse_time(timestamp)
        return cls(req_str(d, "id", where, allow_empty=False), timestamp,
                   opt_enum(d, "status", where, MESSAGE_STATUSES) or "", opt_str(d, "textBody", where) or "",
                   opt_enum(d, "direction", where, DIRECTIONS), opt_enum(d, "messengerType", where, MESSENGER_TYPES),
                   opt_str(d, "conversationId", where),
                   NormalizedMessage.from_json(norm, f"{where}.normalizedMessage") if norm is not None else None)

    @property
    def text(self) -> str:
        """The message text: normalized text, else the deprecated `textBody`."""
        if self.normalized_message is not None and self.normalized_message.text:
            return self.normalized_message.text
        return self.text_body

    def to_json(self) -> dict[str, Any]:
        data = drop_none({"id": self.id, "conversationId": self.conversation_id, "timestamp": self.timestamp,
                          "direction": self.direction, "messengerType": self.messenger_type, "status": self.status,
                          "textBody": self.text_body})
        if self.normalized_message is not None:
            data["normalizedMessage"] = self.normalized_message.to_json()
        return data


@dataclass(frozen=True, slots=True)
class MessageListing:
    """`TextMessageListing`: the bulk fetch answer."""

    entities: tuple[MessageData, ...]

    @classmethod
    def from_json(cls, data: Any) -> MessageListing:
        d = obj(data, "TextMessageListing")
        return cls(tuple(MessageData.from_json(m, f"TextMessageListing.entities[{i}]")
                         for i, m in enumerate(opt_list(d, "entities", "TextMessageListing"))))

    def to_json(self) -> dict[str, Any]:
        return {"entities": [m.to_json() for m in self.entities]}


@dataclass(frozen=True, slots=True)
class UploadMediaRequest:
    """Asks for an upload URL for one media file."""

    file_name: str
    content_length_bytes: int
    content_md5: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> UploadMediaRequest:
        where = "UploadMediaRequest"
        d = obj(data, where)
        name = req_str(d, "fileName", where, allow_empty=False)
        if name.startswith(".") or name.endswith("/") or _BAD_FILENAME.search(name):
            raise ModelError(f"{where}.fileName {name!r}: no leading dot, trailing slash, whitespace or \\{{^}}%`]\">[~<#|")
        size = opt_int(d, "contentLengthBytes", where)
        if size is None or size <= 0:
            raise ModelError(f"{where}.contentLengthBytes must be a positive integer")
        return cls(name, size, opt_str(d, "contentMd5", where))

    def to_json(self) -> dict[str, Any]:
        return drop_none({"fileName": self.file_name, "contentLengthBytes": self.content_length_bytes,
                          "contentMd5": self.content_md5})


@dataclass(frozen=True, slots=True)
class MediaUploadData:
    """`MessageMediaUploadData`: where to PUT the bytes, and the media id to send."""

    id: str
    upload_url: str
    upload_headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> MediaUploadData:
        d = obj(data, "MessageMediaUploadData")
        return cls(req_str(d, "id", "MessageMediaUploadData"), req_str(d, "uploadUrl", "MessageMediaUploadData"),
                   opt_str_map(d, "uploadHeaders", "MessageMediaUploadData"))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "uploadUrl": self.upload_url, "uploadHeaders": dict(self.upload_headers)}


@dataclass(frozen=True, slots=True)
class ConversationParticipant:
    """A participant of `GET /api/v2/conversations/messages/{id}` (`MessageMediaParticipant`)."""

    id: str
    purpose: str
    message_ids: tuple[str, ...]
    state: str | None = None


@dataclass(frozen=True, slots=True)
class MessageConversation:
    """`MessageConversation`: used to find the agent's communication id."""

    id: str
    participants: tuple[ConversationParticipant, ...]

    @classmethod
    def from_json(cls, data: Any) -> MessageConversation:
        d = obj(data, "MessageConversation")
        parts = []
        for i, p in enumerate(opt_list(d, "participants", "MessageConversation")):
            pd = obj(p, f"MessageConversation.participants[{i}]")
            ids = tuple(m["messageId"] for m in opt_list(pd, "messages", "participant")
                        if isinstance(m, Mapping) and isinstance(m.get("messageId"), str))
            parts.append(ConversationParticipant(req_str(pd, "id", "participant"), opt_str(pd, "purpose", "participant") or "",
                                                 ids, opt_str(pd, "state", "participant")))
        return cls(req_str(d, "id", "MessageConversation"), tuple(parts))
