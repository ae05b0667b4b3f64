"""Notification-path message events -> `InboundMessage`s: which messages run, read leniently, each once.

The rules (runtime.md 2, SOURCES.md 2):
- Every `participants[].messages[]` entry of a `.conversations.messages` event is one message, the
  agent's first entry included (it is the agent's first message, never the communication).
- **A customer message runs on this path only when it was sent after an agent participant connected
  to the conversation** (its time at or after the connected agent's `connectedTime`). Customer
  messages from a bot flow, or typed while waiting in the queue, were sent before any agent connected,
  so they are marked seen and never run here (a bot session already answered them).
- Messages older than `max_message_age` (history) are marked seen and never run; the runtime's store
  dedupes again by (channel, conversation, message id), across restarts.
- The agent's communication id comes from the generic conversation endpoint, cached per conversation
  and asked again when the event shows another agent participant (transfer, reconnect).
- A fetch that fails is retried in the background (bounded attempts, bounded pending retries), so it
  never holds up other conversations; after its last attempt its messages are marked seen.
"""

from __future__ import annotations

import logging
import random
import time
from collections import OrderedDict

import trio

from ...execution.retry import full_jitter
from ...runtime.messages import InboundMessage, Role
from .api import GenesysApiError
from .conversations import ConversationsClient
from .models import AgentCommunication, ConversationMessageEvent, MessageData, ModelError, parse_time
from .oauth import GenesysAuthError
from .seen import SeenIds

__all__ = ["MessageReader"]

log = logging.getLogger(__name__)
MAX_CACHED_AGENTS = 10_000


class _Unreadable(Exception):
    """This event's messages (or its agent) could not be read now; try again later."""


class MessageReader:
    """Turns message events into inbound messages for `out`; `run` reads events until the channel closes."""

    def __init__(
        self,
        conversations: ConversationsClient,
        *,
        channel: str = "genesys",
        fetch_attempts: int = 4,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_message_age: float = 300.0,
        dedupe_capacity: int = 50_000,
        max_pending_retries: int = 1000,
    ) -> None:
        self.conversations = conversations
        self.channel_name = channel
        self._fetch_attempts = max(1, fetch_attempts)
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._max_message_age = max_message_age  # seconds; 0 takes every message however old
        self._max_pending = max_pending_retries
        self.seen = SeenIds(dedupe_capacity)
        self.sent = SeenIds(dedupe_capacity)
        self._agents: OrderedDict[str, AgentCommunication] = OrderedDict()  # conversation -> its agent, bounded
        self._attempts: dict[str, int] = {}  # conversation -> failed reads in a row
        self._in_flight: set[str] = set()  # message ids being read right now (a retry and a new event overlap)
        self.pending_retries = 0

    async def run(self, events: trio.MemoryReceiveChannel, out: trio.MemorySendChannel[InboundMessage]) -> None:
        """One event at a time, in order; a failed read is retried in the background."""
        async with trio.open_nursery() as nursery:
            async for topic, event in events:
                try:
                    body = ConversationMessageEvent.from_json(event.event_body)
                except ModelError as exc:
                    log.warning("genesys event on %s unreadable: %s", topic, exc)
                    continue
                await self._attempt(topic, body, out, nursery)
            nursery.cancel_scope.cancel()  # the events channel closed: pending retries go too

    async def _attempt(
        self, topic: str, body: ConversationMessageEvent, out: trio.MemorySendChannel, nursery: trio.Nursery
    ) -> None:
        conversation = body.conversation_id
        try:
            await self._handle(topic, body, out)
        except _Unreadable as exc:
            failures = self._attempts.get(conversation, 0) + 1
            if failures >= self._fetch_attempts or self.pending_retries >= self._max_pending:
                self._attempts.pop(conversation, None)
                ids = exc.args[0] if exc.args else []
                for message_id in ids:
                    self.seen.add(message_id)
                log.error(
                    "genesys messages of %s not read after %d attempts; skipped: %s",
                    conversation,
                    failures,
                    ", ".join(ids) or "none named",
                )
                return
            self._attempts[conversation] = failures
            self.pending_retries += 1
            nursery.start_soon(self._retry_later, topic, body, out, nursery, failures)
        else:
            self._attempts.pop(conversation, None)

    async def _retry_later(
        self,
        topic: str,
        body: ConversationMessageEvent,
        out: trio.MemorySendChannel,
        nursery: trio.Nursery,
        failures: int,
    ) -> None:
        try:
            # a floor of `backoff_base`: full jitter alone may retry at once, into the same failure
            await trio.sleep(
                max(
                    self._backoff_base,
                    full_jitter(failures, base=self._backoff_base, cap=self._backoff_max, random=random.random),
                )
            )
        finally:
            self.pending_retries -= 1
        await self._attempt(topic, body, out, nursery)

    async def _handle(self, topic: str, body: ConversationMessageEvent, out: trio.MemorySendChannel) -> None:
        queue_from_topic = topic.split(".")[3] if topic.startswith("v2.routing.queues.") else None
        agent = await self._agent(body)
        wanted: dict[str, tuple[str, Role, str | None]] = {}
        for p in body.participants:
            roles: dict[str, Role] = {"customer": "customer", "agent": "agent"}
            role = roles.get(p.purpose)
            if role is None:
                continue
            for ref in p.messages:  # every entry is a message, the agent's first one too
                if ref.id in self.seen or ref.id in self.sent or ref.id in self._in_flight:
                    continue
                sent_at = _time(ref.message_time)
                if self._too_old(sent_at) or (role == "customer" and not _after_agent(sent_at, agent)):
                    self.seen.add(ref.id)  # history, or a bot-phase / queue-wait customer message: never runs
                    continue
                wanted[ref.id] = (p.id, role, p.queue_id or queue_from_topic)
        if not wanted:
            return
        self._in_flight.update(wanted)
        try:
            fetched = await self._fetch(body.conversation_id, list(wanted))
        finally:
            self._in_flight.difference_update(wanted)
        by_id = {m.id: m for m in fetched}
        for message_id, (participant_id, role, queue_id) in wanted.items():
            message = by_id.get(message_id)
            self.seen.add(message_id)  # read (or unreadable in a bulk answer: logged there): never again
            if message is None or message_id in self.sent:
                continue
            sent_at = parse_time(message.timestamp)
            if self._too_old(sent_at) or (role == "customer" and not _after_agent(sent_at, agent)):
                continue  # the event had no messageTime; the message's own timestamp decides
            inbound = self._inbound(body.conversation_id, message, participant_id, role, queue_id, agent, topic)
            if inbound is not None:
                await out.send(inbound)

    async def _agent(self, body: ConversationMessageEvent) -> AgentCommunication | None:
        """The conversation's connected agent: cached, asked again when the event names another one."""
        conversation = body.conversation_id
        connected = [p for p in body.participants if p.purpose == "agent" and p.state in (None, "connected")]
        if not connected:
            return None  # no agent yet (bot flow, queue): no request needed, customer messages cannot run
        cached = self._agents.get(conversation)
        if cached is not None and cached.participant_id == connected[-1].id:
            return cached
        try:
            agent = await self.conversations.find_agent(conversation)
        except LookupError:
            return None  # the event is ahead of the conversation: the next event asks again
        except (GenesysApiError, GenesysAuthError, ModelError) as exc:
            log.warning("genesys agent of %s not read (%s)", conversation, exc)
            raise _Unreadable([]) from None
        self._agents.pop(conversation, None)
        self._agents[conversation] = agent
        while len(self._agents) > MAX_CACHED_AGENTS:
            self._agents.popitem(last=False)
        return agent

    def _too_old(self, sent_at: float | None) -> bool:
        return bool(self._max_message_age) and sent_at is not None and sent_at < time.time() - self._max_message_age

    async def _fetch(self, conversation_id: str, message_ids: list[str]) -> list[MessageData]:
        """The messages' text (one GET, or the bulk POST); `_Unreadable` to retry later."""
        try:
            return await self.conversations.get_messages(conversation_id, message_ids)
        except GenesysApiError as exc:
            if exc.status == 404:  # gone: never ask again
                return []
            problem: Exception = exc
        except (GenesysAuthError, ModelError) as exc:
            problem = exc
        log.warning("genesys messages of %s not read (%s)", conversation_id, problem)
        raise _Unreadable(message_ids)

    def _inbound(
        self,
        conversation_id: str,
        message: MessageData,
        participant_id: str,
        role: Role,
        queue_id: str | None,
        agent: AgentCommunication | None,
        topic: str,
    ) -> InboundMessage | None:
        norm = message.normalized_message
        if norm is not None and norm.originating_entity == "Bot":
            return None  # a bot's answer shown in the conversation, not someone typing
        text = message.text
        if norm is not None:
            from .content import ButtonResponse

            payloads = [c.payload for c in norm.content if isinstance(c, ButtonResponse)]
            text = payloads[0] if payloads else text
        if not text.strip():
            return None  # media-only, empty, or only content we do not read
        metadata = {"topic": topic, "genesys_message_status": message.status}
        if agent is not None:
            metadata["genesys_communication_id"] = agent.communication_id
        return InboundMessage(
            channel=self.channel_name,
            conversation_id=conversation_id,
            message_id=message.id,
            participant_id=participant_id,
            role=role,
            text=text,
            timestamp=parse_time(message.timestamp) or time.time(),
            queue_id=queue_id,
            metadata=metadata,
            language=norm.language if norm is not None else None,  # detected by Genesys, when it says
        )


def _time(value: str | None) -> float | None:
    try:
        return parse_time(value)
    except ModelError:
        return None


def _after_agent(sent_at: float | None, agent: AgentCommunication | None) -> bool:
    """The customer-message rule: sent at or after the connected agent participant connected."""
    if agent is None:
        return False
    if agent.connected_at is None or sent_at is None:
        # Assumption (no source says every payload carries both times): when one is missing we cannot
        # tell, and let the message through; the other check (the message's own timestamp) follows.
        return True
    return sent_at >= agent.connected_at
