"""The SQLite store's reads: plain functions over the reader connection, run in a worker thread by `SqliteStore`.

Under WAL they read beside the writer; a snapshot reads its seq and its rows in
one read transaction, so they agree.
"""

from __future__ import annotations

import sqlite3
from typing import Sequence

from .store import CommandRecord, StateEvent, record_from_body

__all__ = ["counts", "events_after", "events_since", "get", "latest_seq", "snapshot", "unfinished"]


def latest_seq(connection: sqlite3.Connection) -> int:
    """The seq of the last event appended, also once pruning has removed it (AUTOINCREMENT never reuses one)."""
    row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return int(row[0]) if row else 0


def get(connection: sqlite3.Connection, command_id: str) -> CommandRecord | None:
    row = connection.execute("SELECT body FROM commands WHERE id = ?", (command_id,)).fetchone()
    return record_from_body(row[0]) if row else None


def events_after(connection: sqlite3.Connection, seq: int, limit: int) -> Sequence[StateEvent] | None:
    high = latest_seq(connection)
    (low,) = connection.execute("SELECT MIN(seq) FROM events").fetchone()
    low = high + 1 if low is None else low  # every event pruned: resuming from the latest one still works
    if seq < low - 1 or seq > high:
        return None  # pruned past it, or from another store: the client needs a snapshot
    rows = connection.execute(
        "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
    ).fetchall()
    return [StateEvent(row[0], record_from_body(row[1])) for row in rows]


def events_since(connection: sqlite3.Connection, since: float, limit: int) -> Sequence[StateEvent]:
    """Events of changes made at or after `since` (`created_at` is the record's `updated_at`), in seq order."""
    rows = connection.execute(
        "SELECT seq, body FROM events WHERE created_at >= ? ORDER BY seq LIMIT ?", (since, limit)
    ).fetchall()
    return [StateEvent(row[0], record_from_body(row[1])) for row in rows]


def snapshot(
    connection: sqlite3.Connection, limit: int, scope: tuple[Sequence[str], Sequence[str]] | None = None
) -> tuple[int, Sequence[CommandRecord]]:
    """(latest seq, the live records and the `limit` most recent), of the whole store or of a
    (conversations, queues) scope, in (updated_at, id) order."""
    where = "1"
    params: tuple[str, ...] = ()
    if scope is not None:
        conversations, queues = scope
        where = (
            " OR ".join(
                filter(
                    None,
                    (
                        f"conversation_id IN ({','.join('?' * len(conversations))})" if conversations else "",
                        f"queue_id IN ({','.join('?' * len(queues))})" if queues else "",
                    ),
                )
            )
            or "0"
        )
        params = (*conversations, *queues)
    connection.execute("BEGIN")  # one read transaction: seq and rows agree
    try:
        high = latest_seq(connection)
        rows = connection.execute(
            f"SELECT body FROM commands WHERE ({where}) AND status IN ('awaiting_confirmation', 'awaiting_approval', 'pending', 'executing') "
            f"UNION SELECT body FROM (SELECT body FROM commands WHERE {where} ORDER BY updated_at DESC LIMIT ?)",
            (*params, *params, limit),
        ).fetchall()
    finally:
        connection.execute("COMMIT")
    return high, sorted((record_from_body(row[0]) for row in rows), key=lambda r: (r.updated_at, r.id))


def unfinished(connection: sqlite3.Connection) -> Sequence[CommandRecord]:
    rows = connection.execute(
        "SELECT body FROM commands WHERE status IN ('pending', 'executing') ORDER BY updated_at"
    ).fetchall()
    return [record_from_body(row[0]) for row in rows]


def counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Rows per table, for metrics and tests."""
    return {
        table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("commands", "events", "dedupe")
    }
