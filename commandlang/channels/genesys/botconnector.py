"""The Bot Connector endpoints, minus the HTTP server: authenticate, parse, answer.

Both products (SOURCES.md 3b) POST each customer message (`BotConnectorRequest`)
and show the `replyMessages` of our answer; Digital Bot Connector (v2) also
reads the bot list (`GET {base}/bots`, `GET {base}/bots/{botId}`). The answer:
- a command: `MoreData` (stay in the bot) with its replies and its intent;
- a command declared `genesys: {ends_bot_session: true}`: `Complete` with its
  intent and its arguments as entities (v2) or `slotValues` (classic);
- not a command: `Complete` with the `commandlang_not_a_command` intent, so
  the flow goes on down that intent's path (Complete without an intent is
  Genesys's "no intent found", the failure path);
- an internal error: `Failed` with `errorInfo {errorCode, errorMessage}`.
A command slower than the budget (default 4 s, under Architect's Bot Response
Timeout) answers `MoreData` with its replies so far (its `ack`) and detaches;
the rest go through the channel's sink (channel.py says where, per product).

The shared secret: Genesys's Bot Connector integration sends the credential
values configured on it as request headers; SOURCES.md names no fixed header,
and the official sample bot checks `Authorization`. That is our default
(`GENESYS_BOT_SECRET`, compared in constant time; `Bearer <secret>` also
accepted), and the header name is configurable.
"""

from __future__ import annotations

import hmac
import inspect
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Sequence, Union

from ...jsonsafe import UnsafeJson, loads_bounded
from ...runtime.messages import InboundMessage, Job
from .botlist import NOT_A_COMMAND, BotListing, entity_values
from .models import (
    BotConnectorRequest,
    BotConnectorResponse,
    BotEntityValue,
    ErrorInfo,
    ModelError,
    ReplyMessage,
    dbc_bot_list,
)

__all__ = [
    "BOT_SECRET_HEADER",
    "BotHttpResponse",
    "check_bot_secret",
    "parse_bot_request",
    "to_inbound_message",
    "build_bot_response",
    "handle_bot_request",
    "DEFAULT_BOT_BUDGET",
    "DBC",
    "CLASSIC",
    "bots_answer",
    "bot_answer",
]

log = logging.getLogger(__name__)
BOT_SECRET_HEADER = "Authorization"
DEFAULT_BOT_BUDGET = 4.0
DBC, CLASSIC = "dbc", "classic"  # the two products, as the inbound message's metadata names them
CompileReply = Callable[[Any], Sequence[Mapping[str, Any]]]
# Not `runtime.messages.Submit`: the channel binds the reply sink (itself), and tests may answer at once.
BotSubmit = Callable[[InboundMessage], Union[Job, Awaitable[Job]]]


@dataclass(frozen=True, slots=True)
class BotHttpResponse:
    """What the ASGI route answers: an HTTP status and a JSON body."""

    status: int
    body: Mapping[str, Any]

    def json_bytes(self) -> bytes:
        """The body encoded for the HTTP response."""
        return json.dumps(self.body, ensure_ascii=False).encode()


def check_bot_secret(headers: Mapping[str, str], secret: str, *, header: str = BOT_SECRET_HEADER) -> bool:
    """True when the request carries the shared secret (constant-time compare)."""
    if not secret:
        return False
    wanted = header.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if value is None:
        return False
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return hmac.compare_digest(value.encode(), secret.encode())


def refuse_bot_request(
    headers: Mapping[str, str], secret: str, secret_header: str = BOT_SECRET_HEADER
) -> BotHttpResponse | None:
    """The answer to a request without the connection's secret (None: it has it). Needs only the headers,
    so the runtime refuses such a request before reading its body. 403, as the DBC spec asks ("If the
    secret is missing from the headers or not valid, a 403 Forbidden error can be returned")."""
    if not secret:
        return BotHttpResponse(
            503,
            {
                "message": "the Bot Connector endpoint is off: set GENESYS_BOT_SECRET",
                "code": "service.unavailable",
                "status": 503,
            },
        )
    if not check_bot_secret(headers, secret, header=secret_header):
        log.warning("genesys bot request rejected: missing or wrong shared secret in %s", secret_header)
        return BotHttpResponse(403, {"message": "missing or wrong bot secret", "code": "forbidden", "status": 403})
    return None


def parse_bot_request(body: bytes | str | Mapping[str, Any]) -> BotConnectorRequest:
    """The validated request; raises `ModelError` on malformed JSON or a missing field."""
    if isinstance(body, (bytes, str)):
        try:
            body = loads_bounded(body)
        except UnsafeJson as exc:
            raise ModelError(f"request body is not acceptable JSON: {exc}") from None
        except ValueError as exc:
            raise ModelError(f"request body is not JSON: {exc}") from None
    return BotConnectorRequest.from_json(body)


def to_inbound_message(
    request: BotConnectorRequest,
    *,
    channel: str = "genesys",
    product: str = CLASSIC,
    now: Callable[[], float] = time.time,
) -> InboundMessage:
    """The customer's message (a button press's payload is the command text).

    The store dedupes on (channel, conversation id, message id): the conversation is Genesys's
    `genesysConversationId` and the message id the Bot Connector service's `messageId` (DBC spec:
    "an id generated by the Bot Connector service to identify the message"), so a retried POST of
    the same message (Genesys retries on 5xx) runs once. A request without one (the classic samples
    do not show it) cannot be deduped and gets a fresh id."""
    message_id = request.message_id or f"bot-{request.bot_session_id}-{uuid.uuid4().hex}"
    return InboundMessage(
        channel=channel,
        conversation_id=request.genesys_conversation_id,
        message_id=message_id,
        participant_id=f"bot-session:{request.bot_session_id}",
        role="customer",
        text=request.input_message.command_text(),
        timestamp=now(),
        queue_id=None,
        metadata={
            "path": "botconnector",
            "genesys_bot_product": product,
            "genesys_bot_id": request.bot_id,
            "genesys_bot_version": request.bot_version,
            "genesys_bot_session_id": request.bot_session_id,
            "language_code": request.language_code,
            "button_press": request.input_message.type == "Structured",
        },
        language=request.language_code,  # every Bot Connector request says the conversation's language
    )


def build_bot_response(
    state: str,
    replies: Sequence[Any] = (),
    compile_reply: CompileReply | None = None,
    *,
    intent: str | None = None,
    error: ErrorInfo | None = None,
    entities: Sequence[BotEntityValue] = (),
) -> BotConnectorResponse:
    """A validated response: each reply compiled to Genesys `replyMessages` and checked by our model."""
    messages: list[ReplyMessage] = []
    for reply in replies:
        compiled = compile_reply(reply) if compile_reply is not None else reply
        for item in compiled if isinstance(compiled, (list, tuple)) else [compiled]:
            messages.append(item if isinstance(item, ReplyMessage) else ReplyMessage.from_json(item))
    return BotConnectorResponse(
        state,
        tuple(messages),
        intent=intent,
        confidence=1.0 if intent else None,
        error_info=error,
        entities=tuple(entities),
    )


def _classic_json(response: BotConnectorResponse) -> dict[str, Any]:
    """The classic product's answer. Its customer API spec was not read (SOURCES.md 3b); the official
    sample (Power VA blueprint) answers `slotValues` {name: value} where v2 has `entities`, so the
    entities go there, as strings in the v2 formats (the sample's value types are its bot's: inferred)."""
    data = response.to_json()
    entities = data.pop("entities", None)
    if entities:
        data["slotValues"] = {e["name"]: e.get("values", e.get("value")) for e in entities}
    return data


def _intent(job: Job) -> str | None:
    record = job.record
    return getattr(record, "command", None) or getattr(record, "name", None) if record is not None else None


def bots_answer(listing: BotListing) -> BotHttpResponse:
    """`GET {base}/bots`: the bot list Architect reads."""
    return BotHttpResponse(200, dbc_bot_list((listing.bot,)))


def bot_answer(listing: BotListing, bot_id: str) -> BotHttpResponse:
    """`GET {base}/bots/{botId}`: one bot, or 404 (bot ids are case-sensitive)."""
    if bot_id != listing.bot.id:
        return BotHttpResponse(404, {"errorCode": "bot.not.found", "errorMessage": f"no bot {bot_id!r} here"})
    return BotHttpResponse(200, listing.bot.to_json())


async def handle_bot_request(
    body: bytes | str | Mapping[str, Any],
    headers: Mapping[str, str],
    submit: BotSubmit,
    *,
    secret: str,
    compile_reply: CompileReply | None = None,
    budget: float = DEFAULT_BOT_BUDGET,
    secret_header: str = BOT_SECRET_HEADER,
    channel: str = "genesys",
    product: str = CLASSIC,
    listing: BotListing | None = None,
    on_late_end: Callable[[Job, str], None] | None = None,
) -> BotHttpResponse:
    """Answer one Bot Connector POST (`product` DBC or CLASSIC shapes the answer).

    `submit(message)` (the runtime's, sync or async) returns a `Job`; `compile_reply`
    defaults to `commandlang.replies.compile_genesys.compile_genesys`; `listing` (the bot list
    of the current registry) says which commands end the bot session and types their entities.
    Waits up to `budget` seconds; a job still running is detached and answered with its
    replies so far and `MoreData`; its later replies go to the job's sink. When that late command
    ends the bot session (Digital Bot Connector only), `on_late_end(job, intent)` is told, so the
    channel can send the `Complete` once the command has finished.
    """
    if compile_reply is None:
        from ...replies.compile_genesys import compile_genesys as compile_reply
    refusal = refuse_bot_request(headers, secret, secret_header)
    if refusal is not None:
        return refusal
    try:
        request = parse_bot_request(body)
    except ModelError as exc:
        return BotHttpResponse(400, {"errorCode": "bad.request", "errorMessage": str(exc)})
    shape = _classic_json if product == CLASSIC else BotConnectorResponse.to_json
    try:
        job = submit(to_inbound_message(request, channel=channel, product=product))
        if inspect.isawaitable(job):
            job = await job
        done = await job.wait(budget)
        replies = list(job.replies) if done else job.detach()
        intent = _intent(job)
        if done and job.record is None and not replies:  # not a command: the flow goes on down this intent's path
            return BotHttpResponse(200, shape(build_bot_response("Complete", intent=NOT_A_COMMAND)))
        if (
            done
            and listing is not None
            and listing.ends_bot_session(intent)
            and job.record
            and job.record.status == "completed"
        ):
            command = listing.command(intent)
            assert command is not None
            entities = entity_values(command, job.record.args)
            return BotHttpResponse(
                200, shape(build_bot_response("Complete", replies, compile_reply, intent=intent, entities=entities))
            )
        if (
            not done
            and product == DBC
            and on_late_end is not None
            and listing is not None
            and intent is not None
            and listing.ends_bot_session(intent)
        ):
            on_late_end(job, intent)
        return BotHttpResponse(200, shape(build_bot_response("MoreData", replies, compile_reply, intent=intent)))
    except Exception as exc:  # trio.Cancelled is a BaseException and passes through
        log.exception("genesys bot request for conversation %s failed", request.genesys_conversation_id)
        failed = build_bot_response(
            "Failed", error=ErrorInfo("internal.error", f"the command could not be run ({type(exc).__name__})")
        )
        return BotHttpResponse(200, shape(failed))
