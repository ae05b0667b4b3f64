"""A waiting question's typed text is sealed at rest (runtime/sealing.py): a `sensitive` argument typed
with a command that waits for a yes or an approval is nowhere in the SQLite file (WAL included), nor in
Redis (every key, and its append-only file), nor in the logs; the yes still runs it with the real value.
A restart with the same key answers the question; another key ends it with a clear reply."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import pytest
import trio

from commandlang.errors import ConfigError
from commandlang.runtime.questions import Question
from commandlang.runtime.sealing import SEALED_PREFIX, QuestionSeal

from ..redis_server import RedisServer
from .approval_support import REGISTRY, approval_code
from .support import QUESTION_KEY, running_service
from .test_confirmations import token_of

CARD = "4111111111111111"
SEALED = (
    REGISTRY
    + """
  pay:
    summary: Charge a card, after a yes
    args:
      card: {type: str, positional: true, required: true, sensitive: true}
    request: {backend: demo, method: GET, path: "/orders/1", query: {card: "{{ args.card }}"}}
    confirm: "Charge the card?"
  charge:
    summary: Charge a card once a supervisor approves
    args:
      card: {type: str, positional: true, required: true, sensitive: true}
    request: {backend: demo, method: GET, path: "/orders/2", query: {card: "{{ args.card }}"}}
    approve: {roles: [supervisor], timeout: 30m}
"""
)
OTHER_KEY = base64.b64encode(os.urandom(32)).decode()
UNREADABLE = "This question can no longer be answered here; please send the command again."
DUMP_ALL = """
local out = {}
for _, key in ipairs(redis.call('KEYS', '*')) do
  local kind = redis.call('TYPE', key)['ok']
  table.insert(out, key)
  if kind == 'string' then table.insert(out, redis.call('GET', key))
  elseif kind == 'hash' then table.insert(out, redis.call('HGETALL', key))
  elseif kind == 'list' then table.insert(out, redis.call('LRANGE', key, 0, -1))
  elseif kind == 'set' then table.insert(out, redis.call('SMEMBERS', key))
  elseif kind == 'zset' then table.insert(out, redis.call('ZRANGE', key, 0, -1))
  elseif kind == 'stream' then table.insert(out, redis.call('XRANGE', key, '-', '+'))
  else table.insert(out, 'unread type ' .. kind) end
end
return out
"""


def _question(**changes: object) -> Question:
    base = dict(
        token="t0k3n",
        text=f"/pay {CARD}",
        command="pay",
        expires_at=1.0,
        channel="webhook",
        conversation_id="c1",
        participant_id="agent-1",
        role="agent",
        message_id="m1",
    )
    return Question(**{**base, **changes})  # type: ignore[arg-type]


def test_a_sealed_text_opens_only_with_its_key_and_on_its_own_question() -> None:
    seal = QuestionSeal.from_settings(QUESTION_KEY, "")
    sealed = seal.seal(_question())
    assert sealed.text.startswith(SEALED_PREFIX) and CARD not in sealed.to_json()
    assert seal.open(Question.from_json(sealed.to_json())) == _question()  # as a store gives it back
    assert seal.seal(sealed) == sealed  # never sealed twice
    assert QuestionSeal.from_settings(OTHER_KEY, "").open(sealed) is None
    for moved in ({"token": "other"}, {"conversation_id": "c2"}, {"participant_id": "agent-2"}, {"kind": "approve"}):
        assert seal.open(Question.from_json({**json.loads(sealed.to_json()), **moved})) is None, moved
    assert seal.open(_question()) == _question()  # stored in the clear by an older version: still read


def test_the_key_comes_from_the_question_key_else_the_sync_secret_else_chance() -> None:
    assert QuestionSeal.from_settings(QUESTION_KEY, "s").source == "question_key"
    derived = QuestionSeal.from_settings("", "a sync secret")
    assert derived.source == "sync_secret" and derived == QuestionSeal.from_settings("", "a sync secret")
    assert derived.open(QuestionSeal.from_settings("", "another").seal(_question())) is None
    assert QuestionSeal.from_settings("", "").source == "random"
    assert "key=" not in repr(derived)
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ConfigError, match="COMMANDLANG_QUESTION_KEY"):
            QuestionSeal.from_settings(bad, "")


def _files_under(folder: Path, prefix: str = "") -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob(f"{prefix}*")) if p.is_file())


async def _redis_dump(redis: RedisServer) -> bytes:
    done = await trio.run_process(
        ["redis-cli", "-s", str(redis.socket), "EVAL", DUMP_ALL, "0"], capture_stdout=True, capture_stderr=True
    )
    assert done.stdout.strip(), done.stderr
    return done.stdout


async def _flows(run, read_at_rest) -> None:  # noqa: ANN001
    """A confirm flow and an approval flow of a `sensitive` card, read at rest while each waits and after."""
    asked = (await run.webhook(f"/pay {CARD}", conversation="s1")).json()
    assert asked["command"]["status"] == "awaiting_confirmation"
    waiting = (await run.webhook(f"/charge {CARD}", conversation="s2", participant="agent-1", role="agent")).json()
    assert waiting["command"]["status"] == "awaiting_approval"
    assert CARD.encode() not in await read_at_rest()
    done = (await run.webhook(f"/confirm {token_of(asked)}", conversation="s1")).json()
    assert done["command"]["status"] == "completed"
    approved = (await run.webhook(f"/approve {approval_code(waiting)}", participant="sup-1", role="supervisor")).json()
    assert approved["command"]["status"] == "completed"
    # the real value reached the backend, after the yes and after the approval
    cards = [dict(r.query).get("card") for r in run.backend.requests if r.path in ("/v1/orders/1", "/v1/orders/2")]
    assert cards == [CARD, CARD]
    assert CARD.encode() not in await read_at_rest()
    assert CARD not in json.dumps(await run.rows()) + json.dumps(await run.events())


async def test_a_sensitive_value_typed_with_a_waiting_command_is_nowhere_in_the_sqlite_file(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_service(tmp_path, SEALED) as run:

        async def read_at_rest() -> bytes:
            return _files_under(tmp_path, "state.db")  # the database, its WAL and shared memory

        await _flows(run, read_at_rest)
        assert CARD not in caplog.text and CARD not in run.out.getvalue()
    assert CARD.encode() not in _files_under(tmp_path, "state.db")


async def test_a_sensitive_value_typed_with_a_waiting_command_is_nowhere_in_redis(tmp_path, redis, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    (tmp_path / "r").mkdir()
    async with running_service(tmp_path / "r", SEALED, redis_url=redis.url, replica_id="a") as run:

        async def read_at_rest() -> bytes:
            return await _redis_dump(redis) + _files_under(redis.folder)  # every key, and every write ever (AOF)

        await _flows(run, read_at_rest)
        assert CARD not in caplog.text and CARD not in run.out.getvalue()


async def test_a_restart_with_the_same_key_answers_and_with_another_ends_the_question_clearly(tmp_path) -> None:
    async with running_service(tmp_path, SEALED, question_key=QUESTION_KEY) as run:
        first = (await run.webhook(f"/pay {CARD}", conversation="k1")).json()
        second = (await run.webhook(f"/pay {CARD}", conversation="k2")).json()
        approval = (await run.webhook(f"/charge {CARD}", conversation="k3")).json()
    async with running_service(tmp_path, SEALED, question_key=QUESTION_KEY) as run:
        done = (await run.webhook(f"/confirm {token_of(first)}", conversation="k1")).json()
        assert done["command"]["id"] == first["command"]["id"] and done["command"]["status"] == "completed"
    async with running_service(tmp_path, SEALED, question_key=OTHER_KEY) as run:  # a rotated key
        answer = (await run.webhook(f"/confirm {token_of(second)}", conversation="k2")).json()
        assert [r["text"] for r in answer["replies"]] == [UNREADABLE]
        approver = (
            await run.webhook(f"/approve {approval_code(approval)}", participant="sup-1", role="supervisor")
        ).json()
        assert approver["replies"][0]["text"] == UNREADABLE
        ended = {r["id"]: r for r in await run.rows()}
        for asked in (second, approval):
            row = ended[asked["command"]["id"]]
            assert (row["status"], row["error"]["code"]) == ("rejected", "question_unreadable")
        assert not run.backend.requests_to("/v1/orders/2")  # never run


async def test_a_shared_store_without_a_key_warns_at_start(tmp_path, redis, caplog) -> None:
    async with running_service(tmp_path, SEALED, redis_url=redis.url, replica_id="a"):
        pass
    assert "COMMANDLANG_QUESTION_KEY" in caplog.text


async def test_a_question_an_older_version_stored_in_the_clear_is_still_answered(tmp_path) -> None:
    async with running_service(tmp_path, SEALED) as run:
        store = run.service.store
        assert store is not None
        older = _question(text=f"/pay {CARD}", expires_at=run.service.clock() + 300, conversation_id="o1")
        await store.put_question(older, 100)
        done = (await run.webhook(f"/confirm {older.token}", conversation="o1")).json()
        assert done["command"]["status"] == "completed" and done["command"]["args"] == {"card": "****1111"}
        assert [dict(r.query).get("card") for r in run.backend.requests_to("/v1/orders/1")] == [CARD]
