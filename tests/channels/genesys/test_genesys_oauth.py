"""OAuth client credentials and the API client's 401/403/429/5xx rules, against the fake over real sockets."""

from __future__ import annotations

import logging

import httpx
import pytest
import trio

from commandlang.channels.genesys import GenesysApiError, GenesysAuthError, GenesysPermissionError, TokenProvider
from .genesys_helpers import CLIENT_ID, CLIENT_SECRET, genesys_env

CHANNELS = "/api/v2/notifications/channels"


async def test_basic_auth_and_form_body_get_a_token_that_is_cached() -> None:
    async with genesys_env() as env:
        first = await env.tokens.token()
        assert await env.tokens.token() == first
        assert env.tokens.fetch_count == 1 and env.fake.tokens_issued == 1
        # the fake checks HTTP Basic and grant_type=client_credentials; a raw call proves the shape it wants
        ok = await env.http.post(
            f"{env.fake.base_url}/oauth/token",
            auth=(CLIENT_ID, CLIENT_SECRET),
            data={"grant_type": "client_credentials"},
        )
        assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
        as_json = await env.http.post(
            f"{env.fake.base_url}/oauth/token",
            auth=(CLIENT_ID, CLIENT_SECRET),
            json={"grant_type": "client_credentials"},
        )
        assert as_json.status_code == 400


async def test_wrong_secret_is_a_clear_error_that_never_shows_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with genesys_env() as env:
        bad = TokenProvider(
            client_id=CLIENT_ID, client_secret="wrong-secret-xyz", login_base=env.fake.base_url, http=env.http
        )
        with pytest.raises(GenesysAuthError, match="invalid_client") as caught:
            await bad.token()
        assert "wrong-secret-xyz" not in str(caught.value) and "wrong-secret-xyz" not in repr(bad)
        await env.api.request("POST", CHANNELS)
    assert CLIENT_SECRET not in caplog.text and "wrong-secret-xyz" not in caplog.text
    assert "fake-" not in caplog.text  # no access token in the logs either


async def test_fifty_concurrent_callers_share_one_refresh() -> None:
    async with genesys_env() as env:
        env.fake.fail_next(503, path="/oauth/token", retry_after=0.2)  # make the one refresh slow
        seen: list[str] = []

        async def ask() -> None:
            seen.append(await env.tokens.token())

        async with trio.open_nursery() as nursery:
            for _ in range(50):
                nursery.start_soon(ask)
        assert len(seen) == 50 and len(set(seen)) == 1
        assert env.tokens.fetch_count == 1 and env.fake.tokens_issued == 1


async def test_a_401_invalidates_the_token_and_retries_once() -> None:
    async with genesys_env() as env:
        await env.api.request("POST", CHANNELS)
        env.fake.expire_tokens()  # revoked or expired early: the API answers 401
        response = await env.api.request("POST", CHANNELS)
        assert response.status_code == 200 and env.tokens.fetch_count == 2
        env.fake.fail_next(401, path=CHANNELS, times=2)
        with pytest.raises(GenesysApiError) as caught:
            await env.api.request("POST", CHANNELS)
        assert caught.value.status == 401
        assert len(env.fake.requests_to(CHANNELS)) == 5  # ok, 401 + retried ok, then 401 + one retry only


async def test_fifty_tasks_hitting_401_together_refresh_once() -> None:
    async with genesys_env() as env:
        await env.tokens.token()
        env.fake.expire_tokens()
        async with trio.open_nursery() as nursery:
            for _ in range(50):
                nursery.start_soon(env.api.request, "GET", "/api/v2/notifications/channels")
        assert env.tokens.fetch_count == 2


async def test_a_403_names_the_missing_permission(caplog: pytest.LogCaptureFixture) -> None:
    async with genesys_env() as env:
        env.fake.fail_next(403, path=CHANNELS, missing_permission="notifications:channel:add")
        with pytest.raises(GenesysPermissionError) as caught:
            await env.api.request("POST", CHANNELS)
        assert caught.value.missing == "notifications:channel:add"
    assert "missing permission notifications:channel:add" in caplog.text


@pytest.mark.mock_clock
async def test_429_waits_for_retry_after() -> None:
    async with genesys_env() as env:
        await env.tokens.token()
        env.fake.fail_next(429, path=CHANNELS, retry_after=7, times=2)
        start = trio.current_time()
        response = await env.api.request("POST", CHANNELS)  # a POST: 429 means it was not done, so retry is safe
        assert response.status_code == 200
        assert trio.current_time() - start >= 14


@pytest.mark.mock_clock
async def test_429_without_retry_after_backs_off_and_gives_up_eventually() -> None:
    async with genesys_env(max_backoff=5) as env:
        env.fake.fail_next(429, path=CHANNELS, times=100)
        with pytest.raises(GenesysApiError) as caught:
            await env.api.request("GET", CHANNELS)
        assert caught.value.status == 429 and caught.value.error.code == "too.many.requests"
        assert len(env.fake.requests_to(CHANNELS)) == 6


async def test_5xx_is_retried_for_reads_but_a_send_is_never_repeated() -> None:
    async with genesys_env() as env:
        env.fake.fail_next(503, path=CHANNELS, method="GET", retry_after=0)
        assert (await env.api.request("GET", CHANNELS)).status_code == 200
        conversation = env.fake.start_conversation(queue_id="q1")
        env.fake.fail_next(503, path="/communications/.*/messages$")
        with pytest.raises(GenesysApiError) as caught:
            await env.conversations.send_text(conversation.id, conversation.communication_id, "hello")
        assert caught.value.status == 503 and env.fake.transcript(conversation.id) == []


@pytest.mark.mock_clock
async def test_token_expiry_mid_run_fetches_a_new_token_before_it_is_refused() -> None:
    async with genesys_env(token_ttl=4) as env:
        for _ in range(12):
            await env.api.request("GET", CHANNELS)
            await trio.sleep(1)
        assert env.tokens.fetch_count >= 3
        assert all(r.status == 200 for r in env.fake.requests_to(CHANNELS))  # renewed before the fake refused one


async def test_transport_errors_on_the_token_endpoint_are_reported() -> None:
    async with httpx.AsyncClient() as http:
        provider = TokenProvider(
            client_id="a",
            client_secret="b",
            login_base="http://127.0.0.1:9",
            http=http,
            max_attempts=2,
            max_backoff=0.01,
        )
        with pytest.raises(GenesysAuthError, match="ConnectError"):
            await provider.token()


@pytest.mark.mock_clock
async def test_the_executor_protocol_token_and_anonymous_invalidate() -> None:
    from commandlang.execution import TokenProvider as ExecutorTokenProvider

    async with genesys_env() as env:
        provider: ExecutorTokenProvider = env.tokens  # structural: async token(), invalidate()
        first = await provider.token()
        # fifty backend calls that all saw a 401 with the old token: the new one survives their invalidate()
        env.fake.expire_tokens()
        env.tokens.invalidate(first)
        second = await provider.token()
        for _ in range(50):
            provider.invalidate()
        assert await provider.token() == second and env.tokens.fetch_count == 2
        await trio.sleep(3)
        provider.invalidate()  # an older token really is dropped
        assert await provider.token() != second and env.tokens.fetch_count == 3


async def test_a_token_retry_after_past_the_callers_deadline_fails_at_once() -> None:
    async with genesys_env() as env:
        env.fake.fail_next(429, path="/oauth/token", retry_after=20)
        with trio.fail_after(10), pytest.raises(GenesysAuthError, match="answered 429"):
            await env.tokens.token()  # waiting 20 s would outlast this caller's 10: no sleep into a timeout
        assert len(env.fake.requests_to("/oauth/token")) == 1
        assert await env.tokens.token()  # the next caller, after the fault, gets one
