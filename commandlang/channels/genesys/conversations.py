"""Conversations API: read inbound message text, answer through the agent send endpoint.

The agent send endpoint takes text and media only (`AdditionalMessage`), so
rich replies reach it already compiled to text; `textBody` holds at most 2000
characters, longer text is split into several messages (or truncated with a
marker). Images go as media: create an upload, PUT the bytes to its URL, send
the media id.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import quote

import trio

from .api import GenesysApiClient, GenesysApiError
from .models import (MAX_TEXT_BODY, AdditionalMessage, MediaUploadData, MessageConversation, MessageData, MessageListing,
                     OutgoingBotMessage, UploadMediaRequest)

__all__ = ["ConversationsClient", "ConversationsReplySink", "MediaFile", "split_text", "TRUNCATION_MARKER",
           "BULK_FETCH_LIMIT"]

log = logging.getLogger(__name__)
TRUNCATION_MARKER = "… [truncated]"
CONTINUED_MARKER = " …"
BULK_FETCH_LIMIT = 100  # ids per bulk request; more are fetched in several requests


def _seg(value: str) -> str:
    return quote(value, safe="")


def split_text(text: str, limit: int = MAX_TEXT_BODY, *, max_parts: int = 5) -> list[str]:
    """Split `text` into messages of at most `limit` characters, at line or word breaks when
    possible; beyond `max_parts` the last part is truncated with `TRUNCATION_MARKER`."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while rest:
        if len(parts) == max_parts - 1 and len(rest) > limit:
            parts.append(rest[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER)
            break
        if len(rest) <= limit:
            parts.append(rest)
            break
        room = limit - len(CONTINUED_MARKER)
        cut = rest.rfind("\n", 0, room)
        if cut < room // 2:
            cut = rest.rfind(" ", 0, room)
        if cut < room // 2:
            cut = room
        parts.append(rest[:cut].rstrip() + CONTINUED_MARKER)
        rest = rest[cut:].lstrip()
    return parts


@dataclass(frozen=True, slots=True)
class MediaFile:
    """An image (or file) to send as media: its name, bytes and MIME type."""

    file_name: str
    data: bytes
    mime: str = "application/octet-stream"


class ConversationsClient:
    """The message endpoints commandlang uses, over a `GenesysApiClient`."""

    def __init__(self, api: GenesysApiClient) -> None:
        self.api = api

    async def get_message(self, conversation_id: str, message_id: str) -> MessageData:
        """One message (with its text) by id."""
        data = await self.api.get_json(
            f"/api/v2/conversations/messages/{_seg(conversation_id)}/messages/{_seg(message_id)}",
            params={"useNormalizedMessage": "true"})
        return MessageData.from_json(data)

    async def get_messages(self, conversation_id: str, message_ids: Sequence[str]) -> list[MessageData]:
        """Several messages of one conversation: one GET for one id, the bulk POST for more."""
        ids = list(dict.fromkeys(message_ids))
        if len(ids) == 1:
            return [await self.get_message(conversation_id, ids[0])]
        found: list[MessageData] = []
        for start in range(0, len(ids), BULK_FETCH_LIMIT):
            data = await self.api.post_json(
                f"/api/v2/conversations/messages/{_seg(conversation_id)}/messages/bulk",
                ids[start : start + BULK_FETCH_LIMIT], params={"useNormalizedMessage": "true"}, idempotent=True)
            found.extend(MessageListing.from_json(data).entities)
        return found

    async def find_agent_communication_id(self, conversation_id: str) -> str:
        """The agent participant's communication id (`messages[0]` of the agent), to send as the agent."""
        data = await self.api.get_json(f"/api/v2/conversations/messages/{_seg(conversation_id)}")
        conversation = MessageConversation.from_json(data)
        agents = [p for p in conversation.participants if p.purpose == "agent" and p.message_ids]
        connected = [p for p in agents if p.state in (None, "connected")] or agents
        if not connected:
            raise LookupError(f"conversation {conversation_id} has no agent participant to send as")
        return connected[-1].message_ids[0]

    async def send_text(self, conversation_id: str, communication_id: str, text: str, *,
                        overflow: str = "split") -> list[MessageData]:
        """Send `text` as the agent; over 2000 characters it is split (or `overflow="truncate"`d)."""
        parts = split_text(text, max_parts=1 if overflow == "truncate" else 5)
        return [await self.send_message(conversation_id, communication_id, AdditionalMessage(part)) for part in parts if part]

    async def upload_media(self, conversation_id: str, communication_id: str, media: MediaFile) -> str:
        """Create an upload, PUT the bytes to its URL; returns the media id to send."""
        request = UploadMediaRequest(media.file_name, len(media.data),
                                     base64.b64encode(hashlib.md5(media.data).digest()).decode())
        data = await self.api.post_json(
            f"/api/v2/conversations/messages/{_seg(conversation_id)}/communications/{_seg(communication_id)}"
            f"/messages/media/uploads", request.to_json())
        upload = MediaUploadData.from_json(data)
        headers = {"Content-Type": media.mime, **upload.upload_headers}
        # the upload URL is pre-signed: no bearer token goes to it
        with trio.fail_after(60):
            response = await self.api.http.put(upload.upload_url, content=media.data, headers=headers)
        if response.status_code >= 300:
            raise GenesysApiError("PUT", "<media upload url>", response.status_code, None)
        return upload.id

    async def send_media(self, conversation_id: str, communication_id: str, media: Iterable[MediaFile], *,
                         caption: str = "") -> MessageData:
        """Upload each file and send them in one message (with an optional caption)."""
        ids = [await self.upload_media(conversation_id, communication_id, m) for m in media]
        # textBody is required by the schema (SDK docs); an empty caption goes alongside the media ids
        return await self.send_message(conversation_id, communication_id, AdditionalMessage(caption[:MAX_TEXT_BODY], tuple(ids)))

    async def send_message(self, conversation_id: str, communication_id: str, body: AdditionalMessage) -> MessageData:
        """One agent send (`AdditionalMessage`: text and media ids only)."""
        data = await self.api.post_json(
            f"/api/v2/conversations/messages/{_seg(conversation_id)}/communications/{_seg(communication_id)}/messages",
            body.to_json(), params={"useNormalizedMessage": "true"})
        return MessageData.from_json(data)


async def send_bot_message(api: GenesysApiClient, message: OutgoingBotMessage) -> str | None:
    """Send a bot's late message into its bot session (`POST .../botconnectors/outgoing/messages`,
    a preview API); returns the new message id when Genesys gives one."""
    data = await api.post_json("/api/v2/integrations/botconnectors/outgoing/messages", message.to_json())
    return data.get("messageId") if isinstance(data, dict) else None


class ConversationsReplySink:
    """The `ReplySink` of the Genesys channel: replies go out through the agent send endpoint.

    `compile_text(reply) -> str` is the text compiler (`compile_text.py`);
    `compile_media(reply) -> Sequence[MediaFile]` (optional) gives the images to
    upload. `on_sent(message_id)` lets the notification ingest skip our own
    messages when they come back as events.
    """

    def __init__(self, conversations: ConversationsClient, compile_text: Callable[[Any], str], *,
                 compile_media: Callable[[Any], Sequence[MediaFile]] | None = None,
                 on_sent: Callable[[str], None] | None = None) -> None:
        self.conversations = conversations
        self.compile_text = compile_text
        self.compile_media = compile_media
        self.on_sent = on_sent
        self._communications: dict[str, str] = {}

    async def communication_id(self, conversation_id: str, metadata: Any = None) -> str:
        """The agent communication to send as: from the message metadata, the cache, or the API."""
        known = (metadata or {}).get("genesys_communication_id") or self._communications.get(conversation_id)
        if not known:
            known = await self.conversations.find_agent_communication_id(conversation_id)
        if len(self._communications) > 10_000:  # bounded: forget the oldest half
            for key in list(self._communications)[:5_000]:
                del self._communications[key]
        self._communications[conversation_id] = known
        return known

    async def send(self, outbound: Any, *, media: Sequence[MediaFile] | None = None) -> None:
        """Send one `OutboundReply` (runtime.messages) into its conversation; `media` overrides `compile_media`."""
        conversation_id = outbound.conversation_id
        communication = await self.communication_id(conversation_id, outbound.in_reply_to.metadata)
        text = self.compile_text(outbound.reply)
        if media is None:
            media = list(self.compile_media(outbound.reply)) if self.compile_media else []
        # each id is remembered as soon as its send returns: its event may arrive before the next send ends
        if text:
            for part in split_text(text):
                self._sent(await self.conversations.send_message(conversation_id, communication, AdditionalMessage(part)))
        if media:
            self._sent(await self.conversations.send_media(conversation_id, communication, media))

    def _sent(self, message: MessageData) -> None:
        if self.on_sent is not None:
            self.on_sent(message.id)
