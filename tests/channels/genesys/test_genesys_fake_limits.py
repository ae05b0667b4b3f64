"""The fake's rate limit (429 + ErrorBody + Retry-After) and what `genesys check` needs of it (queues, 403s)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio

from commandlang.channels.genesys import GenesysApiError, GenesysPermissionError, SlidingWindowLimiter
from commandlang.testing.fake_genesys.ratelimit import FakeRateLimit
from .genesys_helpers import genesys_env

CHANNELS = "/api/v2/notifications/channels"


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)
async def test_the_fake_answers_429_with_genesyss_error_body_and_a_retry_after() -> None:
    async with genesys_env() as env:
        env.fake.rate_limit = FakeRateLimit(3, window=60.0)
        env.api._retry = replace(env.api._retry, attempts=1)  # see the raw 429, no retry
        for _ in range(3):
            await env.api.request("GET", CHANNELS)
        with pytest.raises(GenesysApiError) as caught:
            await env.api.request("GET", CHANNELS)
        assert caught.value.status == 429 and caught.value.error.code == "too.many.requests"
        assert caught.value.error.message == "Rate limit exceeded the maximum [3] requests within [60] seconds"
        answer = await env.http.get(
            f"{env.fake.base_url}{CHANNELS}", headers={"Authorization": f"Bearer {await env.tokens.token()}"}
        )
        assert answer.status_code == 429 and 1 <= int(answer.headers["Retry-After"]) <= 60
        assert env.fake.rate_limit.rejected == 2 and env.fake.rate_limit.accepted == 3
        # the token endpoint is not counted: a new token still comes while the API refuses
        env.tokens.invalidate()
        assert await env.tokens.token()
        await trio.sleep(61)  # the window slides past the first three
        assert (await env.api.request("GET", CHANNELS)).status_code == 200


@pytest.mark.mock_clock
@pytest.mark.deadline(1000)
async def test_a_burst_against_the_enforced_limit_meets_429s_without_the_budget_and_none_with_it() -> None:
    async with genesys_env(max_backoff=1.0) as env:
        env.fake.rate_limit = FakeRateLimit(20, window=60.0)
        await env.tokens.token()

        async def burst(n: int) -> None:
            async with trio.open_nursery() as nursery:
                for _ in range(n):
                    nursery.start_soon(env.api.request, "GET", CHANNELS)

        await burst(60)  # no client-side budget: the fake refuses the overflow, Retry-After gets it through
        without = env.fake.rate_limit.rejected
        assert without > 0
        await trio.sleep(120)
        env.fake.rate_limit = FakeRateLimit(20, window=60.0)
        env.api.limiter = SlidingWindowLimiter(20, window=60.0)
        with trio.fail_after(400):
            await burst(60)
        assert env.fake.rate_limit.rejected == 0 and env.fake.rate_limit.accepted == 60


async def test_queues_and_denied_apis_for_the_preflight() -> None:
    async with genesys_env() as env:
        env.fake.org.add_queue("q1", "Support")
        queue = await env.api.get_json("/api/v2/routing/queues/q1")
        assert queue == {"id": "q1", "name": "Support", "selfUri": "/api/v2/routing/queues/q1"}
        with pytest.raises(GenesysApiError) as caught:
            await env.api.get_json("/api/v2/routing/queues/nope")
        assert caught.value.status == 404
        env.fake.org.deny("GET", r"^/api/v2/routing/queues/", "routing:queue:view")
        for _ in range(2):  # a denial stays (a role the client lacks does not come back by itself)
            with pytest.raises(GenesysPermissionError) as denied:
                await env.api.get_json("/api/v2/routing/queues/q1")
            assert denied.value.missing == "routing:queue:view" and denied.value.error.code == "missing.permissions"


def test_the_queue_answer_is_the_sdks_queue_model() -> None:
    from PureCloudPlatformClientV2.models.queue import Queue

    attribute_map = Queue().attribute_map
    for name in ("id", "name", "selfUri"):
        assert name in attribute_map.values()
