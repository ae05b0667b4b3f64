"""The small interfaces between the runtime, its channels and the sync hub.

Channels turn platform events into `InboundMessage`s and hand them to the
runtime with `Runtime.submit`, which returns a `Job`. A channel that answers
in the same HTTP response (the webhook without a callback, Genesys's Bot
Connector) waits on the job for a while and takes the replies produced so
far; when it stops waiting (`Job.detach`) later replies go to the channel's
`ReplySink` instead (the webhook callback URL, the Genesys Conversations
API). Every stored state change is handed to the `EventSink` (the sync hub)
after it is durable.

A channel is a `Channel` (below): the service builds every channel of the
registry (`commandlang.channels.CHANNELS`) with `from_config`, mounts its
`routes`, starts its `run`, asks its `health` for `/readyz` and calls its
`aclose` after the drain. Optional faces, found with `isinstance`: an
`EventSink` gets every durable state change, a `NoticeSink` the registry
reloads, a `TokenSource` lends its token provider to `auth: {type: genesys}`
backends, a `RegistryFollower` checks and follows the loaded registry, and a
`CustomerReach` can show the customer the replies of a command an agent ran
outside the chat (the sync command box's "send to customer").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Collection, Mapping, Protocol, runtime_checkable

import trio

from ..jsonsafe import UnsafeJson, loads_bounded
from ..replies.model import Reply
from .http import RouteSpec
from .store import CommandRecord, StateEvent
from ..errors import ServiceError

__all__ = [
    "Channel",
    "ChannelContext",
    "CustomerReach",
    "NoticeSink",
    "RegistryFollower",
    "Submit",
    "TokenSource",
    "EventSink",
    "InboundMessage",
    "InboundShapeError",
    "Job",
    "LateReplySource",
    "ReplySink",
    "OutboundReply",
    "inbound_from_json",
    "is_language_tag",
    "Gauges",
    "MetricsSource",
]

_FIELDS = ("conversation_id", "message_id", "participant_id", "role", "text")
#: A BCP 47 tag, loosely (`de`, `de-CH`, `zh-Hant-TW`), bounded; empty means none given.
_LANGUAGE = re.compile(r"(?:[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,4})?")

Role = str  # agent, customer, or a role the registry declares (`settings.roles`)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One chat message, platform-neutral. `message_id` is unique within its conversation (`dedupe_key`)."""

    channel: str
    conversation_id: str
    message_id: str
    participant_id: str
    role: Role
    text: str
    timestamp: float
    queue_id: str | None = None
    # channel-specific (e.g. Genesys ids); "user_id": the person's id where participant ids are per conversation
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # roles the sender holds besides `role` (a Genesys supervisor is an agent too; a panel token's roles)
    roles: tuple[str, ...] = ()
    #: The conversation's language as the channel says it (`de-CH`, Genesys's `languageCode`), None when it
    #: does not; the lifecycle resolves it against `settings.languages` (`registry.languages`).
    language: str | None = None

    @property
    def held_roles(self) -> frozenset[str]:
        """Every role the sender holds: what binding, /help and approvals check (any one is enough)."""
        return frozenset((self.role, *self.roles))


def is_language_tag(value: object) -> bool:
    """Whether `value` may be a message's `language`: a tag like `de` or `de-CH` (or empty: none)."""
    return isinstance(value, str) and _LANGUAGE.fullmatch(value) is not None


class InboundShapeError(ServiceError, ValueError):
    """A JSON inbound message that is not one; the message says what to fix (a 400's reason)."""


def inbound_from_json(
    body: bytes, channel: str, timestamp: float, roles: Collection[str] = ("agent", "customer")
) -> InboundMessage:
    """`{"conversation_id", "message_id", "participant_id", "role", "text", "queue_id"?, "language"?}` as the
    webhook and the demo page send it; `role` must be one of `roles` (the webhook: the registry's declared
    roles); `InboundShapeError` says what is wrong."""
    try:
        data = loads_bounded(body)
    except UnsafeJson as exc:  # too deep, a lone surrogate, bad UTF-8: a 400 with the reason, never a 500
        raise InboundShapeError(f"the body is not acceptable JSON: {exc}") from None
    except ValueError:
        raise InboundShapeError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InboundShapeError("the body must be a JSON object with " + ", ".join(_FIELDS))
    missing = [name for name in _FIELDS if name not in data]
    if missing:
        raise InboundShapeError("missing field" + ("s " if len(missing) > 1 else " ") + ", ".join(missing))
    for name in _FIELDS:
        if not isinstance(data[name], str) or (name != "text" and not data[name]):
            raise InboundShapeError(f"{name} must be a non-empty string" if name != "text" else "text must be a string")
    if data["role"] not in roles:
        raise InboundShapeError(
            f"unknown role {data['role'][:64]!r}: role must be one of " + ", ".join(f'"{r}"' for r in roles)
        )
    if data.get("queue_id") is not None and not isinstance(data["queue_id"], str):
        raise InboundShapeError("queue_id must be a string")
    language = data.get("language")
    if language is not None and not is_language_tag(language):
        raise InboundShapeError('language must be a language tag like "de" or "de-CH"')
    role = data["role"]
    return InboundMessage(
        channel=channel,
        conversation_id=data["conversation_id"],
        message_id=data["message_id"],
        participant_id=data["participant_id"],
        role=role,
        # a role the registry declares beyond agent and customer (a supervisor) is an agent too, as on
        # Genesys and in sync tokens: it may run what agents may, and what its own role may
        roles=("agent",) if role not in ("agent", "customer") else (),
        text=data["text"],
        timestamp=timestamp,
        queue_id=data.get("queue_id"),
        language=language or None,
    )


@dataclass(frozen=True, slots=True)
class OutboundReply:
    """A reply on its way to a conversation. `reply` is a `commandlang.replies.model.Reply`."""

    conversation_id: str
    reply: Any
    command_id: str | None
    in_reply_to: InboundMessage
    language: str | None = None  # the declared language the reply is written in (None: the default's)


class ReplySink(Protocol):
    """Where a channel's replies go when nobody waits for them in an HTTP response."""

    async def send(self, outbound: OutboundReply) -> None: ...


@runtime_checkable
class EventSink(Protocol):
    """Receives every durable state change (the sync hub); must not block."""

    def publish(self, event: StateEvent) -> None: ...


#: What a `MetricsSource` offers: metric name (after `commandlang_<channel>_`) -> (help text, read()).
Gauges = Mapping[str, tuple[str, Callable[[], float]]]


@runtime_checkable
class MetricsSource(Protocol):
    """A channel with counters of its own (its outbox, API calls, tokens...), served on `/metrics` as
    gauges `commandlang_<channel name>_<name>` read at each scrape."""

    def gauges(self) -> Gauges: ...


class Job:
    """One inbound message's way through the pipeline, as its channel sees it."""

    def __init__(self, message: InboundMessage, sink: ReplySink | None) -> None:
        self.message = message
        self.record: CommandRecord | None = None  # the latest state, None for not-a-command
        self.replies: list[Any] = []
        self.refused = False  # True when a full queue turned it away (its reply says "busy")
        self.duplicate = False  # True when this message id was delivered before: the first delivery runs it
        self.language: str | None = None  # the conversation's language, resolved by the runtime
        self._sink = sink
        self._ack: Any = None  # held back while someone waits: sent only if the answer is late
        self._detached = False
        self.done = trio.Event()

    def detach(self) -> list[Any]:
        """Stop waiting: returns the replies so far (or the `ack`, when nothing else came yet);
        later replies go to the sink."""
        self._detached = True
        if not self.replies and self._ack is not None and not self.done.is_set():
            self.replies.append(self._ack)
        self._ack = None
        return list(self.replies)

    async def send_ack(self, reply: Any) -> None:
        """The command's `ack`: sent at once when nobody waits, else kept for a late answer."""
        if self._detached:
            await self.deliver(reply)
        else:
            self._ack = reply

    async def deliver(self, reply: Any) -> None:
        """Called by the pipeline for each reply, in order."""
        if not self._detached:
            self.replies.append(reply)
        elif self._sink is not None:
            await self._sink.send(
                OutboundReply(
                    self.message.conversation_id,
                    reply,
                    self.record.id if self.record else None,
                    self.message,
                    self.language,
                )
            )

    def update(self, record: CommandRecord) -> None:
        self.record = record

    def finish(self) -> None:
        self.done.set()

    async def wait(self, timeout: float) -> bool:
        """Wait until the job is done or `timeout` seconds pass; True when done."""
        with trio.move_on_after(timeout if timeout >= 0 else 0):
            await self.done.wait()
        return self.done.is_set()


#: How a channel hands a message to the runtime: the job, and where its late replies go (None: nowhere).
Submit = Callable[[InboundMessage, ReplySink | None], Awaitable[Job]]


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What the service gives a channel it builds.

    `submit` works once the pipeline runs (a channel may be built before it: Genesys lends its token
    provider to the registry's backends). `close_at_exit` registers what must be closed last, after the
    store (e.g. an HTTP client the channel's closer still sends through).
    """

    submit: Submit
    close_at_exit: Callable[[Callable[[], Awaitable[None]]], None]


@runtime_checkable
class Channel(Protocol):
    """One way into the service (webhook, demo page, Genesys Cloud, ...); registered in `commandlang.channels`.

    It compiles its own replies (`compile_reply`). Besides the faces of the module docstring, a
    `MetricsSource` channel puts its own counters on `/metrics`."""

    name: str

    @property
    def compile_reply(self) -> Callable[[Reply], Any]:
        """How a reply is compiled for this channel: `replies.compile_json` (webhook, demo page),
        `replies.compile_genesys` (Genesys structured messages), `replies.compile_text`, or any
        callable `Reply -> payload`. The channel calls it itself; nothing in `runtime/` or `app/`
        picks a compiler by channel name."""
        ...

    @classmethod
    def from_config(cls, config: Any, env: Mapping[str, str], context: ChannelContext) -> Channel | None:
        """The channel from the `ServiceConfig` and environment, parsed by the channel itself; None when
        it is off. A setting that cannot work raises `runtime.config.ConfigError`."""
        ...

    def routes(self) -> list[RouteSpec]:
        """The HTTP routes to mount, each with its admission and body limit."""
        ...

    async def run(self, *, task_status: Any = ...) -> None:
        """Its background work (outboxes, ingest) until cancelled; `started` once it can take messages."""
        ...

    async def aclose(self) -> None:
        """After the drain: send what is still queued, end open streams."""
        ...

    def health(self) -> dict[str, bool]:
        """Its checks for `/readyz` (name -> ok); empty when it has none."""
        ...

    def describe(self) -> str | None:
        """The start-up line printed once it runs (None: nothing to say)."""
        ...


@runtime_checkable
class NoticeSink(Protocol):
    """A channel told of registry reloads (`{"type": "registry", "version": ...}`); must not block."""

    def notice(self, data: dict[str, Any]) -> None: ...


@runtime_checkable
class LateReplySource(Protocol):
    """A channel that can send a reply to a conversation after the request that asked for it is
    answered (the webhook's callback URL): an approval's outcome reaches its requester that way."""

    def late_replies(self) -> ReplySink | None: ...


@runtime_checkable
class TokenSource(Protocol):
    """A channel whose token provider serves backends with `auth: {type: genesys}`."""

    tokens: Any


@runtime_checkable
class RegistryFollower(Protocol):
    """A channel with its own checks of a registry (errors refuse it) that follows the one loaded."""

    def registry_check(self, spec: Any) -> list[Any]: ...

    def follow_registry(self, current: Callable[[], tuple[Any, str]]) -> None: ...


@runtime_checkable
class CustomerReach(Protocol):
    """A channel that can put a reply in front of the customer of one of its conversations when an agent
    ran the command outside the chat (`POST /sync/commands` with `send_to_customer`)."""

    name: str

    def customer_sink(self) -> ReplySink | str:
        """Where such replies go (a `ReplySink` taking `OutboundReply`s), or why this channel, as
        configured, cannot send them (a sentence for the agent)."""
        ...
