"""The `webhook` channel: `POST /v1/messages`, HMAC-signed, answered in the response or by callback.

Signature: `X-Commandlang-Signature: sha256=<hex>`, HMAC-SHA256 of the raw
body with `COMMANDLANG_WEBHOOK_SECRET`. Without a callback URL the response
waits for the command (at most `wait` seconds, then the `ack`) and carries
`{"command": <state record or null>, "replies": [...]}`. With one, the
request is answered 202 at once and each reply is POSTed, signed the same
way, to the callback URL through a bounded outbox (backpressure, retries).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Awaitable, Callable

import httpx
import trio

from ..runtime.http import Request, Response, json_response
from ..runtime.messages import InboundMessage, InboundShapeError, Job, OutboundReply, ReplySink, inbound_from_json

__all__ = ["WebhookChannel", "sign"]

log = logging.getLogger("commandlang.channels.webhook")

SIGNATURE_HEADER = "x-commandlang-signature"

Submit = Callable[[InboundMessage, ReplySink | None], Awaitable[Job]]


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """Turns signed webhook requests into inbound messages; a `ReplySink` for callback mode."""

    def __init__(self, submit: Submit, secret: str | None, *, callback_url: str | None = None, wait: float = 10.0,
                 outbox_size: int = 1000, delivery_tasks: int = 4, delivery_deadline: float = 30.0) -> None:
        self._submit = submit
        self._secret = secret
        self.callback_url = callback_url
        self.wait = wait
        self._outbox_send, self._outbox_receive = trio.open_memory_channel[OutboundReply](outbox_size)
        self._delivery_tasks = delivery_tasks
        self._delivery_deadline = delivery_deadline

    # -- inbound ---------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        if not self._secret:
            return json_response(503, {"error": "the webhook channel is off: set COMMANDLANG_WEBHOOK_SECRET"})
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), sign(self._secret, request.body).encode()):
            return json_response(401, {"error": "missing or bad X-Commandlang-Signature (sha256=<hex> HMAC of the body)"})
        try:
            message = inbound_from_json(request.body, "webhook", time.time())
        except InboundShapeError as exc:
            return json_response(400, {"error": str(exc)})
        job = await self._submit(message, self if self.callback_url else None)
        if job.refused:
            return json_response(503, {"command": None, "replies": [r.to_json() for r in job.detach()]}, {"retry-after": "5"})
        if self.callback_url:
            job.detach()
            return json_response(202, {"accepted": True})
        await job.wait(self.wait)
        replies = job.detach()
        return json_response(200, {"command": job.record.to_json() if job.record else None,
                                   "replies": [reply.to_json() for reply in replies]})

    # -- outbound (callback mode) ----------------------------------------
    async def send(self, outbound: OutboundReply) -> None:
        await self._outbox_send.send(outbound)  # waits when the outbox is full: backpressure, not loss

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver callback replies until cancelled."""
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client, trio.open_nursery() as nursery:
            for _ in range(self._delivery_tasks):
                nursery.start_soon(self._deliver_loop, client)
            task_status.started()

    async def _deliver_loop(self, client: httpx.AsyncClient) -> None:
        async for outbound in self._outbox_receive.clone():
            body = json.dumps({
                "conversation_id": outbound.conversation_id,
                "in_reply_to": outbound.in_reply_to.message_id,
                "command_id": outbound.command_id,
                "reply": outbound.reply.to_json(),
            }, ensure_ascii=False).encode()
            await self._post(client, body)

    async def _post(self, client: httpx.AsyncClient, body: bytes) -> None:
        assert self.callback_url and self._secret
        headers = {"content-type": "application/json", "X-Commandlang-Signature": sign(self._secret, body)}
        delay = 0.5
        with trio.move_on_after(self._delivery_deadline):
            while True:
                try:
                    response = await client.post(self.callback_url, content=body, headers=headers)
                    if response.status_code < 500 and response.status_code != 429:
                        if response.status_code >= 400:
                            log.warning("callback refused a reply", extra={"status": response.status_code})
                        return
                except httpx.HTTPError as exc:
                    log.warning("callback delivery failed, retrying", extra={"error": type(exc).__name__})
                await trio.sleep(delay)
                delay = min(delay * 2, 5.0)
        log.error("gave up delivering a reply to the callback URL", extra={"stage": "callback"})
