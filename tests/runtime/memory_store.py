"""An in-memory `Store`: a second, honest implementation of the protocol in `runtime/store.py`, for unit tests.

Not a mock: it keeps the same promises as SQLite and Redis (dense seq in commit order, versions that only
move forward, claims that stay unsettled until the message's first record) and runs the store contract
suite (`test_store_contract.py`). Everything happens under no lock because nothing here awaits between
reading and writing its state. `MemoryState` outlives a store, so a "restart" opens a new `MemoryStore`
on the same state. `outage` makes every call raise `StoreUnavailable`, as a real store does when down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import trio

from commandlang.runtime.questions import Answer, Question, QuestionKey, token_matches
from commandlang.runtime.store import (
    IN_FLIGHT,
    TERMINAL,
    CommandRecord,
    StaleTransition,
    StateEvent,
    StoreUnavailable,
    claim_key,
)

__all__ = ["MemoryState", "MemoryStore"]


@dataclass
class MemoryState:
    """What a SQLite file would hold: records, the event log, dedupe claims (key -> expiry), unsettled keys."""

    records: dict[str, CommandRecord] = field(default_factory=dict)
    events: list[StateEvent] = field(default_factory=list)
    latest_seq: int = 0  # kept when pruning empties the log, like SQLite's AUTOINCREMENT
    claims: dict[str, float] = field(default_factory=dict)
    unsettled: set[str] = field(default_factory=set)
    questions: dict[QuestionKey, Question] = field(default_factory=dict)  # insertion order is age order


class MemoryStore:
    """The `Store` protocol over a `MemoryState`; `clock` dates the claims' expiry."""

    def __init__(self, state: MemoryState | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.state = state if state is not None else MemoryState()
        self._clock = clock
        self.outage = False  # True: every call raises StoreUnavailable (the store is down)
        self._closed = trio.Event()

    def describe(self) -> str:
        """One line for `serve`'s banner."""
        return "in memory (tests only)"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Report started at once; serve until `aclose`."""
        task_status.started()
        await self._closed.wait()

    async def aclose(self) -> None:
        """Nothing is queued: stop at once."""
        self._closed.set()

    async def _call(self) -> None:
        # every call is a checkpoint, as a real store's are, so tests see the same interleavings
        await trio.lowlevel.checkpoint()
        if self.outage or self._closed.is_set():
            raise StoreUnavailable("the in-memory store is down" if self.outage else "the store is closed")

    # -- claims ---------------------------------------------------------
    async def claim_message(self, channel: str, conversation_id: str, message_id: str, ttl: float) -> bool:
        """Dedupe: True the first time within `ttl`; the claim stays unsettled until its first record."""
        await self._call()
        key, now = claim_key(channel, conversation_id, message_id), self._clock()
        if key in self.state.claims and self.state.claims[key] >= now:
            return False
        self.state.claims[key] = now + ttl
        self.state.unsettled.add(key)
        return True

    async def release_message(self, channel: str, conversation_id: str, message_id: str) -> None:
        """Forget a claim (the message was refused)."""
        await self._call()
        key = claim_key(channel, conversation_id, message_id)
        self.state.claims.pop(key, None)
        self.state.unsettled.discard(key)

    async def settle_message(self, channel: str, conversation_id: str, message_id: str) -> None:
        """The message was handled without a record."""
        await self._call()
        self.state.unsettled.discard(claim_key(channel, conversation_id, message_id))

    async def release_unsettled(self) -> int:
        """Forget the claims of messages that never got a record."""
        await self._call()
        released = sum(1 for key in self.state.unsettled if self.state.claims.pop(key, None) is not None)
        self.state.unsettled.clear()
        return released

    # -- records --------------------------------------------------------
    def _append_now(self, record: CommandRecord) -> StateEvent:
        stored = self.state.records.get(record.id)
        if record.version == 1 and stored is not None:
            raise StaleTransition(f"{record.id}: already stored")
        if record.version != 1 and (stored is None or stored.version != record.version - 1):
            raise StaleTransition(f"{record.id}: version {record.version - 1} is not the stored one")
        self.state.records[record.id] = record
        if record.version == 1 and record.message_id:  # the message has its record now: its claim is settled
            self.state.unsettled.discard(claim_key(record.channel, record.conversation_id, record.message_id))
        self.state.latest_seq += 1
        event = StateEvent(self.state.latest_seq, record)
        self.state.events.append(event)
        return event

    async def append(self, record: CommandRecord) -> StateEvent:
        """Write a record and its event; the event has the next seq (a refused change takes none)."""
        await self._call()
        return self._append_now(record)

    async def append_all(self, records: Sequence[CommandRecord]) -> Sequence[StateEvent]:
        """`append` for each in order; every valid change lands, then the first error is raised."""
        await self._call()
        events, error = [], None
        for record in records:
            try:
                events.append(self._append_now(record))
            except StaleTransition as exc:
                error = error or exc
        if error is not None:
            raise error
        return events

    async def get(self, command_id: str) -> CommandRecord | None:
        """The record with this id, if kept."""
        await self._call()
        return self.state.records.get(command_id)

    async def events_after(self, seq: int, limit: int) -> Sequence[StateEvent] | None:
        """Events after `seq`, or None when `seq` was pruned past or is from another store."""
        await self._call()
        high = self.state.latest_seq
        low = self.state.events[0].seq if self.state.events else high + 1
        if seq < low - 1 or seq > high:
            return None
        return [event for event in self.state.events if event.seq > seq][:limit]

    async def snapshot(self, limit: int) -> tuple[int, Sequence[CommandRecord]]:
        """(latest seq, the live records and the `limit` most recent)."""
        await self._call()
        return self._snapshot(list(self.state.records.values()), limit)

    async def snapshot_for(
        self, conversations: Sequence[str], limit: int, queues: Sequence[str] = ()
    ) -> tuple[int, Sequence[CommandRecord]]:
        """`snapshot` of the records of these conversations or queues."""
        await self._call()
        scoped = [
            r
            for r in self.state.records.values()
            if r.conversation_id in conversations or (r.queue_id is not None and r.queue_id in queues)
        ]
        return self._snapshot(scoped, limit)

    def _snapshot(self, records: list[CommandRecord], limit: int) -> tuple[int, Sequence[CommandRecord]]:
        recent = sorted(records, key=lambda r: r.updated_at, reverse=True)[:limit]
        chosen = {r.id: r for r in records if r.status not in TERMINAL} | {r.id: r for r in recent}
        return self.state.latest_seq, sorted(chosen.values(), key=lambda r: (r.updated_at, r.id))

    async def unfinished(self) -> Sequence[CommandRecord]:
        """Pending or executing records (not those awaiting approval), oldest change first."""
        await self._call()
        return sorted((r for r in self.state.records.values() if r.status in IN_FLIGHT), key=lambda r: r.updated_at)

    async def events_since(self, since: float, limit: int) -> Sequence[StateEvent]:
        """The kept events of changes made at or after `since`, oldest first."""
        await self._call()
        return [event for event in self.state.events if event.record.updated_at >= since][:limit]

    async def prune(self, older_than: float) -> int:
        """Drop old final records, the log's prefix up to its first young event, and expired claims."""
        await self._call()
        old = [key for key, r in self.state.records.items() if r.updated_at < older_than and r.status in TERMINAL]
        for key in old:
            del self.state.records[key]
        keep = next(
            (i for i, e in enumerate(self.state.events) if e.record.updated_at >= older_than), len(self.state.events)
        )
        del self.state.events[:keep]
        now = self._clock()
        expired = [key for key, expires_at in self.state.claims.items() if expires_at < now]
        for key in expired:
            del self.state.claims[key]
        return len(old) + keep + len(expired)

    # -- questions ------------------------------------------------------
    async def put_question(self, question: Question, limit: int) -> Sequence[Question]:
        """Keep it; returns the one it replaces and, past `limit`, the oldest."""
        await self._call()
        waiting = self.state.questions
        dropped = [old for old in [waiting.pop(question.key, None)] if old is not None]
        while waiting and len(waiting) >= limit:
            dropped.append(waiting.pop(next(iter(waiting))))
        waiting[question.key] = question
        return dropped

    async def get_question(self, key: QuestionKey, now: float) -> Question | None:
        """The question under `key` if it has not expired; not taken."""
        await self._call()
        question = self.state.questions.get(key)
        return question if question is not None and question.expires_at >= now else None

    async def take_question(self, key: QuestionKey, token: str | None, now: float) -> Question | Answer:
        """The question if `token` is its token (then forgotten), else why not."""
        await self._call()
        question = self.state.questions.get(key)
        if question is None or question.expires_at < now:
            return "none"
        if not token_matches(token, question):
            return "no_token"
        return self.state.questions.pop(key)

    async def expired_questions(self, now: float) -> Sequence[Question]:
        """Forget and return the questions that expired before `now`."""
        await self._call()
        expired = [key for key, question in self.state.questions.items() if question.expires_at < now]
        return [self.state.questions.pop(key) for key in expired]
