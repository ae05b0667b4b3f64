"""The Genesys channel inside the real service, against the fake Genesys Cloud, end to end over sockets."""

from __future__ import annotations

import functools
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import trio

from commandlang.testing.fake_genesys import BotFlowDriver, FakeGenesys, serve_fake_genesys
from tests.runtime.support import Running, running_service

ROOT = Path(__file__).resolve().parents[3]
BOT_SECRET = "bot-secret-7c1e"
CLIENT_SECRET = "client-secret-93ab"


@asynccontextmanager
async def service_on_fake_genesys(tmp_path: Path, **extra: object) -> AsyncIterator[tuple[Running, FakeGenesys]]:
    """The sample registry served with its Genesys channel pointed at a fake Genesys Cloud (queue-1 watched);
    `extra` service settings on top."""
    sample = (ROOT / "commands.yaml").read_text()
    async with trio.open_nursery() as nursery:
        fake = await nursery.start(functools.partial(serve_fake_genesys, client_id="cl-1", client_secret=CLIENT_SECRET))
        settings = dict(
            genesys_client_id="cl-1",
            genesys_client_secret=CLIENT_SECRET,
            genesys_api_base=fake.base_url,
            genesys_login_base=fake.base_url,
            genesys_bot_secret=BOT_SECRET,
            genesys_queue_ids="queue-1",
            **extra,
        )
        async with running_service(tmp_path, sample, templates=ROOT / "templates", **settings) as run:
            yield run, fake
        nursery.cancel_scope.cancel()


async def test_bot_connector_and_notification_paths(tmp_path: Path) -> None:
    async with service_on_fake_genesys(tmp_path) as (run, fake):
        assert f"genesys: {fake.base_url}" in run.out.getvalue()
        ready = (await run.client.get(f"{run.base}/readyz")).json()
        assert ready["checks"]["genesys"] is True

        # Bot Connector: the customer's message comes from the bot flow; the answer is rich content
        bot = BotFlowDriver(fake, f"{run.base}/genesys/bot", secret=BOT_SECRET)
        turn = await bot.send_text("/status 42")
        assert turn.status == 200 and turn.response.bot_state == "MoreData"
        assert turn.texts and turn.texts[0].startswith("Order 42 is")
        chat = await bot.send_text("hello, can I talk to someone?", conversation_id=turn.conversation_id)
        assert chat.response.bot_state == "Complete" and chat.texts == []

        # Notification path: a message in a watched queue is answered as text in the conversation
        message = fake.inject_customer_message("/status 7", queue_id="queue-1")
        conversation_id = next(
            c for c, conv in fake.conversations.items() if any(m.id == message.id for m in conv.messages)
        )
        with trio.fail_after(10):
            while not any(m.sender == "agent" and "Order 7" in m.text for m in fake.transcript(conversation_id)):
                await trio.sleep(0.05)
        statuses = sorted((row["channel"], row["command"], row["status"]) for row in await run.rows())
        assert statuses == [("genesys", "status", "completed"), ("genesys", "status", "completed")]

        # the text reply numbered its choices; the customer answers with a number
        answer = next(m.text for m in fake.transcript(conversation_id) if m.sender == "agent")
        help_line = next(line for line in answer.splitlines() if line.endswith("/help status"))
        fake.inject_customer_message(help_line.split(".")[0], conversation_id=conversation_id)
        with trio.fail_after(10):
            while not any(
                m.sender == "agent" and "/status" in m.text and "Usage" in m.text
                for m in fake.transcript(conversation_id)
            ):
                await trio.sleep(0.05)


async def test_readyz_shows_the_notification_socket_lost_until_it_is_back(tmp_path: Path) -> None:
    async with service_on_fake_genesys(tmp_path) as (run, fake):
        assert (await run.client.get(f"{run.base}/readyz")).status_code == 200
        # the socket drops and the first attempts to open a new channel fail: not ready meanwhile
        fake.fail_next(503, method="POST", path=r"/api/v2/notifications/channels$", times=2)
        fake.drop_sockets()
        with trio.fail_after(5):
            while (answer := await run.client.get(f"{run.base}/readyz")).status_code == 200:
                await trio.sleep(0.01)
        assert answer.status_code == 503 and answer.json()["checks"]["genesys"] is False
        with trio.fail_after(15):
            while (await run.client.get(f"{run.base}/readyz")).status_code != 200:
                await trio.sleep(0.05)


async def test_the_channels_own_counters_are_on_metrics(tmp_path: Path) -> None:
    async with service_on_fake_genesys(tmp_path) as (run, fake):
        message = fake.inject_customer_message("/status 7", queue_id="queue-1")
        conversation_id = next(
            c for c, conv in fake.conversations.items() if any(m.id == message.id for m in conv.messages)
        )
        with trio.fail_after(10):
            while not any(m.sender == "agent" for m in fake.transcript(conversation_id)):
                await trio.sleep(0.05)
        lines = (await run.client.get(f"{run.base}/metrics")).text.splitlines()
    values = {name: float(value) for name, _, value in (line.partition(" ") for line in lines if line[:1] != "#")}
    assert values["commandlang_genesys_outbox_delivered"] == 1 and values["commandlang_genesys_outbox_failed"] == 0
    assert values["commandlang_genesys_tokens_fetched"] == 1
    assert values["commandlang_genesys_api_requests"] >= 3  # channel, subscriptions, the message read, the send
    assert values["commandlang_genesys_api_rate_limited"] == 0
    assert values["commandlang_genesys_notification_channels_created"] == 1
    assert values["commandlang_genesys_notification_reconnects"] == 0
    assert "commandlang_webhook_outbox_queued" in values  # every channel with counters, by its own name
