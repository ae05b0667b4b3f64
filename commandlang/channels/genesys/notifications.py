"""Notification API ingest: channel WebSocket events -> `InboundMessage`s, each exactly once.

A notification channel is created (`POST /api/v2/notifications/channels`),
subscribed to the `.conversations.messages` topics of the configured queues
and users (`PUT .../subscriptions`), and read with trio-websocket. Events carry
message ids, not text, so new ids are fetched (one GET, or the bulk POST when
several arrive). Channels live 24 h: before they expire, and on
`v2.system.socket_closing`, a new channel is created, subscribed and connected
*before* the old socket is closed, so no event falls in a gap. A lost socket
(or one silent past the heartbeat timeout) reconnects with full-jitter
backoff. Message ids already handed on are remembered (bounded), so the same
message never goes to the pipeline twice across reconnects; the runtime
dedupes again in its store. Events list every message of the conversation,
so messages older than `max_message_age` when first seen (the history of a
conversation routed to the queue, or of one that was active across a
restart) are taken as history and never run.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable

import trio
import trio_websocket

from ...jsonsafe import loads_bounded
from ...runtime.messages import InboundMessage
from .api import GenesysApiClient, GenesysApiError
from .conversations import ConversationsClient
from .oauth import GenesysAuthError
from .models import (Channel, ChannelTopic, ChannelTopicListing, ConversationMessageEvent, MessageData, ModelError,
                     NotificationEvent, parse_time)
from .retry import full_jitter

__all__ = ["NotificationIngest", "message_topics", "SeenIds"]

log = logging.getLogger(__name__)
HEARTBEAT_TOPIC = "channel.metadata"
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"
_DEFAULT_CHANNEL_LIFE = 24 * 3600.0


def message_topics(queue_ids: Iterable[str] = (), user_ids: Iterable[str] = ()) -> list[str]:
    """The message topics of the configured queues and users."""
    return ([f"v2.routing.queues.{q}.conversations.messages" for q in queue_ids if q]
            + [f"v2.users.{u}.conversations.messages" for u in user_ids if u])


class SeenIds:
    """A bounded set of message ids, oldest forgotten first."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def add(self, message_id: str) -> None:
        """Remember `message_id` (forgetting the oldest beyond capacity)."""
        self._ids[message_id] = None
        self._ids.move_to_end(message_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


@dataclass(eq=False)
class _Connection:
    channel: Channel
    ws: trio_websocket.WebSocketConnection
    renew: trio.Event = field(default_factory=trio.Event)
    lost: bool = False
    closing_warned: bool = False
    opened_at: float = field(default_factory=trio.current_time)


class NotificationIngest:
    """Reads the configured topics and sends each new inbound message to `out` once."""

    def __init__(self, api: GenesysApiClient, conversations: ConversationsClient, *, queue_ids: Iterable[str] = (),
                 user_ids: Iterable[str] = (), channel: str = "genesys", renew_before: float = 1800.0,
                 heartbeat_timeout: float = 95.0, backoff_base: float = 1.0, backoff_max: float = 60.0,
                 connect_timeout: float = 15.0, dedupe_capacity: int = 50_000, event_buffer: int = 256,
                 fetch_attempts: int = 4, max_message_age: float = 300.0) -> None:
        self.api = api
        self.conversations = conversations
        self.topics = message_topics(queue_ids, user_ids)
        if not self.topics:
            raise ValueError("set GENESYS_QUEUE_IDS or GENESYS_USER_IDS to watch conversations")
        self.channel_name = channel
        self._renew_before = renew_before
        self._heartbeat_timeout = heartbeat_timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._connect_timeout = connect_timeout
        self._event_buffer = event_buffer
        self._fetch_attempts = fetch_attempts
        self._max_message_age = max_message_age  # seconds; 0 takes every message however old
        self.seen = SeenIds(dedupe_capacity)
        self._sent = SeenIds(dedupe_capacity)
        self.channels_created = 0
        self.connections = 0  # sockets opened (the first, renewals and reconnects)
        self.reconnects = 0  # sockets lost without warning
        self.current_channel: Channel | None = None
        self._live: _Connection | None = None  # the socket events come in on now

    @property
    def connected(self) -> bool:
        """True while a subscribed notification socket is open (for /readyz); False while reconnecting."""
        return self._live is not None and not self._live.lost

    def mark_sent(self, message_id: str) -> None:
        """Remember a message we sent ourselves, so its event is not taken for an agent's command."""
        self._sent.add(message_id)

    async def serve(self, out: trio.MemorySendChannel[InboundMessage], *,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled; `started` once the first channel is connected and subscribed."""
        events_in, events_out = trio.open_memory_channel[tuple[str, NotificationEvent]](self._event_buffer)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._process, events_out, out)
            previous: _Connection | None = None
            failures = 0
            started = False
            while True:
                try:
                    conn = await self._open(nursery, events_in)
                except (GenesysApiError, GenesysAuthError, OSError, trio_websocket.HandshakeError,
                        trio_websocket.ConnectionClosed, trio.TooSlowError, ModelError) as exc:
                    delay = full_jitter(failures, base=self._backoff_base, cap=self._backoff_max)
                    failures += 1
                    log.warning("genesys notification channel could not be opened (%s); retrying in %.1fs", exc, delay)
                    await trio.sleep(delay)
                    continue
                if previous is not None:  # make-before-break: the new socket is live, the old one can go
                    await previous.ws.aclose()
                if not started:
                    started = True
                    task_status.started()
                with trio.move_on_at(self._renew_at(conn.channel)):
                    await conn.renew.wait()
                if conn.lost and not conn.closing_warned:
                    self.reconnects += 1
                    failures = 0 if trio.current_time() - conn.opened_at > 60 else failures + 1
                    delay = full_jitter(failures, base=self._backoff_base, cap=self._backoff_max)
                    log.warning("genesys notification socket lost; reconnecting in %.1fs", delay)
                    await trio.sleep(delay)
                    previous = None
                else:
                    failures = 0
                    previous = conn if not conn.lost else None
                    log.info("genesys notification channel %s renewed (%s)", conn.channel.id,
                             "socket closing" if conn.closing_warned else "expiry")

    def _renew_at(self, channel: Channel) -> float:
        expires = parse_time(channel.expires)
        remaining = (expires - time.time()) if expires is not None else _DEFAULT_CHANNEL_LIFE
        # a floor, so a skewed clock (an `expires` already past) cannot make us re-create channels in a loop;
        # a channel that really ends sooner warns with socket_closing or closes, and that renews it anyway
        remaining = max(10.0, remaining)
        return trio.current_time() + remaining - min(self._renew_before, remaining * 0.1)

    async def _open(self, nursery: trio.Nursery, events: trio.MemorySendChannel) -> _Connection:
        created = await self.api.request("POST", "/api/v2/notifications/channels", idempotent=True)
        channel = Channel.from_json(created.json())
        self.channels_created += 1
        body = [ChannelTopic(t).to_json() for t in self.topics]
        answer = await self.api.request("PUT", f"/api/v2/notifications/channels/{channel.id}/subscriptions", json=body)
        listing = ChannelTopicListing.from_json(answer.json())
        rejected = [t for t in listing.entities if t.state == "Rejected"]
        for topic in rejected:
            log.error("genesys topic %s rejected: %s (missing permissions: %s)", topic.id, topic.rejection_reason,
                      ", ".join(topic.missing_permissions) or "none named")
        if rejected and len(rejected) == len(listing.entities):
            raise GenesysApiError("PUT", "/api/v2/notifications/channels/{id}/subscriptions", 403, None)
        with trio.fail_after(self._connect_timeout):
            ws = await trio_websocket.connect_websocket_url(nursery, channel.connect_uri)
        conn = _Connection(channel, ws)
        self._live = conn
        self.connections += 1
        self.current_channel = channel
        nursery.start_soon(self._read, conn, events)
        log.info("genesys notification channel %s connected, %d topics", channel.id, len(self.topics))
        return conn

    async def _read(self, conn: _Connection, events: trio.MemorySendChannel) -> None:
        """Read one socket until it closes; heartbeats keep it alive, silence past the timeout ends it."""
        pinged = False
        try:
            while True:
                with trio.move_on_after(self._heartbeat_timeout / 2) as idle:
                    raw = await conn.ws.get_message()
                if idle.cancelled_caught:
                    if pinged:
                        log.warning("genesys notification socket silent for %.0fs; reconnecting", self._heartbeat_timeout)
                        await conn.ws.aclose()
                        break
                    pinged = True
                    await conn.ws.send_message(json.dumps({"message": "ping"}))
                    continue
                pinged = False
                try:
                    event = NotificationEvent.from_json(loads_bounded(raw))
                except (ValueError, ModelError):
                    continue  # pong, subscribe acks and other frames without a topic
                if event.topic_name == HEARTBEAT_TOPIC:
                    continue
                if event.topic_name == SOCKET_CLOSING_TOPIC:
                    conn.closing_warned = True
                    conn.renew.set()
                    continue
                if event.topic_name.endswith(".conversations.messages"):
                    await events.send((event.topic_name, event))
        except trio_websocket.ConnectionClosed:
            pass
        finally:
            conn.lost = True
            conn.renew.set()

    async def _process(self, events: trio.MemoryReceiveChannel, out: trio.MemorySendChannel[InboundMessage]) -> None:
        """One event at a time: new message ids -> fetched text -> `InboundMessage`s, in order."""
        async for topic, event in events:
            try:
                body = ConversationMessageEvent.from_json(event.event_body)
            except ModelError as exc:
                log.warning("genesys event on %s unreadable: %s", topic, exc)
                continue
            await self._handle(topic, body, out)

    async def _handle(self, topic: str, body: ConversationMessageEvent, out: trio.MemorySendChannel) -> None:
        agent_comm = next((p.messages[0].id for p in body.participants if p.purpose == "agent" and p.messages), None)
        queue_from_topic = topic.split(".")[3] if topic.startswith("v2.routing.queues.") else None
        wanted: dict[str, tuple[str, str, str | None]] = {}
        for p in body.participants:
            role = {"customer": "customer", "agent": "agent"}.get(p.purpose)
            if role is None:
                continue
            # the agent's first message entry is its communication, not a message (SOURCES.md 2)
            refs = p.messages[1:] if role == "agent" else p.messages
            for ref in refs:
                if ref.id in self.seen or ref.id in self._sent:
                    continue
                if self._too_old(ref.message_time):
                    self.seen.add(ref.id)  # history (earlier bot-flow turns, or before a restart): never re-run
                    continue
                wanted[ref.id] = (p.id, role, p.queue_id or queue_from_topic)
        if not wanted:
            return
        fetched = await self._fetch(body.conversation_id, list(wanted))
        if fetched is None:
            return
        by_id = {m.id: m for m in fetched}
        for message_id, (participant_id, role, queue_id) in wanted.items():
            message = by_id.get(message_id)
            self.seen.add(message_id)
            if message is None or message_id in self._sent:
                continue
            inbound = self._inbound(body.conversation_id, message, participant_id, role, queue_id, agent_comm, topic)
            if inbound is not None:
                await out.send(inbound)

    def _too_old(self, message_time: str | None) -> bool:
        if not self._max_message_age or not message_time:
            return False
        try:
            sent_at = parse_time(message_time)
        except ModelError:
            return False
        return sent_at is not None and sent_at < time.time() - self._max_message_age

    async def _fetch(self, conversation_id: str, message_ids: list[str]) -> list[MessageData] | None:
        """The messages' text; transient failures are retried a few times (the API client already
        honours 429/5xx); None when they keep failing, so a later event for the conversation retries."""
        for attempt in range(self._fetch_attempts):
            try:
                return await self.conversations.get_messages(conversation_id, message_ids)
            except GenesysApiError as exc:
                if exc.status == 404:  # gone (or not a message): never ask again
                    for message_id in message_ids:
                        self.seen.add(message_id)
                    return None
                problem: Exception = exc
            except (GenesysAuthError, ModelError) as exc:
                problem = exc
            log.warning("genesys messages of %s not fetched (%s)", conversation_id, problem)
            if attempt + 1 < self._fetch_attempts:
                await trio.sleep(full_jitter(attempt, base=self._backoff_base, cap=self._backoff_max))
        return None

    def _inbound(self, conversation_id: str, message: MessageData, participant_id: str, role: str,
                 queue_id: str | None, communication_id: str | None, topic: str) -> InboundMessage | None:
        norm = message.normalized_message
        if norm is not None and norm.originating_entity == "Bot":
            return None  # a bot's answer shown in the conversation, not someone typing
        text = message.text
        if norm is not None:
            from .content import ButtonResponse

            payloads = [c.payload for c in norm.content if isinstance(c, ButtonResponse)]
            text = payloads[0] if payloads else text
        if not text.strip():
            return None  # media-only or empty
        metadata = {"topic": topic, "genesys_message_status": message.status}
        if communication_id:
            metadata["genesys_communication_id"] = communication_id
        return InboundMessage(channel=self.channel_name, conversation_id=conversation_id, message_id=message.id,
                              participant_id=participant_id, role=role, text=text,  # type: ignore[arg-type]
                              timestamp=parse_time(message.timestamp) or time.time(), queue_id=queue_id,
                              metadata=metadata)
