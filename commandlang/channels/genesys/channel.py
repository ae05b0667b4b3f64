"""The Genesys channel as the runtime service uses it: Bot Connector routes, an ingest loop, a reply sink.

    genesys = GenesysChannel(GenesysSettings.from_config(config), http, pipeline.submit)
    genesys.bot_listing = lambda: ...                   # the current registry's bot list (botlist.BotListing)
    await nursery.start(genesys.run)                    # outbox workers + Notification API ingest
    for method, path, handler, prefix in genesys.bot_routes():
        ...                                             # GET/POST under /genesys/dbc, POST /genesys/bot
    closers.append(genesys.aclose)                      # on shutdown, after the drain: send what is queued

Replies that nobody waits for in an HTTP response (every Notification-path
reply, and a slow Bot Connector command's late replies) go through `send`
into the runtime's bounded outbox (`runtime/outbox.py`); its workers, sharded by conversation so each
conversation keeps its order, deliver them. Where a slow bot command's late
replies go:
- Digital Bot Connector (v2): always into the bot session, through
  `POST /api/v2/integrations/botconnectors/outgoing/messages` (the DBC spec's
  way for a bot that answered `MoreData`), rich content kept;
- classic Bot Connector: through the agent send endpoint (as text) when the
  conversation has an agent participant, else into the bot session through
  the same outgoing endpoint (whether a classic session takes it is not in
  any source we read; it is what the classic path has always done).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable, Mapping, Sequence

import httpx
import trio

from ...execution.client import SharedClient, door_of
from ...execution.response import BodyTooLarge
from ...execution.target import Target
from ...execution.transport import H11Transport
from ...replies.compile_genesys import compile_genesys
from ...replies.compile_text import compile_text, resolve_numbered_answer
from ...runtime.config import ConfigError
from ...runtime.http import RouteSpec, json_response
from ...runtime.messages import ChannelContext, Gauges, InboundMessage, Job, OutboundReply, Submit
from ...runtime.outbox import Outbox
from .api import GenesysApiClient, GenesysApiError
from .botconnector import CLASSIC, DBC, BotHttpResponse, bot_answer, bots_answer, handle_bot_request, refuse_bot_request
from .botlist import BotListing, BotListError, build_bot, entity_values
from .botlist import findings as botlist_findings
from .conversations import ConversationsClient, ConversationsReplySink, MediaFile, send_bot_message
from .models import ModelError, OutgoingBotMessage, ReplyMessage
from .notifications import NotificationIngest
from .oauth import GenesysAuthError, TokenProvider
from .people import GenesysPeople
from .ratelimit import SlidingWindowLimiter
from .settings import GenesysSettings

__all__ = ["EndBotSession", "GenesysChannel", "fetch_image_attachments"]

log = logging.getLogger(__name__)
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_REMEMBERED_CHOICES = 10_000
MAX_LATE_ENDS = 1_000  # slow session-ending commands waited for at once (each is one small task)
LATE_END_WAIT = 600.0  # at most this long: a command's own deadline is far shorter


@dataclass(frozen=True, slots=True)
class EndBotSession:
    """Not a reply: the last message into a v2 bot session, `Complete` with the command's intent and
    entities, queued after the command's late replies so it reaches Genesys after them."""

    intent: str
    entities: tuple[Any, ...]


_IMAGE_HEADERS = ((b"Accept", b"image/*"), (b"Accept-Encoding", b"identity"))


async def fetch_image_attachments(http: httpx.AsyncClient, reply: Any) -> list[MediaFile]:
    """The reply's image attachments as bytes (to upload as media); one that cannot be fetched stays a link."""
    files: list[MediaFile] = []
    door = door_of(http)  # the one door (execution/door.py), as every Genesys request
    for index, attachment in enumerate(getattr(reply, "attachments", ()) or ()):
        if getattr(attachment, "media_type", "") != "Image":
            continue
        try:
            with trio.fail_after(15):
                response = await door.request(b"GET", Target.from_url(attachment.url), _IMAGE_HEADERS)
                try:
                    if response.status_code != 200:
                        log.warning(
                            "genesys: image attachment not usable (status %s); it stays a link", response.status_code
                        )
                        continue
                    # streamed under the cap: an oversized image is refused after MAX_IMAGE_BYTES (or at
                    # once, by its Content-Length), and releasing it unread closes its connection
                    content = await response.read(MAX_IMAGE_BYTES)
                finally:
                    await response.release()
        except BodyTooLarge:
            log.warning("genesys: image attachment over %d bytes; it stays a link", MAX_IMAGE_BYTES)
            continue
        except (httpx.HTTPError, trio.TooSlowError) as exc:
            log.warning("genesys: image attachment not fetched (%s); it stays a link", type(exc).__name__)
            continue
        name = attachment.filename or f"image-{index + 1}.{(attachment.mime or 'image/png').split('/')[-1]}"
        files.append(
            MediaFile(
                "".join(c if c.isalnum() or c in "._-" else "_" for c in name),
                content,
                attachment.mime or response.header(b"content-type") or "image/png",
            )
        )
    return files


class GenesysChannel:
    """Token provider, API and Conversations clients, the Bot Connector route, ingest and the reply sink."""

    BOT_PATH = "/genesys/bot"  # classic: the Handle Utterance URI
    DBC_BASE = "/genesys/dbc"  # v2: the Bot Connector URI; Genesys calls {base}/bots, {base}/bots/{id}, {base}/messages

    name = "genesys"

    @classmethod
    def from_config(cls, config: Any, env: Mapping[str, str], context: ChannelContext) -> GenesysChannel | None:
        """On when GENESYS_CLIENT_ID and a region (or API base) are set; its HTTP client lives as long as
        the service (closed after the store, so the closer's last replies still go out)."""
        if not config.genesys_enabled:
            return None
        try:
            settings = GenesysSettings.from_config(config)
        except ValueError as exc:  # a bad region or missing secret: say which setting, do not start
            raise ConfigError(f"Genesys settings: {exc}") from None
        # Over our pooled h11 transport, not httpcore's pool: that pool rescans every connection for
        # every queued request under Trio (see execution/transport.py), and each customer message on
        # the Notification path makes two API calls. No cookie jar: one client serves every conversation.
        http = SharedClient(timeout=30.0, trust_env=False, transport=H11Transport())
        context.close_at_exit(http.aclose)
        return cls(settings, http, context.submit)

    def __init__(
        self,
        settings: GenesysSettings,
        http: httpx.AsyncClient,
        submit: Submit,
        *,
        compile_reply: Callable[[Any], Sequence[dict[str, Any]]] = compile_genesys,
        compile_text: Callable[..., str] = compile_text,
        outbox_size: int = 1000,
        delivery_tasks: int = 4,
        delivery_deadline: float = 60.0,
        **ingest_options: Any,
    ) -> None:
        self.settings = settings
        self.http = http
        self._submit = submit
        self.compile_reply = compile_reply
        self.tokens = TokenProvider(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            login_base=settings.endpoints.login_base,
            http=http,
        )
        # one budget for everything this process sends with these credentials (the org counts per client)
        limiter = SlidingWindowLimiter(settings.api_rate, 60.0) if settings.api_rate > 0 else None
        self.api = GenesysApiClient(
            api_base=settings.endpoints.api_base,
            tokens=self.tokens,
            http=http,
            limiter=limiter,
            max_retry_after=settings.max_retry_after,
        )
        self.conversations = ConversationsClient(self.api)
        # who an agent is and what they may watch (POST /sync/token), and their roles (approvals)
        self.people = GenesysPeople(
            self.api,
            http,
            supervisor_groups=settings.supervisor_groups,
            supervisor_roles=settings.supervisor_roles,
            signin_rate=settings.signin_rate,
        )
        self.ingest = (
            NotificationIngest(
                self.api, self.conversations, queue_ids=settings.queue_ids, user_ids=settings.user_ids, **ingest_options
            )
            if settings.queue_ids or settings.user_ids
            else None
        )
        self.sender = ConversationsReplySink(
            self.conversations, compile_text, on_sent=self.ingest.mark_sent if self.ingest else None
        )
        self._media_http = http
        # the runtime's outbox: sharded by conversation (its late replies, then its EndBotSession, in order)
        self.outbox = Outbox(
            self._deliver_one,
            name="genesys",
            size=outbox_size,
            shards=delivery_tasks,
            deadline=delivery_deadline,
            expected=(GenesysApiError, GenesysAuthError, ModelError, LookupError, httpx.HTTPError),
        )
        self.ingest_ready = trio.Event()
        self._shown: OrderedDict[str, Any] = OrderedDict()  # conversation -> last reply with numbered choices
        self.delivered_to_bot_session = 0
        self._nursery: trio.Nursery | None = None
        self._late_ends = 0
        #: The current registry's bot list (set by the runtime; it follows hot reloads). None: no bot list.
        self.bot_listing: Callable[[], BotListing | None] = lambda: None

    # -- the runtime's hooks --------------------------------------------------
    async def run(
        self, *, startup_wait: float = 10.0, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Outbox workers and (with queues or users configured) the Notification API ingest.

        `started` once the ingest is subscribed, or after `startup_wait` seconds at most:
        Genesys being unreachable must not keep the service from starting (the ingest
        keeps retrying with backoff, and says so in the log).
        """
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.outbox.run)
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
        await self.outbox.aclose(deadline)

    @property
    def failed_deliveries(self) -> int:
        """Replies given up on since start (an API error or the delivery deadline)."""
        return self.outbox.failed

    async def _run_ingest(self, inbound: trio.MemorySendChannel[InboundMessage]) -> None:
        assert self.ingest is not None
        async with trio.open_nursery() as nursery:
            await nursery.start(self.ingest.serve, inbound)
            self.ingest_ready.set()

    def bot_admit(self, request: Any) -> Any:
        """The route's admission: a request without the connection's secret is refused on its headers."""
        refusal = refuse_bot_request(request.headers, self.settings.bot_secret, self.settings.bot_secret_header)
        return None if refusal is None else json_response(refusal.status, refusal.body)

    def registry_check(self, spec: Any) -> list[Any]:
        """Lint check for the runtime: the registry's breaks of Genesys's bot-list limits, as errors
        (only while the Bot Connector endpoints are on: without GENESYS_BOT_SECRET nobody reads the list)."""
        return botlist_findings(spec, severity="error") if self.settings.bot_secret else []

    def follow_registry(self, current: Callable[[], tuple[Any, str]]) -> None:
        """Serve the bot list of `current()` (the registry spec and its version), rebuilt when the version changes."""
        built: dict[str, BotListing] = {}

        def listing() -> BotListing:
            spec, version = current()
            if version not in built:
                built.clear()  # one entry: the current registry's
                built[version] = build_bot(spec, version, bot_id=self.settings.bot_id)
            return built[version]

        self.bot_listing = listing

    def routes(self) -> list[RouteSpec]:
        """The Bot Connector routes: the shared secret is a header, checked before the body is read."""
        return [
            RouteSpec(
                method,
                path,
                handler,
                admit=self.bot_admit,
                authenticates=True,
                prefix=prefix,
                max_body=0 if method == "GET" else None,
            )
            for method, path, handler, prefix in self.bot_routes()
        ]

    @property
    def watch_policy(self) -> GenesysPeople:
        """The sync sign-in's `WatchPolicy` (`sync/signin.py`): Genesys users, conversations and queues."""
        return self.people

    async def roles_of(self, user_id: str) -> frozenset[str]:
        """A Genesys user's roles (`{"agent"}`, plus `"supervisor"` by GENESYS_SUPERVISOR_GROUPS/_ROLES), cached."""
        return await self.people.roles_of(user_id)

    def panel_signin(self) -> dict[str, Any]:
        """What the panel's browser sign-in needs (`/panel/config.json`; the CSP's origins); no secret."""
        endpoints = self.settings.endpoints
        return {
            "client_id": self.settings.panel_client_id,
            "grant": self.settings.panel_grant,
            "login_base": endpoints.login_base,
            "api_base": endpoints.api_base,
            "apps_origin": endpoints.apps_origin,
        }

    def health(self) -> dict[str, bool]:
        """Connected now, not once: while the notification socket is re-opened, messages are missed."""
        return {} if self.ingest is None else {"genesys": self.ingest.connected}

    def gauges(self) -> Gauges:
        """`MetricsSource`: its outbox, API calls, tokens, rate budget and ingest (0 for those it has not)."""
        api, limiter, ingest = self.api, self.api.limiter, self.ingest
        return {
            **self.outbox.gauges(),
            "bot_session_messages": (
                "Late replies sent into open Bot Connector sessions (since start)",
                lambda: self.delivered_to_bot_session,
            ),
            "api_requests": ("Genesys API requests sent, retries included (since start)", lambda: api.requests_sent),
            "api_rate_limited": ("Genesys API answers 429 (since start)", lambda: api.rate_limited),
            "tokens_fetched": ("OAuth tokens fetched (since start)", lambda: self.tokens.fetch_count),
            "api_budget_refused": (
                "Genesys API calls failed fast by the client-side rate budget (since start)",
                lambda: limiter.refused if limiter else 0,
            ),
            "api_budget_wait_seconds": (
                "Seconds callers waited for a rate-budget slot, summed (since start)",
                lambda: limiter.waited if limiter else 0.0,
            ),
            "notification_reconnects": (
                "Notification sockets lost without warning (since start)",
                lambda: ingest.reconnects if ingest else 0,
            ),
            "notification_channels_created": (
                "Notification channels created (since start)",
                lambda: ingest.channels_created if ingest else 0,
            ),
        }

    def describe(self) -> str | None:
        return (
            f"genesys: {self.settings.endpoints.api_base} (Bot Connector: v2 at {self.DBC_BASE}, classic at POST "
            f"{self.BOT_PATH}" + (", notification ingest on" if self.ingest else "") + ")"
        )

    def bot_routes(self) -> list[tuple[str, str, Callable[[Any], Awaitable[Any]], bool]]:
        """(method, path, handler, is_prefix) of every Bot Connector route; each needs `bot_admit` first."""
        return [
            ("POST", self.BOT_PATH, self.bot_route, False),
            ("GET", f"{self.DBC_BASE}/bots", self.dbc_bots, False),
            ("GET", f"{self.DBC_BASE}/bots/", self.dbc_bot, True),
            ("POST", f"{self.DBC_BASE}/messages", self.dbc_messages, False),
        ]

    async def bot_route(self, request: Any) -> Any:
        """`POST /genesys/bot` (classic Handle Utterance) for the runtime's `HttpApp`."""
        return await self._bot_message(request, CLASSIC)

    async def dbc_messages(self, request: Any) -> Any:
        """`POST /genesys/dbc/messages` (Digital Bot Connector v2)."""
        return await self._bot_message(request, DBC)

    async def dbc_bots(self, request: Any) -> Any:
        """`GET /genesys/dbc/bots`: the bot list Architect reads."""
        return self._with_listing(bots_answer)

    async def dbc_bot(self, request: Any) -> Any:
        """`GET /genesys/dbc/bots/{botId}`."""
        bot_id = request.path[len(f"{self.DBC_BASE}/bots/") :]
        return self._with_listing(lambda listing: bot_answer(listing, bot_id))

    def _listing(self) -> BotListing | None:
        try:
            return self.bot_listing()
        except BotListError as exc:  # the runtime refuses such a registry; say so rather than serve half a list
            log.error("genesys bot list: %s", exc)
            return None

    def _with_listing(self, answer: Callable[[BotListing], BotHttpResponse]) -> Any:
        listing = self._listing()
        if listing is None:
            return json_response(503, {"errorCode": "bot.list.unavailable", "errorMessage": "no bot list loaded"})
        result = answer(listing)
        return json_response(result.status, result.body)

    async def _bot_message(self, request: Any, product: str) -> Any:
        answer = await handle_bot_request(
            request.body,
            request.headers,
            self._submit_bot,
            secret=self.settings.bot_secret,
            compile_reply=self.compile_reply,
            budget=self.settings.bot_budget,
            secret_header=self.settings.bot_secret_header,
            product=product,
            listing=self._listing(),
            on_late_end=self._late_end,
        )
        return json_response(answer.status, answer.body)

    def _late_end(self, job: Job, intent: str) -> None:
        """A session-ending v2 command missed the budget: end the session once it has completed."""
        listing = self._listing()
        if self._nursery is None or listing is None or self._late_ends >= MAX_LATE_ENDS:
            log.warning(
                "genesys: the bot session of conversation %s stays open after /%s (no room to wait for it)",
                job.message.conversation_id,
                intent,
            )
            return
        self._late_ends += 1
        self._nursery.start_soon(self._end_when_done, job, intent, listing)

    async def _end_when_done(self, job: Job, intent: str, listing: BotListing) -> None:
        try:
            with trio.move_on_after(LATE_END_WAIT):
                await job.done.wait()
            command = listing.command(intent)
            if not job.done.is_set() or job.record is None or job.record.status != "completed" or command is None:
                return  # it failed or never ended: the customer stays in the bot, as with a fast failure
            # after every late reply of the job: they were queued on this conversation's shard before it ended
            await self.send(
                OutboundReply(
                    job.message.conversation_id,
                    EndBotSession(intent, entity_values(command, job.record.args)),
                    job.record.id,
                    job.message,
                )
            )
        finally:
            self._late_ends -= 1

    def customer_sink(self) -> GenesysChannel:
        """`CustomerReach`: an agent's command box replies go out through the agent's communication on the
        conversation (the agent send endpoint of the Conversations API), like every late reply."""
        return self

    async def send(self, outbound: OutboundReply) -> None:
        """`ReplySink`: queue a reply for the agent send endpoint (waits when the outbox is full)."""
        await self.outbox.send(outbound)

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
                await self.send(
                    OutboundReply(message.conversation_id, reply, job.record.id if job.record else None, message)
                )

    async def _deliver_one(self, outbound: OutboundReply) -> None:
        metadata = outbound.in_reply_to.metadata or {}
        if isinstance(outbound.reply, EndBotSession) or metadata.get("genesys_bot_product") == DBC:
            # v2: the open bot session takes every late reply, and the Complete that ends it
            await self._send_to_bot_session(outbound, metadata)
            return
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
        end = outbound.reply if isinstance(outbound.reply, EndBotSession) else None
        messages = () if end else tuple(ReplyMessage.from_json(m) for m in self.compile_reply(outbound.reply))
        # botVersion is required by the API; a request that did not carry one gets "1.0"
        outgoing = OutgoingBotMessage(
            metadata["genesys_bot_id"],
            metadata.get("genesys_bot_version") or "1.0",
            metadata["genesys_bot_session_id"],
            metadata.get("language_code") or "en-us",
            messages,
        )
        if end is not None:  # the session's last message: Complete, with the command's intent and entities
            outgoing = replace(outgoing, bot_state="Complete", intent=end.intent, entities=end.entities)
        await send_bot_message(self.api, outgoing)
        self.delivered_to_bot_session += 1
