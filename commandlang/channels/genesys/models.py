"""Typed Genesys Cloud REST and notification payloads (pure; shapes from shared/genesys/).

Names follow the openapi subset's definitions (`AdditionalMessage`,
`MessageData`, `UploadMediaRequest`, `MessageMediaUploadData`, `Channel`,
`ChannelTopic`, `ErrorBody`, the `...conversations.messages` event bodies).
Structured content and the Bot Connector payloads are in `content.py`, the
notification channel and event payloads in `events.py`; both are re-exported here. Every `from_json` raises `ModelError` on what the real API
would reject.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ._validate import ModelError, drop_none, obj, opt_int, opt_list, opt_str, opt_str_map, req_str
from .content import *  # noqa: F401,F403 - one import point for every model
from .events import (
    Channel,
    ChannelTopic,
    ChannelTopicListing,
    ConversationMessageEvent,
    EventMessage,
    EventParticipant,
    NotificationEvent,
)
from .content import ContentItem, _content_list
from .content import __all__ as _content_all
from .botmodels import *  # noqa: F401,F403 - the Bot Connector payloads and the bot list
from .botmodels import __all__ as _bot_all

__all__ = [
    "ModelError",
    "TokenResponse",
    "ErrorBody",
    "AdditionalMessage",
    "NormalizedMessage",
    "MessageData",
    "MessageListing",
    "UploadMediaRequest",
    "MediaUploadData",
    "Channel",
    "ChannelTopic",
    "ChannelTopicListing",
    "NotificationEvent",
    "EventMessage",
    "EventParticipant",
    "ConversationMessageEvent",
    "AgentCommunication",
    "last_connected_agent",
    "lenient_enum",
    "MAX_TEXT_BODY",
    "parse_time",
    *_content_all,
    *_bot_all,
]

log = logging.getLogger(__name__)
MAX_TEXT_BODY = 2000  # AdditionalMessage.textBody on non-SMS channels
_BAD_FILENAME = re.compile(r"[\s\\{^}%`\]\">\[~<#|]")
DIRECTIONS = ("inbound", "outbound")
MESSAGE_STATUSES = (
    "queued",
    "sent",
    "failed",
    "received",
    "delivery-success",
    "delivery-failed",
    "read",
    "removed",
    "published",
)
MESSENGER_TYPES = ("sms", "facebook", "twitter", "whatsapp", "webmessaging", "instagram", "open", "apple", "linkedin")
CONTENT_TYPES = ("QuickReply", "Card", "Carousel", "Attachment", "ButtonResponse")  # the ones content.py reads


def lenient_enum(data: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str | None:
    """The value when we know it; a value we do not know (Genesys adds them) is skipped and logged."""
    value = opt_str(data, key, where)
    if value is not None and value not in allowed:
        log.info("genesys %s.%s: value %r not known here; read as absent", where, key, value)
        return None
    return value


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
        return cls(
            req_str(d, "access_token", "TokenResponse", allow_empty=False),
            ttl,
            opt_str(d, "token_type", "TokenResponse") or "bearer",
        )

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
        return cls(
            opt_str(d, "message", "ErrorBody") or "",
            opt_str(d, "code", "ErrorBody") or "",
            opt_int(d, "status", "ErrorBody") or 0,
            opt_str(d, "contextId", "ErrorBody"),
            opt_str_map(d, "messageParams", "ErrorBody"),
            tuple(opt_list(d, "details", "ErrorBody")),
        )

    def to_json(self) -> dict[str, Any]:
        data = drop_none(
            {
                "message": self.message,
                "code": self.code,
                "status": self.status,
                "contextId": self.context_id,
                "details": list(self.details),
                "errors": [],
            }
        )
        if self.message_params:
            data["messageParams"] = dict(self.message_params)
        return data


@dataclass(frozen=True, slots=True)
class AdditionalMessage:
    """Body of the agent send endpoint: text and media only (no quick replies or cards).

    One body field per request ("Example: 1 textBody, 1 mediaId, or 1 messageTemplate", SDK 269
    `post_conversations_message_communication_messages`): text alone, or one media id alone."""

    text_body: str = ""
    media_ids: tuple[str, ...] = ()
    messaging_template: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        present = [
            name
            for name, value in (
                ("textBody", self.text_body),
                ("mediaIds", self.media_ids),
                ("messagingTemplate", self.messaging_template),
            )
            if value
        ]
        if len(present) != 1:
            raise ModelError(
                f"AdditionalMessage: exactly one of textBody, mediaIds or messagingTemplate per "
                f"request, got {', '.join(present) or 'none'}"
            )
        if len(self.media_ids) > 1:
            raise ModelError("AdditionalMessage.mediaIds: one media id per request")
        if len(self.text_body) > MAX_TEXT_BODY:
            raise ModelError(f"AdditionalMessage.textBody: {len(self.text_body)} characters, at most {MAX_TEXT_BODY}")

    @classmethod
    def from_json(cls, data: Any) -> AdditionalMessage:
        where = "AdditionalMessage"
        d = obj(data, where)
        unknown = set(d) - {"textBody", "mediaIds", "messagingTemplate"}
        if unknown:  # e.g. someone trying `content` for quick replies: the real endpoint has no such field
            raise ModelError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; only textBody, mediaIds, messagingTemplate"
            )
        text = opt_str(d, "textBody", where) or ""
        media = opt_list(d, "mediaIds", where)
        if not all(isinstance(m, str) and m for m in media):
            raise ModelError(f"{where}.mediaIds: expected an array of media id strings")
        template = d.get("messagingTemplate")
        return cls(text, tuple(media), template)

    def to_json(self) -> dict[str, Any]:
        if self.media_ids:
            return {"mediaIds": list(self.media_ids)}
        if self.messaging_template is not None:
            return {"messagingTemplate": dict(self.messaging_template)}
        return {"textBody": self.text_body}


@dataclass(frozen=True, slots=True)
class NormalizedMessage:
    """`ConversationNormalizedMessage`: the message's type, text and content items."""

    type: str
    text: str | None = None
    content: tuple[ContentItem, ...] = ()
    direction: str | None = None
    originating_entity: str | None = None
    #: `enrichment.language.language`: "the IETF detected language code of this message" (SDK model
    #: ConversationEnrichmentLanguage). The only language the Notification path's messages carry: Genesys
    #: documents no conversation-level language there, so without it the registry's default is used.
    language: str | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "normalizedMessage") -> NormalizedMessage:
        d = obj(data, where)
        from .content import MESSAGE_TYPES

        kind = lenient_enum(d, "type", where, MESSAGE_TYPES) or "Unknown"
        items = opt_list(d, "content", where)
        known = [c for c in items if isinstance(c, Mapping) and c.get("contentType") in CONTENT_TYPES]
        if len(known) < len(items):  # Reactions, Location, ListPicker, QuickReplyV2, ...: not ours to read
            log.info(
                "genesys %s: skipped content of types we do not read: %s",
                where,
                ", ".join(sorted({str(c.get("contentType")) for c in items if c not in known})),
            )
        return cls(
            kind,
            opt_str(d, "text", where),
            _content_list({"content": known}, where),
            lenient_enum(d, "direction", where, ("Inbound", "Outbound")),
            lenient_enum(d, "originatingEntity", where, ("Human", "Bot")),
            _detected_language(d, where),
        )

    def to_json(self) -> dict[str, Any]:
        data = drop_none(
            {
                "type": self.type,
                "text": self.text,
                "direction": self.direction,
                "originatingEntity": self.originating_entity,
            }
        )
        if self.content:
            data["content"] = [c.to_json() for c in self.content]
        if self.language is not None:
            data["enrichment"] = {"language": {"language": self.language}}
        return data


def _detected_language(d: Mapping[str, Any], where: str) -> str | None:
    """`enrichment.language.language`, or None when absent or not text (never a reason to drop the message)."""
    enrichment = d.get("enrichment")
    language = enrichment.get("language") if isinstance(enrichment, Mapping) else None
    tag = language.get("language") if isinstance(language, Mapping) else None
    return tag if isinstance(tag, str) and 0 < len(tag) <= 35 else None


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
        # lenient: a value our tables do not know (a new messengerType such as `line`) is skipped and logged
        return cls(
            req_str(d, "id", where, allow_empty=False),
            timestamp,
            lenient_enum(d, "status", where, MESSAGE_STATUSES) or "",
            opt_str(d, "textBody", where) or "",
            lenient_enum(d, "direction", where, DIRECTIONS),
            lenient_enum(d, "messengerType", where, MESSENGER_TYPES),
            opt_str(d, "conversationId", where),
            NormalizedMessage.from_json(norm, f"{where}.normalizedMessage") if norm is not None else None,
        )

    @property
    def text(self) -> str:
        """The message text: `normalizedMessage.text` (SDK 269 has no `textBody`), else the older `textBody`."""
        if self.normalized_message is not None and self.normalized_message.text:
            return self.normalized_message.text
        return self.text_body

    def to_json(self) -> dict[str, Any]:
        data = drop_none(
            {
                "id": self.id,
                "conversationId": self.conversation_id,
                "timestamp": self.timestamp,
                "direction": self.direction,
                "messengerType": self.messenger_type,
                "status": self.status,
                "textBody": self.text_body,
            }
        )
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
        found = []
        for i, m in enumerate(opt_list(d, "entities", "TextMessageListing")):
            try:
                found.append(MessageData.from_json(m, f"TextMessageListing.entities[{i}]"))
            except ModelError as exc:  # one unreadable message must not hide the others
                log.warning("genesys bulk read: message skipped (%s)", exc)
        return cls(tuple(found))

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
            raise ModelError(
                f'{where}.fileName {name!r}: no leading dot, trailing slash, whitespace or \\{{^}}%`]">[~<#|'
            )
        size = opt_int(d, "contentLengthBytes", where)
        if size is None or size <= 0:
            raise ModelError(f"{where}.contentLengthBytes must be a positive integer")
        return cls(name, size, opt_str(d, "contentMd5", where))

    def to_json(self) -> dict[str, Any]:
        return drop_none(
            {
                "fileName": self.file_name,
                "contentLengthBytes": self.content_length_bytes,
                "contentMd5": self.content_md5,
            }
        )


@dataclass(frozen=True, slots=True)
class MediaUploadData:
    """`MessageMediaUploadData`: where to PUT the bytes, and the media id to send."""

    id: str
    upload_url: str
    upload_headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> MediaUploadData:
        d = obj(data, "MessageMediaUploadData")
        return cls(
            req_str(d, "id", "MessageMediaUploadData"),
            req_str(d, "uploadUrl", "MessageMediaUploadData"),
            opt_str_map(d, "uploadHeaders", "MessageMediaUploadData"),
        )

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "uploadUrl": self.upload_url, "uploadHeaders": dict(self.upload_headers)}


@dataclass(frozen=True, slots=True)
class AgentCommunication:
    """The agent participant to send as: from the generic `Conversation` (`GET /api/v2/conversations/{id}`),
    where `Participant.messages` are communications and `Message.id` is the communication id (SOURCES.md 2)."""

    participant_id: str
    communication_id: str
    connected_at: float | None  # epoch seconds; the communication's (else the participant's) connectedTime


def last_connected_agent(data: Any) -> AgentCommunication | None:
    """The last connected agent participant of a `Conversation` JSON, read leniently (None when there is none)."""
    d = obj(data, "Conversation")
    found = None
    for i, p in enumerate(opt_list(d, "participants", "Conversation")):
        where = f"Conversation.participants[{i}]"
        pd = obj(p, where)
        if pd.get("purpose") != "agent":
            continue
        for j, m in enumerate(opt_list(pd, "messages", where)):
            md = obj(m, f"{where}.messages[{j}]")
            if md.get("state") != "connected" or not isinstance(md.get("id"), str):
                continue
            when = opt_str(md, "connectedTime", where) or opt_str(pd, "connectedTime", where)
            try:
                connected = parse_time(when)
            except ModelError:
                connected = None
            found = AgentCommunication(req_str(pd, "id", where), md["id"], connected)
    return found
