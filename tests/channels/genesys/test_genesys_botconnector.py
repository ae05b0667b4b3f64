"""Bot Connector: parse, secret, answer; and end to end through the fake's bot flow over real sockets."""

from __future__ import annotations

import json

import trio

from commandlang.channels.genesys import (
    ConversationsReplySink,
    check_bot_secret,
    handle_bot_request,
    parse_bot_request,
    to_inbound_message,
)
from commandlang.runtime.messages import InboundMessage, Job
from commandlang.testing.fake_genesys import BotFlowDriver
from .genesys_helpers import BotEndpointApp, StubRuntime, compile_genesys, compile_text, genesys_env, serve_bot_endpoint

SECRET = "bot-shared-secret"
REQUEST = {
    "botId": "b1",
    "botVersion": "1.0",
    "botSessionId": "s-1",
    "messageId": "m-1",
    "inputMessage": {"type": "Text", "text": "/refund 123 amount=5"},
    "languageCode": "en-us",
    "botSessionTimeout": 4320,
    "genesysConversationId": "c-1",
    "parameters": {},
}
HEADERS = {"Authorization": SECRET}


def test_request_becomes_an_inbound_customer_message() -> None:
    message = to_inbound_message(parse_bot_request(json.dumps(REQUEST).encode()), now=lambda: 5.0)
    assert (message.channel, message.conversation_id, message.message_id, message.role, message.text) == (
        "genesys",
        "c-1",
        "m-1",
        "customer",
        "/refund 123 amount=5",
    )
    assert message.metadata["genesys_bot_session_id"] == "s-1" and message.timestamp == 5.0


def test_secret_header_checked_in_constant_time_forms() -> None:
    assert check_bot_secret({"authorization": SECRET}, SECRET)
    assert check_bot_secret({"Authorization": f"Bearer {SECRET}"}, SECRET)
    assert not check_bot_secret({"Authorization": "nope"}, SECRET)
    assert not check_bot_secret({}, SECRET)
    assert not check_bot_secret({"Authorization": ""}, "")  # an unset secret never lets anyone in
    assert check_bot_secret({"X-Bot-Key": SECRET}, SECRET, header="x-bot-key")


async def test_handler_answers_each_case() -> None:
    async with trio.open_nursery() as nursery:
        runtime = StubRuntime(nursery, None, slow_seconds=0.5)

        async def ask(text: str | None = None, headers=HEADERS, content=None, budget=2.0):
            body = dict(REQUEST)
            if content is not None:
                body["inputMessage"] = {"type": "Structured", "content": content}
            elif text is not None:
                body["inputMessage"] = {"type": "Text", "text": text}
            return await handle_bot_request(
                json.dumps(body).encode(),
                headers,
                runtime.submit,
                secret=SECRET,
                compile_reply=compile_genesys,
                budget=budget,
            )

        command = await ask("/refund 123")
        assert command.status == 200 and command.body["botState"] == "MoreData"
        assert command.body["replyMessages"][0]["content"][0]["quickReply"]["payload"] == "/status 123"
        assert command.body["intent"] == "refund"
        chat = await ask("hello, I need help")
        assert chat.body == {"botState": "Complete", "intent": "commandlang_not_a_command", "confidence": 1.0}
        press = await ask(
            content=[
                {
                    "contentType": "ButtonResponse",
                    "buttonResponse": {"type": "QuickReply", "text": "Order status", "payload": "/status 123"},
                }
            ]
        )
        assert press.body["botState"] == "MoreData" and runtime.submitted[-1].text == "/status 123"
        assert (await ask("/refund 1", headers={"Authorization": "wrong"})).status == 403
        assert (await ask("/refund 1", headers={})).status == 403
        bad = await handle_bot_request(
            b'{"botId": "b1"}', HEADERS, runtime.submit, secret=SECRET, compile_reply=compile_genesys
        )
        assert bad.status == 400 and "is required" in bad.body["errorMessage"]
        boom = await ask("/hang", budget=0.1)  # pipeline never finishes nor replies: ack-less MoreData
        assert boom.body["botState"] == "MoreData" and "replyMessages" not in boom.body

        def exploding_submit(message: InboundMessage) -> Job:
            raise RuntimeError("store is down at /var/secret/path")

        failed = await handle_bot_request(
            json.dumps(REQUEST).encode(), HEADERS, exploding_submit, secret=SECRET, compile_reply=compile_genesys
        )
        assert failed.status == 200 and failed.body["botState"] == "Failed"
        assert failed.body["errorInfo"]["errorCode"] == "internal.error" and "/var/secret" not in json.dumps(
            failed.body
        )
        nursery.cancel_scope.cancel()


async def test_end_to_end_bot_flow_rich_reply_then_slow_command_finishes_through_conversations_api() -> None:
    async with genesys_env() as env:
        sink = ConversationsReplySink(env.conversations, compile_text)
        runtime = StubRuntime(env.nursery, sink, slow_seconds=0.3)
        url = await serve_bot_endpoint(env.nursery, BotEndpointApp(runtime.submit, secret=SECRET, budget=0.2))
        driver = BotFlowDriver(env.fake, url, secret=SECRET, http=env.http)

        turn = await driver.send_text("/refund 123 amount=5")
        assert turn.status == 200 and turn.response.bot_state == "MoreData"
        assert turn.texts == ["refund done for 123 amount=5"]
        buttons = [c.payload for c in turn.response.reply_messages[0].content]
        assert buttons == ["/status 123", "/refund.cancel R-1"]

        pressed = await driver.press_button(turn.conversation_id, text="Order status", payload="/status 123")
        assert pressed.texts == ["status done for 123"]

        chat = await driver.send_text("can I talk to a human?", conversation_id=turn.conversation_id)
        assert chat.response.bot_state == "Complete" and chat.response.reply_messages == ()

        slow = await driver.send_text("/slow", conversation_id=turn.conversation_id)
        assert slow.response.bot_state == "MoreData" and slow.texts == ["Working on it…"]
        with trio.fail_after(5):
            while not any(m.sender == "agent" for m in env.fake.transcript(turn.conversation_id)):
                await trio.sleep(0.02)

        seen = [(m.sender, m.text) for m in env.fake.transcript(turn.conversation_id)]
        assert seen == [
            ("customer", "/refund 123 amount=5"),
            ("bot", "refund done for 123 amount=5"),
            ("customer", "Order status"),
            ("bot", "status done for 123"),
            ("customer", "can I talk to a human?"),
            ("customer", "/slow"),
            ("bot", "Working on it…"),
            ("agent", "Slow thing done.\n1. Again (/slow)"),
        ]
        bot_content = env.fake.transcript(turn.conversation_id)[1].content
        assert bot_content[0] == {
            "contentType": "QuickReply",
            "quickReply": {"text": "Order status", "payload": "/status 123", "action": "Message"},
        }

        wrong = BotFlowDriver(env.fake, url, secret="guess", http=env.http)
        assert (await wrong.send_text("/refund 1")).status == 403


async def test_unset_secret_turns_the_endpoint_off_and_bad_compiled_content_fails_cleanly() -> None:
    async with trio.open_nursery() as nursery:
        runtime = StubRuntime(nursery, None)
        off = await handle_bot_request(
            json.dumps(REQUEST).encode(), HEADERS, runtime.submit, secret="", compile_reply=compile_genesys
        )
        assert off.status == 503 and "GENESYS_BOT_SECRET" in off.body["message"]
        broken = await handle_bot_request(
            json.dumps(REQUEST).encode(),
            HEADERS,
            runtime.submit,
            secret=SECRET,
            compile_reply=lambda reply: [
                {"type": "Structured", "content": [{"contentType": "QuickReply", "quickReply": {"text": "no payload"}}]}
            ],
        )
        assert broken.body["botState"] == "Failed" and broken.body["errorInfo"]["errorCode"] == "internal.error"
        nursery.cancel_scope.cancel()


async def test_the_driver_rejects_an_answer_genesys_would_reject() -> None:
    from hypercorn.config import Config
    from hypercorn.trio import serve

    from commandlang.testing.fake_genesys.botflow import BotFlowError

    async def bad_bot(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"botState": "Sleeping", "replyMessages": []}'})

    async with genesys_env() as env:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        binds = await env.nursery.start(serve, bad_bot, config)
        driver = BotFlowDriver(env.fake, f"{binds[0]}/bot", secret=SECRET, http=env.http)
        try:
            await driver.send_text("/refund 1")
        except BotFlowError as exc:
            assert "botState" in str(exc)
        else:
            raise AssertionError("the driver accepted botState Sleeping")
