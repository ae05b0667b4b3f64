"""The Executor against the demo backend over real sockets: retries, Retry-After, deadlines, keys."""

from __future__ import annotations

import email.utils
import functools
from decimal import Decimal

import pytest
import trio

from commandlang.execution import BackendError, Executor, Success, Timeout, Unreachable, prepare_request
from commandlang.registry.model import RetryPolicy
from commandlang.replies.templates import TemplateEngine
from commandlang.testing.demo_backend import Fault

from .exec_support import RawServer, call, closed_port_url, make_registry, ok, running_demo, start

ENGINE = TemplateEngine()
FAST = RetryPolicy(attempts=3, on=frozenset({429, 502, 503, 504}), backoff=0.5, max_backoff=10.0)


async def test_get_returns_the_backends_json() -> None:
    async with running_demo() as demo:
        registry = make_registry(demo.url)
        async with Executor(registry, ENGINE) as executor:
            outcome = await executor.execute(call(registry, "order.status", order="12345"), command_id="c1")
    assert isinstance(outcome, Success)
    assert outcome.status == 200 and outcome.json["order"] == 12345 and outcome.attempts == 1


@pytest.mark.parametrize("value", ["../admin", "a/b", "..", "Zürich/€?#"])
async def test_path_arguments_arrive_as_one_segment(value: str) -> None:
    async with running_demo() as demo:
        registry = make_registry(demo.url)
        async with Executor(registry, ENGINE) as executor:
            outcome = await executor.execute(call(registry, "echo", value=value, q="x y"), command_id="c1")
    assert isinstance(outcome, Success), outcome
    assert outcome.json == {"segments": [value], "query": {"q": "x y"}}
    assert [r.path.count("/") for r in demo.backend.requests] == [3]  # /v1/echo/<one segment>


async def test_post_carries_the_command_id_as_idempotency_key() -> None:
    async with running_demo() as demo:
        registry = make_registry(demo.url)
        async with Executor(registry, ENGINE) as executor:
            outcome = await executor.execute(
                call(registry, "refund", order="7", amount=Decimal("19.99")), command_id="cmd-42"
            )
    assert isinstance(outcome, Success) and outcome.status == 201
    (request,) = demo.backend.requests
    assert request.header("Idempotency-Key") == "cmd-42"
    assert request.json() == {"amount": "19.99", "reason": "unspecified", "card": None}


@pytest.mark.mock_clock
async def test_retries_keep_the_same_idempotency_key_and_do_the_work_once() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(status=503), times=2)
        registry = make_registry(demo.url, retry=FAST)
        async with Executor(registry, ENGINE, random=lambda: 1.0) as executor:
            outcome = await executor.execute(
                call(registry, "refund", order="7", amount=Decimal("5")), command_id="cmd-7"
            )
    assert isinstance(outcome, Success) and outcome.attempts == 3
    keys = [r.header("Idempotency-Key") for r in demo.backend.requests]
    assert keys == ["cmd-7", "cmd-7", "cmd-7"]
    assert len(demo.backend.refunds) == 1


@pytest.mark.mock_clock
async def test_a_post_without_idempotency_key_is_never_retried() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(status=503), times=2)
        registry = make_registry(demo.url, retry=FAST)
        async with Executor(registry, ENGINE) as executor:
            prepared = prepare_request(call(registry, "refund", order="7"), registry, ENGINE, idempotency_key=None)
            assert prepared.header("Idempotency-Key") is None
            outcome = await executor.send(prepared)
    assert isinstance(outcome, BackendError) and outcome.status == 503 and outcome.attempts == 1
    assert len(demo.backend.requests) == 1


@pytest.mark.mock_clock
async def test_exponential_backoff_then_the_last_error() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(status=502), times=5)
        registry = make_registry(demo.url, retry=FAST)
        async with Executor(registry, ENGINE, random=lambda: 1.0) as executor:
            started = trio.current_time()
            outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
            elapsed = trio.current_time() - started
    assert isinstance(outcome, BackendError) and outcome.status == 502 and outcome.attempts == 3
    assert elapsed == pytest.approx(0.5 + 1.0, abs=0.05)  # full jitter pinned to its ceiling: 0.5, then 1.0
    assert len(demo.backend.requests) == 3


@pytest.mark.mock_clock
async def test_retry_after_seconds_is_honoured() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(status=429, retry_after="4"))
        registry = make_registry(demo.url, retry=FAST)
        async with Executor(registry, ENGINE, random=lambda: 0.0) as executor:
            started = trio.current_time()
            outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
            elapsed = trio.current_time() - started
    assert isinstance(outcome, Success) and outcome.attempts == 2
    assert elapsed == pytest.approx(4.0, abs=0.05)


@pytest.mark.mock_clock
async def test_retry_after_http_date_is_honoured() -> None:
    wall = 1_800_000_000.0
    async with running_demo() as demo:
        demo.backend.plan(Fault(status=503, retry_after=email.utils.formatdate(wall + 6, usegmt=True)))
        registry = make_registry(demo.url, retry=FAST)
        async with Executor(registry, ENGINE, random=lambda: 0.0, wall_clock=lambda: wall) as executor:
            started = trio.current_time()
            outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
            elapsed = trio.current_time() - started
    assert isinstance(outcome, Success) and outcome.attempts == 2
    assert elapsed == pytest.approx(6.0, abs=0.05)


@pytest.mark.mock_clock
async def test_retry_after_is_capped_by_max_backoff() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(status=503, retry_after="3600"))
        registry = make_registry(demo.url, retry=RetryPolicy(attempts=2, backoff=0.5, max_backoff=2.0))
        async with Executor(registry, ENGINE) as executor:
            started = trio.current_time()
            outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
            elapsed = trio.current_time() - started
    assert isinstance(outcome, Success)
    assert elapsed == pytest.approx(2.0, abs=0.05)


@pytest.mark.mock_clock
async def test_retry_after_beyond_the_deadline_answers_at_once() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(status=503, retry_after="8"))
        registry = make_registry(demo.url, retry=FAST)
        async with Executor(registry, ENGINE) as executor:
            started = trio.current_time()
            outcome = await executor.execute(
                call(registry, "order.status", order="1"), command_id="c", deadline=started + 5
            )
            elapsed = trio.current_time() - started
    assert isinstance(outcome, BackendError) and outcome.status == 503 and outcome.attempts == 1
    assert elapsed < 0.1
    assert "busy" not in outcome.user_message or outcome.status == 429  # a 503 says the service had a problem


@pytest.mark.mock_clock
async def test_the_command_deadline_bounds_attempts_and_sleeps() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(latency=30), times=5)
        registry = make_registry(demo.url, timeout=2.0, retry=FAST)
        async with Executor(registry, ENGINE, random=lambda: 1.0) as executor:
            started = trio.current_time()
            outcome = await executor.execute(
                call(registry, "order.status", order="1"), command_id="c", deadline=started + 3.0
            )
            elapsed = trio.current_time() - started
    # attempt 1 times out at 2.0, backoff 0.5, attempt 2 is cut by the deadline at 3.0
    assert isinstance(outcome, Timeout) and outcome.attempts == 2
    assert elapsed == pytest.approx(3.0, abs=0.05)


@pytest.mark.mock_clock
async def test_the_commands_own_timeout_is_the_default_deadline() -> None:
    from dataclasses import replace

    async with running_demo() as demo:
        demo.backend.plan(Fault(latency=30), times=5)
        registry = make_registry(demo.url, timeout=10.0, retry=FAST)
        spec = replace(registry.commands["order.status"], timeout=1.5)
        registry = replace(registry, commands={**registry.commands, "order.status": spec})
        async with Executor(registry, ENGINE) as executor:
            started = trio.current_time()
            outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
            elapsed = trio.current_time() - started
    assert isinstance(outcome, Timeout)
    assert elapsed == pytest.approx(1.5, abs=0.05)


@pytest.mark.mock_clock
async def test_a_slow_attempt_times_out_and_the_next_one_succeeds() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(latency=5))
        registry = make_registry(demo.url, timeout=1.0, retry=FAST)
        async with Executor(registry, ENGINE, random=lambda: 0.0) as executor:
            started = trio.current_time()
            outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
            elapsed = trio.current_time() - started
    assert isinstance(outcome, Success) and outcome.attempts == 2
    assert elapsed == pytest.approx(1.0, abs=0.05)


@pytest.mark.mock_clock
async def test_a_reset_connection_is_retried_for_a_get() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(reset=True))
        registry = make_registry(demo.url, retry=FAST)
        async with Executor(registry, ENGINE, random=lambda: 0.0) as executor:
            outcome = await executor.execute(call(registry, "order.status", order="3"), command_id="c")
    assert isinstance(outcome, Success) and outcome.attempts == 2
    assert len(demo.backend.requests) == 2


async def test_the_callers_cancellation_is_not_swallowed() -> None:
    async with running_demo() as demo:
        demo.backend.plan(Fault(latency=5))
        registry = make_registry(demo.url)
        async with Executor(registry, ENGINE) as executor:
            with trio.move_on_after(0.3) as scope:
                await executor.execute(call(registry, "order.status", order="1"), command_id="c")
                pytest.fail("execute returned instead of being cancelled")
            assert scope.cancelled_caught
            # the pool is still usable afterwards
            outcome = await executor.execute(call(registry, "order.status", order="2"), command_id="c")
            assert isinstance(outcome, Success)


async def test_unreachable_backend() -> None:
    registry = make_registry(closed_port_url(), retry=RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01))
    async with Executor(registry, ENGINE) as executor:
        outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
    assert isinstance(outcome, Unreachable) and outcome.attempts == 2
    assert outcome.code == "unreachable"


async def test_many_concurrent_commands_share_a_bounded_pool() -> None:
    async with running_demo() as demo:
        registry = make_registry(demo.url)
        results: list[object] = []
        async with Executor(registry, ENGINE) as executor:

            async def one(n: int) -> None:
                results.append(await executor.execute(call(registry, "order.status", order=str(n)), command_id=f"c{n}"))

            async with trio.open_nursery() as nursery:
                for n in range(200):
                    nursery.start_soon(one, n)
    assert len(results) == 200 and all(isinstance(r, Success) for r in results)
    assert sorted(r.json["order"] for r in results) == list(range(200))  # each answer is its own request's


async def test_max_connections_from_the_registry_bounds_the_backends_pool() -> None:
    async def slow(index: int, head: bytes) -> bytes:
        await trio.sleep(0.02)
        return ok(b'{"order": 1}')

    server = RawServer(slow)
    async with trio.open_nursery() as nursery:
        registry = make_registry(await start(nursery, server), max_connections=3)
        async with Executor(registry, ENGINE) as executor:
            async with trio.open_nursery() as commands:
                for n in range(12):
                    commands.start_soon(
                        functools.partial(
                            executor.execute, call(registry, "order.status", order=str(n)), command_id=f"c{n}"
                        )
                    )
        nursery.cancel_scope.cancel()
    assert server.requests == 12 and server.most_open == 3  # the other nine waited for a connection


class CountingTokens:
    """A TokenProvider that hands out t1, t2, ... and moves on when invalidated."""

    def __init__(self) -> None:
        self.issued = 1
        self.invalidated = 0

    async def token(self) -> str:
        return f"t{self.issued}"

    def invalidate(self) -> None:
        self.invalidated += 1
        self.issued += 1


async def test_genesys_auth_refreshes_the_token_once_after_a_401() -> None:
    from commandlang.registry.model import AuthSpec

    async with running_demo() as demo:
        demo.backend.plan(Fault(status=401), times=1)
        registry = make_registry(demo.url, auth=AuthSpec("genesys"), retry=RetryPolicy(attempts=1))
        tokens = CountingTokens()
        async with Executor(registry, ENGINE, token_provider=tokens) as executor:
            outcome = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
            assert isinstance(outcome, Success) and outcome.attempts == 2
            demo.backend.plan(Fault(status=401), times=2)
            refused = await executor.execute(call(registry, "order.status", order="1"), command_id="c")
    assert [r.header("Authorization") for r in demo.backend.requests] == [
        "Bearer t1",
        "Bearer t2",
        "Bearer t2",
        "Bearer t3",
    ]
    assert isinstance(refused, BackendError) and refused.status == 401  # one refresh per command, not a loop
    assert tokens.invalidated == 2


async def test_genesys_auth_without_a_token_provider_is_refused_at_start() -> None:
    from commandlang.registry.model import AuthSpec

    registry = make_registry("http://127.0.0.1:9", auth=AuthSpec("genesys"))
    with pytest.raises(ValueError, match="token provider"):
        async with Executor(registry, ENGINE):
            pass
