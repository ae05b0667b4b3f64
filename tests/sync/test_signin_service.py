"""`POST /sync/token` in the real service against the fake Genesys Cloud, from an agent's and an attacker's view.

Also the panel as an interaction widget: its policy headers and `/panel/config.json`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import trio

from commandlang.sync.tokens import verify_token


from .signin_support import SYNC_SECRET, exchange, signin_service


async def test_an_agent_on_the_conversation_gets_a_sync_token_for_exactly_that_scope(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with signin_service(tmp_path) as (run, fake):
        conversation = fake.start_conversation(queue_id="q-support", user_id="u-ann")
        token = fake.issue_user_token("u-ann")[0]
        answer = await exchange(run, {"conversation": conversation.id}, token)
        assert answer.status_code == 200, answer.text
        grant = answer.json()
        assert grant["agent"] == "u-ann" and grant["name"] == "Ann Agent" and grant["roles"] == ["agent"]
        assert grant["scopes"] == [f"conversation:{conversation.id}"]
        claims = verify_token(SYNC_SECRET, grant["token"])
        assert claims.scopes == (f"conversation:{conversation.id}",) and claims.exp == grant["expires_at"]
        assert 14 * 60 <= grant["expires_at"] - time.time() <= 15 * 60 + 1  # short-lived: 15 min by default
        assert answer.headers["cache-control"] == "no-store"

        # a team lead (a supervisor group) watches any queue; a member watches theirs
        lead = await exchange(run, {"queue": "q-sales"}, fake.issue_user_token("u-lee")[0])
        assert lead.status_code == 200 and lead.json()["roles"] == ["agent", "supervisor"]
        member = await exchange(run, {"queue": "q-support"}, token)
        assert member.status_code == 200 and member.json()["scopes"] == ["queue:q-support"]

        # nothing of the Genesys token in the logs or the state file
        run.service.stop()
        with trio.move_on_after(10):
            await run.service.stopped.wait()
        stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
        assert token.encode() not in stored
        assert token not in caplog.text and token not in run.out.getvalue()
        assert "u-ann" in caplog.text  # the log says who signed in


async def test_the_attackers_view(tmp_path: Path) -> None:
    async with signin_service(tmp_path) as (run, fake):
        conversation = fake.start_conversation(queue_id="q-support", user_id="u-ann")
        body = {"conversation": conversation.id}
        # no token, or one of the wrong shape: refused on the head, before Genesys is asked
        for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer <script>"}):
            refused = await run.client.post(f"{run.base}/sync/token", json=body, headers=headers)
            assert refused.status_code == 401 and "Bearer" in refused.json()["error"]
        assert fake.requests_to("/api/v2/users/me") == []
        # a well-formed token Genesys refuses: 401
        junk = await exchange(run, body, "not-a-genesys-token-0123456789")
        assert junk.status_code == 401 and "refused" in junk.json()["error"]
        # another agent's conversation: 403, with a reason the agent can read
        other = await exchange(run, body, fake.issue_user_token("u-bob")[0])
        assert other.status_code == 403
        assert other.json()["reason"] == f"you are not a participant of conversation {conversation.id}"
        not_member = await exchange(run, {"queue": "q-support"}, fake.issue_user_token("u-bob")[0])
        assert not_member.status_code == 403 and "not a member of queue q-support" in not_member.json()["reason"]
        # malformed bodies: 400 without asking Genesys
        asked = len(fake.requests_to("/api/v2/users/me"))
        token = fake.issue_user_token("u-ann")[0]
        for bad in ({}, {"conversation": "../users/me"}, {"conversation": 1}, {"queue": "a", "conversation": "b"}, []):
            malformed = await exchange(run, bad, token)
            assert malformed.status_code == 400, bad
        too_big = await run.client.post(
            f"{run.base}/sync/token", content=b"{" + b" " * 5000 + b"}", headers={"Authorization": f"Bearer {token}"}
        )
        assert too_big.status_code == 413
        assert len(fake.requests_to("/api/v2/users/me")) == asked
        # a revoked token: 401
        fake.revoke_user_tokens("u-ann")
        assert (await exchange(run, body, token)).status_code == 401


async def test_genesys_unreachable_is_503(tmp_path: Path) -> None:
    async with signin_service(tmp_path) as (run, fake):
        fake.fail_next(503, path="/api/v2/users/me", times=10)
        answer = await exchange(run, {"queue": "q-support"}, fake.issue_user_token("u-ann")[0])
        assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1


@pytest.mark.deadline(60)
async def test_a_flood_of_bad_tokens_is_bounded(tmp_path: Path) -> None:
    async with signin_service(tmp_path, genesys_signin_rate=10) as (run, fake):
        statuses: list[int] = []

        async def one(i: int) -> None:
            statuses.append((await exchange(run, {"queue": "q-support"}, f"junk-token-{i:04d}-abcdefgh")).status_code)

        async with trio.open_nursery() as nursery:
            for i in range(60):
                nursery.start_soon(one, i)
        # at most the budget's worth of look-ups reached Genesys; the rest were told to come back later
        assert len(fake.requests_to("/api/v2/users/me")) <= 10
        assert set(statuses) <= {401, 503} and statuses.count(503) >= 50


async def test_the_panel_is_a_widget_of_the_regions_agent_desktop(tmp_path: Path) -> None:
    async with signin_service(tmp_path) as (run, fake):
        page = await run.client.get(f"{run.base}/panel/")
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors https://apps.mypurecloud.ie;" in policy and "*" not in policy
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
        sync = f"ws://127.0.0.1:{run.ports.sync}"
        assert f"connect-src 'self' {sync} {fake.base_url}" in policy
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "no-referrer"
        config = (await run.client.get(f"{run.base}/panel/config.json")).json()
        assert config == {
            "sync_url": f"{sync}/sync",
            "signin": {
                "client_id": "panel-client",
                "grant": "code",
                "authorize_url": f"{fake.base_url}/oauth/authorize",
                "token_url": f"{fake.base_url}/oauth/token",
            },
            "apps_origin": "https://apps.mypurecloud.ie",
        }
        script = await run.client.get(f"{run.base}/panel/signin.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert b"commandlangSignIn" in script.content and b"innerHTML" not in script.content
