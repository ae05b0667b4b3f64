"""Notification API ingest: channel WebSocket events -> `InboundMessage`s, each exactly once.

A notification channel is created (`POST /api/v2/notifications/channels`),
subscribed to the `.conversations.messages` topics of the configured queues
and users (`PUT .../subscriptions`), and read with trio-websocket; past 1,000
topics (a channel's limit, SOURCES.md 3a) they are split across several
channels. Events carry message ids, not text: `message_reader.MessageReader`
fetches and filters them (its docstring has the rules: which customer messages
run, history, the agent's communication id, background retries). Channels
live 24 h and end with their token: before either, and on
`v2.system.socket_closing`, `v2.system.no_longer_subscribed` and
`v2.system.token_revoked`, a new channel is created, subscribed and connected
*before* the old socket is closed, so no event falls in a gap. A lost socket
(or one silent past the heartbeat timeout) reconnects with full-jitter
backoff.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Iterable

import trio
import trio_websocket

from ...execution.retry import full_jitter
from ...jsonsafe import loads_bounded
from ...runtime.messages import InboundMessage
from .api import GenesysApiClient, GenesysApiError
from .conversations import ConversationsClient
from .message_reader import MessageReader
from .oauth import GenesysAuthError
from .models import Channel, ChannelTopic, ChannelTopicListing, ModelError, NotificationEvent, parse_time
from .seen import SeenIds

__all__ = ["NotificationIngest", "message_topics", "SeenIds", "MAX_TOPICS_PER_CHANNEL", "RENEW_TOPICS"]

log = logging.getLogger(__name__)
HEARTBEAT_TOPIC = "channel.metadata"
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"
TOKEN_REVOKED_TOPIC = "v2.system.token_revoked"
#: System topics after which the channel is re-created (make-before-break), as on `socket_closing`.
RENEW_TOPICS = frozenset({SOCKET_CLOSING_TOPIC, "v2.system.no_longer_subscribed", TOKEN_REVOKED_TOPIC})
_DEFAULT_CHANNEL_LIFE = 24 * 3600.0
MAX_TOPICS_PER_CHANNEL = 1000  # SOURCES.md 3a (secondary: quotes the developer center)
# 20 channels per user or app, a 21st evicts the oldest (SOURCES.md 3a); make-before-break briefly holds two
# channels per group, so at most 10 groups (10,000 topics) keep every renewal from evicting a live channel
MAX_CHANNEL_GROUPS = 10


def message_topics(queue_ids: Iterable[str] = (), user_ids: Iterable[str] = ()) -> list[str]:
    """The message topics of the configured queues and users."""
    return [f"v2.routing.queues.{q}.conversations.messages" for q in queue_ids if q] + [
        f"v2.users.{u}.conversations.messages" for u in user_ids if u
    ]


@dataclass(eq=False)
class _Connection:
    channel: Channel
    ws: trio_websocket.WebSocketConnection
    token_expires_at: float | None = None  # the token's expiry when the channel was created (provider clock)
    renew: trio.Event = field(default_factory=trio.Event)
    lost: bool = False
    closing_warned: bool = False
    opened_at: float = field(default_factory=trio.current_time)


class NotificationIngest:
    """Reads the configured topics and sends each new inbound message to `out` once."""

    def __init__(
        self,
        api: GenesysApiClient,
        conversations: ConversationsClient,
        *,
        queue_ids: Iterable[str] = (),
        user_ids: Iterable[str] = (),
        channel: str = "genesys",
        renew_before: float = 1800.0,
        heartbeat_timeout: float = 95.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        connect_timeout: float = 15.0,
        dedupe_capacity: int = 50_000,
        event_buffer: int = 256,
        fetch_attempts: int = 4,
        max_message_age: float = 300.0,
    ) -> None:
        self.api = api
        self.conversations = conversations
        self.topics = message_topics(queue_ids, user_ids)
        if not self.topics:
            raise ValueError("set GENESYS_QUEUE_IDS or GENESYS_USER_IDS to watch conversations")
        self.topic_groups = [
            self.topics[i : i + MAX_TOPICS_PER_CHANNEL] for i in range(0, len(self.topics), MAX_TOPICS_PER_CHANNEL)
        ]
        if len(self.topic_groups) > MAX_CHANNEL_GROUPS:
            raise ValueError(f"{len(self.topics)} topics need more than {MAX_CHANNEL_GROUPS} notification channels")
        self.channel_name = channel
        self._renew_before = renew_before
        self._heartbeat_timeout = heartbeat_timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._connect_timeout = connect_timeout
        self._event_buffer = event_buffer
        self.reader = MessageReader(
            conversations,
            channel=channel,
            fetch_attempts=fetch_attempts,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            max_message_age=max_message_age,
            dedupe_capacity=dedupe_capacity,
        )
        self.seen: SeenIds = self.reader.seen
        self.channels_created = 0
        self.connections = 0  # sockets opened (the first, renewals and reconnects)
        self.reconnects = 0  # sockets lost without warning
        self._live: dict[int, _Connection] = {}  # topic group -> the socket its events come in on now

    @property
    def connected(self) -> bool:
        """True while a subscribed notification socket is open (for /readyz); False while reconnecting."""
        return len(self._live) == len(self.topic_groups) and not any(c.lost for c in self._live.values())

    def mark_sent(self, message_id: str) -> None:
        """Remember a message we sent ourselves, so its event is not taken for an agent's command."""
        self.reader.sent.add(message_id)

    async def serve(
        self,
        out: trio.MemorySendChannel[InboundMessage],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until cancelled; `started` once the first channel is connected and subscribed."""
        events_in, events_out = trio.open_memory_channel[tuple[str, NotificationEvent]](self._event_buffer)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.reader.run, events_out, out)
            for group in range(len(self.topic_groups)):
                await nursery.start(self._keep_channel, group, nursery, events_in)
            task_status.started()

    async def _keep_channel(
        self,
        group: int,
        nursery: trio.Nursery,
        events_in: trio.MemorySendChannel,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Keep one topic group subscribed on a live channel, renewing and reconnecting, until cancelled."""
        previous: _Connection | None = None
        failures = 0
        started = False
        while True:
            try:
                conn = await self._open(group, nursery, events_in)
            except (
                GenesysApiError,
                GenesysAuthError,
                OSError,
                trio_websocket.HandshakeError,
                trio_websocket.ConnectionClosed,
                trio.TooSlowError,
                ModelError,
            ) as exc:
                delay = full_jitter(failures, base=self._backoff_base, cap=self._backoff_max, random=random.random)
                failures += 1
                log.warning("genesys notification channel could not be opened (%s); retrying in %.1fs", exc, delay)
                await trio.sleep(delay)
                continue
            if previous is not None:  # make-before-break: the new socket is live, the old one can go
                await previous.ws.aclose()
            if not started:
                started = True
                task_status.started()
            renew_at, token_first = self._renew_at(conn)
            with trio.move_on_at(renew_at):
                await conn.renew.wait()
            if conn.lost and not conn.closing_warned:
                self.reconnects += 1
                failures = 0 if trio.current_time() - conn.opened_at > 60 else failures + 1
                delay = full_jitter(failures, base=self._backoff_base, cap=self._backoff_max, random=random.random)
                log.warning("genesys notification socket lost; reconnecting in %.1fs", delay)
                await trio.sleep(delay)
                previous = None
            else:
                failures = 0
                previous = conn if not conn.lost else None
                if token_first and not conn.renew.is_set():
                    # the channel ends with its token: the new one must be made with a new token
                    self.api.tokens.invalidate()
                log.info(
                    "genesys notification channel %s renewed (%s)",
                    conn.channel.id,
                    "system event" if conn.closing_warned else ("token expiry" if token_first else "expiry"),
                )

    def _renew_at(self, conn: _Connection) -> tuple[float, bool]:
        """When to re-create this channel (trio clock), and whether its token ends before it does."""
        expires = parse_time(conn.channel.expires)
        remaining = (expires - time.time()) if expires is not None else _DEFAULT_CHANNEL_LIFE
        # a floor, so a skewed clock (an `expires` already past) cannot make us re-create channels in a loop;
        # a channel that really ends sooner warns with socket_closing or closes, and that renews it anyway
        remaining = max(10.0, remaining)
        at = trio.current_time() + remaining - min(self._renew_before, remaining * 0.1)
        if conn.token_expires_at is not None:  # the provider's clock is trio's (oauth.TokenProvider)
            token_left = max(0.5, conn.token_expires_at - trio.current_time())
            token_at = trio.current_time() + token_left - min(self._renew_before, token_left * 0.1)
            if token_at < at:
                return token_at, True
        return at, False

    async def _open(self, group: int, nursery: trio.Nursery, events: trio.MemorySendChannel) -> _Connection:
        created = await self.api.request("POST", "/api/v2/notifications/channels", idempotent=True)
        token_expires_at = getattr(self.api.tokens, "expires_at", None)  # the token the channel was made with
        channel = Channel.from_json(created.json())
        self.channels_created += 1
        topics = self.topic_groups[group]
        body = [ChannelTopic(t).to_json() for t in topics]
        answer = await self.api.request("PUT", f"/api/v2/notifications/channels/{channel.id}/subscriptions", json=body)
        listing = ChannelTopicListing.from_json(answer.json())
        rejected = [t for t in listing.entities if t.state == "Rejected"]
        for topic in rejected:
            log.error(
                "genesys topic %s rejected: %s (missing permissions: %s)",
                topic.id,
                topic.rejection_reason,
                ", ".join(topic.missing_permissions) or "none named",
            )
        if rejected and len(rejected) == len(listing.entities):
            raise GenesysApiError("PUT", "/api/v2/notifications/channels/{id}/subscriptions", 403, None)
        with trio.fail_after(self._connect_timeout):
            ws = await trio_websocket.connect_websocket_url(nursery, channel.connect_uri)
        conn = _Connection(channel, ws, token_expires_at)
        self._live[group] = conn
        self.connections += 1
        nursery.start_soon(self._read, conn, events)
        log.info("genesys notification channel %s connected, %d topics", channel.id, len(topics))
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
                        log.warning(
                            "genesys notification socket silent for %.0fs; reconnecting", self._heartbeat_timeout
                        )
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
                if event.topic_name in RENEW_TOPICS:
                    log.info("genesys notification channel %s: %s; re-creating it", conn.channel.id, event.topic_name)
                    if event.topic_name == TOKEN_REVOKED_TOPIC:
                        self.api.tokens.invalidate()  # the new channel needs a new token
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
