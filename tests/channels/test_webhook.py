"""The webhook channel's two answers: in the response (with the `ack` when slow) and by signed callback."""

from __future__ import annotations

import functools
import json
import time

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from commandlang.channels.webhook import sign
from tests.runtime.support import WEBHOOK_SECRET, CallbackReceiver, running_service


async def test_a_slow_command_answers_with_its_ack_then_finishes(tmp_path) -> None:
    async with running_service(tmp_path, webhook_wait=0.2) as run:
        data = (await run.webhook("/slow 4 delay=0.6", conversation="acked")).json()
        assert [r["text"] for r in data["replies"]] == ["Working on 4..."]
        assert data["command"]["status"] == "executing"
        with trio.fail_after(5):
            while [r["status"] for r in await run.rows()] != ["completed"]:
                await trio.sleep(0.05)


async def test_a_fast_command_never_shows_its_ack(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        data = (await run.webhook("/slow 5 delay=0.01")).json()
        assert [r["text"] for r in data["replies"]] == ["Slow 5 done"]


async def test_callback_mode_answers_202_and_posts_signed_replies(tmp_path) -> None:
    receiver = CallbackReceiver()
    async with trio.open_nursery() as nursery:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = config.errorlog = None
        binds = await nursery.start(functools.partial(serve, receiver, config))
        async with running_service(tmp_path, webhook_callback=f"{binds[0]}/hook") as run:
            response = await run.webhook("/slow 9 delay=0.3", conversation="cb", message_id="cb-1")
            assert response.status_code == 202 and response.json() == {"accepted": True}
            with trio.fail_after(5):
                while len(receiver.received) < 2:  # the ack at once (nobody waits), then the answer
                    await receiver.changed.wait()
                    receiver.changed = trio.Event()
        nursery.cancel_scope.cancel()
    texts = [payload["reply"]["text"] for payload, _, _ in receiver.received]
    assert texts == ["Working on 9...", "Slow 9 done"]
    for (payload, signature, body), stamp in zip(receiver.received, receiver.timestamps):
        assert payload["conversation_id"] == "cb" and payload["in_reply_to"] == "cb-1" and payload["command_id"]
        # signed as the service's own inbound requests are: over "<timestamp>." + body, the timestamp fresh
        assert abs(int(stamp) - time.time()) < 30
        assert signature == sign(WEBHOOK_SECRET, body, int(stamp))
