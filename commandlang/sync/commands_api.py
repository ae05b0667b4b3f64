"""The command box's HTTP face: `POST /sync/complete` and `POST /sync/commands` (runtime.md section 3),
and `GET /sync/registry`, the registry's outline the panel writes argument values with.

Both are on the main HTTP port and take the agent's sync token as `Authorization: Bearer <token>`
(the one the panel already holds for `/sync`). The token is checked on the request's head, before a
byte of the body is read (401: missing, malformed, forged or expired), so an anonymous caller holds
nothing; bodies are small (`MAX_BODY`) and must arrive in time (the HTTP app's limits).

`POST /sync/complete` `{"text", "cursor"?, "language"?}` -> `{"suggestions": [{label, insert, detail,
kind}...], "replace": {"start", "end"}, "usage"}`: `Registry.complete` for the agent role, the
details in `language` where the registry translates summaries and argument help. `cursor`, `start`
and `end` count UTF-16 code units, as a browser's `selectionStart` does, so a page can splice
`insert` into its input without converting; `text[start:end]` is what each `insert` replaces.

`POST /sync/commands` `{"conversation_id", "text", "send_to_customer"?: false, "channel"?, "language"?}`
runs the text as a message of that conversation typed by the token's agent (participant = the token's
agent id, role agent, in `language`: the agent's, which the panel takes from Genesys's `gcLangTag`, so
the replies the agent reads are in it; left out, the registry's default language), with a fresh message id per request (dedupe is keyed by channel, conversation and
message id, so two identical requests are two commands), and answers like the webhook:
`{"command": <state record or null>, "replies": [...]}` within `wait` seconds (then the `ack`). The
conversation must be in the token's scopes (`conversation:<id>`, `*`, or `queue:<id>` when the
conversation's commands are on that queue): 403 otherwise. The message goes in on the
conversation's own channel: `channel` when given, else the channel of its latest command, else the
only enabled channel that can reach customers, else `sync` (a conversation nobody has typed in).

`send_to_customer: true` also shows the replies to the customer, through the channel's
`CustomerReach` (runtime/messages.py): the demo page's event stream, the webhook's callback URL,
Genesys's agent send endpoint. A channel that cannot (the webhook without a callback) is refused
with 409 and why, before anything runs. Replies later than `wait` go to the customer then too;
without `send_to_customer` they are not sent anywhere (the agent sees the command's state live).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Callable, Mapping

import trio

from ..jsonsafe import UnsafeJson, loads_bounded
from ..registry.complete import browser_completion
from ..registry.outline import registry_outline
from ..runtime.http import Request, Response, RouteSpec, json_response
from ..runtime.messages import InboundMessage, OutboundReply, ReplySink, Submit, is_language_tag
from ..runtime.store import CommandRecord, Store, StoreUnavailable
from .tokens import SyncToken, TokenError, verify_token

__all__ = ["CommandBox", "MAX_BODY"]

log = logging.getLogger("commandlang.sync.commands")

# A message is at most the registry's max_length (4,000 characters by default), even \\u-escaped.
MAX_BODY = 32 * 1024
_BEARER = "bearer "
_CHALLENGE = {"www-authenticate": 'Bearer realm="commandlang-sync"'}


class CommandBox:
    """The two routes, for one service. `registry()` is the registry serving now; `reach` maps each
    enabled channel's name to its customer sink or why it has none; `submit` is the runtime's."""

    def __init__(
        self,
        secret: str,
        submit: Submit,
        registry: Callable[[], Any],
        store: Store,
        reach: Mapping[str, ReplySink | str],
        *,
        wait: float = 10.0,
        max_waiting: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._submit = submit
        self._registry = registry
        self._store = store
        self._reach = dict(reach)
        self.wait = wait
        self.max_waiting = max_waiting  # requests waiting on their command at once; 503 beyond
        self._waiting = 0
        self._clock = clock

    def routes(self) -> list[RouteSpec]:
        """The routes, admitted on the token (so their bodies do not count as unauthenticated)."""
        return [
            RouteSpec("GET", "/sync/registry", self.outline, admit=self.admit, authenticates=True, max_body=0),
            RouteSpec("POST", "/sync/complete", self.complete, admit=self.admit, authenticates=True, max_body=MAX_BODY),
            RouteSpec("POST", "/sync/commands", self.commands, admit=self.admit, authenticates=True, max_body=MAX_BODY),
        ]

    # -- admission ---------------------------------------------------------------------------
    def _token(self, request: Request) -> SyncToken | Response:
        header = request.headers.get("authorization", "")
        if not header[: len(_BEARER)].lower() == _BEARER:
            return json_response(401, {"error": "send the sync token as Authorization: Bearer <token>"}, _CHALLENGE)
        try:
            return verify_token(self._secret, header[len(_BEARER) :].strip(), now=self._clock)
        except TokenError as exc:  # never the token itself in the answer or the log
            return json_response(401, {"error": f"{exc}: get a new one (commandlang token)"}, _CHALLENGE)

    def admit(self, request: Request) -> Response | None:
        """On the request's head: a valid, unexpired sync token, or 401 before the body is read."""
        found = self._token(request)
        return found if isinstance(found, Response) else None

    # -- POST /sync/complete -----------------------------------------------------------------
    async def complete(self, request: Request) -> Response:
        found = self._token(request)
        if isinstance(found, Response):
            return found
        data = _json_object(request.body)
        if isinstance(data, Response):
            return data
        language = _language(data)
        if isinstance(language, Response):
            return language
        registry = self._registry()
        try:
            answer = browser_completion(
                data, lambda text, cursor: registry.completion(text, cursor, role="agent", language=language)
            )
        except ValueError as exc:
            return _bad(str(exc))
        return json_response(200, answer)

    # -- GET /sync/registry -------------------------------------------------------------------
    async def outline(self, request: Request) -> Response:
        """The argument types the panel humanises values with (registry/outline.py); nothing secret."""
        found = self._token(request)
        if isinstance(found, Response):
            return found
        return json_response(200, registry_outline(self._registry().spec), {"cache-control": "no-store"})

    # -- POST /sync/commands -----------------------------------------------------------------
    async def commands(self, request: Request) -> Response:
        found = self._token(request)
        if isinstance(found, Response):
            return found
        token = found
        data = _json_object(request.body)
        if isinstance(data, Response):
            return data
        conversation, text = data.get("conversation_id"), data.get("text")
        to_customer, channel = data.get("send_to_customer", False), data.get("channel")
        if not isinstance(conversation, str) or not conversation or len(conversation) > 256:
            return _bad("conversation_id must be a non-empty string (at most 256 characters)")
        if not isinstance(text, str) or not text.strip():
            return _bad("text must be a non-empty string")
        if not isinstance(to_customer, bool):
            return _bad("send_to_customer must be true or false")
        if channel is not None and channel not in self._reach and channel != "sync":
            return _bad(f"channel must be one of {', '.join(sorted(self._reach)) or 'none'} (or left out)")
        language = _language(data)
        if isinstance(language, Response):
            return language
        try:
            latest = await self._latest(conversation)
        except StoreUnavailable:
            return json_response(503, {"error": "the state store is not answering: try again"}, {"retry-after": "5"})
        queue = latest.queue_id if latest is not None else None
        if not (token.allows(f"conversation:{conversation}") or (queue is not None and token.allows(f"queue:{queue}"))):
            return json_response(403, {"error": f"this token may not act in conversation {conversation}"})
        channel = channel or (latest.channel if latest is not None and latest.channel else None) or self._sole_reach()
        sink: ReplySink | None = None
        if to_customer:
            reach = self._reach.get(channel or "", f"no channel is known for conversation {conversation}: give channel")
            if isinstance(reach, str):
                return json_response(409, {"error": f"cannot send to the customer: {reach}"})
            sink = reach
        if self._waiting >= self.max_waiting:
            return json_response(
                503, {"error": "too many commands waiting: try again in a moment"}, {"retry-after": "1"}
            )
        message = InboundMessage(
            channel=channel or "sync",
            conversation_id=conversation,
            message_id=f"sync-{uuid.uuid4().hex}",
            participant_id=token.agent,
            role="agent",
            text=text,
            timestamp=self._clock(),
            queue_id=queue,
            metadata={"via": "sync"},
            roles=token.roles,  # a supervisor's token answers approvals typed here (/approve CODE)
            language=language,
        )
        self._waiting += 1
        try:
            job = await self._submit(message, sink)
            if job.refused:
                return json_response(
                    503, {"command": None, "replies": [r.to_json() for r in job.detach()]}, {"retry-after": "5"}
                )
            await job.wait(self.wait)
            replies = job.detach()
        finally:
            self._waiting -= 1
        delivered = await self._to_customer(sink, message, job.record, replies)
        body: dict[str, Any] = {
            "command": job.record.to_json() if job.record else None,
            "replies": [reply.to_json() for reply in replies],
            "channel": message.channel,
        }
        if to_customer:
            body["sent_to_customer"] = delivered
        return json_response(200, body)

    async def _latest(self, conversation: str) -> CommandRecord | None:
        _, records = await self._store.snapshot_for([conversation], 50)
        mine = [r for r in records if r.conversation_id == conversation]
        return max(mine, key=lambda r: r.created_at) if mine else None

    def _sole_reach(self) -> str | None:
        able = [name for name, reach in self._reach.items() if not isinstance(reach, str)]
        return able[0] if len(able) == 1 else None

    async def _to_customer(
        self, sink: ReplySink | None, message: InboundMessage, record: CommandRecord | None, replies: list[Any]
    ) -> bool:
        """The replies the agent got, also to the customer; False when the channel's queue stayed full."""
        if sink is None:
            return False
        command_id = record.id if record else None
        with trio.move_on_after(5) as waited:  # a full outbox is backpressure: bounded here
            for reply in replies:
                await sink.send(OutboundReply(message.conversation_id, reply, command_id, message))
        if waited.cancelled_caught:
            log.warning("a command box reply did not fit the channel's queue", extra={"channel": message.channel})
            return False
        return True


def _json_object(body: bytes) -> dict[str, Any] | Response:
    try:
        data = loads_bounded(body)
    except UnsafeJson as exc:
        return _bad(f"the body is not acceptable JSON: {exc}")
    except ValueError:
        return _bad("the body is not valid JSON")
    if not isinstance(data, dict):
        return _bad("the body must be a JSON object")
    return data


def _language(data: Mapping[str, Any]) -> str | None | Response:
    """The request's optional `language` (a tag like `de` or `de-CH`, as Genesys's `gcLangTag` is), or a 400."""
    language = data.get("language")
    if language is None:
        return None
    if not is_language_tag(language):
        return _bad('language must be a language tag like "de" or "de-CH" (or left out)')
    return language or None


def _bad(reason: str) -> Response:
    return json_response(400, {"error": reason})
