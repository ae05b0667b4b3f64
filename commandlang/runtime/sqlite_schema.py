"""The SQLite state file's tables, and the upgrade of files written by earlier releases."""

from __future__ import annotations

import sqlite3

__all__ = ["SCHEMA", "upgrade"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, queue_id TEXT, status TEXT NOT NULL,
    version INTEGER NOT NULL, updated_at REAL NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS commands_status ON commands(status);
CREATE INDEX IF NOT EXISTS commands_updated ON commands(updated_at);
CREATE INDEX IF NOT EXISTS commands_conversation ON commands(conversation_id, updated_at);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, command_id TEXT NOT NULL,
    created_at REAL NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_created ON events(created_at);
CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS unsettled (key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS questions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, expires_at REAL NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS questions_expiry ON questions(expires_at);
"""


def upgrade(connection: sqlite3.Connection) -> None:
    """Bring a state file written by an earlier release up to date (the writer connection, at open).

    Files from before stored confirmation questions get the `questions` table from `SCHEMA` itself
    (CREATE IF NOT EXISTS, on every connection). Files from before queue-scoped snapshots have no queue_id column: it is added, filled from the records.
    """
    columns = {row[1] for row in connection.execute("PRAGMA table_info(commands)")}
    if "queue_id" not in columns:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ALTER TABLE commands ADD COLUMN queue_id TEXT")
        connection.execute("UPDATE commands SET queue_id = json_extract(body, '$.queue_id')")
        connection.execute("COMMIT")
    connection.execute("CREATE INDEX IF NOT EXISTS commands_queue ON commands(queue_id, updated_at)")
