"""What the fake Genesys Cloud knows: tokens, conversations, channels, media, faults, and a record.

Everything here is plain state changed from the ASGI app (one Trio thread, so
no locks); tests read it to assert on the conversation as a customer sees it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import trio

from .checks import FakeOrg
from .ratelimit import FakeRateLimit

__all__ = ["FakeGenesys", "Fault", "RecordedRequest", "FakeMessage", "FakeConversation", "FakeChannel", "FakeMedia"]

_TOPIC_PATTERNS = [re.compile(p) for p in (
    r"v2\.users\.[^.]+\.conversations(\.messages)?", r"v2\.routing\.queues\.[^.]+\.conversations(\.messages)?",
    r"v2\.users\.[^.]+\.conversations\.inbound\.typing\.event", r"v2\.webmessaging\.deployments\.[^.]+\.undelivered\.messages",
    r"v2\.detail\.events\.conversation\.[^.]+\.(customer\.start|customer\.end|acd\.start|user\.start|attributes|wrapup)",
)]
MAX_TOPICS_PER_CHANNEL = 1000
MAX_CHANNELS = 20


def iso(ts: float) -> str:
    """Epoch seconds as the ISO-8601 UTC form Genesys writes."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """A fresh id in the UUID form Genesys uses."""
    return str(uuid.uuid4())


def known_topic(topic: str) -> bool:
    """True for the notification topics the subset lists (others are Rejected)."""
    return any(p.fullmatch(topic) for p in _TOPIC_PATTERNS)


@dataclass
class Fault:
    """An injected failure: the next `times` requests matching `method`/`path` (regex) get `status`."""

    status: int
    method: str | None = None
    path: str | None = None
    times: int = 1
    retry_after: str | None = None
    code: str | None = None
    message: str | None = None
    missing_permission: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        return ((self.method is None or self.method.upper() == method)
                and (self.path is None or re.search(self.path, path) is not None))


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (the Authorization header is never kept)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    operation: str | None  # the openapi path template it matched, e.g. /api/v2/notifications/channels


@dataclass
class FakeMessage:
    """A message in a fake conversation, as the customer or agent would see it."""

    id: str
    sender: str  # customer | agent | bot
    text: str
    timestamp: float
    content: list[dict[str, Any]] = field(default_factory=list)
    media_ids: list[str] = field(default_factory=list)

    @property
    def direction(self) -> str:
        """inbound for the customer, outbound for the agent and the bot."""
        return "inbound" if self.sender == "customer" else "outbound"

    def message_data(self, conversation_id: str) -> dict[str, Any]:
        """This message as `MessageData` JSON."""
        norm: dict[str, Any] = {"id": self.id, "type": "Structured" if self.content else "Text", "text": self.text,
                                "direction": self.direction.capitalize(),
                                "originatingEntity": "Bot" if self.sender == "bot" else "Human"}
        if self.content:
            norm["content"] = self.content
        return {"id": self.id, "conversationId": conversation_id, "timestamp": iso(self.timestamp),
                "direction": self.direction, "messengerType": "webmessaging",
                "status": "received" if self.sender == "customer" else "sent", "textBody": self.text,
                "normalizedMessage": norm}


@dataclass
class FakeConversation:
    """A web-messaging conversation with a customer and an agent participant."""

    id: str
    queue_id: str | None
    user_id: str | None
    customer_participant_id: str = field(default_factory=new_id)
    agent_participant_id: str = field(default_factory=new_id)
    communication_id: str = field(default_factory=new_id)  # the agent's messages[0].id
    messages: list[FakeMessage] = field(default_factory=list)
    has_agent: bool = True  # False while the customer is still in a bot flow

    def find(self, message_id: str) -> FakeMessage | None:
        """The message with this id, if any."""
        return next((m for m in self.messages if m.id == message_id), None)

    def event_body(self) -> dict[str, Any]:
        """The `.conversations.messages` eventBody: ids and status only, no text."""
        def ref(m: FakeMessage) -> dict[str, Any]:
            return {"message": {"id": m.id}, "messageTime": iso(m.timestamp),
                    "messageStatus": "received" if m.sender == "customer" else "sent",
                    "messageMetadata": {"type": "Structured" if m.content else "Text"}}
        queue = {"id": self.queue_id} if self.queue_id else None
        customer = {"id": self.customer_participant_id, "purpose": "customer", "state": "connected",
                    "type": "webmessaging", "messages": [ref(m) for m in self.messages if m.sender == "customer"]}
        agent = {"id": self.agent_participant_id, "purpose": "agent", "state": "connected", "type": "webmessaging",
                 "messages": [{"message": {"id": self.communication_id}}]
                 + [ref(m) for m in self.messages if m.sender == "agent"]}
        if queue:
            customer["queue"] = agent["queue"] = queue
        if self.user_id:
            agent["user"] = {"id": self.user_id}
        return {"id": self.id, "participants": [customer, agent] if self.has_agent else [customer]}

    def conversation_json(self) -> dict[str, Any]:
        """`MessageConversation` JSON (GET /api/v2/conversations/messages/{id})."""
        participants = [
            {"id": self.customer_participant_id, "purpose": "customer", "state": "connected",
             "messages": [{"messageId": m.id} for m in self.messages if m.sender == "customer"]},
            {"id": self.agent_participant_id, "purpose": "agent", "state": "connected",
             "messages": [{"messageId": self.communication_id}]
             + [{"messageId": m.id} for m in self.messages if m.sender == "agent"]},
        ]
        return {"id": self.id, "participants": participants if self.has_agent else participants[:1]}


@dataclass
class FakeChannel:
    """A notification channel: its topics, its expiry and the queues of its open sockets."""

    id: str
    created: float
    expires_at: float  # trio clock
    expires_iso: str
    topics: set[str] = field(default_factory=set)
    sockets: list[trio.MemorySendChannel] = field(default_factory=list)


@dataclass
class FakeMedia:
    """An upload: announced by the create-upload call, `data` once the bytes were PUT."""

    id: str
    file_name: str
    length: int
    md5: str | None
    data: bytes | None = None


class FakeGenesys:
    """The fake's state plus the controls tests use (faults, injected messages, socket events)."""

    def __init__(self, *, client_id: str, client_secret: str, token_ttl: float = 300.0,
                 heartbeat_interval: float = 30.0, channel_ttl: float = 24 * 3600.0,
                 closing_warning: float = 60.0) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.heartbeat_interval = heartbeat_interval
        self.channel_ttl = channel_ttl
        self.closing_warning = closing_warning
        self.base_url = ""
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.conversations: dict[str, FakeConversation] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.media: dict[str, FakeMedia] = {}
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.events_published: list[dict[str, Any]] = []
        self.bot_exchanges: list[tuple[dict[str, Any], int, Any]] = []  # (request, status, response json)
        self.bot_sessions: dict[str, str] = {}
        self.denied_topics: dict[str, str] = {}  # topic regex -> the permission the OAuth client lacks  # botSessionId -> conversation id (the bot-flow driver's)
        self.nursery: trio.Nursery | None = None
        self.rate_limit: FakeRateLimit | None = None  # ratelimit.py: 429s once a client sends too much
        self.org = FakeOrg()  # checks.py: queues, and APIs the OAuth client may not use
        self.bot_lists: dict[str, dict[str, Any]] = {}  # integration id -> the BotList pushed for it (classic)

    # -- faults ---------------------------------------------------------------
    def fail_next(self, status: int, *, method: str | None = None, path: str | None = None, times: int = 1,
                  retry_after: float | str | None = None, code: str | None = None, message: str | None = None,
                  missing_permission: str | None = None) -> Fault:
        """Answer the next `times` matching requests with `status` (401, 403, 429, 500, 503...)."""
        fault = Fault(status, method, path, times, None if retry_after is None else str(retry_after), code, message,
                      missing_permission)
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first pending fault matching this request, used up by one."""
        for fault in self.faults:
            if fault.times > 0 and fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def deny_topics(self, pattern: str, missing_permission: str) -> None:
        """Subscriptions to topics matching `pattern` (regex) are Rejected for lack of `missing_permission`."""
        self.denied_topics[pattern] = missing_permission

    def topic_denied(self, topic: str) -> str | None:
        """The missing permission that rejects `topic`, if any."""
        return next((perm for pattern, perm in self.denied_topics.items() if re.fullmatch(pattern, topic)), None)

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (the next API call gets a 401)."""
        for token in self.tokens:
            self.tokens[token] = float("-inf")

    def issue_token(self) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        token = f"fake-{uuid.uuid4().hex}"
        self.tokens[token] = trio.current_time() + self.token_ttl
        self.tokens_issued += 1
        return token, max(1, int(self.token_ttl))

    def token_valid(self, token: str) -> bool:
        """Whether `token` was issued here and has not expired."""
        return self.tokens.get(token, float("-inf")) > trio.current_time()

    # -- conversations --------------------------------------------------------
    def start_conversation(self, *, queue_id: str | None = None, user_id: str | None = None,
                           conversation_id: str | None = None, with_agent: bool = True) -> FakeConversation:
        """A new conversation; `with_agent=False` while the customer is only talking to a bot."""
        conversation = FakeConversation(conversation_id or new_id(), queue_id, user_id, has_agent=with_agent)
        self.conversations[conversation.id] = conversation
        return conversation

    def add_message(self, conversation: FakeConversation, sender: str, text: str, *,
                    content: list[dict[str, Any]] | None = None, media_ids: list[str] | None = None,
                    message_id: str | None = None, timestamp: float | None = None) -> FakeMessage:
        """Store a message (no event; `inject_*` and `publish_conversation` send those)."""
        import time

        message = FakeMessage(message_id or new_id(), sender, text, time.time() if timestamp is None else timestamp,
                              content or [], media_ids or [])
        conversation.messages.append(message)
        return message

    def inject_customer_message(self, text: str, *, conversation_id: str | None = None, queue_id: str | None = None,
                                user_id: str | None = None, content: list[dict[str, Any]] | None = None) -> FakeMessage:
        """A customer types `text`: stored, and a message event goes to subscribed channels."""
        conversation = self.conversations.get(conversation_id or "") or self.start_conversation(
            queue_id=queue_id, user_id=user_id, conversation_id=conversation_id)
        message = self.add_message(conversation, "customer", text, content=content)
        self.publish_conversation(conversation)
        return message

    def inject_agent_message(self, conversation_id: str, text: str) -> FakeMessage:
        """The human agent types `text` in the agent UI (also a message event)."""
        conversation = self.conversations[conversation_id]
        message = self.add_message(conversation, "agent", text)
        self.publish_conversation(conversation)
        return message

    def transcript(self, conversation_id: str) -> list[FakeMessage]:
        """The conversation as the customer sees it, in order."""
        return list(self.conversations[conversation_id].messages)

    # -- notifications ----------------------------------------------------------
    def publish_conversation(self, conversation: FakeConversation) -> None:
        """Send the conversation's message event to its queue and user topics."""
        body = conversation.event_body()
        topics = []
        if conversation.queue_id:
            topics.append(f"v2.routing.queues.{conversation.queue_id}.conversations.messages")
        if conversation.user_id:
            topics.append(f"v2.users.{conversation.user_id}.conversations.messages")
        for topic in topics:
            self.publish(topic, body)

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        """Send an event to every socket of every channel subscribed to `topic`."""
        event = {"topicName": topic, "version": "2", "eventBody": body, "metadata": {"CorrelationId": new_id()}}
        self.events_published.append(event)
        for channel in self.channels.values():
            if topic in channel.topics:
                for queue in list(channel.sockets):
                    try:
                        queue.send_nowait(event)
                    except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                        pass  # a slow or closed socket misses it, as on the real service

    def broadcast(self, event: dict[str, Any]) -> None:
        """Send a frame to every open channel socket, whatever its topics."""
        for channel in self.channels.values():
            for queue in list(channel.sockets):
                try:
                    queue.send_nowait(event)
                except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                    pass

    def warn_socket_closing(self) -> None:
        """Send `v2.system.socket_closing` on every open socket (Genesys does this before closing)."""
        self.broadcast({"topicName": "v2.system.socket_closing",
                        "eventBody": {"message": "The socket will close shortly; reconnect on a new channel"}})

    def drop_sockets(self) -> None:
        """Close every channel socket abruptly (no warning), as a lost connection."""
        self.broadcast({"__drop__": True})

    def new_channel(self, base_ws: str) -> FakeChannel:
        """Create a channel (a 21st evicts the oldest, as on the real service)."""
        import time

        now = trio.current_time()
        channel_id = f"streaming-{uuid.uuid4().hex[:12]}"
        channel = FakeChannel(channel_id, now, now + self.channel_ttl, iso(time.time() + self.channel_ttl))
        if len(self.channels) >= MAX_CHANNELS:  # a 21st channel evicts the oldest
            oldest = min(self.channels.values(), key=lambda c: c.created)
            self.close_channel(oldest.id)
        self.channels[channel_id] = channel
        return channel

    def close_channel(self, channel_id: str) -> None:
        """Remove a channel and close its sockets (expiry, eviction)."""
        channel = self.channels.pop(channel_id, None)
        if channel is not None:
            for queue in channel.sockets:
                try:
                    queue.send_nowait({"__close__": True})
                except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                    pass

    # -- the record -------------------------------------------------------------
    def requests_to(self, operation: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests to an operation (its openapi path template)."""
        return [r for r in self.requests if r.operation == operation and (method is None or r.method == method)]
