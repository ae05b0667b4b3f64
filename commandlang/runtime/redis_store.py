"""The shared store for several replicas: Redis, selected by a `redis://`, `rediss://` or `unix://` store URL.

Same `Store` interface as `SqliteStore`, plus `SharedStore`: `follow`, which feeds every
replica's sync hub and demo pages with the events *all* replicas append, so an
agent connected to any replica sees every command live.

Layout (every key under one hash tag, `{commandlang}:` by default, so a
Redis Cluster keeps them in one slot and the Lua scripts stay atomic):

- `cmd:<id>`: a hash of the record (`body` JSON, `version`, `status`, `conv`);
- `seq`: the global event counter; `events`: a stream whose entry ids are
  `<seq>-1`, so "events after seq N" is one `XRANGE` and ids are gapless;
- `live` (pending/executing ids), `recent` (every id by `updated_at`) and
  `conv:<id>` (a conversation's ids): sorted sets for snapshots and pruning;
- `dedupe:<channel>\\x1f<message id>`: `SET NX PX ttl`, so Redis expires claims itself;
- `questions` (question key -> body: confirmations and approvals), with `questions:age` and
  `questions:expiry` (sorted sets: the bound's oldest, the sweep's expired) and
  `questions:n` (the asking order). Not Redis's own expiry: an expired question
  must still reach one replica's sweep, which records its command `rejected`;
- `unsettled` (claim -> replica) and `owners` (unfinished command -> replica):
  whose work a restart may recover; `replica:<id>`: a lease each replica renews.

Every write is one Lua script (atomic: a record, its event and its indexes
change together or not at all; the version check keeps statuses moving
forward). A restarting replica recovers only its own unfinished commands and
unsettled claims, and those of replicas whose lease has run out; it never
touches the work of a live replica. Durability is Redis's: run it with AOF
(`appendonly yes`) where a lost second of state matters.

Errors: every Redis or network failure, and every call that does not answer
within `timeout`, raises `StoreUnavailable` (the runtime answers "try again").
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable, Sequence, TypeVar

import anyio
import coredis
import coredis.exceptions
import coredis.retry
import trio

from ..execution.retry import full_jitter
from . import redis_scripts as scripts
from .questions import Answer, Question, QuestionKey, question_key_text
from .store import (
    IN_FLIGHT,
    TERMINAL,
    ClaimedElsewhere,
    CommandRecord,
    EventSink,
    StaleTransition,
    StateEvent,
    StoreUnavailable,
    claim_key,
    record_body,
    record_from_body,
)

__all__ = ["RedisStore"]

log = logging.getLogger("commandlang.runtime")

#: What a lost or broken Redis connection raises through coredis (anyio's stream errors included).
_REDIS_ERRORS = (
    coredis.exceptions.RedisError,
    OSError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
)
E = TypeVar("E", bound=BaseException)


def _redis_failure(exc: BaseException) -> bool:
    """A lost or broken connection, alone or grouped (coredis runs connections in task groups)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_redis_failure(inner) for inner in exc.exceptions)
    return isinstance(exc, _REDIS_ERRORS)


def _only(exc: BaseException, kind: type[E]) -> E | None:
    """`exc` itself, or the one exception in a (nested) group, when it is a `kind`."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, kind) else None


def _seq(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])


class RedisStore:
    """`Store` on Redis, shared by replicas. Start `run` with `nursery.start`; `aclose` stops it."""

    def __init__(
        self,
        url: str,
        *,
        replica_id: str,
        prefix: str = "{commandlang}:",
        timeout: float = 10.0,
        lease: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`lease`: how long this replica's work stays its own after it stops renewing (it renews every third)."""
        self.url = url
        self.replica_id = replica_id
        self.prefix = prefix
        self._timeout = timeout
        self.lease = lease
        self._clock = clock
        self._client: coredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._closed = False
        self._stop = trio.Event()
        self._followed = 0  # the last seq `follow` published
        self._running = False
        self._stopped = trio.Event()

    def _connect(self, stream_timeout: float) -> coredis.Redis:
        # No client-side retries: a write script whose answer was lost must not run twice
        # (our callers see StoreUnavailable and answer "try again", which dedupe makes safe).
        return coredis.Redis.from_url(
            self.url,
            decode_responses=False,
            connect_timeout=self._timeout,
            stream_timeout=stream_timeout,
            retry_policy=coredis.retry.NoRetryPolicy(),
        )

    def _k(self, name: str) -> str:
        return self.prefix + name

    def describe(self) -> str:
        return f"Redis, shared (replica {self.replica_id})"  # not the URL: it may carry a password

    # -- lifecycle -------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, take this replica's lease, then renew it until `aclose`."""
        client = self._connect(self._timeout)
        self._running = True
        try:
            async with client:
                self._client = client
                self._scripts = {
                    name.lower(): client.register_script(getattr(scripts, name)) for name in scripts.__all__
                }
                try:
                    await self._renew_lease()
                except StoreUnavailable as exc:
                    raise StoreUnavailable(f"cannot reach Redis at start: {exc}") from None
                task_status.started()
                try:
                    await self._keep_lease()
                finally:
                    self._client = None
                    with trio.CancelScope(shield=True), trio.move_on_after(self._timeout):
                        try:  # gone: other replicas may recover our work at once
                            await client.delete([self._k(f"replica:{self.replica_id}")])
                        except Exception:  # noqa: BLE001 - best effort: the lease runs out by itself anyway
                            pass
        except BaseException as exc:  # from connecting or disconnecting; coredis wraps errors in groups
            unavailable = _only(exc, StoreUnavailable)
            if unavailable is not None:
                raise unavailable from None
            if not _redis_failure(exc):
                raise
            raise StoreUnavailable(f"cannot reach Redis: {exc.__class__.__name__}: {exc}") from None
        finally:
            self._stopped.set()

    async def _keep_lease(self) -> None:
        while not self._stop.is_set():
            with trio.move_on_after(self.lease / 3):
                await self._stop.wait()
            if not self._stop.is_set():
                try:
                    await self._renew_lease()
                except StoreUnavailable as exc:  # calls meanwhile say so too; keep trying
                    log.warning("redis: could not renew this replica's lease: %s", exc, extra={"stage": "store"})

    async def aclose(self) -> None:
        """Stop taking calls; `run` gives up the lease and disconnects (waited for, up to `timeout`)."""
        self._closed = True
        self._stop.set()
        if self._running:
            with trio.move_on_after(self._timeout):
                await self._stopped.wait()

    async def _renew_lease(self) -> None:
        await self._call(
            lambda c: c.set(self._k(f"replica:{self.replica_id}"), str(self._clock()), px=int(self.lease * 1000))
        )

    async def _call(self, operation: Callable[[coredis.Redis], Any]) -> Any:
        client = self._client
        if client is None or self._closed:
            raise StoreUnavailable("the store is not open")
        with trio.move_on_after(self._timeout) as scope:
            try:
                return await operation(client)
            except coredis.exceptions.ResponseError as exc:
                if "STALE" in str(exc):
                    raise StaleTransition(str(exc)) from None
                raise StoreUnavailable(f"redis: {exc}") from None
            except BaseException as exc:
                if not _redis_failure(exc):
                    raise
                raise StoreUnavailable(f"redis: {exc.__class__.__name__}: {exc}") from None
        assert scope.cancelled_caught
        raise StoreUnavailable(f"redis did not answer within {self._timeout:g}s")

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        script = self._scripts.get(name)
        if script is None:
            raise StoreUnavailable("the store is not open")

        async def run(client: coredis.Redis) -> Any:
            # EVALSHA directly (~25% less client CPU than the Script wrapper); a Redis that restarted has
            # forgotten its scripts, so NOSCRIPT loads this one again once
            try:
                return await client.evalsha(script.sha, keys=list(keys), args=list(args))
            except coredis.exceptions.NoScriptError:
                await client.script_load(script.script)
                return await client.evalsha(script.sha, keys=list(keys), args=list(args))

        return await self._call(run)

    # -- writes ----------------------------------------------------------
    async def append(self, record: CommandRecord) -> StateEvent:
        return (await self.append_all([record]))[0]

    async def append_all(self, records: Sequence[CommandRecord]) -> Sequence[StateEvent]:
        """Several changes in order in one script (one round trip); raises the first refused one's error."""
        keys: list[str] = []
        args: list[Any] = []
        for record in records:
            body = record_body(record)
            settles = (
                claim_key(record.channel, record.conversation_id, record.message_id)
                if record.version == 1 and record.message_id
                else ""
            )
            keys += [
                self._k(f"cmd:{record.id}"),
                self._k("seq"),
                self._k("events"),
                self._k("live"),
                self._k("recent"),
                self._k(f"conv:{record.conversation_id}"),
                self._k("unsettled"),
                self._k("owners"),
                self._k(f"queue:{record.queue_id or ''}"),
            ]
            args += [
                record.id,
                record.version,
                body,
                repr(record.updated_at),
                record.status,
                "1" if record.status in TERMINAL else "0",
                settles,
                record.conversation_id,
                self.replica_id,
                record.queue_id or "",
            ]
        seqs = await self._script("append", keys, args)
        return [StateEvent(int(seq), record) for seq, record in zip(seqs, records)]

    async def claim_message(self, channel: str, conversation_id: str, message_id: str, ttl: float) -> bool:
        key = claim_key(channel, conversation_id, message_id)
        claimed = int(
            await self._script(
                "claim",
                [self._k(f"dedupe:{key}"), self._k("unsettled")],
                [self.replica_id, max(1, int(ttl * 1000)), key, self.prefix],
            )
        )
        if claimed == 2:
            raise ClaimedElsewhere(f"message {message_id!r} is claimed by another replica that has not started it")
        return bool(claimed)

    async def release_message(self, channel: str, conversation_id: str, message_id: str) -> None:
        key = claim_key(channel, conversation_id, message_id)
        await self._call(lambda c: c.delete([self._k(f"dedupe:{key}")]))
        await self.settle_message(channel, conversation_id, message_id)

    async def settle_message(self, channel: str, conversation_id: str, message_id: str) -> None:
        await self._call(lambda c: c.hdel(self._k("unsettled"), [claim_key(channel, conversation_id, message_id)]))

    async def release_unsettled(self) -> int:
        return int(await self._script("release_unsettled", [self._k("unsettled")], [self.prefix, self.replica_id]))

    async def prune(self, older_than: float, *, batch: int = 5000) -> int:
        """Drop final records and events older than `older_than` (at most `batch` records a call).

        Dedupe claims need nothing: Redis expires them at their TTL."""
        return int(
            await self._script("prune", [self._k("recent"), self._k("events")], [self.prefix, repr(older_than), batch])
        )

    # -- reads -----------------------------------------------------------
    # -- questions -------------------------------------------------------
    def _question_keys(self) -> list[str]:
        return [self._k("questions"), self._k("questions:age"), self._k("questions:expiry")]

    async def put_question(self, question: Question, limit: int) -> list[Question]:
        dropped = await self._script(
            "put_question",
            [*self._question_keys(), self._k("questions:n")],
            [question_key_text(question.key), question.to_json(), repr(question.expires_at), int(limit)],
        )
        return [Question.from_json(body) for body in dropped]

    async def get_question(self, key: QuestionKey, now: float) -> Question | None:
        field = question_key_text(key)
        body = await self._call(lambda c: c.hget(self._k("questions"), field))
        expires_at = await self._call(lambda c: c.zscore(self._k("questions:expiry"), field))
        if not body or expires_at is None or float(expires_at) < now:
            return None
        return Question.from_json(body)

    async def take_question(self, key: QuestionKey, token: str | None, now: float) -> Question | Answer:
        # bytes: a token typed with a lone surrogate is a wrong token, not an encoding error
        typed = (token or "").encode("utf-8", "surrogatepass")
        reply = await self._script("take_question", self._question_keys(), [question_key_text(key), typed, repr(now)])
        outcome = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
        if outcome == "taken":
            return Question.from_json(reply[1])
        return "no_token" if outcome == "no_token" else "none"

    async def expired_questions(self, now: float, *, batch: int = 1000) -> list[Question]:
        # bounded per call, so one script never blocks Redis for long; the next sweep takes the rest
        bodies = await self._script("expired_questions", self._question_keys(), [repr(now), int(batch)])
        return [Question.from_json(body) for body in bodies]

    async def get(self, command_id: str) -> CommandRecord | None:
        body = await self._call(lambda c: c.hget(self._k(f"cmd:{command_id}"), "body"))
        return record_from_body(body) if body else None

    async def events_after(self, seq: int, limit: int) -> Sequence[StateEvent] | None:
        reply = await self._script("events_after", [self._k("seq"), self._k("events")], [int(seq), int(limit)])
        high, first = int(reply[0]), reply[1]
        low = _seq(first) if first else high + 1
        if seq < low - 1 or seq > high:
            return None  # trimmed past it, or from another store: the client needs a snapshot
        return [StateEvent(_seq(reply[i]), record_from_body(reply[i + 1])) for i in range(2, len(reply), 2)]

    async def events_since(self, since: float, limit: int, *, page: int = 1000) -> Sequence[StateEvent]:
        """Read the stream a page at a time (its ids are seqs, not times) and keep the changes made since `since`."""
        found: list[StateEvent] = []
        cursor = "-"
        while len(found) < limit:
            entries = await self._call(lambda c: c.xrange(self._k("events"), cursor, "+", count=page))
            for entry in entries:
                if float(entry.field_values[b"t"]) >= since:
                    found.append(StateEvent(_seq(entry.identifier), record_from_body(entry.field_values[b"b"])))
            if len(entries) < page:
                break
            last = entries[-1].identifier
            cursor = "(" + (last.decode() if isinstance(last, bytes) else last)
        return found[:limit]

    async def snapshot(self, limit: int) -> tuple[int, Sequence[CommandRecord]]:
        return await self._snapshot(limit, ["recent"])

    async def snapshot_for(
        self, conversations: Sequence[str], limit: int, queues: Sequence[str] = ()
    ) -> tuple[int, Sequence[CommandRecord]]:
        """Like `snapshot`, for a few conversations and queues: their live records and their `limit` most recent."""
        high, records = await self._snapshot(
            limit, [f"conv:{c}" for c in conversations] + [f"queue:{q}" for q in queues]
        )
        wanted, queued = set(conversations), set(queues)
        # every live record is read: keep those in scope
        mine = [r for r in records if r.conversation_id in wanted or (r.queue_id is not None and r.queue_id in queued)]
        live = [r for r in mine if r.status not in TERMINAL]
        recent = sorted(mine, key=lambda r: (r.updated_at, r.id))[-limit:] if limit else []
        return high, sorted({r.id: r for r in live + recent}.values(), key=lambda r: (r.updated_at, r.id))

    async def _snapshot(self, limit: int, sets: list[str]) -> tuple[int, list[CommandRecord]]:
        """The latest seq, every live record and the `limit` newest of each sorted set, read atomically."""
        reply = await self._script("snapshot", [self._k("live"), self._k("seq")], [self.prefix, int(limit), *sets])
        records = [record_from_body(body) for body in reply[1:]]
        return int(reply[0]), sorted(records, key=lambda r: (r.updated_at, r.id))

    async def unfinished(self) -> Sequence[CommandRecord]:
        """Records still pending or executing that this replica may recover: its own, or a dead replica's."""
        return await self._unfinished("all")

    async def orphaned(self) -> Sequence[CommandRecord]:
        """Records still pending or executing on replicas whose lease has run out (none of this replica's)."""
        return await self._unfinished("dead")

    async def own_unfinished(self) -> Sequence[CommandRecord]:
        """This replica's records still pending or executing (running, or left so by a store outage)."""
        return await self._unfinished("own")

    async def _unfinished(self, which: str) -> Sequence[CommandRecord]:
        bodies = await self._script(
            "unfinished", [self._k("live"), self._k("owners")], [self.prefix, self.replica_id, which]
        )
        # `live` holds approvals still waiting too: those are no replica's work, and no restart's
        records = (record_from_body(body) for body in bodies)
        return sorted((r for r in records if r.status in IN_FLIGHT), key=lambda r: r.updated_at)

    async def counts(self) -> dict[str, int]:
        """Records and kept events, for metrics and tests."""
        return {
            "commands": int(await self._call(lambda c: c.zcard(self._k("recent")))),
            "events": int(await self._call(lambda c: c.xlen(self._k("events")))),
        }

    async def latest_seq(self) -> int:
        """The seq of the last event any replica appended."""
        return int(await self._call(lambda c: c.get(self._k("seq"))) or 0)

    async def caught_up(self, timeout: float) -> bool:
        """Wait (up to `timeout`) until `follow` has published every event appended so far; True if it has.

        At shutdown, so the sessions this replica closes have seen the final states of its drained commands."""
        with trio.move_on_after(timeout):
            target = await self.latest_seq()
            while self._followed < target:
                await trio.sleep(0.01)
            return True
        return False

    # -- live fan-out across replicas ------------------------------------
    async def follow(
        self,
        sink: EventSink,
        *,
        after: int | None = None,
        block: float = 5.0,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Publish every event any replica appends (after seq `after`, default: from now) to `sink`, in order.

        Runs until cancelled. Uses its own connection (a blocking XREAD would hold up other calls);
        after a lost connection it reconnects with backoff and carries on from the last event seen,
        so nothing still in the stream is skipped.
        """
        last = after if after is not None else await self.latest_seq()
        self._followed = last
        task_status.started()
        failures = 0
        while True:
            client = self._connect(block + self._timeout)
            try:
                async with client:
                    while True:
                        reply = await client.xread({self._k("events"): f"{last}-1"}, count=512, block=int(block * 1000))
                        failures = 0
                        for entry in (reply or {}).get(self._k("events").encode(), ()):
                            seq = _seq(entry.identifier)
                            last = self._followed = seq
                            sink.publish(StateEvent(seq, record_from_body(entry.field_values[b"b"])))
            except BaseException as exc:
                if not _redis_failure(exc):
                    raise
                delay = full_jitter(failures, base=0.1, cap=5.0, random=random.random)
                failures += 1
                log.warning(
                    "redis: event feed lost (%s); reconnecting in %.1fs",
                    exc.__class__.__name__,
                    delay,
                    extra={"stage": "sync"},
                )
            await trio.sleep(delay)
