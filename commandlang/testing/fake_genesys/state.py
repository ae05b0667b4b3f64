"""What the fake Genesys Cloud knows: tokens, conversations, channels, media, faults, and a record.

Everything here is plain state changed from the ASGI app (one Trio thread, so
no locks); tests read it to assert on the conversation as a customer sees it.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import trio

from .checks import FakeOrg
from .people import FakeBrowserClient
from .conversation import FakeAgent, FakeConversation, FakeMessage, iso, new_id
from .oracle import Violation, load_oracle
from .ratelimit import FakeRateLimit

__all__ = [
    "FakeGenesys",
    "Fault",
    "RecordedRequest",
    "FakeMessage",
    "FakeAgent",
    "FakeConversation",
    "FakeChannel",
    "FakeMedia",
]

_TOPIC_PATTERNS = [
    re.compile(p)
    for p in (
        r"v2\.users\.[^.]+\.conversations(\.messages)?",
        r"v2\.routing\.queues\.[^.]+\.conversations(\.messages)?",
        r"v2\.users\.[^.]+\.conversations\.inbound\.typing\.event",
        r"v2\.webmessaging\.deployments\.[^.]+\.undelivered\.messages",
        r"v2\.detail\.events\.conversation\.[^.]+\.(customer\.start|customer\.end|acd\.start|user\.start|attributes|wrapup)",
    )
]
MAX_TOPICS_PER_CHANNEL = 1000
MAX_CHANNELS = 20


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
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or re.search(self.path, path) is not None
        )


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
class FakeChannel:
    """A notification channel: its topics, its expiry and the queues of its open sockets."""

    id: str
    created: float
    expires_at: float  # trio clock
    expires_iso: str
    topics: set[str] = field(default_factory=set)
    sockets: list[trio.MemorySendChannel] = field(default_factory=list)
    # Assumption (no source read; runtime.md 2 asks for renewal "before their token expires"): a channel's
    # socket is closed when the token that created it expires. Taken at creation, so `expire_tokens()`
    # (a 401 test) does not end channels.
    token_expires_at: float = float("inf")


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

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_ttl: float = 300.0,
        heartbeat_interval: float = 30.0,
        channel_ttl: float = 24 * 3600.0,
        closing_warning: float = 60.0,
        check_payloads: bool = True,
    ) -> None:
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
        self.denied_topics: dict[str, str] = {}  # topic regex -> the permission the OAuth client lacks
        self.nursery: trio.Nursery | None = None
        self.rate_limit: FakeRateLimit | None = None  # ratelimit.py: 429s once a client sends too much
        self.org = FakeOrg()  # checks.py: queues, and APIs the OAuth client may not use
        self.bot_lists: dict[str, dict[str, Any]] = {}  # integration id -> the BotList pushed for it (classic)
        # people.py: browser sign-in (authorize, codes, the users' own tokens)
        self.browser_clients: dict[str, FakeBrowserClient] = {}
        self.auth_codes: dict[str, Any] = {}
        self.user_tokens: dict[str, str] = {}  # access token -> user id
        self.user_token_ttl = 3600.0
        self.browser_user: str | None = None  # who is signed in at the fake's login page
        self.login_frame_denied = True  # the login page refuses to be framed (people.py says why)
        # the SDK oracle (None without the SDK): every payload in and out is checked against Genesys's models
        self.oracle = load_oracle() if check_payloads else None
        self.violations: list[Violation] = []  # what the oracle found; a test with any left over fails

    # -- faults ---------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
        retry_after: float | str | None = None,
        code: str | None = None,
        message: str | None = None,
        missing_permission: str | None = None,
    ) -> Fault:
        """Answer the next `times` matching requests with `status` (401, 403, 429, 500, 503...)."""
        fault = Fault(
            status,
            method,
            path,
            times,
            None if retry_after is None else str(retry_after),
            code,
            message,
            missing_permission,
        )
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

    def clock(self) -> float:
        """The fake's clock (Trio's, so MockClock tests expire tokens and codes)."""
        return trio.current_time()

    def add_browser_client(self, client_id: str, redirect_uris: list[str], *, grant: str = "code") -> None:
        """An OAuth client for the browser: `code` (authorization code with PKCE) or `token` (implicit)."""
        self.browser_clients[client_id] = FakeBrowserClient(client_id, list(redirect_uris), grant)

    def issue_user_token(self, user_id: str) -> tuple[str, int]:
        """An access token for a user (what the browser grants end with) and its lifetime in seconds."""
        token = f"user-{uuid.uuid4().hex}"
        self.tokens[token] = trio.current_time() + self.user_token_ttl
        self.user_tokens[token] = user_id
        return token, max(1, int(self.user_token_ttl))

    def revoke_user_tokens(self, user_id: str | None = None) -> None:
        """The users' tokens (one user's, or everyone's) are refused from now on."""
        for token, owner in self.user_tokens.items():
            if user_id is None or owner == user_id:
                self.tokens[token] = float("-inf")

    def token_valid(self, token: str) -> bool:
        """Whether `token` was issued here and has not expired."""
        return self.tokens.get(token, float("-inf")) > trio.current_time()

    # -- conversations --------------------------------------------------------
    def start_conversation(
        self,
        *,
        queue_id: str | None = None,
        user_id: str | None = None,
        conversation_id: str | None = None,
        with_agent: bool = True,
    ) -> FakeConversation:
        """A new conversation; `with_agent=False` while the customer is only talking to a bot."""
        conversation = FakeConversation(conversation_id or new_id(), queue_id, user_id)
        if with_agent:
            conversation.agents.append(FakeAgent(new_id(), new_id(), conversation.started_at, user_id))
        self.conversations[conversation.id] = conversation
        return conversation

    def connect_agent(self, conversation_id: str, *, user_id: str | None = None, publish: bool = True) -> FakeAgent:
        """An agent (new participant, new communication) connects; a connected one before it is disconnected
        (a transfer, or the same agent reconnecting). From a bot flow, this is the transfer to an agent."""
        conversation = self.conversations[conversation_id]
        for agent in conversation.agents:
            agent.state = "disconnected"
        agent = FakeAgent(new_id(), new_id(), time.time(), user_id or conversation.user_id)
        conversation.agents.append(agent)
        if publish:
            self.publish_conversation(conversation)
        return agent

    def add_message(
        self,
        conversation: FakeConversation,
        sender: str,
        text: str,
        *,
        content: list[dict[str, Any]] | None = None,
        media_ids: list[str] | None = None,
        message_id: str | None = None,
        timestamp: float | None = None,
    ) -> FakeMessage:
        """Store a message (no event; `inject_*` and `publish_conversation` send those)."""
        agent = conversation.agent if sender == "agent" else None
        message = FakeMessage(
            message_id or new_id(),
            sender,
            text,
            time.time() if timestamp is None else timestamp,
            content or [],
            media_ids or [],
            agent.participant_id if agent else None,
        )
        conversation.messages.append(message)
        return message

    def inject_customer_message(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        queue_id: str | None = None,
        user_id: str | None = None,
        content: list[dict[str, Any]] | None = None,
    ) -> FakeMessage:
        """A customer types `text`: stored, and a message event goes to subscribed channels."""
        conversation = self.conversations.get(conversation_id or "") or self.start_conversation(
            queue_id=queue_id, user_id=user_id, conversation_id=conversation_id
        )
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
        if self.oracle is not None:
            self.violations += self.oracle.event(topic, body)
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

    def send_system_event(self, topic: str, *, reason: str | None = None) -> None:
        """A system event on every open socket: `v2.system.no_longer_subscribed` or `v2.system.token_revoked`
        (the client should re-create its channel, as on `v2.system.socket_closing`)."""
        kind = topic.rsplit(".", 1)[-1]
        body: dict[str, Any] = {"systemTopicType": kind, "message": f"System event {kind}"}
        if reason is not None:
            body["reason"] = reason
        if self.oracle is not None:
            self.violations += self.oracle.event(topic, body)
        if kind == "token_revoked":
            self.expire_tokens()  # revoked: the next API call with it gets a 401
        self.broadcast({"topicName": topic, "eventBody": body})

    def warn_socket_closing(self) -> None:
        """Send `v2.system.socket_closing` on every open socket (Genesys does this before closing)."""
        self.broadcast(
            {
                "topicName": "v2.system.socket_closing",
                "eventBody": {"message": "The socket will close shortly; reconnect on a new channel"},
            }
        )

    def drop_sockets(self) -> None:
        """Close every channel socket abruptly (no warning), as a lost connection."""
        self.broadcast({"__drop__": True})

    def new_channel(self, base_ws: str, token: str | None = None) -> FakeChannel:
        """Create a channel (a 21st evicts the oldest, as on the real service); it ends with its token too."""
        now = trio.current_time()
        channel_id = f"streaming-{uuid.uuid4().hex[:12]}"
        channel = FakeChannel(
            channel_id,
            now,
            now + self.channel_ttl,
            iso(time.time() + self.channel_ttl),
            token_expires_at=self.tokens.get(token or "", float("inf")),
        )
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
