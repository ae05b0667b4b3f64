"""Conversations API: read inbound message text, answer through the agent send endpoint.

The agent send endpoint takes text and media only (`AdditionalMessage`), so
rich replies reach it already compiled to text; `textBody` holds at most 2000
characters, longer text is split into several messages (or truncated with a
marker). Images go as media: create an upload, PUT the bytes to its URL, send
the media id, one id a message and never with text (one body field per request).
The agent's communication id comes from the generic conversation endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import quote

import trio

from ...execution.door import fetch
from ...execution.target import Target
from .api import GenesysApiClient, GenesysApiError
from .models import (
    MAX_TEXT_BODY,
    AdditionalMessage,
    AgentCommunication,
    MediaUploadData,
    MessageData,
    MessageListing,
    OutgoingBotMessage,
    UploadMediaRequest,
    last_connected_agent,
)

__all__ = [
    "ConversationsClient",
    "ConversationsReplySink",
    "MediaFile",
    "split_text",
    "TRUNCATION_MARKER",
    "BULK_FETCH_LIMIT",
]

log = logging.getLogger(__name__)
TRUNCATION_MARKER = "… [truncated]"
CONTINUED_MARKER = " …"
BULK_FETCH_LIMIT = 100  # ids per bulk request; more are fetched in several requests
MAX_CACHED_COMMUNICATIONS = 10_000
_MAX_UPLOAD_ANSWER = 64 * 1024  # the upload URL's answer to a PUT (empty or a small document)


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
            params={"useNormalizedMessage": "true"},
        )
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
                ids[start : start + BULK_FETCH_LIMIT],
                params={"useNormalizedMessage": "true"},
                idempotent=True,
            )
            found.extend(MessageListing.from_json(data).entities)
        return found

    async def find_agent(self, conversation_id: str) -> AgentCommunication:
        """The last connected agent participant and its communication id, from the generic
        `GET /api/v2/conversations/{conversationId}` (`participants[agent].messages[].id`, SOURCES.md 2):
        never the messaging endpoint or the topics, whose `messages[]` entries are messages."""
        data = await self.api.get_json(f"/api/v2/conversations/{_seg(conversation_id)}")
        agent = last_connected_agent(data)
        if agent is None:
            raise LookupError(f"conversation {conversation_id} has no connected agent participant to send as")
        return agent

    async def find_agent_communication_id(self, conversation_id: str) -> str:
        """The connected agent's communication id (to send as the agent)."""
        return (await self.find_agent(conversation_id)).communication_id

    async def send_text(
        self, conversation_id: str, communication_id: str, text: str, *, overflow: str = "split"
    ) -> list[MessageData]:
        """Send `text` as the agent; over 2000 characters it is split (or `overflow="truncate"`d)."""
        parts = split_text(text, max_parts=1 if overflow == "truncate" else 5)
        return [
            await self.send_message(conversation_id, communication_id, AdditionalMessage(part))
            for part in parts
            if part
        ]

    async def upload_media(self, conversation_id: str, communication_id: str, media: MediaFile) -> str:
        """Create an upload, PUT the bytes to its URL; returns the media id to send."""
        request = UploadMediaRequest(
            media.file_name, len(media.data), base64.b64encode(hashlib.md5(media.data).digest()).decode()
        )
        data = await self.api.post_json(
            f"/api/v2/conversations/messages/{_seg(conversation_id)}/communications/{_seg(communication_id)}"
            f"/messages/media/uploads",
            request.to_json(),
        )
        upload = MediaUploadData.from_json(data)
        headers = {"Content-Type": media.mime, **upload.upload_headers, "Content-Length": str(len(media.data))}
        # the upload URL is pre-signed: no bearer token goes to it; through the API client's door all the same
        wire = [(name.encode(), value.encode()) for name, value in headers.items()]
        with trio.fail_after(60):
            response = await fetch(
                self.api.door, b"PUT", Target.from_url(upload.upload_url), wire, media.data, limit=_MAX_UPLOAD_ANSWER
            )
        if response.status_code >= 300:
            raise GenesysApiError("PUT", "<media upload url>", response.status_code, None)
        return upload.id

    async def send_media(
        self, conversation_id: str, communication_id: str, media: Iterable[MediaFile], *, caption: str = ""
    ) -> list[MessageData]:
        """The caption (when any) as a text message, then each file in its own message: the send endpoint
        takes one body field per request (1 textBody or 1 mediaId, SDK 269), so never text with media."""
        sent = (
            [await self.send_message(conversation_id, communication_id, AdditionalMessage(caption[:MAX_TEXT_BODY]))]
            if caption
            else []
        )
        for file in media:
            media_id = await self.upload_media(conversation_id, communication_id, file)
            sent.append(
                await self.send_message(conversation_id, communication_id, AdditionalMessage(media_ids=(media_id,)))
            )
        return sent

    async def send_message(self, conversation_id: str, communication_id: str, body: AdditionalMessage) -> MessageData:
        """One agent send (`AdditionalMessage`: text and media ids only)."""
        data = await self.api.post_json(
            f"/api/v2/conversations/messages/{_seg(conversation_id)}/communications/{_seg(communication_id)}/messages",
            body.to_json(),
            params={"useNormalizedMessage": "true"},
        )
        return MessageData.from_json(data)


async def send_bot_message(api: GenesysApiClient, message: OutgoingBotMessage) -> str | None:
    """Send a bot's late message into its bot session (`POST .../botconnectors/outgoing/messages`,
    a preview API); returns the new message id when Genesys gives one."""
    data = await api.post_json("/api/v2/integrations/botconnectors/outgoing/messages", message.to_json())
    return data.get("messageId") if isinstance(data, dict) else None


class ConversationsReplySink:
    """The `ReplySink` of the Genesys channel: replies go out through the agent send endpoint.

    `compile_text(reply, language=...) -> str` is the text compiler (`compile_text.py`; the language of the
    message answered, for its "reply with a number" prompt);
    `compile_media(reply) -> Sequence[MediaFile]` (optional) gives the images to
    upload. `on_sent(message_id)` lets the notification ingest skip our own
    messages when they come back as events.
    """

    def __init__(
        self,
        conversations: ConversationsClient,
        compile_text: Callable[..., str],
        *,
        compile_media: Callable[[Any], Sequence[MediaFile]] | None = None,
        on_sent: Callable[[str], None] | None = None,
    ) -> None:
        self.conversations = conversations
        self.compile_text = compile_text
        self.compile_media = compile_media
        self.on_sent = on_sent
        self._communications: dict[str, str] = {}  # conversation -> communication id, oldest first

    async def communication_id(self, conversation_id: str, metadata: Any = None, *, refresh: bool = False) -> str:
        """The agent communication to send as: from the message metadata (the ingest's, current as of the
        event), the cache, or the generic conversation endpoint (`refresh` skips the first two)."""
        known = (
            None
            if refresh
            else ((metadata or {}).get("genesys_communication_id") or self._communications.get(conversation_id))
        )
        if not known:
            known = await self.conversations.find_agent_communication_id(conversation_id)
        self._communications.pop(conversation_id, None)
        self._communications[conversation_id] = known
        while len(self._communications) > MAX_CACHED_COMMUNICATIONS:  # bounded: the oldest conversations go first
            self._communications.pop(next(iter(self._communications)))
        return known

    async def send(self, outbound: Any, *, media: Sequence[MediaFile] | None = None) -> None:
        """Send one `OutboundReply` (runtime.messages) into its conversation; `media` overrides `compile_media`."""
        conversation_id = outbound.conversation_id
        language = getattr(outbound, "language", None)
        # a compiler written before languages takes the reply alone: only a reply in a language needs more
        text = self.compile_text(outbound.reply, language=language) if language else self.compile_text(outbound.reply)
        if media is None:
            media = list(self.compile_media(outbound.reply)) if self.compile_media else []
        communication = await self.communication_id(conversation_id, outbound.in_reply_to.metadata)
        parts = [p for p in split_text(text) if p] if text else []
        for index, part in enumerate(parts):
            try:
                message = await self.conversations.send_message(conversation_id, communication, AdditionalMessage(part))
            except GenesysApiError as exc:
                # 404: the agent participant changed (transfer, reconnect) since we learnt its communication;
                # ask the generic conversation again and send this part once more (nothing was sent on a 404)
                if exc.status != 404:
                    raise
                communication = await self.communication_id(conversation_id, refresh=True)
                message = await self.conversations.send_message(conversation_id, communication, AdditionalMessage(part))
            # each id is remembered as soon as its send returns: its event may arrive before the next send ends
            self._sent(message)
        for file in media:
            media_id = await self.conversations.upload_media(conversation_id, communication, file)
            self._sent(
                await self.conversations.send_message(
                    conversation_id, communication, AdditionalMessage(media_ids=(media_id,))
                )
            )

    def _sent(self, message: MessageData) -> None:
        if self.on_sent is not None:
            self.on_sent(message.id)
