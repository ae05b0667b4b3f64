"""Both Bot Connector products through the real service, against the fake's Genesys-like bot flow."""

from __future__ import annotations

import functools
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import trio

from commandlang.channels.genesys.botlist import NOT_A_COMMAND
from commandlang.testing.fake_genesys import BotFlowDriver, FakeGenesys, serve_fake_genesys
from .sdk_bot_oracle import sdk_problems
from tests.runtime.support import REGISTRY, Running, running_service

BOT_SECRET = "bot-secret-55d0"
CLIENT_SECRET = "client-secret-1f2e"
REGISTRY_WITH_BOTS = (
    REGISTRY
    + """  receipt:
    summary: The receipt as a file
    reply:
      success: {text: "Your receipt", attachments: [{url: "https://files.example.com/r7.png", media_type: Image, mime: image/png}]}
  handoff:
    summary: Hand the conversation to an agent, with what the customer asked
    genesys: {ends_bot_session: true}
    args:
      order: {type: int, positional: true, required: true}
      urgent: bool
      wait: duration
      topics: "list[str]"
      pin: {type: str, sensitive: true}
"""
)


@asynccontextmanager
async def bots_service(
    tmp_path: Path, registry: str = REGISTRY_WITH_BOTS, **extra: Any
) -> AsyncIterator[tuple[Running, FakeGenesys]]:
    async with trio.open_nursery() as nursery:
        fake = await nursery.start(functools.partial(serve_fake_genesys, client_id="cl-b", client_secret=CLIENT_SECRET))
        settings = dict(
            genesys_client_id="cl-b",
            genesys_client_secret=CLIENT_SECRET,
            genesys_api_base=fake.base_url,
            genesys_login_base=fake.base_url,
            genesys_bot_secret=BOT_SECRET,
            genesys_bot_budget=0.5,
            genesys_bot_id="cmd-bot",
            **extra,
        )
        async with running_service(tmp_path, registry, **settings) as run:
            yield run, fake
        nursery.cancel_scope.cancel()


def dbc(run: Running, fake: FakeGenesys, **options: Any) -> BotFlowDriver:
    return BotFlowDriver(
        fake,
        f"{run.base}/genesys/dbc",
        secret=f"Bearer {BOT_SECRET}",
        product="dbc",
        bot_id="cmd-bot",
        with_agent=False,
        **options,
    )


async def test_dbc_bot_list_is_served_behind_the_secret_and_404_for_another_bot(tmp_path: Path) -> None:
    async with bots_service(tmp_path) as (run, fake):
        base = f"{run.base}/genesys/dbc"
        for path in ("/bots", "/bots/cmd-bot"):
            assert (await run.client.get(base + path)).status_code == 403
            assert (await run.client.get(base + path, headers={"Authorization": "wrong"})).status_code == 403
        assert (await run.client.post(f"{base}/messages", json={})).status_code == 403
        assert (await run.client.post(f"{run.base}/genesys/bot", json={})).status_code == 403
        auth = {"Authorization": BOT_SECRET}
        listing = (await run.client.get(f"{base}/bots", headers=auth)).json()
        bot = listing["entities"][0]
        assert bot == (await run.client.get(f"{base}/bots/cmd-bot", headers=auth)).json()
        assert [i["name"] for i in bot["versions"][0]["intents"]] == [
            "slow",
            "status",
            "note",
            "receipt",
            "handoff",
            NOT_A_COMMAND,
        ]
        assert (await run.client.get(f"{base}/bots/CMD-BOT", headers=auth)).status_code == 404  # ids are case-sensitive
        assert await run.rows() == []  # nothing ran


async def test_dbc_chat_ends_with_the_declared_not_a_command_intent_and_commands_stay_in_the_bot(
    tmp_path: Path,
) -> None:
    async with bots_service(tmp_path) as (run, fake):
        flow = dbc(run, fake)
        turn = await flow.send_text("/note hello")
        assert turn.path == "bot" and turn.response.intent == "note"
        chat = await flow.send_text("can I talk to someone?", conversation_id=turn.conversation_id)
        assert chat.path == f"intent:{NOT_A_COMMAND}" and chat.texts == []
        receipt = await flow.send_text("/receipt", conversation_id=turn.conversation_id)
        assert receipt.path == "bot"  # Genesys would refuse an attachment in a Structured message
        message = receipt.raw["replyMessages"][-1]
        assert message["type"] == "Text" and message["content"][0]["attachment"]["filename"] == "r7.png"
        assert [r.path for r in fake.requests if r.path.startswith("/api")] == []  # nothing through the public API


async def test_dbc_ends_bot_session_command_completes_with_its_intent_and_typed_entities(tmp_path: Path) -> None:
    async with bots_service(tmp_path) as (run, fake):
        turn = await dbc(run, fake).send_text("/handoff 123 --urgent wait=1h30m topics=a topics=b pin=4242")
        assert turn.path == "intent:handoff"
        assert turn.raw["entities"] == [
            {"name": "order", "type": "Integer", "value": "123"},
            {"name": "urgent", "type": "Boolean", "value": "true"},
            {"name": "wait", "type": "Duration", "value": "PT1H30M"},
            {"name": "topics", "type": "StringCollection", "values": ["a", "b"]},
        ]  # the sensitive pin never leaves
        assert "4242" not in str(turn.raw)


async def test_dbc_slow_command_acks_in_time_and_finishes_through_outgoing_messages(tmp_path: Path) -> None:
    async with bots_service(tmp_path) as (run, fake):
        turn = await dbc(run, fake).send_text("/slow 5 delay=1.5")
        assert turn.path == "bot" and turn.texts == ["Working on 5..."]
        with trio.fail_after(10):
            while not fake.requests_to("/api/v2/integrations/botconnectors/outgoing/messages"):
                await trio.sleep(0.05)
        sent = fake.requests_to("/api/v2/integrations/botconnectors/outgoing/messages")[0]
        assert sent.status == 200 and sdk_problems("OutgoingMessageRequest", sent.body) == []
        assert (sent.body["botId"], sent.body["botState"]) == ("cmd-bot", "MoreData")
        assert sent.body["botSessionId"] == fake.bot_exchanges[0][0]["botSessionId"]
        assert (
            sent.body["botVersion"] == fake.bot_exchanges[0][0]["botVersion"]
        )  # the session's, or Genesys says mismatch
        assert [m.text for m in fake.transcript(turn.conversation_id) if m.sender == "bot"][-1] == "Slow 5 done"


async def test_classic_handle_utterance_still_works_and_checks_intents_against_the_pushed_list(tmp_path: Path) -> None:
    async with bots_service(tmp_path) as (run, fake):
        from commandlang.channels.genesys.botlist import build_bot
        from commandlang.channels.genesys.models import classic_bot_list

        flow = BotFlowDriver(
            fake, f"{run.base}/genesys/bot", secret=BOT_SECRET, bot_id="cmd-bot", integration_id="int-9"
        )
        spec_version = (
            await run.client.get(f"{run.base}/genesys/dbc/bots", headers={"Authorization": BOT_SECRET})
        ).json()["entities"][0]["versions"][0]["version"]
        from commandlang.registry.loader import load_spec

        spec, _ = load_spec(str(run.registry), env={"DEMO_API": "http://x"})
        fake.bot_lists["int-9"] = classic_bot_list((build_bot(spec, spec_version, bot_id="cmd-bot").bot,))
        chat = await flow.send_text("hello")
        assert chat.path == f"intent:{NOT_A_COMMAND}"
        ended = await flow.send_text("/handoff 7", conversation_id=chat.conversation_id)
        assert ended.path == "intent:handoff" and ended.raw["slotValues"] == {"order": "7", "urgent": "false"}
        assert "entities" not in ended.raw


async def test_invalid_answers_take_the_failure_path_in_the_fake_flow(tmp_path: Path) -> None:
    async with bots_service(tmp_path) as (run, fake):
        flow = dbc(run, fake, raise_on_invalid=False)
        await flow.load_bot()
        from commandlang.channels.genesys.models import BotVersion

        assert flow.version is not None
        flow.version = BotVersion(flow.version.version, ("en-us",), flow.version.intents[:-1])  # a flow without it
        chat = await flow.send_text("just chatting")
        assert chat.path == "failure" and "not declared" in chat.invalid
        assert [m.sender for m in fake.transcript(chat.conversation_id)] == ["customer"]


async def test_a_registry_over_genesys_limits_is_refused_when_the_bot_connector_is_on(tmp_path: Path) -> None:
    import pytest

    too_many = "version: 1\ncommands:\n" + "".join(f"  c{n}: {{}}\n" for n in range(50))
    with pytest.raises(BaseException) as caught:
        async with bots_service(tmp_path, too_many):
            pass
    assert "genesys_too_many_intents" in repr(caught.value) or "genesys_too_many_intents" in str(caught.value.__cause__)


async def test_a_retried_dbc_message_runs_once_deduped_on_conversation_and_message_id(tmp_path: Path) -> None:
    async with bots_service(tmp_path) as (run, fake):
        body = {
            "botId": "cmd-bot",
            "botVersion": "v",
            "botSessionId": "s-1",
            "messageId": "m-1",
            "inputMessage": {"type": "Text", "text": "/note once"},
            "languageCode": "en-us",
            "botSessionTimeout": 60,
            "genesysConversationId": "conv-1",
        }
        url, auth = f"{run.base}/genesys/dbc/messages", {"Authorization": BOT_SECRET}
        first = await run.client.post(url, json=body, headers=auth)
        again = await run.client.post(url, json=body, headers=auth)  # Genesys retries a 5xx or a timeout
        assert first.status_code == again.status_code == 200
        other = await run.client.post(url, json={**body, "genesysConversationId": "conv-2"}, headers=auth)
        assert other.status_code == 200
        rows = sorted((r["conversation_id"], r["message_id"]) for r in await run.rows())
        assert rows == [("conv-1", "m-1"), ("conv-2", "m-1")]


SLOW_HANDOFF = (
    REGISTRY_WITH_BOTS
    + """  slowhand:
    summary: Hand over after a slow backend call
    genesys: {ends_bot_session: true}
    args:
      n: {type: int, positional: true, required: true}
    request:
      backend: demo
      method: GET
      path: /echo/{n}
      headers: {X-Demo-Fault: "latency=1.0"}
    ack: "Handing over..."
    reply:
      success: {text: "Handed over {{ args.n }}"}
"""
)


async def test_a_slow_session_ending_command_ends_the_session_after_its_late_replies(tmp_path: Path) -> None:
    async with bots_service(tmp_path, SLOW_HANDOFF) as (run, fake):
        turn = await dbc(run, fake).send_text("/slowhand 3")
        assert turn.path == "bot" and turn.texts == ["Handing over..."]  # MoreData in time, with the ack
        outgoing = "/api/v2/integrations/botconnectors/outgoing/messages"
        with trio.fail_after(10):
            while len(fake.requests_to(outgoing)) < 2:
                await trio.sleep(0.05)
        late, end = (r.body for r in fake.requests_to(outgoing)[:2])
        assert late["botState"] == "MoreData" and late["replyMessages"][0]["text"] == "Handed over 3"
        assert (end["botState"], end["intent"]) == ("Complete", "slowhand")  # after the reply, not before
        assert end["entities"] == [{"name": "n", "type": "Integer", "value": "3"}]
        assert end["botSessionId"] == late["botSessionId"]
        assert sdk_problems("OutgoingMessageRequest", end) == []
