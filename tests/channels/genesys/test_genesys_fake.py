"""The fake Genesys Cloud on its own: limits, auth, the CLI, and surviving an outage of its token endpoint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from commandlang.channels.genesys import GenesysApiError, NotificationIngest
from commandlang.runtime.messages import InboundMessage
from .genesys_helpers import genesys_env

REPO_ROOT = Path(__file__).resolve().parents[3]


async def test_channels_limits_topics_and_head() -> None:
    async with genesys_env() as env:
        ids = [(await env.api.post_json("/api/v2/notifications/channels", None))["id"] for _ in range(21)]
        assert len(env.fake.channels) == 20 and ids[0] not in env.fake.channels  # a 21st evicts the oldest
        assert (await env.api.request("HEAD", f"/api/v2/notifications/channels/{ids[-1]}")).status_code == 200
        with pytest.raises(GenesysApiError) as caught:
            await env.api.request("HEAD", f"/api/v2/notifications/channels/{ids[0]}")
        assert caught.value.status == 404
        listing = await env.api.request(
            "PUT",
            f"/api/v2/notifications/channels/{ids[-1]}/subscriptions",
            json=[{"id": "v2.routing.queues.q1.conversations.messages"}, {"id": "v2.bogus"}],
        )
        assert listing.json()["entities"] == [
            {"id": "v2.routing.queues.q1.conversations.messages", "state": "Permitted"},
            {"id": "v2.bogus", "state": "Rejected", "rejectionReason": "Unknown topic"},
        ]
        with pytest.raises(GenesysApiError) as caught:
            await env.api.request(
                "PUT",
                f"/api/v2/notifications/channels/{ids[-1]}/subscriptions",
                json=[{"topic": "v2.routing.queues.q1.conversations.messages"}],
            )
        assert caught.value.status == 400 and "$[0].topic: unknown field" in caught.value.error.message
        assert [v.path for v in env.fake.violations] == ["$[0].topic"]  # provoked on purpose
        env.fake.violations.clear()


async def test_api_calls_without_a_valid_bearer_token_are_refused() -> None:
    async with genesys_env(token_ttl=300) as env:
        url = f"{env.fake.base_url}/api/v2/notifications/channels"
        assert (await env.http.post(url)).json()["code"] == "authentication.required"
        assert (await env.http.post(url, headers={"Authorization": "Bearer made-up"})).json()[
            "code"
        ] == "bad.credentials"
        token = await env.tokens.token()
        assert (await env.http.post(url, headers={"Authorization": f"Bearer {token}"})).status_code == 200
        assert all("made-up" not in repr(r) and token not in repr(r) for r in env.fake.requests)


async def test_ingest_survives_a_token_endpoint_outage_without_losing_the_message() -> None:
    async with genesys_env(max_backoff=0.1) as env:
        ingest = NotificationIngest(env.api, env.conversations, queue_ids=["q1"], backoff_base=0.05, backoff_max=0.1)
        send, receive = trio.open_memory_channel[InboundMessage](10)
        async with trio.open_nursery() as nursery:
            await nursery.start(ingest.serve, send)
            env.fake.expire_tokens()
            env.fake.fail_next(503, path="^/oauth/token$", times=6, retry_after=0.01)  # more than one fetch's attempts
            message = env.fake.inject_customer_message("/refund 1", queue_id="q1")
            with trio.fail_after(5):
                assert (await receive.receive()).message_id == message.id
            nursery.cancel_scope.cancel()


def test_cli_serves_a_fake_that_official_sdks_could_use() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "commandlang",
            "fake-genesys",
            "--port",
            "0",
            "--client-id",
            "id",
            "--client-secret",
            "s",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("listening http://127.0.0.1:")
        base = line.split()[1]
        token = httpx.post(f"{base}/oauth/token", auth=("id", "s"), data={"grant_type": "client_credentials"}).json()
        channel = httpx.post(
            f"{base}/api/v2/notifications/channels", headers={"Authorization": f"Bearer {token['access_token']}"}
        ).json()
        assert channel["connectUri"].startswith("ws://127.0.0.1:") and channel["id"].startswith("streaming-")
    finally:
        process.terminate()
        process.wait(10)
    from commandlang.cli import SUBCOMMANDS

    assert SUBCOMMANDS["fake-genesys"][0] == "fake_genesys"


async def test_boolean_query_flags_are_checked() -> None:
    async with genesys_env() as env:
        conversation = env.fake.start_conversation(queue_id="q1")
        message = env.fake.inject_customer_message("/x", conversation_id=conversation.id)
        path = f"/api/v2/conversations/messages/{conversation.id}/messages/{message.id}"
        assert (await env.api.get_json(path, params={"useNormalizedMessage": "false"}))["id"] == message.id
        with pytest.raises(GenesysApiError) as caught:
            await env.api.get_json(path, params={"useNormalizedMessage": "yes"})
        assert caught.value.status == 400 and caught.value.error.code == "invalid.value"
