"""The webhook channel's two answers: in the response (with the `ack` when slow) and by signed callback."""

from __future__ import annotations

import functools
import time

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from commandlang.channels.webhook import WebhookChannel, sign
from commandlang.replies.model import Reply
from commandlang.runtime.http import answer_lifespan, read_body
from commandlang.runtime.messages import InboundMessage, OutboundReply
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


class BusyReceiver:
    """A callback URL that answers its first `busy` posts 503 with `Retry-After`, then 204; it records when."""

    def __init__(self, busy: int, retry_after: str) -> None:
        self.busy, self.retry_after = busy, retry_after
        self.arrivals: list[float] = []
        self.changed = trio.Event()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        await read_body(receive)
        self.arrivals.append(trio.current_time())
        self.changed.set()
        refused = len(self.arrivals) <= self.busy
        await send(
            {
                "type": "http.response.start",
                "status": 503 if refused else 204,
                "headers": [(b"retry-after", self.retry_after.encode())] if refused else [],
            }
        )
        await send({"type": "http.response.body", "body": b""})


async def deliver_one(receiver: BusyReceiver, *, deadline: float, posts: int) -> None:
    """One reply through a callback-mode channel whose jitter is pinned at 0 (a retry at once unless told)."""
    async with trio.open_nursery() as nursery:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = config.errorlog = None
        binds = await nursery.start(functools.partial(serve, receiver, config))
        channel = WebhookChannel(
            None, WEBHOOK_SECRET, callback_url=f"{binds[0]}/hook", delivery_deadline=deadline, random=lambda: 0.0
        )  # type: ignore[arg-type]  # nothing inbound here
        await nursery.start(channel.run)
        asked = InboundMessage("webhook", "c-1", "m-1", "agent-1", "agent", "/status 1", time.time())
        await channel.send(OutboundReply("c-1", Reply(text="done"), "cmd-1", asked))
        with trio.fail_after(deadline + 5):
            while len(receiver.arrivals) < posts:
                await receiver.changed.wait()
                receiver.changed = trio.Event()
        await trio.sleep(0.3)  # time for a post that should not come
        nursery.cancel_scope.cancel()


async def test_a_busy_callback_url_sets_the_pace_with_retry_after() -> None:
    receiver = BusyReceiver(busy=1, retry_after="1")
    await deliver_one(receiver, deadline=10.0, posts=2)
    assert len(receiver.arrivals) == 2
    assert receiver.arrivals[1] - receiver.arrivals[0] >= 0.9  # waited as asked, not the (pinned) zero jitter


async def test_a_callback_retry_that_would_outlast_the_deadline_is_not_waited_for() -> None:
    receiver = BusyReceiver(busy=99, retry_after="60")  # honoured up to the 5 s cap: past a 2 s deadline
    await deliver_one(receiver, deadline=2.0, posts=1)
    assert len(receiver.arrivals) == 1
