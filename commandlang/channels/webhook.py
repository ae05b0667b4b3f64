"""The `webhook` channel: `POST /v1/messages`, HMAC-signed, answered in the response or by callback.

Signature (runtime.md section 2): `X-Commandlang-Timestamp: <unix seconds>`
and `X-Commandlang-Signature: sha256=<hex>`, HMAC-SHA256 with
`COMMANDLANG_WEBHOOK_SECRET` over `"<timestamp>." + body`. A timestamp more
than `tolerance` seconds from this clock is refused like a bad signature, so
a captured request cannot be replayed later (within the window, the dedupe
of message ids catches a replay). Both headers are checked for shape and
freshness on the request's head (`admit`), before its body is read. The old
body-only signature is accepted only with `legacy_signature` (logged).

Without a callback URL the response waits for the command (at most `wait`
seconds, then the `ack`) and carries `{"command": <state record or null>,
"replies": [...]}`. With one, the request is answered 202 at once and each
reply is POSTed, signed the same way, to the callback URL: through the
runtime's outbox (`runtime/outbox.py`), sharded by conversation, so a
conversation's callbacks arrive in order; each is retried on 429 and 5xx
until its delivery deadline, and what is queued at shutdown is still sent
(within the drain's deadline).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random as _random
import re
import sys
import time
from typing import Any, Callable, Mapping

import httpx
import trio

from ..errors import ChannelError
from ..execution.retry import parse_retry_after, retry_delay
from ..registry.model import RetryPolicy
from ..replies.compile_json import compile_json
from ..runtime.http import Request, Response, RouteSpec, json_response
from ..runtime.messages import ChannelContext, Gauges, InboundShapeError, OutboundReply, Submit, inbound_from_json
from ..runtime.outbox import Outbox

__all__ = ["CallbackFailed", "WebhookChannel", "sign", "signature_headers"]

log = logging.getLogger("commandlang.channels.webhook")

SIGNATURE_HEADER = "x-commandlang-signature"
TIMESTAMP_HEADER = "x-commandlang-timestamp"
MAX_BODY = 64 * 1024  # a message is at most 4,000 characters of text and a few ids, even \u-escaped
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

_UNAUTHORISED = (
    "missing, stale or bad signature: send X-Commandlang-Timestamp (unix seconds) and "
    "X-Commandlang-Signature: sha256=<hex HMAC-SHA256 of '<timestamp>.' + body>"
)


class CallbackFailed(ChannelError):
    """A callback not delivered: refused by the receiver, or still failing when the deadline left no room."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `X-Commandlang-Signature` value for `body` sent at `timestamp` (None: the legacy body-only form)."""
    signed = body if timestamp is None else f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Both signature headers for sending `body` now (or at `timestamp`)."""
    at = int(time.time()) if timestamp is None else timestamp
    return {"X-Commandlang-Timestamp": str(at), "X-Commandlang-Signature": sign(secret, body, at)}


class WebhookChannel:
    """Turns signed webhook requests into inbound messages; a `ReplySink` for callback mode."""

    name = "webhook"
    compile_reply = staticmethod(compile_json)  # the reply's JSON form, fitted into JSON_LIMITS
    MAX_BODY = MAX_BODY

    @classmethod
    def from_config(cls, config: Any, env: Mapping[str, str], context: ChannelContext) -> WebhookChannel:
        """Always there: without COMMANDLANG_WEBHOOK_SECRET its route answers 503 (the channel is off)."""
        if config.webhook_legacy_signature:
            log.warning(
                "COMMANDLANG_WEBHOOK_LEGACY_SIGNATURE is on: body-only webhook signatures are accepted, and "
                "such requests can be replayed; turn it off once every sender signs the timestamp",
                extra={"stage": "start"},
            )
        return cls(
            context.submit,
            config.webhook_secret or None,
            callback_url=config.webhook_callback or None,
            wait=config.webhook_wait,
            tolerance=config.webhook_tolerance,
            legacy_signature=config.webhook_legacy_signature,
        )

    def __init__(
        self,
        submit: Submit,
        secret: str | None,
        *,
        callback_url: str | None = None,
        wait: float = 10.0,
        tolerance: float = 300.0,
        legacy_signature: bool = False,
        outbox_size: int = 1000,
        delivery_tasks: int = 4,
        delivery_deadline: float = 30.0,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self._submit = submit
        self._secret = secret
        self.callback_url = callback_url
        self.wait = wait
        self.tolerance = tolerance
        self.legacy_signature = legacy_signature
        self._clock = clock
        self._random = random  # the jitter source: tests pin it
        # The runtime's outbox: a conversation is always on the same shard (its order is kept); each
        # callback gets `delivery_deadline` seconds, retries included.
        self.outbox = Outbox(
            self._deliver,
            name="webhook",
            size=outbox_size,
            shards=delivery_tasks,
            deadline=delivery_deadline,
            expected=(CallbackFailed,),
        )
        self._client: httpx.AsyncClient | None = None  # while `run` runs (callback mode)
        # the registry's roles, which `role` may name (agent and customer until the service says more)
        self._roles: Callable[[], tuple[str, ...]] = lambda: ("agent", "customer")

    def routes(self) -> list[RouteSpec]:
        """`POST /v1/messages`: the HMAC covers the body, so its bytes count against the budget until checked."""
        return [RouteSpec("POST", "/v1/messages", self.handle, admit=self.admit, max_body=self.MAX_BODY)]

    def gauges(self) -> Gauges:
        """`MetricsSource`: its callback outbox."""
        return self.outbox.gauges()

    def health(self) -> dict[str, bool]:
        """Nothing to check: a request is answered or refused on its own."""
        return {}

    def describe(self) -> str | None:
        return None

    # -- faces the service finds (`RegistryFollower`, `LateReplySource`) --
    def registry_check(self, spec: Any) -> list[Any]:
        """Nothing of a registry breaks the webhook."""
        return []

    def follow_registry(self, current: Callable[[], tuple[Any, str]]) -> None:
        """`role` may name any role the loaded registry declares (`settings.roles`)."""
        self._roles = lambda: current()[0].roles

    def late_replies(self) -> WebhookChannel | None:
        """With a callback URL, a reply nobody waits for (an approval's outcome) is POSTed there."""
        return self if self.callback_url else None

    async def aclose(self, deadline: float = 10.0) -> None:
        """After the pipeline's drain: send the callbacks still queued, at most `deadline` seconds."""
        await self.outbox.aclose(deadline)

    # -- inbound ---------------------------------------------------------
    def admit(self, request: Request) -> Response | None:
        """On the request's head: refuse what cannot be a fresh signed request before its body is read."""
        if not self._secret:
            return json_response(503, {"error": "the webhook channel is off: set COMMANDLANG_WEBHOOK_SECRET"})
        signature = request.headers.get(SIGNATURE_HEADER, "")
        stamp = request.headers.get(TIMESTAMP_HEADER)
        if not _SIGNATURE.fullmatch(signature):
            return json_response(401, {"error": _UNAUTHORISED})
        if stamp is None:
            return None if self.legacy_signature else json_response(401, {"error": _UNAUTHORISED})
        if not _TIMESTAMP.fullmatch(stamp) or abs(self._clock() - int(stamp)) > self.tolerance:
            return json_response(
                401, {"error": _UNAUTHORISED + f"; the timestamp must be within {self.tolerance:g} s of now"}
            )
        return None

    async def handle(self, request: Request) -> Response:
        """The route's handler, run after `admit` let the request's head through (secret set, headers
        well formed, timestamp fresh): what is left to check needs the body, the HMAC over it."""
        if not self._secret:  # only reachable without the route's admission: refuse, never crash
            return json_response(503, {"error": "the webhook channel is off: set COMMANDLANG_WEBHOOK_SECRET"})
        given = request.headers.get(SIGNATURE_HEADER, "")
        stamp = request.headers.get(TIMESTAMP_HEADER)
        expected = sign(self._secret, request.body, int(stamp) if stamp is not None else None)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return json_response(401, {"error": _UNAUTHORISED})
        if stamp is None:
            log.warning(
                "a webhook request used the legacy body-only signature (replayable): sign the timestamp too",
                extra={"stage": "webhook"},
            )
        try:
            message = inbound_from_json(request.body, "webhook", time.time(), self._roles())
        except InboundShapeError as exc:
            return json_response(400, {"error": str(exc)})
        job = await self._submit(message, self if self.callback_url else None)
        if job.refused:
            return json_response(
                503, {"command": None, "replies": [self.compile_reply(r) for r in job.detach()]}, {"retry-after": "5"}
            )
        if self.callback_url:
            job.detach()
            return json_response(202, {"accepted": True})
        await job.wait(self.wait)
        replies = job.detach()
        answer: dict[str, Any] = {
            "command": job.record.to_json() if job.record else None,
            "replies": [self.compile_reply(reply) for reply in replies],
        }
        if job.duplicate:  # not "not a command": a retry after a lost answer must be able to tell
            answer["duplicate"] = True
        return json_response(200, answer)

    # -- outbound (callback mode) ----------------------------------------
    def customer_sink(self) -> WebhookChannel | str:
        """`CustomerReach`: with a callback URL, an agent's command box replies are POSTed to it like any
        late reply; without one nothing can carry them (the webhook answers only its own requests)."""
        if self.callback_url and self._secret:
            return self
        return (
            "the webhook channel has no callback URL (COMMANDLANG_WEBHOOK_CALLBACK), so it cannot send "
            "a reply to the customer by itself"
        )

    async def send(self, outbound: OutboundReply) -> None:
        await self.outbox.send(outbound)  # waits when its shard is full: backpressure, not loss

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver callback replies until cancelled or drained (without a callback URL there are none: it returns)."""
        if not self.callback_url:
            task_status.started()
            return
        # the client outlives the outbox's drain: `outbox.run` returns once `aclose` has emptied it
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client, trio.open_nursery() as nursery:
            self._client = client
            await nursery.start(self.outbox.run)
            task_status.started()

    async def _deliver(self, outbound: OutboundReply) -> None:
        body = json.dumps(
            {
                "conversation_id": outbound.conversation_id,
                "in_reply_to": outbound.in_reply_to.message_id,
                "command_id": outbound.command_id,
                "reply": self.compile_reply(outbound.reply),
            },
            ensure_ascii=False,
        ).encode()
        await self._post(body)

    async def _post(self, body: bytes) -> None:
        """POST with retries until the outbox's per-item deadline (the effective deadline here) leaves no room."""
        assert self.callback_url and self._secret and self._client is not None
        attempt = 0
        while True:
            attempt += 1
            # Signed anew for each attempt: a retry minutes later must still be within the tolerance.
            headers = {"content-type": "application/json", **signature_headers(self._secret, body, int(self._clock()))}
            status: int | None = None
            retry_after: float | None = None
            try:
                response = await self._client.post(self.callback_url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                log.warning("callback delivery failed, retrying", extra={"error": type(exc).__name__})
            else:
                status = response.status_code
                if status not in _CALLBACK_RETRY.on:
                    if status >= 400:
                        raise CallbackFailed(f"the callback URL refused a reply (status {status})")
                    return
                retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
            decision = retry_delay(
                _CALLBACK_RETRY,
                attempt=attempt,
                status=status,
                retry_after=retry_after,
                remaining=trio.current_effective_deadline() - trio.current_time(),
                random=self._random,
            )
            if not decision.retry:  # the next wait would outlast the delivery deadline
                raise CallbackFailed(f"gave up delivering a reply to the callback URL after {attempt} attempt(s)")
            await trio.sleep(decision.delay)


# Callbacks are retried on 429 and any 5xx until the delivery deadline (not an attempt count) runs out;
# a Retry-After on 429/503 is honoured up to the 5 s cap, so a busy receiver sets the pace.
_CALLBACK_RETRY = RetryPolicy(attempts=sys.maxsize, on=frozenset({429, *range(500, 600)}), backoff=0.5, max_backoff=5.0)
