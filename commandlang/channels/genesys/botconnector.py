"""The Bot Connector endpoint, minus the HTTP server: parse, authenticate, answer.

Genesys's bot flow POSTs each customer message (`BotConnectorRequest`) and
shows the `replyMessages` of our answer. A command answers `MoreData` (stay in
the bot) with its replies as Genesys structured content; a message that is not
a command answers `Complete` with no reply (control goes back to the flow); an
internal error answers `Failed` with `errorInfo` (never a stack trace). A
command slower than the budget (default 4 s, under Genesys's bot timeout)
answers with the replies so far (its `ack`) and detaches, so the rest go
through the Conversations API sink.

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
from .models import BotConnectorRequest, BotConnectorResponse, ErrorInfo, ModelError, ReplyMessage

__all__ = ["BOT_SECRET_HEADER", "BotHttpResponse", "check_bot_secret", "parse_bot_request", "to_inbound_message",
           "build_bot_response", "handle_bot_request", "DEFAULT_BOT_BUDGET"]

log = logging.getLogger(__name__)
BOT_SECRET_HEADER = "Authorization"
DEFAULT_BOT_BUDGET = 4.0
CompileReply = Callable[[Any], Sequence[Mapping[str, Any]]]
Submit = Callable[[InboundMessage], Union[Job, Awaitable[Job]]]


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


def refuse_bot_request(headers: Mapping[str, str], secret: str, secret_header: str = BOT_SECRET_HEADER) -> BotHttpResponse | None:
    """The answer to a request without the connection's secret (None: it has it). Needs only the headers,
    so the runtime refuses such a request before reading its body."""
    if not secret:
        return BotHttpResponse(503, {"message": "the Bot Connector endpoint is off: set GENESYS_BOT_SECRET",
                                     "code": "service.unavailable", "status": 503})
    if not check_bot_secret(headers, secret, header=secret_header):
        log.warning("genesys bot request rejected: missing or wrong shared secret in %s", secret_header)
        return BotHttpResponse(401, {"message": "missing or wrong bot secret", "code": "authentication.required",
                                     "status": 401})
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


def to_inbound_message(request: BotConnectorRequest, *, channel: str = "genesys",
                       now: Callable[[], float] = time.time) -> InboundMessage:
    """The customer's message (a button press's payload is the command text)."""
    # messageId is the dedupe key; a request without one cannot be deduped, so it gets a fresh id
    message_id = request.message_id or f"bot-{request.bot_session_id}-{uuid.uuid4().hex}"
    return InboundMessage(
        channel=channel, conversation_id=request.genesys_conversation_id, message_id=message_id,
        participant_id=f"bot-session:{request.bot_session_id}", role="customer",
        text=request.input_message.command_text(), timestamp=now(), queue_id=None,
        metadata={"path": "botconnector", "genesys_bot_id": request.bot_id, "genesys_bot_version": request.bot_version,
                  "genesys_bot_session_id": request.bot_session_id, "language_code": request.language_code,
                  "button_press": request.input_message.type == "Structured"})


def build_bot_response(state: str, replies: Sequence[Any] = (), compile_reply: CompileReply | None = None, *,
                       intent: str | None = None, error: ErrorInfo | None = None) -> BotConnectorResponse:
    """A validated response: each reply compiled to Genesys `replyMessages` and checked by our model."""
    messages: list[ReplyMessage] = []
    for reply in replies:
        compiled = compile_reply(reply) if compile_reply is not None else reply
        for item in compiled if isinstance(compiled, (list, tuple)) else [compiled]:
            messages.append(item if isinstance(item, ReplyMessage) else ReplyMessage.from_json(item))
    return BotConnectorResponse(state, tuple(messages), intent=intent, confidence=1.0 if intent else None,
                                error_info=error)


def _intent(job: Job) -> str | None:
    record = job.record
    return getattr(record, "command", None) or getattr(record, "name", None) if record is not None else None


async def handle_bot_request(body: bytes | str | Mapping[str, Any], headers: Mapping[str, str], submit: Submit, *,
                             secret: str, compile_reply: CompileReply | None = None, budget: float = DEFAULT_BOT_BUDGET,
                             secret_header: str = BOT_SECRET_HEADER, channel: str = "genesys") -> BotHttpResponse:
    """Answer one Bot Connector POST.

    `submit(message)` (the runtime's, sync or async) returns a `Job`; `compile_reply`
    defaults to `commandlang.replies.compile_genesys.compile_genesys`. Waits up to
    `budget` seconds; a job still running is detached and answered with its
    replies so far and `MoreData`; its later replies go to the job's sink.
    """
    if compile_reply is None:
        from ...replies.compile_genesys import compile_genesys as compile_reply
    refusal = refuse_bot_request(headers, secret, secret_header)
    if refusal is not None:
        return refusal
    try:
        request = parse_bot_request(body)
    except ModelError as exc:
        return BotHttpResponse(400, {"message": str(exc), "code": "bad.request", "status": 400})
    try:
        job = submit(to_inbound_message(request, channel=channel))
        if inspect.isawaitable(job):
            job = await job
        done = await job.wait(budget)
        replies = list(job.replies) if done else job.detach()
        if done and job.record is None and not replies:
            return BotHttpResponse(200, build_bot_response("Complete").to_json())  # not a command
        response = build_bot_response("MoreData", replies, compile_reply, intent=_intent(job))
        return BotHttpResponse(200, response.to_json())
    except Exception as exc:  # trio.Cancelled is a BaseException and passes through
        log.exception("genesys bot request for conversation %s failed", request.genesys_conversation_id)
        failed = build_bot_response("Failed", error=ErrorInfo("internal.error",
                                                              f"the command could not be run ({type(exc).__name__})"))
        return BotHttpResponse(200, failed.to_json())
