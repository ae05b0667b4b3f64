"""Every demo fault maps to its outcome, code and a user message with no internals; secrets stay out of logs."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
import trio

from commandlang.execution import BackendError, BadResponse, Executor, Success, Timeout, Unreachable
from commandlang.registry.model import AuthSpec, RetryPolicy
from commandlang.replies.templates import TemplateEngine
from commandlang.testing.demo_backend import Fault

from .exec_support import SECRET_CARD, SECRET_KEY, SECRET_TOKEN, call, closed_port_url, make_registry, running_demo

ENGINE = TemplateEngine()
ONCE = RetryPolicy(attempts=1)


async def run_with(
    fault: Fault, command: str = "order.status", *, limit: int = 1024 * 1024, timeout: float = 5.0, **args: object
):
    async with running_demo() as demo:
        demo.backend.plan(fault)
        registry = make_registry(demo.url, retry=ONCE, max_response_bytes=limit, timeout=timeout)
        async with Executor(registry, ENGINE) as executor:
            started = trio.current_time()
            outcome = await executor.execute(call(registry, command, **(args or {"order": "5"})), command_id="cmd-1")
            return outcome, trio.current_time() - started, demo


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_error_statuses_are_backend_errors_with_the_backends_message(status: int) -> None:
    outcome, _, _ = await run_with(Fault(status=status))
    assert isinstance(outcome, BackendError) and outcome.status == status and outcome.code == "backend_error"
    assert outcome.message == f"Injected fault: HTTP {status}"
    if status >= 500:  # what a failing server says is for the operator only
        assert outcome.user_message == BackendError(status).user_message
    else:
        assert outcome.user_message == outcome.message


async def test_not_found_shows_the_backends_message() -> None:
    outcome, _, _ = await run_with(Fault(), order="abc")
    assert isinstance(outcome, BackendError) and outcome.status == 404
    assert outcome.user_message == "Order abc was not found"


async def test_malformed_json_is_a_bad_response() -> None:
    outcome, _, _ = await run_with(Fault(malformed=True))
    assert isinstance(outcome, BadResponse) and outcome.reason == "not_json" and outcome.code == "bad_response"


async def test_reset_is_unreachable() -> None:
    outcome, _, _ = await run_with(Fault(reset=True))
    assert isinstance(outcome, Unreachable) and outcome.code == "unreachable"


async def test_a_reset_post_without_retries_left_is_unreachable_once() -> None:
    outcome, _, demo = await run_with(Fault(reset=True), "callback", phone="+4915112345678")
    assert isinstance(outcome, Unreachable) and outcome.attempts == 1
    assert len(demo.backend.requests) == 1


async def test_slow_body_past_the_attempt_timeout_is_a_timeout() -> None:
    outcome, elapsed, _ = await run_with(Fault(slow_body=3.0), timeout=0.5)
    assert isinstance(outcome, Timeout) and outcome.code == "timeout"
    assert elapsed < 1.5


async def test_slow_body_within_the_timeout_succeeds() -> None:
    outcome, _, _ = await run_with(Fault(slow_body=0.2), timeout=2.0)
    assert isinstance(outcome, Success) and outcome.json["order"] == 5


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_oversized_answer_is_refused(chunked: bool) -> None:
    outcome, elapsed, _ = await run_with(Fault(oversize=8 * 1024 * 1024, chunked=chunked), limit=256 * 1024)
    assert isinstance(outcome, BadResponse) and outcome.reason == "too_large"
    assert elapsed < 2.0


async def test_an_answer_just_under_the_limit_is_accepted() -> None:
    outcome, _, _ = await run_with(Fault(oversize=200 * 1024, chunked=True), limit=256 * 1024)
    assert isinstance(outcome, Success) and len(outcome.json) == 200 * 1024 - 2


async def test_default_contract_success_and_error() -> None:
    ok, _, _ = await run_with(Fault(), "ticket.close", ticket=42)
    assert isinstance(ok, Success) and ok.message == "ticket.close done"
    assert ok.to_context()["data"] == {"command": "ticket.close", "args": {"ticket": 42}}
    refused, _, _ = await run_with(Fault(contract_error="Ticket 42 is already closed"), "ticket.close", ticket=42)
    assert isinstance(refused, BackendError) and refused.status == 200
    assert refused.user_message == "Ticket 42 is already closed"


async def test_header_fault_selection_works_per_request() -> None:
    async with running_demo() as demo:
        registry = make_registry(demo.url, retry=ONCE, command_headers={"X-Demo-Fault": "status=502"})
        async with Executor(registry, ENGINE) as executor:
            outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
    assert isinstance(outcome, BackendError) and outcome.status == 502


@pytest.mark.parametrize(
    "outcome",
    [
        BackendError(500),
        BackendError(429),
        BackendError(404),
        BackendError(403),
        BackendError(418),
        Timeout(),
        Unreachable("ConnectError"),
        BadResponse(200, "not_json"),
        BadResponse(200, "too_large"),
    ],
)
def test_user_messages_say_what_failed_without_internals(outcome: object) -> None:
    text = outcome.user_message  # type: ignore[attr-defined]
    assert text and "http" not in text.lower() and "Error" not in text and "Traceback" not in text
    assert outcome.to_context()["code"] in ("backend_error", "timeout", "unreachable", "bad_response")  # type: ignore[attr-defined]


async def test_secrets_and_sensitive_args_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level: ours, httpx's, hypercorn's
    async with running_demo() as demo:
        demo.backend.plan(Fault(status=503), times=1)
        registry = make_registry(
            demo.url,
            auth=AuthSpec("bearer", SECRET_TOKEN),
            headers={"X-Api-Key": SECRET_KEY},
            retry=RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01),
        )
        async with Executor(registry, ENGINE) as executor:
            ok = await executor.execute(
                call(registry, "refund", order=SECRET_CARD, amount=Decimal("1"), card=SECRET_CARD), command_id="cmd-1"
            )
            demo.backend.plan(Fault(status=500))
            failed = await executor.execute(call(registry, "refund", order="1", card=SECRET_CARD), command_id="cmd-2")
        # the backend did receive them: the test would be void otherwise
        assert demo.backend.requests[0].header("Authorization") == f"Bearer {SECRET_TOKEN}"
        assert SECRET_CARD in demo.backend.requests[0].path
    unreachable_registry = make_registry(closed_port_url(), auth=AuthSpec("bearer", SECRET_TOKEN), retry=ONCE)
    async with Executor(unreachable_registry, ENGINE) as executor:
        await executor.execute(
            call(unreachable_registry, "refund", order=SECRET_CARD, card=SECRET_CARD), command_id="cmd-3"
        )
    assert isinstance(ok, Success) and isinstance(failed, BackendError)
    assert any(r.name == "commandlang.execution" for r in caplog.records)  # we did log the retry and the failures
    text = "\n".join(r.getMessage() + " " + repr(r.__dict__) for r in caplog.records)
    for secret in (SECRET_TOKEN, SECRET_KEY, SECRET_CARD):
        assert secret not in text
