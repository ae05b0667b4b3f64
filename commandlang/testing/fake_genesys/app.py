"""The fake's HTTP side: an ASGI app with the real paths, shapes and error bodies.

The authority on shapes is Genesys's own SDK (`oracle.py`): in `_dispatch`,
the one door every request passes, each JSON request body is checked against
its operation's SDK model (a violation answers 400 `bad.request` naming the
field path, as the real API would) and each JSON answer against its model
(a violation is a bug in the fake); both are kept in `fake.violations`, which
`serve_fake_genesys` asserts empty when the fake stops. Our own typed models
still check what the SDK models cannot say (one body field per send, at most
2000 characters, uploaded media). Faults injected with `FakeGenesys.fail_next`
are answered before anything else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, unquote

from ...runtime.http import answer_lifespan, read_body
from ...channels.genesys.models import (
    AdditionalMessage,
    ChannelTopic,
    ModelError,
    OutgoingBotMessage,
    UploadMediaRequest,
)
from .conversation import error_body
from .state import FakeGenesys, FakeMedia, RecordedRequest, known_topic, new_id
from .checks import forbidden, get_queue
from .ratelimit import rate_limited
from .websocket import channel_socket
from . import bots
from .people import USER_ROUTES, authorize
from ...errors import FakeGenesysError

__all__ = ["FakeGenesysApp", "error_body"]

Handler = Callable[[FakeGenesys, "Request"], Awaitable[tuple[int, Any]]]


class ApiError(FakeGenesysError):
    """Answer with this status and ErrorBody (raised by the route handlers)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Request:
    """One HTTP request as the route handlers see it (body already read)."""

    def __init__(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes, params: dict[str, str]
    ) -> None:
        self.method, self.path, self.query, self.headers, self.raw, self.params = (
            method,
            path,
            query,
            headers,
            raw,
            params,
        )

    def json(self) -> Any:
        """The JSON body; 415 unless sent as application/json, 400 when not JSON."""
        ctype = self.headers.get("content-type", "")
        if not ctype.startswith("application/json"):
            raise ApiError(415, "unsupported.media.type", f"Content-Type {ctype or '(none)'} is not application/json")
        try:
            return json.loads(self.raw or b"null")
        except ValueError:
            raise ApiError(400, "bad.request", "The request body is not valid JSON") from None


def _conversation(fake: FakeGenesys, req: Request):
    conversation = fake.conversations.get(req.params["conversationId"])
    if conversation is None:
        raise ApiError(404, "not.found", f"Conversation {req.params['conversationId']} not found")
    return conversation


def _agent_conversation(fake: FakeGenesys, req: Request):
    conversation = _conversation(fake, req)
    # the connected agent's communication (GET /api/v2/conversations/{id}: participants[agent].messages[].id);
    # a disconnected agent's communication, a message id or the customer's communication are not found
    if not conversation.has_agent or req.params["communicationId"] != conversation.communication_id:
        raise ApiError(
            404,
            "not.found",
            "Communication not found (the connected agent participant's "
            "communication id, from GET /api/v2/conversations/{conversationId})",
        )
    return conversation


async def _create_channel(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    channel = fake.new_channel(fake.base_url, req.headers.get("authorization", "")[7:].strip())
    ws_base = fake.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    return 200, {"connectUri": f"{ws_base}/channels/{channel.id}", "id": channel.id, "expires": channel.expires_iso}


async def _list_channels(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    ws_base = fake.base_url.replace("http://", "ws://", 1)
    return 200, {
        "entities": [
            {"connectUri": f"{ws_base}/channels/{c.id}", "id": c.id, "expires": c.expires_iso}
            for c in fake.channels.values()
        ]
    }


async def _head_channel(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    return (200 if req.params["channelId"] in fake.channels else 404), None


async def _subscriptions(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    channel = fake.channels.get(req.params["channelId"])
    if channel is None:
        raise ApiError(404, "not.found", f"Channel {req.params['channelId']} not found")
    if req.method == "GET":
        return 200, {"entities": [{"id": t, "state": "Permitted"} for t in sorted(channel.topics)]}
    if req.method == "DELETE":
        channel.topics.clear()
        return 204, None
    body = req.json()
    if not isinstance(body, list):
        raise ApiError(400, "bad.request", "Body must be an array of ChannelTopic")
    try:
        topics = [ChannelTopic.from_json(t, f"body[{i}]") for i, t in enumerate(body)]
    except ModelError as exc:
        raise ApiError(400, "bad.request", str(exc)) from None
    entities: list[dict[str, Any]] = []
    for topic in topics:
        missing = fake.topic_denied(topic.id)
        if not known_topic(topic.id):
            entities.append({"id": topic.id, "state": "Rejected", "rejectionReason": "Unknown topic"})
        elif missing is not None:
            entities.append(
                {
                    "id": topic.id,
                    "state": "Rejected",
                    "rejectionReason": "Missing permissions",
                    "missingPermissions": [missing],
                }
            )
        else:
            entities.append({"id": topic.id, "state": "Permitted"})
    permitted = {e["id"] for e in entities if e["state"] == "Permitted"}
    wanted = permitted if req.method == "PUT" else channel.topics | permitted
    if len(wanted) > 1000:
        raise ApiError(400, "bad.request", "A channel holds at most 1000 topics")
    channel.topics = wanted
    return 200, {"entities": entities}


async def _get_conversation(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    return 200, _conversation(fake, req).conversation_json()


async def _get_message_conversation(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    return 200, _conversation(fake, req).message_conversation_json()


async def _get_message(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    conversation = _conversation(fake, req)
    message = conversation.find(req.params["messageId"])
    if message is None:
        raise ApiError(404, "not.found", f"Message {req.params['messageId']} not found")
    return 200, message.message_data(conversation.id)


async def _bulk_messages(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    conversation = _conversation(fake, req)
    ids = req.json()
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "bad.request", "Body must be an array of message id strings")
    found = [conversation.find(i) for i in ids]
    return 200, {"entities": [m.message_data(conversation.id) for m in found if m is not None]}


async def _send_message(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    conversation = _agent_conversation(fake, req)
    try:
        body = AdditionalMessage.from_json(req.json())
    except ModelError as exc:
        raise ApiError(400, "bad.request", str(exc)) from None
    fields = [
        k for k in ("textBody", "mediaIds", "messagingTemplate") if (req.json() or {}).get(k) not in (None, "", [])
    ]
    if len(fields) != 1 or len(body.media_ids) > 1:
        # "one body field per request. Example: 1 textBody, 1 mediaId, or 1 messageTemplate"
        # (SDK 269 post_conversations_message_communication_messages docstring)
        raise ApiError(
            400,
            "bad.request",
            f"AdditionalMessage: exactly one of textBody, mediaIds (one id) or "
            f"messagingTemplate per request; got {', '.join(fields) or 'none'}",
        )
    for media_id in body.media_ids:
        media = fake.media.get(media_id)
        if media is None or media.data is None:
            raise ApiError(400, "bad.request", f"Media {media_id} was not uploaded")
    message = fake.add_message(conversation, "agent", body.text_body, media_ids=list(body.media_ids))
    if fake.nursery is not None:  # the event follows the HTTP answer, as on the real service
        fake.nursery.start_soon(_publish_later, fake, conversation)
    return 200, message.message_data(conversation.id)


async def _publish_later(fake: FakeGenesys, conversation: Any) -> None:
    import trio

    await trio.sleep(0.01)
    fake.publish_conversation(conversation)


async def _create_upload(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    _agent_conversation(fake, req)
    try:
        body = UploadMediaRequest.from_json(req.json())
    except ModelError as exc:
        raise ApiError(400, "bad.request", str(exc)) from None
    media = FakeMedia(new_id(), body.file_name, body.content_length_bytes, body.content_md5)
    fake.media[media.id] = media
    return 200, {
        "id": media.id,
        "name": media.file_name,
        "uploadUrl": f"{fake.base_url}/uploads/{media.id}",
        "uploadHeaders": {"x-fake-upload": "1"},
    }


async def _put_upload(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    media = fake.media.get(req.params["mediaId"])
    if media is None:
        raise ApiError(404, "not.found", "Unknown upload")
    if len(req.raw) != media.length:
        raise ApiError(400, "bad.request", f"Uploaded {len(req.raw)} bytes, announced {media.length}")
    if media.md5 is not None:
        try:
            ok = base64.b64decode(media.md5) == hashlib.md5(req.raw).digest()
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise ApiError(400, "bad.request", "contentMd5 does not match the uploaded bytes")
    media.data = req.raw
    return 200, None


async def _bot_outgoing(fake: FakeGenesys, req: Request) -> tuple[int, Any]:
    """A bot's late message into its session (preview API): shown to the customer as a bot message."""
    try:
        body = OutgoingBotMessage.from_json(req.json())
    except ModelError as exc:
        raise ApiError(400, "bad.request", str(exc)) from None
    conversation = fake.conversations.get(fake.bot_sessions.get(body.bot_session_id, ""))
    if conversation is None:
        raise ApiError(404, "not.found", f"Bot session {body.bot_session_id} not found")
    last = None
    for reply in body.reply_messages:
        last = fake.add_message(conversation, "bot", reply.text or "", content=[c.to_json() for c in reply.content])
    return 200, {"messageId": last.id if last else new_id()}


_P = r"(?P<{}>[^/]+)"
ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/api/v2/notifications/channels", _create_channel),
    ("GET", "/api/v2/notifications/channels", _list_channels),
    ("HEAD", "/api/v2/notifications/channels/{channelId}", _head_channel),
    ("GET", "/api/v2/notifications/channels/{channelId}/subscriptions", _subscriptions),
    ("PUT", "/api/v2/notifications/channels/{channelId}/subscriptions", _subscriptions),
    ("POST", "/api/v2/notifications/channels/{channelId}/subscriptions", _subscriptions),
    ("DELETE", "/api/v2/notifications/channels/{channelId}/subscriptions", _subscriptions),
    ("GET", "/api/v2/conversations/{conversationId}", _get_conversation),
    ("GET", "/api/v2/conversations/messages/{conversationId}", _get_message_conversation),
    ("GET", "/api/v2/conversations/messages/{conversationId}/messages/{messageId}", _get_message),
    ("POST", "/api/v2/conversations/messages/{conversationId}/messages/bulk", _bulk_messages),
    (
        "POST",
        "/api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages",
        _send_message,
    ),
    (
        "POST",
        "/api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages/media/uploads",
        _create_upload,
    ),
    ("POST", "/api/v2/integrations/botconnectors/outgoing/messages", _bot_outgoing),
    ("GET", "/api/v2/routing/queues/{queueId}", get_queue),
    *USER_ROUTES,
    ("PUT", "/api/v2/integrations/botconnector/{integrationId}/bots", bots.put_bots),
    ("GET", "/api/v2/integrations/botconnector/{integrationId}/bots", bots.get_bots),
]
_COMPILED = [
    (m, re.compile("^" + re.sub(r"\{(\w+)\}", lambda g: _P.format(g.group(1)), t) + "$"), t, h) for m, t, h in ROUTES
]
_UPLOAD = re.compile(r"^/uploads/(?P<mediaId>[^/]+)$")


class FakeGenesysApp:
    """ASGI application of the fake (HTTP API, token endpoint, uploads and channel WebSockets)."""

    def __init__(self, fake: FakeGenesys) -> None:
        self.fake = fake

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
        elif scope["type"] == "websocket":
            await channel_socket(self.fake, scope, receive, send)
        else:
            await self._http(scope, receive, send)

    async def _http(self, scope: dict, receive: Callable, send: Callable) -> None:
        raw = await read_body(receive) or b""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], unquote(scope["path"])
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        if path == "/oauth/authorize":  # the browser's login page: a redirect or an HTML page, not JSON
            status, page_headers, page = authorize(self.fake, query) if method == "GET" else (405, {}, b"")
            self.fake.requests.append(RecordedRequest(method, path, {}, None, status, path))
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in page_headers.items()],
                }
            )
            await send({"type": "http.response.body", "body": page})
            return
        status, body, extra, operation = await self._dispatch(method, path, query, headers, raw)
        try:
            recorded = (
                json.loads(raw)
                if raw and headers.get("content-type", "").startswith("application/json")
                else (raw.decode("latin-1") if path == "/oauth/token" else None)
            )
        except ValueError:
            recorded = None
        if path == "/oauth/token":
            recorded = None  # the form carries nothing secret, but keep the record free of auth material
        self.fake.requests.append(RecordedRequest(method, path, query, recorded, status, operation))
        payload = b"" if body is None else json.dumps(body).encode()
        out_headers = [(b"content-type", b"application/json")] + [(k.encode(), v.encode()) for k, v in extra.items()]
        if path == "/oauth/token" and "origin" in headers:
            # the browser's PKCE exchange is a cross-origin POST from the app's page: answered with CORS (the
            # JS SDK's browser grants rely on it; the real header set is in no source read)
            out_headers.append((b"access-control-allow-origin", headers["origin"].encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload if method != "HEAD" else b""})

    async def _dispatch(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str], str | None]:
        fake = self.fake
        operation = "/oauth/token" if path == "/oauth/token" else None
        route = None
        for m, pattern, template, handler in _COMPILED:
            match = pattern.match(path)
            if match and m == method:
                route, operation = (handler, match.groupdict()), template
                break
        fault = fake.take_fault(method, path)
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            code = fault.code or {
                401: "authentication.required",
                403: "missing.permissions",
                429: "too.many.requests",
                503: "service.unavailable",
            }.get(fault.status, "internal.server.error")
            message = fault.message or (
                "Rate limit exceeded the maximum [300] requests within [60] seconds"
                if fault.status == 429
                else f"Injected fault {fault.status}"
            )
            fields: dict[str, Any] = {}
            if fault.missing_permission:
                message = f"Unable to perform the requested action. You are missing the following permission(s): [{fault.missing_permission}]"
                fields = {"messageParams": {"permissions": fault.missing_permission}}
            return fault.status, error_body(fault.status, code, message, **fields), extra, operation
        if path == "/oauth/token":
            from .token import token_endpoint

            status, body = token_endpoint(fake, method, headers, raw)
            return status, body, {"cache-control": "no-store"}, operation
        upload = _UPLOAD.match(path)
        if upload and method == "PUT":
            route, operation = (_put_upload, upload.groupdict()), "/uploads/{mediaId}"
        elif not path.startswith("/uploads/"):
            auth = headers.get("authorization", "")
            if not auth.lower().startswith("bearer "):
                return (
                    401,
                    error_body(401, "authentication.required", "No authentication bearer token specified"),
                    {},
                    operation,
                )
            if not fake.token_valid(auth[7:].strip()):
                return 401, error_body(401, "bad.credentials", "Invalid login credentials."), {}, operation
        blocked = rate_limited(fake, path) or forbidden(fake, method, path)  # ratelimit.py, checks.py
        if blocked is not None:
            return (*blocked, operation)
        if route is None:
            known = any(p.match(path) for _, p, _, _ in _COMPILED)
            status = 405 if known else 404
            return (
                status,
                error_body(
                    status,
                    "not.found" if status == 404 else "method.not.allowed",
                    f"{method} {path} is not an operation of this fake",
                ),
                {},
                operation,
            )
        handler, params = route
        for flag in ("useNormalizedMessage", "ignoreErrors"):
            if flag in query and query[flag] not in ("true", "false"):
                return (
                    400,
                    error_body(
                        400,
                        "invalid.value",
                        f"Value [{query[flag]}] is not valid for field type "
                        f"[boolean]. Allowable values are: true, false",
                    ),
                    {},
                    operation,
                )
        refusal = self._check_request(method, operation, headers, raw)
        if refusal is not None:
            return 400, refusal, {}, operation
        try:
            status, body = await handler(fake, Request(method, path, query, headers, raw, params))
        except ApiError as exc:
            status, body = exc.status, error_body(exc.status, exc.code, exc.message)
        if fake.oracle is not None and operation is not None:
            fake.violations += fake.oracle.response(method, operation, status, body)
        return status, body, {}, operation

    def _check_request(
        self, method: str, operation: str | None, headers: dict[str, str], raw: bytes
    ) -> dict[str, Any] | None:
        """The ErrorBody of a 400 when the JSON body breaks its SDK model (recorded in `fake.violations`)."""
        oracle = self.fake.oracle
        if (
            oracle is None
            or operation is None
            or not raw
            or not headers.get("content-type", "").startswith("application/json")
        ):
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            return None  # the handler answers "not valid JSON"
        found = oracle.request(method, operation, body)
        if not found:
            return None
        self.fake.violations += found
        return error_body(400, "bad.request", "; ".join(f"{v.path}: {v.problem}" for v in found))
