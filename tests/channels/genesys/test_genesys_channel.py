"""The whole channel as the runtime will wire it: runtime HttpApp route, ingest -> submit, outbox sink,
real `Reply` objects through main's compilers, against the fake over real sockets."""

from __future__ import annotations

import functools

import trio

from commandlang.channels.genesys import GenesysChannel, GenesysSettings
from commandlang.replies.model import Attachment, Button, Card, QuickReply, Reply
from commandlang.runtime.http import HttpApp, Response, serve_http
from commandlang.runtime.messages import InboundMessage, Job, OutboundReply, ReplySink
from commandlang.testing.fake_genesys import BotFlowDriver
from .genesys_helpers import CLIENT_ID, CLIENT_SECRET, genesys_env

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
BOT_SECRET = "the-bot-secret"


class StubPipeline:
    """`submit(message, sink)` like `runtime.pipeline.Pipeline.submit`, producing real replies."""

    def __init__(self, nursery: trio.Nursery, image_url: str) -> None:
        self.nursery, self.image_url = nursery, image_url
        self.submitted: list[InboundMessage] = []

    async def submit(self, message: InboundMessage, sink: ReplySink | None = None) -> Job:
        self.submitted.append(message)
        job = Job(message, sink)
        self.nursery.start_soon(self._run, job)
        return job

    async def _run(self, job: Job) -> None:
        text = job.message.text
        if text.startswith("/refund"):
            await job.deliver(
                Reply(
                    text="Refund R-1 created.",
                    quick_replies=(QuickReply("Order status", "/status 123"),),
                    cards=(
                        Card(
                            "Refund R-1",
                            "Order 123, 19.99 EUR",
                            actions=(
                                Button("postback", "Undo", "/refund.cancel R-1"),
                                Button("link", "Details", url="https://example.test/r/1"),
                            ),
                        ),
                    ),
                )
            )
        elif text.startswith("/receipt"):
            await job.deliver(
                Reply(
                    text="Your receipt",
                    attachments=(Attachment(self.image_url, filename="receipt.png", mime="image/png"),),
                )
            )
        elif text.startswith("/slow"):
            await job.deliver(Reply(text="Working on it…"))
            await trio.sleep(0.5)
            await job.deliver(Reply(text="Slow thing done.", quick_replies=(QuickReply("Again", "/slow"),)))
        job.finish()


async def _agent_texts(fake, conversation_id: str, count: int) -> list:
    with trio.fail_after(5):
        while len([m for m in fake.transcript(conversation_id) if m.sender == "agent"]) < count:
            await trio.sleep(0.02)
    return [m for m in fake.transcript(conversation_id) if m.sender == "agent"]


async def test_the_channel_end_to_end_on_both_paths() -> None:
    async with genesys_env() as env:
        settings = GenesysSettings.from_env(
            {
                "GENESYS_API_BASE": env.fake.base_url,
                "GENESYS_CLIENT_ID": CLIENT_ID,
                "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
                "GENESYS_QUEUE_IDS": "q1, q2",
                "GENESYS_BOT_SECRET": BOT_SECRET,
                "GENESYS_BOT_BUDGET": "0.2",
            }
        )
        assert settings.endpoints.login_base == env.fake.base_url and settings.queue_ids == ("q1", "q2")
        assert BOT_SECRET not in repr(settings) and CLIENT_SECRET not in repr(settings)
        app = HttpApp()
        stop = trio.Event()

        async def image(request) -> Response:
            return Response(200, PNG, {"content-type": "image/png"})

        app.route("GET", "/img.png", image)
        port = await env.nursery.start(functools.partial(serve_http, app, "127.0.0.1", 0, shutdown=stop))
        base = f"http://127.0.0.1:{port}"
        pipeline = StubPipeline(env.nursery, f"{base}/img.png")
        channel = GenesysChannel(settings, env.http, pipeline.submit, backoff_base=0.05)
        app.route("POST", GenesysChannel.BOT_PATH, channel.bot_route)
        await env.nursery.start(channel.run)

        # Bot Connector path: rich reply compiled by compile_genesys and accepted by the fake's model
        driver = BotFlowDriver(env.fake, f"{base}{GenesysChannel.BOT_PATH}", secret=BOT_SECRET, http=env.http)
        turn = await driver.send_text("/refund 123 amount=19.99")
        assert turn.response.bot_state == "MoreData"
        kinds = [type(c).__name__ for m in turn.response.reply_messages for c in m.content]
        assert kinds == ["Card", "QuickReply"] and turn.texts == ["Refund R-1 created."]
        assert (
            await driver.send_text("thanks!", conversation_id=turn.conversation_id)
        ).response.bot_state == "Complete"
        slow = await driver.send_text("/slow", conversation_id=turn.conversation_id)
        assert slow.texts == ["Working on it…"]
        [late] = await _agent_texts(env.fake, turn.conversation_id, 1)
        assert late.text.startswith("Slow thing done.") and "Again" in late.text

        # Notification path: the customer's message is read from the queue and answered as text (+ media)
        asked = env.fake.inject_customer_message("/refund 5", queue_id="q1")
        conversation_id = next(c for c in env.fake.conversations if c != turn.conversation_id)
        [answer] = await _agent_texts(env.fake, conversation_id, 1)
        assert "Refund R-1 created." in answer.text and "Order status" in answer.text and "Undo" in answer.text
        assert pipeline.submitted[-1].message_id == asked.id and pipeline.submitted[-1].role == "customer"
        env.fake.inject_customer_message("/receipt", conversation_id=conversation_id, queue_id="q1")
        replies = await _agent_texts(env.fake, conversation_id, 3)
        with_media = [m for m in replies if m.media_ids]
        assert len(with_media) == 1 and env.fake.media[with_media[0].media_ids[0]].data == PNG
        await trio.sleep(0.3)
        # our own replies came back as events and were not taken for commands
        assert [m.text for m in pipeline.submitted if m.channel == "genesys" and m.role == "agent"] == []
        assert channel.failed_deliveries == 0
        stop.set()


async def test_a_slow_command_in_a_bot_flow_without_an_agent_finishes_in_the_bot_session() -> None:
    async with genesys_env() as env:
        settings = GenesysSettings.from_env(
            {
                "GENESYS_API_BASE": env.fake.base_url,
                "GENESYS_CLIENT_ID": CLIENT_ID,
                "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
                "GENESYS_BOT_SECRET": BOT_SECRET,
                "GENESYS_BOT_BUDGET": "0.2",
            }
        )
        app = HttpApp()
        stop = trio.Event()
        port = await env.nursery.start(functools.partial(serve_http, app, "127.0.0.1", 0, shutdown=stop))
        pipeline = StubPipeline(env.nursery, "unused")
        channel = GenesysChannel(settings, env.http, pipeline.submit)
        assert channel.ingest is None  # no queues or users: Bot Connector only
        app.route("POST", GenesysChannel.BOT_PATH, channel.bot_route)
        await env.nursery.start(channel.run)
        driver = BotFlowDriver(
            env.fake,
            f"http://127.0.0.1:{port}{GenesysChannel.BOT_PATH}",
            secret=BOT_SECRET,
            http=env.http,
            with_agent=False,
        )
        slow = await driver.send_text("/slow")
        assert slow.texts == ["Working on it…"]
        with trio.fail_after(5):
            while channel.delivered_to_bot_session < 1:
                await trio.sleep(0.02)
        last = env.fake.transcript(slow.conversation_id)[-1]
        assert (last.sender, last.text) == ("bot", "Slow thing done.")
        assert last.content == [
            {"contentType": "QuickReply", "quickReply": {"text": "Again", "payload": "/slow", "action": "Message"}}
        ]
        sent = env.fake.requests_to("/api/v2/integrations/botconnectors/outgoing/messages")
        assert sent[0].body["botSessionId"] == driver.session_id(slow.conversation_id)
        assert channel.failed_deliveries == 0
        stop.set()


async def test_startup_is_not_held_up_by_an_unreachable_genesys_and_shutdown_sends_what_is_queued() -> None:
    async with genesys_env() as env:
        unreachable = GenesysSettings.from_env(
            {
                "GENESYS_API_BASE": "http://127.0.0.1:9",
                "GENESYS_CLIENT_ID": "a",
                "GENESYS_CLIENT_SECRET": "b",
                "GENESYS_QUEUE_IDS": "q1",
            }
        )
        pipeline = StubPipeline(env.nursery, "unused")
        offline = GenesysChannel(unreachable, env.http, pipeline.submit, backoff_base=0.05, backoff_max=0.1)
        with trio.fail_after(3):
            await env.nursery.start(functools.partial(offline.run, startup_wait=0.5))
        assert not offline.ingest_ready.is_set()

        settings = GenesysSettings.from_env(
            {
                "GENESYS_API_BASE": env.fake.base_url,
                "GENESYS_CLIENT_ID": CLIENT_ID,
                "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
            }
        )
        channel = GenesysChannel(settings, env.http, pipeline.submit)
        await env.nursery.start(channel.run)
        conversation = env.fake.start_conversation(queue_id="q1")
        inbound = InboundMessage("genesys", conversation.id, "m-1", "p-1", "customer", "/refund 1", 0.0)
        for i in range(5):
            await channel.send(OutboundReply(conversation.id, Reply(text=f"reply {i}"), None, inbound))
        await channel.aclose()
        assert [m.text for m in env.fake.transcript(conversation.id)] == [f"reply {i}" for i in range(5)]
