"""`SqliteStore`'s questions (confirmations, approvals): the writes, run by its writer inside a batch's
transaction, and `get`, a read on the reader connection.

The `questions` table (sqlite_schema.py) keeps one row per key; `seq` is the asking order, so the
bound forgets the oldest asked, and `expires_at` is indexed for the sweep. Each function runs in
one transaction: a take is accepted once however many callers race for it.
"""

from __future__ import annotations

import sqlite3

from .questions import Answer, Question, QuestionKey, question_key_text, token_matches

__all__ = ["put", "get", "take", "expired"]


def _forget(connection: sqlite3.Connection, where: str, args: tuple[object, ...]) -> list[Question]:
    # RETURNING gives no order: sort by seq, so what is forgotten comes oldest first
    rows = connection.execute(f"DELETE FROM questions WHERE {where} RETURNING seq, body", args).fetchall()
    return [Question.from_json(body) for _, body in sorted(rows)]


def put(connection: sqlite3.Connection, payload: tuple[Question, int]) -> list[Question]:
    question, limit = payload
    key = question_key_text(question.key)
    dropped = _forget(connection, "key = ?", (key,))
    (waiting,) = connection.execute("SELECT COUNT(*) FROM questions").fetchone()
    if waiting >= limit:
        dropped += _forget(
            connection, "seq IN (SELECT seq FROM questions ORDER BY seq LIMIT ?)", (waiting - limit + 1,)
        )
    connection.execute(
        "INSERT INTO questions (key, expires_at, body) VALUES (?, ?, ?)", (key, question.expires_at, question.to_json())
    )
    return dropped


def get(connection: sqlite3.Connection, key: QuestionKey, now: float) -> Question | None:
    """A read (on the reader connection): the question waiting under `key`, if it has not expired."""
    row = connection.execute("SELECT body FROM questions WHERE key = ?", (question_key_text(key),)).fetchone()
    question = Question.from_json(row[0]) if row is not None else None
    return question if question is not None and question.expires_at >= now else None


def take(connection: sqlite3.Connection, payload: tuple[QuestionKey, str | None, float]) -> Question | Answer:
    key, token, now = payload
    row = connection.execute("SELECT body FROM questions WHERE key = ?", (question_key_text(key),)).fetchone()
    question = Question.from_json(row[0]) if row is not None else None
    if question is None or question.expires_at < now:
        return "none"  # an expired one stays for `expired`, which records it unanswered
    if not token_matches(token, question):
        return "no_token"
    connection.execute("DELETE FROM questions WHERE key = ?", (question_key_text(key),))
    return question


def expired(connection: sqlite3.Connection, now: float) -> list[Question]:
    return _forget(connection, "expires_at < ?", (now,))
