"""The embedded state store: one SQLite file in WAL mode, written with group commit.

Writes go through one writer task: each `append` or `claim_message`
queues an operation on a bounded channel (backpressure when full), the
writer commits everything queued so far in one transaction, and only then
wakes the callers. One transaction per batch instead of per state change is
what lets a busy service record thousands of changes a second.
`synchronous=NORMAL` under WAL survives a killed process (kill -9), not a
power cut; that is the trade most chat services want.

Where the commits run. A batch of up to `inline_max` operations (what a quiet
service queues) commits on the Trio thread: under WAL with
synchronous=NORMAL that is a write into the WAL file without fsync, ~0.1 ms
of CPU on the 2-vCPU development VM, while a hand-off to a worker thread and
back (`trio.to_thread.run_sync`) cost ~0.17 ms more per batch, paid ~4 times
per command at one conversation (bench_e2e there: server CPU 2.2-2.3 -> 1.6
ms per command). What could make that commit wait stays off the loop:
- locks: the writer connection has no busy timeout; if another connection
  (another process) holds the write lock, `BEGIN IMMEDIATE` fails at once and
  the batch goes to a worker thread, which waits for the lock;
- fsync: SQLite's automatic checkpoint is off (`wal_autocheckpoint=0`); every
  `checkpoint_commits` commits the writer task runs `PRAGMA
  wal_checkpoint(PASSIVE)` in a worker thread between two batches (writes wait
  meanwhile, as behind the automatic one, so the WAL can start over), and the
  first batch after a checkpoint or after opening goes to a worker too: the
  commit that starts the WAL file over syncs its header.
What remains on the loop is the write into the page cache: a disk that
stalls it stalls the loop. Bigger batches (a busy service) go to a worker
thread, where the hand-off is shared and SQLite, which releases the GIL, runs
on the other core. When the writer task would commit an operation alone and
at once on the Trio thread anyway (see `_idle_writer`), the caller commits it
in its own task: two wake-ups spared, ~25 us of CPU per round trip. Reads
(`sqlite_reads.py`) run in worker threads on their own connection. Every caller waits under
`timeout` (then StoreUnavailable; `_watch_waits` enforces it for queued writes).
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import trio

from . import sqlite_questions as questions
from . import sqlite_reads as reads
from .questions import Answer, Question, QuestionKey
from .sqlite_schema import SCHEMA, upgrade
from .store import TERMINAL, CommandRecord, StaleTransition, StateEvent, StoreUnavailable, claim_key, record_body

__all__ = ["SqliteStore", "StoreUnavailable"]

log = logging.getLogger("commandlang.runtime")

_LOCK_WAIT = 30.0  # seconds a worker thread waits for SQLite's write lock


def _close_all(connections: tuple[sqlite3.Connection | None, ...]) -> None:
    for connection in connections:
        if connection is not None:
            connection.close()


@dataclass(eq=False)
class _Operation:
    kind: str
    payload: Any
    done: trio.Event = field(default_factory=trio.Event)
    result: Any = None
    error: BaseException | None = None


class SqliteStore:
    """`Store` on a SQLite file. Start `run` with `nursery.start`; `aclose` drains and stops it."""

    def __init__(
        self,
        path: str,
        *,
        queue_size: int = 1024,
        batch_max: int = 512,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        inline_max: int = 8,
        checkpoint_commits: int = 150,
    ) -> None:
        self.path = path
        self._send, self._receive = trio.open_memory_channel[_Operation](queue_size)
        self._batch_max = batch_max
        self._inline_max = inline_max
        self._timeout = timeout
        self._clock = clock
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_limiter = trio.CapacityLimiter(1)
        # writes a caller waits on, with when it began waiting (insertion order: oldest first); bounded
        # by the queue, as each leaves when committed or failed
        self._waiting: dict[_Operation, float] = {}
        self._checkpoint_commits = checkpoint_commits  # ~6.7 pages a commit: ~1,000, as SQLite would
        self._commits = 0  # since the last checkpoint
        self._restart_possible = True  # the next commit may (re)start the WAL file, which syncs its header
        self._closed = False
        self._stopped = trio.Event()

    def describe(self) -> str:
        return f"{os.path.abspath(self.path)} (SQLite, WAL)"

    # -- lifecycle -------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the file, then commit queued writes until `aclose`."""
        try:
            self._writer = await trio.to_thread.run_sync(self._connect, True)
            self._reader = await trio.to_thread.run_sync(self._connect)
            task_status.started()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_waits)
                await self._write_loop()
                nursery.cancel_scope.cancel()
        finally:
            connections = (self._writer, self._reader)
            self._writer = self._reader = None
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(_close_all, connections)
            self._stopped.set()

    async def _write_loop(self) -> None:
        async with self._receive:
            while True:
                try:
                    first = await self._receive.receive()
                except trio.EndOfChannel:
                    return
                batch = [first]
                while len(batch) < self._batch_max:
                    try:
                        batch.append(self._receive.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                if len(batch) > self._inline_max or self._restart_possible or not self._write_batch(batch, False):
                    # Not abandoned on cancel: a batch, once begun, commits or rolls back whole.
                    await trio.to_thread.run_sync(self._write_batch, batch, True)
                    self._restart_possible = isinstance(batch[0].error, StoreUnavailable)  # not committed
                waiting = self._waiting
                for operation in batch:
                    operation.done.set()
                    waiting.pop(operation, None)
                self._commits += 1
                if self._commits >= self._checkpoint_commits:
                    self._commits = 0
                    self._restart_possible = True
                    await trio.to_thread.run_sync(self._checkpoint)

    def _checkpoint(self) -> None:
        if self._writer is None:  # closed meanwhile: nothing to checkpoint
            return
        try:
            self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next one tries again; the WAL only grows meanwhile
            log.warning("WAL checkpoint failed: %s", exc, extra={"stage": "store"})

    async def aclose(self) -> None:
        """Stop taking writes, commit what is queued, close the file."""
        if not self._closed:
            self._closed = True
            await self._send.aclose()
        with trio.move_on_after(self._timeout):
            await self._stopped.wait()

    def _connect(self, writer: bool = False) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=_LOCK_WAIT)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(SCHEMA)
        if writer:
            upgrade(connection)  # still in a worker thread, waiting for locks as needed
            # it may commit on the Trio thread: never wait for a lock there, never checkpoint there
            connection.execute("PRAGMA busy_timeout=0")
            connection.execute("PRAGMA wal_autocheckpoint=0")
        return connection

    # -- writes (through the writer task) --------------------------------
    async def _submit(self, kind: str, payload: Any) -> Any:
        return (await self._submit_all([_Operation(kind, payload)]))[0]

    async def _submit_all(self, operations: list[_Operation]) -> list[Any]:
        """Commit `operations` in order, in one transaction when they fit one batch."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        await trio.lowlevel.checkpoint_if_cancelled()
        if len(operations) <= self._inline_max and self._idle_writer() and self._write_batch(operations, False):
            # Committed in the caller's task, as the writer would have at once (see the module docstring).
            self._commits += 1
            await trio.lowlevel.cancel_shielded_checkpoint()
        else:
            for operation in operations:
                try:
                    self._send.send_nowait(operation)  # no checkpoint in between: the writer takes them together
                except trio.WouldBlock:  # the queue is full: wait for room, as long as a commit may take
                    with trio.move_on_after(self._timeout) as scope:
                        await self._send.send(operation)
                    if scope.cancelled_caught:
                        raise StoreUnavailable(f"the store did not answer within {self._timeout:g}s") from None
            # Batches commit in queue order: the last done, all are. No cancel scope for this wait (one
            # per write was a measurable share of the CPU per command): `_watch_waits` fails it in time.
            last = operations[-1]
            self._waiting[last] = trio.current_time()
            await last.done.wait()
        for operation in operations:
            if operation.error is not None:
                raise operation.error
        return [operation.result for operation in operations]

    async def _watch_waits(self) -> None:
        """Fail the writes waited on for longer than `timeout` (StoreUnavailable), checked every quarter
        of it: a caller learns of a hung commit within 1.25 x `timeout`."""
        waiting = self._waiting
        while True:
            await trio.sleep(self._timeout / 4)
            now = trio.current_time()
            while waiting:
                operation, since = next(iter(waiting.items()))  # the oldest first
                if now - since < self._timeout:
                    break
                del waiting[operation]
                operation.error = StoreUnavailable(f"the store did not answer within {self._timeout:g}s")
                operation.done.set()

    def _idle_writer(self) -> bool:
        """True when the writer task would commit a write alone, at once, on the Trio thread: it waits on an
        empty queue (all queued before is committed), no other task is runnable (none could join the
        batch), and the commit needs no worker thread and no checkpoint after it."""
        queue = self._receive.statistics()
        return (
            queue.tasks_waiting_receive == 1
            and queue.current_buffer_used == 0
            and trio.lowlevel.current_statistics().tasks_runnable == 0
            and self._writer is not None
            and not self._restart_possible
            and self._commits + 1 < self._checkpoint_commits
        )

    async def append(self, record: CommandRecord) -> StateEvent:
        return await self._submit("append", record)

    async def append_all(self, records: Sequence[CommandRecord]) -> list[StateEvent]:
        return await self._submit_all([_Operation("append", record) for record in records])

    async def claim_message(self, channel: str, conversation_id: str, message_id: str, ttl: float) -> bool:
        return bool(await self._submit("claim", (claim_key(channel, conversation_id, message_id), self._clock() + ttl)))

    async def release_message(self, channel: str, conversation_id: str, message_id: str) -> None:
        await self._submit("release", claim_key(channel, conversation_id, message_id))

    async def settle_message(self, channel: str, conversation_id: str, message_id: str) -> None:
        await self._submit("settle", claim_key(channel, conversation_id, message_id))

    async def release_unsettled(self) -> int:
        return int(await self._submit("release_unsettled", None))

    async def prune(self, older_than: float) -> int:
        return int(await self._submit("prune", older_than))

    async def put_question(self, question: Question, limit: int) -> list[Question]:
        return await self._submit("put_question", (question, limit))

    async def get_question(self, key: QuestionKey, now: float) -> Question | None:
        return await self._read(functools.partial(questions.get, key=key, now=now))

    async def take_question(self, key: QuestionKey, token: str | None, now: float) -> Question | Answer:
        return await self._submit("take_question", (key, token, now))

    async def expired_questions(self, now: float) -> list[Question]:
        return await self._submit("expired_questions", now)

    # the writer runs `_do_<kind>` in its transaction; the questions' are in sqlite_questions.py
    _do_put_question = staticmethod(questions.put)
    _do_take_question = staticmethod(questions.take)
    _do_expired_questions = staticmethod(questions.expired)

    def _write_batch(self, batch: list[_Operation], wait_for_lock: bool) -> bool:
        """Commit `batch` in one transaction; without `wait_for_lock`, False if the lock is taken."""
        connection = self._writer
        assert connection is not None
        try:
            if wait_for_lock:
                connection.execute(f"PRAGMA busy_timeout={int(_LOCK_WAIT * 1000)}")
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                if not wait_for_lock:
                    return False
                raise
            for operation in batch:
                connection.execute("SAVEPOINT op")
                try:
                    operation.result = getattr(self, f"_do_{operation.kind}")(connection, operation.payload)
                    connection.execute("RELEASE op")
                except (StaleTransition, sqlite3.IntegrityError, ValueError) as exc:
                    connection.execute("ROLLBACK TO op")
                    connection.execute("RELEASE op")
                    operation.error = exc
            connection.execute("COMMIT")
        except BaseException as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            for operation in batch:
                operation.error = StoreUnavailable(f"the store could not write: {exc}")
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and the like, which reach the Trio thread: never swallowed
        finally:
            if wait_for_lock:
                connection.execute("PRAGMA busy_timeout=0")
        return True

    def _do_append(self, connection: sqlite3.Connection, record: CommandRecord) -> StateEvent:
        body = record_body(record)
        if record.version == 1:
            try:
                connection.execute(
                    "INSERT INTO commands (id, conversation_id, queue_id, status, version, updated_at, body) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.conversation_id,
                        record.queue_id,
                        record.status,
                        record.version,
                        record.updated_at,
                        body,
                    ),
                )
            except sqlite3.IntegrityError:  # as every store says it: a record created twice is not its next version
                raise StaleTransition(f"{record.id}: already stored") from None
        else:
            # The previous version must still be the stored one: statuses only move forward.
            cursor = connection.execute(
                "UPDATE commands SET status = ?, version = ?, updated_at = ?, body = ? WHERE id = ? AND version = ?",
                (record.status, record.version, record.updated_at, body, record.id, record.version - 1),
            )
            if cursor.rowcount != 1:
                raise StaleTransition(f"{record.id}: version {record.version - 1} is not the stored one")
        if record.version == 1 and record.message_id:  # the message has its record now: its claim is settled
            connection.execute(
                "DELETE FROM unsettled WHERE key = ?",
                (claim_key(record.channel, record.conversation_id, record.message_id),),
            )
        cursor = connection.execute(
            "INSERT INTO events (command_id, created_at, body) VALUES (?, ?, ?)", (record.id, record.updated_at, body)
        )
        seq = cursor.lastrowid
        assert seq is not None  # an INSERT into a rowid table always sets it
        return StateEvent(seq, record)

    def _do_claim(self, connection: sqlite3.Connection, payload: tuple[str, float]) -> bool:
        key, expires_at = payload
        now = self._clock()
        connection.execute("DELETE FROM dedupe WHERE key = ? AND expires_at < ?", (key, now))
        if connection.execute("INSERT OR IGNORE INTO dedupe (key, expires_at) VALUES (?, ?)", payload).rowcount != 1:
            return False
        connection.execute("INSERT OR IGNORE INTO unsettled (key) VALUES (?)", (key,))
        return True

    def _do_release(self, connection: sqlite3.Connection, key: str) -> None:
        connection.execute("DELETE FROM dedupe WHERE key = ?", (key,))
        connection.execute("DELETE FROM unsettled WHERE key = ?", (key,))

    def _do_settle(self, connection: sqlite3.Connection, key: str) -> None:
        connection.execute("DELETE FROM unsettled WHERE key = ?", (key,))

    def _do_release_unsettled(self, connection: sqlite3.Connection, _: None) -> int:
        released = connection.execute("DELETE FROM dedupe WHERE key IN (SELECT key FROM unsettled)").rowcount
        connection.execute("DELETE FROM unsettled")
        return released

    def _do_prune(self, connection: sqlite3.Connection, older_than: float) -> int:
        final = tuple(TERMINAL)
        marks = ",".join("?" * len(final))
        removed = connection.execute(
            f"DELETE FROM commands WHERE updated_at < ? AND status IN ({marks})", (older_than, *final)
        ).rowcount
        # A prefix of the log, up to the first event young enough to keep: an older event after it (a clock
        # stepped back, another writer's) stays, so resuming never skips a kept seq. `+created_at` keeps
        # SQLite walking seq order from the oldest, stopping at the first young event (as many steps as
        # events it deletes), instead of reading every young one through the created_at index.
        removed += connection.execute(
            "DELETE FROM events WHERE seq < COALESCE((SELECT seq FROM events WHERE +created_at >= ? ORDER BY seq "
            "LIMIT 1), (SELECT MAX(seq) + 1 FROM events))",
            (older_than,),
        ).rowcount
        removed += connection.execute("DELETE FROM dedupe WHERE expires_at < ?", (self._clock(),)).rowcount
        return removed

    # -- reads (a separate connection; WAL lets it read beside the writer) -----
    async def _read(self, query: Callable[[sqlite3.Connection], Any]) -> Any:
        if self._reader is None:
            raise StoreUnavailable("the store is not open")
        reader = self._reader
        with trio.move_on_after(self._timeout) as scope:
            return await trio.to_thread.run_sync(query, reader, limiter=self._read_limiter)
        if scope.cancelled_caught:  # pragma: no cover - only under a stuck disk
            raise StoreUnavailable(f"the store did not answer within {self._timeout:g}s")

    async def get(self, command_id: str) -> CommandRecord | None:
        return await self._read(functools.partial(reads.get, command_id=command_id))

    async def events_after(self, seq: int, limit: int) -> Sequence[StateEvent] | None:
        return await self._read(functools.partial(reads.events_after, seq=seq, limit=limit))

    async def events_since(self, since: float, limit: int) -> Sequence[StateEvent]:
        return await self._read(functools.partial(reads.events_since, since=since, limit=limit))

    async def snapshot(self, limit: int) -> tuple[int, Sequence[CommandRecord]]:
        return await self._read(functools.partial(reads.snapshot, limit=limit))

    async def snapshot_for(
        self, conversations: Sequence[str], limit: int, queues: Sequence[str] = ()
    ) -> tuple[int, Sequence[CommandRecord]]:
        """Like `snapshot`, for a few conversations and queues: their live records and their `limit` most recent.

        The sync hub uses it for conversation- and queue-scoped sessions (the agent panel, a queue's
        wallboard), whose commands would otherwise fall out of a store-wide "most recent" window on
        a busy service.
        """
        return await self._read(
            functools.partial(reads.snapshot, limit=limit, scope=(list(conversations), list(queues)))
        )

    async def unfinished(self) -> Sequence[CommandRecord]:
        return await self._read(reads.unfinished)

    async def counts(self) -> dict[str, int]:
        """Rows per table, for metrics and tests."""
        return await self._read(reads.counts)
