"""The rate budget: the client-side limiter (FIFO, deadlines, bounded queue, shared pause) and 429 handling.

Time-dependent tests run on Trio's autojumping MockClock (`mock_clock`): waits of minutes take none.
"""

from __future__ import annotations

import logging

import pytest
import trio

from commandlang.channels.genesys import (
    GenesysApiError,
    GenesysRateLimitError,
    GenesysSettings,
    RateBudgetExceeded,
    SlidingWindowLimiter,
)
from commandlang.runtime.config import ServiceConfig
from .genesys_helpers import genesys_env

CHANNELS = "/api/v2/notifications/channels"


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_a_burst_over_the_rate_is_spread_and_no_window_holds_more_than_the_limit() -> None:
    limiter = SlidingWindowLimiter(10, window=60.0, slack=0.0)
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(trio.current_time())

    start = trio.current_time()
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            for _ in range(35):
                nursery.start_soon(one)
    offsets = sorted(t - start for t in times)
    assert offsets[:10] == [0.0] * 10  # the first `limit` go at once
    assert offsets[10] == pytest.approx(60.0) and offsets[-1] == pytest.approx(180.0)  # then a window per ten
    for i in range(len(offsets) - 10):
        assert offsets[i + 10] - offsets[i] >= 60.0 - 1e-9  # any 60 s holds at most 10
    assert limiter.granted == 35 and limiter.refused == 0


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_waiters_are_served_first_come_first_served() -> None:
    limiter = SlidingWindowLimiter(2, window=10.0, slack=0.0)
    order: list[int] = []

    async def one(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            for i in range(12):
                nursery.start_soon(one, i)
                await trio.sleep(0.001)  # arrival order is the order they were started in
    assert order == list(range(12))


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_a_caller_whose_deadline_would_pass_in_the_queue_fails_at_once() -> None:
    limiter = SlidingWindowLimiter(2, window=60.0, slack=0.0)
    await limiter.acquire()
    await limiter.acquire()
    start = trio.current_time()
    with trio.fail_after(5):  # the next slot is 60 s away: no point waiting 5 s to be cancelled
        with pytest.raises(RateBudgetExceeded, match="after this request's deadline"):
            await limiter.acquire()
    assert trio.current_time() == start and limiter.refused == 1
    with trio.fail_after(61):  # a deadline the slot fits under: it waits and gets it
        await limiter.acquire()
    assert trio.current_time() - start == pytest.approx(60.0)


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_a_cancelled_waiter_leaves_the_queue_without_using_a_slot() -> None:
    limiter = SlidingWindowLimiter(1, window=10.0, slack=0.0)
    await limiter.acquire()
    with trio.move_on_after(50):
        async with trio.open_nursery() as nursery:
            cancel = trio.CancelScope()

            async def leaves() -> None:
                with cancel:
                    await limiter.acquire()

            nursery.start_soon(leaves)
            await trio.sleep(1)
            assert limiter.waiting == 1
            cancel.cancel()
    assert limiter.waiting == 0 and limiter.granted == 1
    with trio.fail_after(10):
        await limiter.acquire()  # the slot at t = 10 is still free


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_the_queue_is_bounded() -> None:
    limiter = SlidingWindowLimiter(1, window=10.0, max_queue=3, slack=0.0)
    await limiter.acquire()
    refused: list[str] = []

    async def one() -> None:
        try:
            await limiter.acquire()
        except RateBudgetExceeded as exc:
            refused.append(str(exc))

    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(one)
    assert len(refused) == 2 and "already wait" in refused[0] and limiter.granted == 4


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_a_pause_holds_everyone_including_those_already_queued() -> None:
    limiter = SlidingWindowLimiter(100, window=60.0, slack=0.0)
    await limiter.acquire()
    start = trio.current_time()
    limiter.pause(30)
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(trio.current_time() - start)

    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(one)
            await trio.sleep(10)
            limiter.pause(45)  # a second 429 while one waits: pauses only grow
            nursery.start_soon(one)
    assert times == [pytest.approx(55.0), pytest.approx(55.0)]


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_a_429_with_a_long_retry_after_is_honoured_whole_and_pauses_the_budget() -> None:
    async with genesys_env() as env:
        env.api.limiter = SlidingWindowLimiter(300, 60.0)
        await env.tokens.token()
        env.fake.fail_next(429, path=CHANNELS, retry_after=90)  # over the old 30 s cap, under the 120 s ceiling
        start = trio.current_time()
        with trio.fail_after(100):
            response = await env.api.request("POST", CHANNELS)
        assert response.status_code == 200 and trio.current_time() - start >= 90
        assert env.api.rate_limited == 1 and env.api.requests_sent == 2


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_a_retry_after_beyond_the_ceiling_fails_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    async with genesys_env() as env:
        env.api._max_retry_after = 120.0
        env.fake.fail_next(429, path=CHANNELS, retry_after=600)
        start = trio.current_time()
        with pytest.raises(
            GenesysRateLimitError, match="retry after 600s, more than GENESYS_MAX_RETRY_AFTER"
        ) as caught:
            await env.api.request("POST", CHANNELS)
        assert caught.value.status == 429 and caught.value.error.code == "too.many.requests"
        assert trio.current_time() - start < 1 and len(env.fake.requests_to(CHANNELS)) == 1
    assert "exceeds GENESYS_MAX_RETRY_AFTER" in caplog.text


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_a_retry_after_past_the_callers_deadline_fails_at_once() -> None:
    async with genesys_env() as env:
        env.fake.fail_next(429, path=CHANNELS, retry_after=60)
        start = trio.current_time()
        with trio.fail_after(10), pytest.raises(GenesysRateLimitError, match="past this request's deadline"):
            await env.api.request("POST", CHANNELS)
        assert trio.current_time() - start < 1


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)  # mock-clock seconds: the outer test deadline must outlast the windows
async def test_the_client_turns_a_full_budget_into_a_clear_error() -> None:
    async with genesys_env() as env:
        env.api.limiter = SlidingWindowLimiter(2, 60.0)
        await env.api.request("GET", CHANNELS)
        await env.api.request("GET", CHANNELS)
        with trio.fail_after(5), pytest.raises(GenesysRateLimitError) as caught:
            await env.api.request("GET", CHANNELS)
        assert isinstance(caught.value, GenesysApiError) and "Genesys API budget" in str(caught.value)
        assert len(env.fake.requests_to(CHANNELS)) == 2  # the refused one never left


def test_the_settings_reach_the_channel_and_zero_turns_the_limit_off() -> None:
    env = {"GENESYS_CLIENT_ID": "c", "GENESYS_CLIENT_SECRET": "s", "GENESYS_REGION": "mypurecloud.ie"}
    default = GenesysSettings.from_env(env)
    assert default.api_rate == 300 and default.max_retry_after == 120.0
    tuned = GenesysSettings.from_env({**env, "GENESYS_API_RATE": "0", "GENESYS_MAX_RETRY_AFTER": "5m"})
    assert tuned.api_rate == 0 and tuned.max_retry_after == 300.0
    config = ServiceConfig.from_sources({}, {**env, "GENESYS_API_RATE": "0", "GENESYS_MAX_RETRY_AFTER": "45s"})
    assert (GenesysSettings.from_config(config).api_rate, GenesysSettings.from_config(config).max_retry_after) == (
        0,
        45,
    )
    with pytest.raises(ValueError, match="GENESYS_API_RATE"):
        GenesysSettings.from_env({**env, "GENESYS_API_RATE": "lots"})
    with pytest.raises(ValueError, match="GENESYS_MAX_RETRY_AFTER"):
        GenesysSettings.from_env({**env, "GENESYS_MAX_RETRY_AFTER": "soon"})


async def test_the_channel_builds_its_budget_from_the_settings() -> None:
    import httpx

    from commandlang.channels.genesys import GenesysChannel

    async def submit(message, sink):  # noqa: ANN001, ANN202 - never called
        raise AssertionError

    env = {"GENESYS_CLIENT_ID": "c", "GENESYS_CLIENT_SECRET": "s", "GENESYS_REGION": "mypurecloud.ie"}
    async with httpx.AsyncClient() as http:
        channel = GenesysChannel(GenesysSettings.from_env({**env, "GENESYS_API_RATE": "120"}), http, submit)
        assert channel.api.limiter is not None and channel.api.limiter.limit == 120
        off = GenesysChannel(GenesysSettings.from_env({**env, "GENESYS_API_RATE": "0"}), http, submit)
        assert off.api.limiter is None
    logging.getLogger(__name__).debug("channels built without starting them")
