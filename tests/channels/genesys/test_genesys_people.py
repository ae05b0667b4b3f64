"""Sign-in on the Genesys side: the fake's browser grants and users, and `GenesysPeople` against it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from commandlang.channels.genesys.people import GenesysPeople
from commandlang.errors import SignInRefused, SignInUnavailable
from commandlang.testing.fake_genesys.checks import entity_id
from .genesys_helpers import genesys_env

REDIRECT = "http://127.0.0.1:9/panel/signin.html"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def org(fake) -> None:
    fake.org.add_user("u-ann", "Ann Agent", queues=["q-support"])
    fake.org.add_user("u-bob", "Bob Agent", queues=["q-sales"])
    fake.org.add_user("u-lee", "Lee Lead", groups=["Team leads"])
    fake.org.add_user("u-roz", "Roz Admin", roles=["Supervisor"])


async def authorize(http: httpx.AsyncClient, base: str, **params: str) -> httpx.Response:
    return await http.get(f"{base}/oauth/authorize", params=params, follow_redirects=False)


async def test_pkce_code_grant_end_to_end_and_its_refusals() -> None:
    async with genesys_env() as env:
        fake, base = env.fake, env.fake.base_url
        org(fake)
        fake.add_browser_client("panel", [REDIRECT], grant="code")
        fake.browser_user = "u-ann"
        async with httpx.AsyncClient() as http:
            verifier, challenge = pkce()
            common = dict(client_id="panel", redirect_uri=REDIRECT, response_type="code", state="s-1")
            answer = await authorize(http, base, **common, code_challenge=challenge, code_challenge_method="S256")
            assert answer.status_code == 302 and answer.headers["x-frame-options"] == "DENY"
            query = parse_qs(urlsplit(answer.headers["location"]).query)
            assert answer.headers["location"].startswith(REDIRECT + "?") and query["state"] == ["s-1"]
            code = query["code"][0]

            form = dict(grant_type="authorization_code", code=code, client_id="panel", redirect_uri=REDIRECT)
            wrong = await http.post(f"{base}/oauth/token", data={**form, "code_verifier": pkce()[0]})
            assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
            # the code was used up by the wrong attempt: a second authorization gives a fresh one
            answer = await authorize(http, base, **common, code_challenge=challenge, code_challenge_method="S256")
            code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
            token = await http.post(
                f"{base}/oauth/token",
                data={**form, "code": code, "code_verifier": verifier},
                headers={"Origin": "http://127.0.0.1:9"},
            )
            assert token.status_code == 200 and token.headers["access-control-allow-origin"] == "http://127.0.0.1:9"
            access = token.json()["access_token"]
            replay = await http.post(f"{base}/oauth/token", data={**form, "code": code, "code_verifier": verifier})
            assert replay.status_code == 400  # single use

            me = await http.get(f"{base}/api/v2/users/me", headers={"Authorization": f"Bearer {access}"})
            assert me.status_code == 200 and me.json()["id"] == "u-ann" and me.json()["name"] == "Ann Agent"

            # never a redirect to an unregistered URI; no PKCE, no code
            elsewhere = await authorize(http, base, **{**common, "redirect_uri": "https://evil.example/cb"})
            assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
            plain = await authorize(http, base, **common)
            assert "error=invalid_request" in plain.headers["location"]
            implicit = await authorize(http, base, **{**common, "response_type": "token"})
            assert "error=unsupported_response_type" in implicit.headers["location"]
        # users/me with the client-credentials token is refused, as the SDK documents
        with pytest.raises(Exception) as caught:
            await env.api.get_json("/api/v2/users/me")
        assert getattr(caught.value, "status", None) == 400


async def test_implicit_grant_returns_the_token_in_the_fragment() -> None:
    async with genesys_env() as env:
        fake, base = env.fake, env.fake.base_url
        org(fake)
        fake.add_browser_client("legacy", [REDIRECT], grant="token")
        fake.browser_user = "u-bob"
        async with httpx.AsyncClient() as http:
            answer = await authorize(
                http, base, client_id="legacy", redirect_uri=REDIRECT, response_type="token", state="xyz"
            )
            fragment = parse_qs(urlsplit(answer.headers["location"]).fragment)
            assert fragment["state"] == ["xyz"] and fragment["token_type"] == ["bearer"]
            me = await http.get(
                f"{base}/api/v2/users/me", headers={"Authorization": f"Bearer {fragment['access_token'][0]}"}
            )
            assert me.json()["id"] == "u-bob"


async def test_people_identify_watch_and_roles() -> None:
    async with genesys_env() as env:
        fake = env.fake
        org(fake)
        conversation = fake.start_conversation(queue_id="q-support", user_id="u-ann")
        people = GenesysPeople(
            env.api, env.http, supervisor_groups=["team LEADS"], supervisor_roles=[entity_id("Supervisor")]
        )
        ann = await people.identify(fake.issue_user_token("u-ann")[0])
        assert (ann.user_id, ann.name, ann.roles) == ("u-ann", "Ann Agent", frozenset({"agent"}))
        bob = await people.identify(fake.issue_user_token("u-bob")[0])

        assert await people.may_watch(ann, f"conversation:{conversation.id}") is None
        assert "not a participant" in await people.may_watch(bob, f"conversation:{conversation.id}")
        assert "not found" in await people.may_watch(ann, "conversation:nope")
        assert await people.may_watch(ann, "queue:q-support") is None
        assert "not a member of queue q-support" in await people.may_watch(bob, "queue:q-support")

        # supervisors: by group name (case-insensitive) and by role id; they watch any queue
        lee = await people.identify(fake.issue_user_token("u-lee")[0])
        roz = await people.identify(fake.issue_user_token("u-roz")[0])
        assert lee.roles == roz.roles == frozenset({"agent", "supervisor"})
        assert await people.may_watch(lee, "queue:q-sales") is None

        # cached: asking again sends nothing
        sent = len(fake.requests)
        assert await people.roles_of("u-lee") == frozenset({"agent", "supervisor"})
        assert await people.may_watch(ann, f"conversation:{conversation.id}") is None
        assert len(fake.requests) == sent

        fake.revoke_user_tokens("u-bob")
        with pytest.raises(SignInRefused):
            await people.identify(fake.issue_user_token("u-bob")[0] + "x")
        # a refused token is asked once (no retry with the same token)
        assert len(fake.requests_to("/api/v2/users/me")) == 5


async def test_people_when_genesys_fails() -> None:
    async with genesys_env() as env:
        org(env.fake)
        people = GenesysPeople(env.api, env.http)
        env.fake.fail_next(503, path="/api/v2/users/me", times=5)
        with pytest.raises(SignInUnavailable):
            await people.identify(env.fake.issue_user_token("u-ann")[0])


async def test_roles_that_cannot_be_read_do_not_block_a_participant_but_do_not_make_a_supervisor() -> None:
    async with genesys_env() as env:
        org(env.fake)
        conversation = env.fake.start_conversation(queue_id="q-support", user_id="u-lee")
        env.fake.org.deny("GET", r"^/api/v2/users/u-lee$", "directory:user:view")
        people = GenesysPeople(env.api, env.http, supervisor_groups=["Team leads"])
        lee = await people.identify(env.fake.issue_user_token("u-lee")[0])
        assert lee.roles == frozenset({"agent"}) and lee.roles_known is False
        assert await people.may_watch(lee, f"conversation:{conversation.id}") is None
        with pytest.raises(SignInUnavailable):
            await people.may_watch(lee, "queue:q-sales")  # a supervisor? Genesys cannot say: 503, not 403
