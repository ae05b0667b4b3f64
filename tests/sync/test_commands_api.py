"""`POST /sync/complete` and `POST /sync/commands` on the real service, over real sockets.

The attacker's view (no token, a forged or expired one, another conversation's, a huge body, junk
JSON) and the agent's (the same suggestions as `Registry.complete`, a command run as the agent and
seen live on `/sync`, its replies sent to the customer on the webhook callback).
"""

from __future__ import annotations

import functools
import json

import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

import commandlang
from commandlang.sync import Snapshot, SyncClient
from commandlang.registry.complete import index_to_utf16, utf16_to_index
from tests.conftest import SAMPLE
from tests.runtime.support import CallbackReceiver, running_service

from .support import token

SECRET = "command-box-secret"


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}", "content-type": "application/json"}


async def post(run, path: str, body: object, auth: str | None) -> httpx.Response:
    headers = bearer(auth) if auth is not None else {"content-type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await run.client.post(f"{run.base}{path}", content=content, headers=headers)


def sample_service(tmp_path, **settings):
    return running_service(tmp_path, SAMPLE.read_text(), templates=SAMPLE.parent / "templates", **settings)


# -- the attacker's view ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/sync/complete", "/sync/commands"])
async def test_no_forged_or_expired_token_gets_anything(tmp_path, path: str) -> None:
    body = {"conversation_id": "c1", "text": "/status 1"}
    async with running_service(tmp_path, sync_secret=SECRET) as run:
        for auth, reason in [
            (None, "Authorization: Bearer"),
            ("not-a-token", "malformed"),
            (token("*", secret="another-deployment"), "signature"),
            (token("*", secret=SECRET, ttl=-5), "expired"),
        ]:
            response = await post(run, path, body, auth)
            assert response.status_code == 401, auth
            assert reason in response.json()["error"]
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert await run.rows() == []  # nothing ran


async def test_the_token_is_checked_before_the_body_is_read(tmp_path) -> None:
    """A request that announces 10 MB and sends none of it is refused at once (not after the body timeout)."""
    async with running_service(tmp_path, sync_secret=SECRET, body_timeout=30.0) as run:
        stream = await trio.open_tcp_stream("127.0.0.1", run.ports.http)
        head = (
            "POST /sync/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Authorization: Bearer forged.token\r\nContent-Length: 10000000\r\n\r\n"
        )
        await stream.send_all(head.encode())
        answer = b""
        with trio.fail_after(5):  # well before the 30 s a body may take
            while b"\r\n\r\n" not in answer:
                answer += await stream.receive_some(4096)
        await stream.aclose()
        assert answer.startswith(b"HTTP/1.1 401")


async def test_a_token_for_another_conversation_is_403_and_nothing_runs(tmp_path) -> None:
    async with running_service(tmp_path, sync_secret=SECRET) as run:
        mine = token("conversation:c1", secret=SECRET)
        response = await post(run, "/sync/commands", {"conversation_id": "c2", "text": "/status 1"}, mine)
        assert response.status_code == 403 and "c2" in response.json()["error"]
        # a queue scope covers a conversation only when its commands are on that queue
        await run.webhook("/note hello", conversation="c3")
        queue = token("queue:q1", secret=SECRET)
        response = await post(run, "/sync/commands", {"conversation_id": "c3", "text": "/status 1"}, queue)
        assert response.status_code == 403
        assert [r["conversation_id"] for r in await run.rows()] == ["c3"]


async def test_huge_bodies_and_junk_json_are_refused_with_a_reason(tmp_path) -> None:
    async with running_service(tmp_path, sync_secret=SECRET) as run:
        agent = token("*", secret=SECRET)
        huge = json.dumps({"conversation_id": "c1", "text": "/note " + "x" * 100_000}).encode()
        assert (await post(run, "/sync/commands", huge, agent)).status_code == 413
        assert (await post(run, "/sync/complete", huge, agent)).status_code == 413
        for body, reason in [
            (b"{not json", "not JSON"),
            (b"[" * 5000 + b"]" * 5000, "acceptable JSON"),
            (b"[1, 2]", "JSON object"),
            (json.dumps({"conversation_id": "", "text": "/x"}).encode(), "conversation_id"),
            (json.dumps({"conversation_id": "c1", "text": 5}).encode(), "text"),
            (json.dumps({"conversation_id": "c1", "text": "/x", "send_to_customer": "yes"}).encode(), "send_to"),
            (json.dumps({"conversation_id": "c1", "text": "/x", "channel": "telex"}).encode(), "channel"),
        ]:
            response = await post(run, "/sync/commands", body, agent)
            assert response.status_code == 400 and reason in response.json()["error"], body[:40]
        for body, reason in [
            (b"\xff\xfe", "JSON"),
            (json.dumps({"text": None}).encode(), "text"),
            (json.dumps({"text": "/x", "cursor": "end"}).encode(), "cursor"),
            (json.dumps({"text": "/x", "cursor": True}).encode(), "cursor"),
        ]:
            response = await post(run, "/sync/complete", body, agent)
            assert response.status_code == 400 and reason in response.json()["error"], body
        assert await run.rows() == []


async def test_a_full_pipeline_answers_503_with_retry_after(tmp_path) -> None:
    async with running_service(tmp_path, sync_secret=SECRET, max_concurrency=1, conversation_queue=1) as run:
        agent = token("conversation:busy", secret=SECRET)
        body = {"conversation_id": "busy", "text": "/slow 1 delay=2"}
        async with trio.open_nursery() as nursery:
            answers: list[httpx.Response] = []

            async def one() -> None:
                answers.append(await post(run, "/sync/commands", body, agent))

            for _ in range(6):  # one runs, one waits in the conversation's queue, the rest are refused
                nursery.start_soon(one)
        refused = [a for a in answers if a.status_code == 503]
        assert refused and all(a.headers["retry-after"] for a in refused)
        assert all(a.status_code in (200, 503) for a in answers)


# -- the agent's view ---------------------------------------------------------------------------------
async def test_complete_over_http_is_registry_complete(tmp_path) -> None:
    registry = commandlang.load_registry(SAMPLE, env={})
    async with sample_service(tmp_path, sync_secret=SECRET) as run:
        agent = token("conversation:c1", secret=SECRET)
        for text, cursor in [("/ref", None), ("/refund 1 ", None), ("/callback 1 topic=b", None), ("/ticket cl", 9)]:
            response = await post(run, "/sync/complete", {"text": text, "cursor": cursor}, agent)
            assert response.status_code == 200
            data = response.json()
            expected = registry.completion(text, cursor, role="agent")
            assert data["suggestions"] == [s.to_json() for s in expected.suggestions]
            assert data["replace"] == {"start": expected.start, "end": expected.end}
            assert data["usage"] == expected.usage
        # the cursor counts UTF-16 code units, as a browser's selectionStart does
        text = "/refund 1 reason=\U0001f600 amount="
        data = (await post(run, "/sync/complete", {"text": text, "cursor": len(text) + 1}, agent)).json()
        assert data["replace"]["end"] == len(text) + 1 and data["suggestions"][0]["label"] == "<decimal>"


def test_utf16_offsets_round_trip() -> None:
    text = "a\U0001f600b\u00e9"
    assert [utf16_to_index(text, u) for u in range(7)] == [0, 1, 2, 2, 3, 4, 4]
    assert [index_to_utf16(text, i) for i in range(5)] == [0, 1, 3, 4, 5]


async def test_a_command_runs_as_the_agent_and_shows_live_on_sync(tmp_path) -> None:
    async with running_service(tmp_path, sync_secret=SECRET) as run:
        url = f"ws://127.0.0.1:{run.ports.sync}/sync"
        watcher = token("conversation:c9", agent="lead-1", secret=SECRET)
        async with SyncClient(url, watcher, ["conversation:c9"]) as client:
            assert isinstance(await client.__anext__(), Snapshot)
            agent = token("conversation:c9", agent="agent-42", secret=SECRET)
            first = await post(run, "/sync/commands", {"conversation_id": "c9", "text": "/status 12345"}, agent)
            again = await post(run, "/sync/commands", {"conversation_id": "c9", "text": "/status 12345"}, agent)
            assert first.status_code == again.status_code == 200
            data = first.json()
            assert data["command"]["status"] == "completed" and data["replies"]
            assert data["command"]["actor"] == "agent-42" and data["command"]["role"] == "agent"
            assert again.json()["command"]["id"] != data["command"]["id"]  # a fresh message id each time
            with trio.fail_after(5):
                states = [await client.__anext__() for _ in range(3)]
        assert [(s.command_id, s.status) for s in states] == [
            (data["command"]["id"], "pending"),
            (data["command"]["id"], "executing"),
            (data["command"]["id"], "completed"),
        ]
        assert {s.command["actor"] for s in states} == {"agent-42"}
        # an error is answered like the webhook: a rejected record and the reply that says why
        bad = (await post(run, "/sync/commands", {"conversation_id": "c9", "text": "/status x"}, agent)).json()
        assert bad["command"]["status"] == "rejected" and bad["replies"]


async def test_send_to_customer_needs_a_channel_that_can(tmp_path) -> None:
    async with running_service(tmp_path, sync_secret=SECRET) as run:  # the webhook without a callback URL
        agent = token("conversation:c1", secret=SECRET)
        await run.webhook("/note first", conversation="c1")
        body = {"conversation_id": "c1", "text": "/status 1", "send_to_customer": True}
        response = await post(run, "/sync/commands", body, agent)
        assert response.status_code == 409 and "callback URL" in response.json()["error"]
        assert len(await run.rows()) == 1  # refused before anything ran


async def test_send_to_customer_reaches_the_webhook_callback(tmp_path) -> None:
    receiver = CallbackReceiver()
    async with trio.open_nursery() as nursery:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = config.errorlog = None
        binds = await nursery.start(functools.partial(serve, receiver, config))
        async with running_service(tmp_path, sync_secret=SECRET, webhook_callback=f"{binds[0]}/hook") as run:
            agent = token("conversation:cb", agent="agent-7", secret=SECRET)
            # first without send_to_customer: the customer is sent nothing
            quiet = {"conversation_id": "cb", "text": "/note only me"}
            assert (await post(run, "/sync/commands", quiet, agent)).status_code == 200
            body = {"conversation_id": "cb", "text": "/note for you", "send_to_customer": True}
            response = await post(run, "/sync/commands", body, agent)
            assert response.status_code == 200
            data = response.json()
            assert data["channel"] == "webhook" and data["sent_to_customer"] is True
            with trio.fail_after(5):
                while not receiver.received:
                    await receiver.changed.wait()
                    receiver.changed = trio.Event()
            # a conversation's callbacks go out in order: had the first been sent, it would have come first
            assert len(receiver.received) == 1
            payload = receiver.received[0][0]
            assert payload["conversation_id"] == "cb" and payload["command_id"] == data["command"]["id"]
            assert payload["reply"] == data["replies"][0]
        nursery.cancel_scope.cancel()


async def test_a_confirmation_is_answered_through_the_command_box_too(tmp_path) -> None:
    async with sample_service(tmp_path, sync_secret=SECRET) as run:
        agent = token("conversation:c5", agent="agent-3", secret=SECRET)
        asked = (
            await post(run, "/sync/commands", {"conversation_id": "c5", "text": "/refund 7 amount=5"}, agent)
        ).json()
        # nothing runs until it is confirmed; the record says what waits, and for whom
        assert asked["command"]["status"] == "awaiting_confirmation" and asked["command"]["actor"] == "agent-3"
        assert asked["command"]["confirmation"]["asked_of"] == "agent-3"
        question = asked["replies"][0]
        assert question["text"] == "Refund £5.00 on order 7?"  # the sample formats amounts (money)
        confirm = next(q["payload"] for q in question["quick_replies"] if q["label"] == "Confirm")
        done = (await post(run, "/sync/commands", {"conversation_id": "c5", "text": confirm}, agent)).json()
        assert done["command"]["command"] == "refund" and done["command"]["status"] == "completed"
        assert done["command"]["actor"] == "agent-3" and done["command"]["id"] == asked["command"]["id"]
        # another agent cannot answer a question asked of this one
        other = token("conversation:c5", agent="agent-4", secret=SECRET)
        again = (
            await post(run, "/sync/commands", {"conversation_id": "c5", "text": "/refund 8 amount=5"}, agent)
        ).json()
        payload = next(q["payload"] for q in again["replies"][0]["quick_replies"] if q["label"] == "Confirm")
        stolen = (await post(run, "/sync/commands", {"conversation_id": "c5", "text": payload}, other)).json()
        assert stolen["command"] is None and "nothing waiting" in stolen["replies"][0]["text"]


async def test_the_command_box_speaks_the_agents_language(tmp_path) -> None:
    """The panel sends its `gcLangTag`: replies and suggestions' details follow it, names never do."""
    async with sample_service(tmp_path, sync_secret=SECRET) as run:
        agent = token("conversation:c6", agent="agent-5", secret=SECRET)
        german = (
            await post(
                run,
                "/sync/commands",
                {"conversation_id": "c6", "text": "/refund 7 amount=5", "language": "de-DE"},
                agent,
            )
        ).json()
        question = german["replies"][0]
        assert question["text"].endswith("für Bestellung 7 erstatten?")  # the sample's German confirm
        assert [q["label"] for q in question["quick_replies"]] == ["Bestätigen", "Abbrechen"]
        english = (
            await post(run, "/sync/commands", {"conversation_id": "c6", "text": "/refund 8 amount=5"}, agent)
        ).json()
        assert english["replies"][0]["text"] == "Refund £5.00 on order 8?"  # left out: the default language

        def details(answer: httpx.Response) -> dict[str, str]:
            return {s["label"]: s["detail"] for s in answer.json()["suggestions"]}

        in_german = await post(run, "/sync/complete", {"text": "/ref", "language": "de-CH"}, agent)
        assert details(in_german)["/refund"] == "Eine Bestellung erstatten"  # de-CH falls back to de
        assert details(await post(run, "/sync/complete", {"text": "/ref"}, agent))["/refund"] == "Refund an order"
        in_french = await post(run, "/sync/complete", {"text": "/ref", "language": "fr"}, agent)
        assert details(in_french)["/refund"] == "Refund an order"  # not declared: the default's
        for path in ("/sync/complete", "/sync/commands"):
            bad = await post(run, path, {"conversation_id": "c6", "text": "/ref", "language": "<script>"}, agent)
            assert bad.status_code == 400 and "language" in bad.json()["error"]
