"""The Genesys channel as the runtime service uses it: a Bot Connector route, an ingest loop, a reply sink.

    genesys = GenesysChannel(GenesysSettings.from_config(config), http, pipeline.submit)
    await nursery.start(genesys.run)                    # outbox workers + Notification API ingest
    app.route("POST", GenesysChannel.BOT_PATH, genesys.bot_route)
    closers.append(genesys.aclose)                      # on shutdown, after the drain: send what is queued

Replies that nobody waits for in an HTTP response (every Notification-path
reply, and a slow Bot Connector command's late replies) go through `send`
into a bounded outbox; a few workers, sharded by conversation so each
conversation keeps its order, answer through the agent send endpoint. A
Bot Connector conversation with no agent participant yet (still in the bot
flow) cannot be answered there; its late replies go to the bot session
through `POST /api/v2/integrations/botconnectors/outgoing/messages` (a
preview API), which keeps their rich content.
"""

from __future__ import annotations

import logging
import zlib
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Awaitable, Callable, Sequence

import httpx
import trio

from ...replies.compile_genesys import compile_genesys
from ...replies.compile_text import compile_text, resolve_numbered_answer
from ...runtime.http import json_response
from ...runtime.messages import InboundMessage, Job, OutboundReply, ReplySink
from .api import GenesysApiClient, GenesysApiError
from .botconnector import handle_bot_request, refuse_bot_request
from .conversations import ConversationsClient, ConversationsReplySink, MediaFile, send_bot_message
from .models import ModelError, OutgoingBotMessage, ReplyMessage
from .notifications import NotificationIngest
from .oauth import GenesysAuthError, TokenProvider
from .ratelimit import SlidingWindowLimiter
from .settings import GenesysSettings

__all__ = ["GenesysChannel", "fetch_image_attachments"]

log = logging.getLogger(__name__)
Submit = Callable[[InboundMessage, ReplySink | None], Awaitable[Job]]
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_REMEMBERED_CHOICES = 10_000


async def fetch_image_attachments(http: httpx.AsyncClient, reply: Any) -> list[MediaFile]:
    """The reply's image attachments as bytes (to upload as media); one that cannot be fetched stays a link."""
    files: list[MediaFile] = []
    for index, attachment in enumerate(getattr(reply, "attachments", ()) or ()):
        if getattr(attachment, "media_type", "") != "Image":
            continue
        try:
            with trio.fail_after(15):
                response = await http.get(attachment.url)
        except (httpx.HTTPError, trio.TooSlowError) as exc:
            log.warning("genesys: image attachment not fetched (%s); it stays a link", type(exc).__name__)
            continue
        if response.status_code != 200 or len(response.content) > MAX_IMAGE_BYTES:
            log.warning("genesys: image attachment not usable (status %s, %d bytes)", response.status_code,
                        len(response.content))
            continue
        name = attachment.filename or f"image-{index + 1}.{(attachment.mime or 'image/png').split('/')[-1]}"
        files.append(MediaFile("".join(c if c.isalnum() or c in "._-" else "_" for c in name),
                               response.content, attachment.mime or response.headers.get("content-type", "image/png")))
    return files


class GenesysChannel:
    """Token provider, API and Conversations clients, the Bot Connector route, ingest and the reply sink."""

    BOT_PATH = "/genesys/bot"

    def __init__(self, settings: GenesysSettings, http: httpx.AsyncClient, submit: Submit, *,
                 compile_reply: Callable[[Any], Sequence[dict[str, Any]]] = compile_genesys,
                 compile_text: Callable[[Any], str] = compile_text, outbox_size: int = 1000,
                 delivery_tasks: int = 4, delivery_deadline: float = 60.0, **ingest_options: Any) -> None:
        self.settings = settings
        self.http = http
        self._submit = submit
        self.compile_reply = compile_reply
        self.tokens = TokenProvider(client_id=settings.client_id, client_secret=settings.client_secret,
                                    login_base=settings.endpoints.login_base, http=http)
        # one budget for everything this process sends with these credentials (the org counts per client)
        limiter = SlidingWindowLimiter(settings.api_rate, 60.0) if settings.api_rate > 0 else None
        self.api = GenesysApiClient(api_base=settings.endpoints.api_base, tokens=self.tokens, http=http,
                                    limiter=limiter, max_retry_after=settings.max_retry_after)
        self.conversations = ConversationsClient(self.api)
        self.ingest = (NotificationIngest(self.api, self.conversations, queue_ids=settings.queue_ids,
                                          user_ids=settings.user_ids, **ingest_options)
                       if settings.queue_ids or settings.user_ids else None)
        self.sender = ConversationsReplySink(self.conversations, compile_text,
                                             on_sent=self.ingest.mark_sent if self.ingest else None)
        self._media_http = http
        self._delivery_deadline = delivery_deadline
        self._outboxes = [trio.open_memory_channel[OutboundReply](max(1, outbox_size // delivery_tasks))
                          for _ in range(delivery_tasks)]
        self.ingest_ready = trio.Event()
        self._shown: OrderedDict[str, Any] = OrderedDict()  # conversation -> last reply with numbered choices
        self._workers_running = 0
        self._outbox_drained = trio.Event()
        self.delivered = 0
        self.delivered_to_bot_session = 0
        self.failed_deliveries = 0

    # -- the runtime's hooks --------------------------------------------------
    async def run(self, *, startup_wait: float = 10.0,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Outbox workers and (with queues or users configured) the Notification API ingest.

        `started` once the ingest is subscribed, or after `startup_wait` seconds at most:
        Genesys being unreachable must not keep the service from starting (the ingest
        keeps retrying with backoff, and says so in the log).
        """
        async with trio.open_nursery() as nursery:
            for _, receive in self._outboxes:
                await nursery.start(self._deliver, receive)
            if self.ingest is not None:
                inbound_send, inbound_receive = trio.open_memory_channel[InboundMessage](256)
                nursery.start_soon(self._submit_loop, inbound_receive)
                nursery.start_soon(self._run_ingest, inbound_send)
                with trio.move_on_after(startup_wait):
                    await self.ingest_ready.wait()
                if not self.ingest_ready.is_set():
                    log.warning("genesys notification ingest not connected after %.0fs; still trying", startup_wait)
            task_status.started()

    async def aclose(self, deadline: float = 10.0) -> None:
        """Stop taking replies and send what is queued (at most `deadline` seconds); for graceful shutdown."""
        for send, _ in self._outboxes:
            send.close()
        with trio.move_on_after(deadline):
            await self._outbox_drained.wait()

    async def _run_ingest(self, inbound: trio.MemorySendChannel[InboundMessage]) -> None:
        assert self.ingest is not None
        async with trio.open_nursery() as nursery:
            await nursery.start(self.ingest.serve, inbound)
            self.ingest_ready.set()

    def bot_admit(self, request: Any) -> Any:
        """The route's admission: a request without the connection's secret is refused on its headers."""
        refusal = refuse_bot_request(request.headers, self.settings.bot_secret, self.settings.bot_secret_header)
        return None if refusal is None else json_response(refusal.status, refusal.body)

    async def bot_route(self, request: Any) -> Any:
        """`POST /genesys/bot` for the runtime's `HttpApp` (a `runtime.http.Request` in, `Response` out)."""
        answer = await handle_bot_request(request.body, request.headers, self._submit_bot,
                                          secret=self.settings.bot_secret, compile_reply=self.compile_reply,
                                          budget=self.settings.bot_budget, secret_header=self.settings.bot_secret_header)
        return json_response(answer.status, answer.body)

    async def send(self, outbound: OutboundReply) -> None:
        """`ReplySink`: queue a reply for the agent send endpoint (waits when the outbox is full)."""
        shard = zlib.crc32(outbound.conversation_id.encode()) % len(self._outboxes)
        await self._outboxes[shard][0].send(outbound)

    # -- internals ----------------------------------------------------------------
    async def _submit_bot(self, message: InboundMessage) -> Job:
        return await self._submit(message, self)

    async def _submit_loop(self, inbound: trio.MemoryReceiveChannel[InboundMessage]) -> None:
        async for message in inbound:
            # "2" answers the numbered list our last text reply in this conversation showed
            payload = resolve_numbered_answer(message.text, self._shown.pop(message.conversation_id, None))
            if payload is not None:
                message = replace(message, text=payload)
            job = await self._submit(message, self)
            for reply in job.detach():  # nobody waits in an HTTP response: everything goes out through the sink
                await self.send(OutboundReply(message.conversation_id, reply,
                                              job.record.id if job.record else None, message))

    async def _deliver(self, outbox: trio.MemoryReceiveChannel[OutboundReply], *,
                       task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._workers_running += 1
        task_status.started()
        try:
            await self._deliver_all(outbox)
        finally:
            self._workers_running -= 1
            if self._workers_running == 0:
                self._outbox_drained.set()

    async def _deliver_all(self, outbox: trio.MemoryReceiveChannel[OutboundReply]) -> None:
        async for outbound in outbox:
            try:
                with trio.fail_after(self._delivery_deadline):
                    await self._deliver_one(outbound)
                self.delivered += 1
            except (GenesysApiError, GenesysAuthError, ModelError, LookupError, trio.TooSlowError,
                    httpx.HTTPError) as exc:
                self.failed_deliveries += 1
                log.error("genesys reply to conversation %s not delivered: %s", outbound.conversation_id, exc)

    async def _deliver_one(self, outbound: OutboundReply) -> None:
        metadata = outbound.in_reply_to.metadata or {}
        try:
            await self.sender.communication_id(outbound.conversation_id, metadata)
        except LookupError:
            if metadata.get("path") != "botconnector":
                raise
            # still in the bot flow, no agent to send as: the bot session takes the late reply (rich content kept)
            await self._send_to_bot_session(outbound, metadata)
            return
        media = await fetch_image_attachments(self._media_http, outbound.reply)
        await self.sender.send(outbound, media=media)
        if outbound.reply.choices():
            self._remember_choices(outbound.conversation_id, outbound.reply)

    def _remember_choices(self, conversation_id: str, reply: Any) -> None:
        """Keep the last numbered list shown per conversation (bounded: the oldest conversations go first)."""
        self._shown.pop(conversation_id, None)
        self._shown[conversation_id] = reply
        while len(self._shown) > MAX_REMEMBERED_CHOICES:
            self._shown.popitem(last=False)

    async def _send_to_bot_session(self, outbound: OutboundReply, metadata: Any) -> None:
        messages = tuple(ReplyMessage.from_json(m) for m in self.compile_reply(outbound.reply))
        # botVersion is required by the API; a request that did not carry one gets "1.0"
        await send_bot_message(self.api, OutgoingBotMessage(
            metadata["genesys_bot_id"], metadata.get("genesys_bot_version") or "1.0",
            metadata["genesys_bot_session_id"], metadata.get("language_code") or "en-us", messages))
        self.delivered_to_bot_session += 1
