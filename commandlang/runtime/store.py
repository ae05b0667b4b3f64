"""The state store interface: command records, the event log for resume, dedupe keys.

Kept narrow on purpose: the embedded default is SQLite (`sqlite.py`); a Redis
store for several replicas (`redis_store.py`) implements the same methods and
`SharedStore` besides. Every state change goes through `append`, which writes
the record and its event together and returns the event with its global
sequence number; only then may the runtime broadcast it.

A new store is its module (a class with the `Store` methods, `SharedStore` too
if several replicas may share it), one line in `stores.STORES` naming its URL
scheme, and a line in `tests/runtime/test_store_contract.py`'s list of stores
so the contract suite runs against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Mapping, Protocol, Sequence, get_args, runtime_checkable

import trio

from ..errors import ServiceError
from .questions import Answer, Question, QuestionKey

__all__ = [
    "STATUSES",
    "TERMINAL",
    "ClaimedElsewhere",
    "CommandRecord",
    "EventSink",
    "IN_FLIGHT",
    "AWAITING",
    "SharedStore",
    "StateEvent",
    "Store",
    "StaleTransition",
    "StoreUnavailable",
    "can_move",
    "claim_key",
    "record_body",
    "record_from_body",
]

# `rejected`: a message that never became a runnable command (a parse, bind or permission error), so
# typos are never counted as failures (runtime.md section 3). `awaiting_confirmation`: bound, waiting for
# the requester's own yes (then awaiting_approval or pending, or rejected); `awaiting_approval`: bound,
# waiting for an approver's answer (then pending, or rejected). Both are live, but not in flight: a
# restart leaves them waiting while their question is in the store.
Status = Literal[
    "awaiting_confirmation",
    "awaiting_approval",
    "pending",
    "executing",
    "completed",
    "failed",
    "timed_out",
    "cancelled",
    "rejected",
]
STATUSES: tuple[Status, ...] = get_args(Status)  # in the order they move forward
TERMINAL = frozenset({"completed", "failed", "timed_out", "cancelled", "rejected"})
#: What a process runs: what a crash leaves `interrupted` (a question still waiting is not).
IN_FLIGHT = frozenset({"pending", "executing"})
#: Waiting for a person's answer (a question in the store ends them): live, not in flight.
AWAITING = frozenset({"awaiting_confirmation", "awaiting_approval"})
_RANK = {
    "awaiting_confirmation": -2,
    "awaiting_approval": -1,
    "pending": 0,
    "executing": 1,
    "completed": 2,
    "failed": 2,
    "timed_out": 2,
    "cancelled": 2,
    "rejected": 2,
}


def can_move(old: str, new: str) -> bool:
    """Statuses only move forward: [awaiting_confirmation ->] [awaiting_approval ->] pending -> executing -> one final status."""
    return old not in TERMINAL and _RANK[new] > _RANK[old]


class StoreUnavailable(ServiceError):
    """The store did not answer in time, could not write, or is closed: the runtime answers "try again"."""


class ClaimedElsewhere(ServiceError):
    """The message is claimed by another replica that has not started it yet: neither ours to run nor a
    finished duplicate. The runtime answers "busy, try again"; by then it has run there, or its claim was released."""


class StaleTransition(ServiceError):
    """A state change that would move a command backwards (or out of a final status)."""


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command's state, as stored and as sync clients see it (args already masked)."""

    id: str
    conversation_id: str
    command: str
    args: Mapping[str, Any]
    status: Status
    actor: str
    role: str
    channel: str
    message_id: str
    created_at: float
    updated_at: float
    version: int = 1
    error: Mapping[str, str] | None = None
    queue_id: str | None = None
    registry_version: str | None = None
    #: commands that needed an approver: `{"id", "roles", "requested_by", "expires_at"}` while waiting, then
    #: also `"decision"` (approved, denied, timed_out), `"decided_by"` and `"reason"`; None for the others
    approval: Mapping[str, Any] | None = None
    #: commands with `confirm`: `{"asked_of", "expires_at"}` (who may answer: the requester), kept after
    #: the answer; None for the others. The question's token is not in it: only the requester saw it.
    confirmation: Mapping[str, Any] | None = None

    def moved(
        self,
        status: Status,
        now: float,
        error: Mapping[str, str] | None = None,
        *,
        approval: Mapping[str, Any] | None = None,
    ) -> CommandRecord:
        """The next version in `status`; `approval` replaces the approval object (kept otherwise)."""
        if not can_move(self.status, status):
            raise StaleTransition(f"{self.id}: {self.status} -> {status}")
        return replace(
            self,
            status=status,
            updated_at=now,
            version=self.version + 1,
            error=error,
            approval=self.approval if approval is None else approval,
        )

    def to_json(self) -> dict[str, Any]:
        """The record as the sync protocol's `command` object (`approval` only on commands that needed one)."""
        data = {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "command": self.command,
            "args": dict(self.args),
            "status": self.status,
            "error": dict(self.error) if self.error else None,
            "actor": self.actor,
            "role": self.role,
            "channel": self.channel,
            "queue_id": self.queue_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "version": self.version,
        }
        if self.approval is not None:
            data["approval"] = dict(self.approval)
        if self.confirmation is not None:
            data["confirmation"] = dict(self.confirmation)
        return data

    @staticmethod
    def from_json(data: Mapping[str, Any], message_id: str = "", registry_version: str | None = None) -> CommandRecord:
        return CommandRecord(
            id=data["id"],
            conversation_id=data["conversation_id"],
            command=data["command"],
            args=data["args"],
            status=data["status"],
            actor=data["actor"],
            role=data["role"],
            channel=data.get("channel", ""),
            message_id=message_id,
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            version=data["version"],
            error=data.get("error"),
            queue_id=data.get("queue_id"),
            registry_version=registry_version,
            approval=data.get("approval"),
            confirmation=data.get("confirmation"),
        )


@dataclass(frozen=True, slots=True)
class StateEvent:
    """A stored state change: `seq` is strictly increasing across the whole store."""

    seq: int
    record: CommandRecord = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"type": "state", "seq": self.seq, "command": self.record.to_json()}


def claim_key(channel: str, conversation_id: str, message_id: str) -> str:
    """The dedupe key of one delivered message: its id within its conversation and channel (the same id
    in another conversation is another message). Unit separators keep the parts apart."""
    return f"{channel}\x1f{conversation_id}\x1f{message_id}"


def record_body(record: CommandRecord) -> str:
    """A record as a store keeps it: the sync form plus the message id and the registry version."""
    data = record.to_json()
    data["message_id"] = record.message_id
    data["registry_version"] = record.registry_version
    return json.dumps(data, separators=(",", ":"))


def record_from_body(body: str | bytes) -> CommandRecord:
    """The inverse of `record_body`."""
    data = json.loads(body)
    return CommandRecord.from_json(data, data.get("message_id", ""), data.get("registry_version"))


class EventSink(Protocol):
    """Where a shared store's feed publishes events (the service's fan-out to the hub and the pages)."""

    def publish(self, event: StateEvent) -> None: ...


@runtime_checkable
class Store(Protocol):
    """What the runtime and the sync hub need from storage; all methods are Trio-async.

    Lifecycle: the service starts `run` with `nursery.start` (it reports started once the store
    answers, or raises `StoreUnavailable`), calls the methods below while it runs, and ends with
    `aclose`, which commits what is queued and makes `run` return. Errors: `StoreUnavailable` for
    anything the store cannot do now (the runtime answers "try again"), `StaleTransition` for a
    change that is not the next version of the stored record, `ClaimedElsewhere` (shared stores).

    Sequence numbers: every `append` gives its event the next `seq` of the whole store, dense (no
    gaps: 1, 2, 3, ...) and in commit order (an event with a higher seq was committed after every
    lower one, and is visible to `events_after` once its append has returned). The sync hub relies
    on both: it forwards events in seq order and, seeing seq N+2 published before N+1, waits for
    N+1 or reads it from `events_after` instead of skipping it. A refused change takes no seq.
    """

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the store, report started, serve calls until `aclose`."""

    async def aclose(self) -> None:
        """Stop taking calls, finish what was accepted, make `run` return (waits a bounded time)."""

    def describe(self) -> str:
        """The one line `serve` prints after "state store: ", e.g. "/srv/state.db (SQLite, WAL)"; no secrets."""

    async def claim_message(self, channel: str, conversation_id: str, message_id: str, ttl: float) -> bool:
        """True the first time a (channel, conversation, message id) is seen within `ttl` seconds: dedupe.

        The claim stays *unsettled* until the message's first record is appended (or
        `settle_message` says it needs none); `release_unsettled` forgets unsettled claims at
        start-up, so a message that was only queued when the process died runs when it is
        delivered again instead of being taken for a duplicate.

        A store shared by replicas raises `ClaimedElsewhere` when another live replica holds the
        claim unsettled, and takes the claim over when that replica's lease has run out."""

    async def release_message(self, channel: str, conversation_id: str, message_id: str) -> None:
        """Forget a claim: the message was refused (busy) and may be delivered again."""

    async def settle_message(self, channel: str, conversation_id: str, message_id: str) -> None:
        """The message was handled without a record (help, a confirmation question)."""

    async def release_unsettled(self) -> int:
        """Forget every claim whose message never got a record; returns how many."""

    async def append(self, record: CommandRecord) -> StateEvent:
        """Write a new or changed record and its event; returns the event once durable."""

    async def append_all(self, records: Sequence[CommandRecord]) -> Sequence[StateEvent]:
        """`append` for several changes in order, committed together when they fit one batch;
        returns their events once all are durable (or raises the first change's error)."""

    async def get(self, command_id: str) -> CommandRecord | None: ...

    async def events_after(self, seq: int, limit: int) -> Sequence[StateEvent] | None:
        """Events with seq > `seq` in order; None when `seq` is older than the kept log."""

    async def snapshot(self, limit: int) -> tuple[int, Sequence[CommandRecord]]:
        """(latest seq, the live and most recent records) for a new sync session."""

    async def snapshot_for(
        self, conversations: Sequence[str], limit: int, queues: Sequence[str] = ()
    ) -> tuple[int, Sequence[CommandRecord]]:
        """Like `snapshot` for a few conversations and queues: their live records and their `limit` most
        recent, so a busy service's other traffic cannot crowd them out."""

    async def unfinished(self) -> Sequence[CommandRecord]:
        """Records still pending or executing (at start-up: interrupted by a crash); never one awaiting an answer."""

    async def prune(self, older_than: float) -> int:
        """Drop final records, events and dedupe keys older than a timestamp; returns rows removed."""

    async def events_since(self, since: float, limit: int) -> Sequence[StateEvent]:
        """The kept events whose change was made at or after `since` (its record's `updated_at`), oldest
        first, at most `limit`: what `commandlang audit` reads (retention as for commands)."""

    # Questions (confirmations, approvals): stored so that one survives a restart and is answered on any replica.
    async def put_question(self, question: Question, limit: int) -> Sequence[Question]:
        """Keep `question` under its key; returns the questions forgotten for it, oldest first: the one it
        replaces (one question per key) and, past `limit` waiting, the oldest asked."""

    async def get_question(self, key: QuestionKey, now: float) -> Question | None:
        """The question waiting under `key`, not taken (None when none waits or it expired before `now`):
        an approval's answer is checked (roles, not the requester) before it is taken."""

    async def take_question(self, key: QuestionKey, token: str | None, now: float) -> Question | Answer:
        """The question under `key` when `token` is its token, forgotten atomically (an answer is accepted
        once, on any replica); "none" when nothing waits or it expired before `now` (kept for
        `expired_questions`), "no_token" for a missing or wrong token (it keeps waiting)."""

    async def expired_questions(self, now: float) -> Sequence[Question]:
        """Forget the questions that expired before `now` and return them (each to one caller only)."""


@runtime_checkable
class SharedStore(Store, Protocol):
    """A store several replicas share: what the service adds when the store is one (`isinstance` tells).

    Each replica appends its own changes, but every replica's sync hub must see all of them, in seq
    order: the service feeds them from `follow`, not from its own pipeline. Work belongs to the
    replica that claimed or started it while that replica's lease (`lease` seconds, renewed by
    `run`) holds; the sweep marks `interrupted` what a replica left behind."""

    replica_id: str
    lease: float

    async def follow(
        self,
        sink: EventSink,
        *,
        after: int | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Publish to `sink`, in seq order and without gaps, every event any replica appends after seq
        `after` (default: the latest at start); reconnects by itself; runs until cancelled."""

    async def caught_up(self, timeout: float) -> bool:
        """Wait up to `timeout` until `follow` has published every event appended so far; True if it has."""

    async def orphaned(self) -> Sequence[CommandRecord]:
        """Pending or executing records of replicas whose lease has run out (none of this replica's)."""

    async def own_unfinished(self) -> Sequence[CommandRecord]:
        """This replica's pending or executing records (running, or left so by a store outage)."""
