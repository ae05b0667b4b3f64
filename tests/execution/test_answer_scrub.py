"""What a user and the state store get from a backend that leaks: real answers over real sockets.

The backend answers what an attacker would make it answer (an internal
address in a 500, the card number back in a 400 or in a success); the tests
look where a user or an agent would look: the reply's text and `Answer.error`
(which the runtime stores as `record.error`, so sends in sync frames and
webhook answers).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import trio

from commandlang.execution import Executor
from commandlang.execution.answer import Answer, answer
from commandlang.registry.model import RetryPolicy
from commandlang.replies.compile_text import compile_text
from commandlang.replies.render import ReplyRenderer
from commandlang.replies.scrub import Scrubber
from commandlang.replies.templates import TemplateEngine

from .exec_support import SECRET_CARD, RawServer, call, make_registry, start

ENGINE = TemplateEngine()
ONCE = RetryPolicy(attempts=1)
WHO = {"id": "u1", "role": "agent"}


def answering(status: int, body: object) -> RawServer:
    data = json.dumps(body).encode()
    reason = b"OK" if status < 300 else b"Error"

    async def reply(index: int, head: bytes) -> bytes:
        return b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            status,
            reason,
            len(data),
            data,
        )

    return RawServer(reply)


async def run_refund(status: int, body: object, *, base_path: str = "") -> tuple[Answer, str]:
    """Run /refund (its `card` is sensitive) against a backend answering `status` + `body`; the answer and its text."""
    async with trio.open_nursery() as nursery:
        url = await start(nursery, answering(status, body))
        registry = make_registry(url + base_path, retry=ONCE)
        renderer = ReplyRenderer(ENGINE, scrubber=Scrubber.for_registry(registry))
        refund = call(registry, "refund", order="7", card=SECRET_CARD)
        async with Executor(registry, ENGINE) as executor:
            outcome = await executor.execute(refund, command_id="cmd-1")
        nursery.cancel_scope.cancel()
    result = answer(renderer, refund, outcome, user=WHO, conversation_id="c1")
    return result, compile_text(result.reply)


async def test_a_500_message_never_reaches_the_user_nor_the_stored_error() -> None:
    result, text = await run_refund(500, {"message": "database exploded at 10.1.2.3"})
    assert result.status == "failed" and result.error is not None and result.error["code"] == "backend_error"
    for shown in (text, json.dumps(result.error), json.dumps(result.reply.to_json())):
        assert "exploded" not in shown and "10.1.2.3" not in shown
    assert "The service had a problem" in text and "The service had a problem" in result.error["message"]


async def test_a_400_echoing_the_card_is_masked_in_the_reply_and_the_error() -> None:
    result, text = await run_refund(400, {"message": f"card {SECRET_CARD} was declined"})
    masked = "****" + SECRET_CARD[-4:]
    assert result.error is not None
    assert result.error["message"] == f"card {masked} was declined"  # the user still learns what was wrong
    assert f"card {masked} was declined" in text
    assert SECRET_CARD not in text and SECRET_CARD not in json.dumps(result.reply.to_json())


async def test_a_4xx_message_loses_urls_addresses_and_traces() -> None:
    leak = (
        "order 7 is locked by http://orders.internal:8700/v1/locks/7 on fd00::7 [10.0.0.5:5432] "
        'Traceback (most recent call last):\n  File "/srv/app/locks.py", line 12, in lock\nLockError'
    )
    result, text = await run_refund(409, {"message": leak})
    assert result.error is not None
    for shown in (text, result.error["message"]):
        assert shown.count("order 7 is locked by") == 1
        for internal in ("orders.internal", "http", "fd00::7", "10.0.0.5", "Traceback", "locks.py", "LockError"):
            assert internal not in shown


async def test_the_backends_own_host_name_is_removed_from_an_error() -> None:
    # the registry's backend is reached as 127.0.0.1; an answer naming the host of its base_url loses it too
    async with trio.open_nursery() as nursery:
        url = await start(nursery, answering(422, {"message": "rejected by billing-db.corp.example:5432"}))
        registry = make_registry(url, retry=ONCE)
        named = replace(
            registry,
            backends={
                **registry.backends,
                "billing": replace(
                    registry.backends["orders"], name="billing", base_url="https://billing-db.corp.example/v2"
                ),
            },
        )
        renderer = ReplyRenderer(ENGINE, scrubber=Scrubber.for_registry(named))
        refund = call(named, "refund", order="7", card=SECRET_CARD)
        async with Executor(named, ENGINE) as executor:
            outcome = await executor.execute(refund, command_id="cmd-1")
        nursery.cancel_scope.cancel()
    result = answer(renderer, refund, outcome, user=WHO, conversation_id="c1")
    assert result.error is not None and "billing-db" not in result.error["message"]
    assert "billing-db" not in compile_text(result.reply)
    assert result.error["message"].startswith("rejected by")


async def test_a_success_echoing_the_card_shows_it_masked() -> None:
    result, text = await run_refund(201, {"message": f"Refund R-1 booked to card {SECRET_CARD}", "refund_id": "R-1"})
    assert result.status == "completed" and result.error is None
    assert SECRET_CARD not in text and f"card ****{SECRET_CARD[-4:]}" in text


async def test_the_operators_log_keeps_what_the_backend_said_scrubbed(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    await run_refund(500, {"message": f"database exploded at 10.1.2.3 charging {SECRET_CARD}"})
    text = "\n".join(r.getMessage() + " " + repr(r.__dict__) for r in caplog.records)
    assert "database exploded at" in text and f"****{SECRET_CARD[-4:]}" in text  # what it said, for the operator
    assert SECRET_CARD not in text and "10.1.2.3" not in text
