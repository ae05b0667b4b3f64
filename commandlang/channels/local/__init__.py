"""The `local` channel: a chat page in the browser, for `commandlang serve --demo` and for trying commands.

`GET /` serves the page; `POST /local/messages` takes a message and answers
like the webhook without a callback (`{"command", "replies"}`); `GET
/local/events` streams the conversation's state changes and late replies as
server-sent events; `POST /local/complete` (`{"text", "cursor", "role"}`)
answers the page's suggestions as it types, like `POST /sync/complete`
(`Registry.complete` of the registry serving now; the agent's commands only
for a client that may take the agent role).

It is a demo, not a way into a production service (runtime.md section 2):
the runtime mounts it only with `--demo` or `COMMANDLANG_LOCAL_CHANNEL=on`,
and every request is checked on its head (`admit`) before anything else:
- `Host` must be a loopback name (127.0.0.0/8, `localhost`, `[::1]`) or the
  configured public host: a DNS-rebound name is refused;
- a POST must come from the page itself: `Origin` equal to the scheme and
  `Host` the request was sent to, `Sec-Fetch-Site` (when sent) `same-origin`,
  and `content-type: application/json` (so a cross-site form or a
  `text/plain` fetch cannot send one without a CORS preflight we never
  answer); the event stream refuses a foreign `Origin` and `Sec-Fetch-Site`
  too;
- the agent role is taken from a message only in the demo and from a client
  on this machine (`trust_agent_role`); anyone else is a customer, and a
  message asking for more gets 403.
"""

from __future__ import annotations

import json
import logging
import time
from importlib import resources
from typing import Any, Callable, Mapping

import trio

from ...jsonsafe import UnsafeJson, loads_bounded
from ...registry.complete import Completer, browser_completion
from ...replies.compile_json import compile_json
from ...replies.scrub import is_loopback_host
from ...runtime.http import Receive, Request, Response, RouteSpec, Send, json_response, send_response
from ...runtime.messages import ChannelContext, InboundShapeError, OutboundReply, Submit, inbound_from_json
from ...runtime.store import StateEvent

__all__ = ["LocalChannel", "MAX_BODY"]

log = logging.getLogger("commandlang.channels.local")

MAX_BODY = 16 * 1024  # one typed message from the page


class LocalChannel:
    """The demo page's channel: an `EventSink` (live states) and a `ReplySink` (late replies)."""

    name = "local"
    compile_reply = staticmethod(compile_json)  # the reply's JSON form, fitted into JSON_LIMITS

    @classmethod
    def from_config(cls, config: Any, env: Mapping[str, str], context: ChannelContext) -> LocalChannel | None:
        """Only with `--demo` or COMMANDLANG_LOCAL_CHANNEL=on: a demo's door is never there unless asked for."""
        if not (config.demo or config.local_channel):
            return None
        return cls(context.submit, public_host=config.public_host, trust_agent_role=config.local_agent_role)

    def __init__(
        self,
        submit: Submit,
        *,
        wait: float = 10.0,
        subscriber_queue: int = 256,
        heartbeat: float = 15.0,
        public_host: str = "",
        trust_agent_role: bool = False,
        max_streams: int = 256,
    ) -> None:
        self._submit = submit
        self.public_host = public_host.strip().lower()
        self.trust_agent_role = trust_agent_role
        self.max_streams = max_streams
        self._streams = 0
        self.wait = wait
        self._queue = subscriber_queue
        self._heartbeat = heartbeat
        self._subscribers: dict[str, set[trio.MemorySendChannel[tuple[str, Any]]]] = {}
        self._page = resources.files(__package__).joinpath("page.html").read_bytes()
        self._registry: Callable[[], tuple[Any, str]] | None = None  # set by `follow_registry`
        self._completer: tuple[str, Completer] | None = None  # for the registry version it was built for

    def routes(self) -> list[RouteSpec]:
        """The page, its messages and its event stream; each admitted on its head first."""
        return [
            RouteSpec("GET", "/", self.page, admit=self.admit_page, max_body=0),
            RouteSpec("POST", "/local/messages", self.messages, admit=self.admit_message, max_body=MAX_BODY),
            RouteSpec("GET", "/local/events", self.events, admit=self.admit_events, stream=True),
            RouteSpec("POST", "/local/complete", self.complete, admit=self.admit_message, max_body=MAX_BODY),
        ]

    # -- the registry, for suggestions (a `RegistryFollower` with no checks of its own) --------
    def registry_check(self, spec: Any) -> list[Any]:
        return []

    def follow_registry(self, current: Callable[[], tuple[Any, str]]) -> None:
        self._registry = current

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """No background work: requests and published events drive it."""
        task_status.started()

    def health(self) -> dict[str, bool]:
        return {}

    def describe(self) -> str | None:
        return None

    # -- admission (on the request's head) ------------------------------
    def _host_allowed(self, host: str) -> bool:
        host = host.strip().lower()
        return bool(host) and (is_loopback_host(host) or (bool(self.public_host) and host == self.public_host))

    def admit_page(self, request: Request) -> Response | None:
        if not self._host_allowed(request.headers.get("host", "")):
            return json_response(
                421, {"error": "this demo page answers only on this machine's own name (or COMMANDLANG_PUBLIC_HOST)"}
            )
        return None

    def admit_message(self, request: Request) -> Response | None:
        refusal = self.admit_page(request) or self._same_origin(request, required=True)
        if (
            refusal is None
            and request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json"
        ):
            refusal = json_response(415, {"error": "send the message as application/json"})
        return refusal

    def admit_events(self, request: Request) -> Response | None:
        return self.admit_page(request) or self._same_origin(request, required=False)

    def _same_origin(self, request: Request, *, required: bool) -> Response | None:
        origin = request.headers.get("origin")
        site = request.headers.get("sec-fetch-site")
        host = request.headers.get("host", "").strip().lower()
        if site is not None and site.lower() not in ("same-origin", "none"):
            return json_response(403, {"error": "cross-site requests are refused"})
        if origin is None:
            return json_response(403, {"error": "send the Origin header (the demo page does)"}) if required else None
        if origin.strip().lower() not in (f"http://{host}", f"https://{host}"):
            return json_response(403, {"error": "cross-origin requests are refused"})
        return None

    # -- the page and its messages ---------------------------------------
    async def page(self, request: Request) -> Response:
        return Response(200, self._page, {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"})

    async def messages(self, request: Request) -> Response:
        try:
            message = inbound_from_json(request.body, "local", time.time())
        except InboundShapeError as exc:
            return json_response(400, {"error": str(exc)})
        if message.role == "agent" and not (
            self.trust_agent_role and request.client is not None and is_loopback_host(request.client)
        ):
            return json_response(
                403, {"error": "the agent role is only for the demo (--demo) on this machine: choose 'a customer'"}
            )
        job = await self._submit(message, self)
        if not job.refused:
            await job.wait(self.wait)
        replies = job.detach()
        return json_response(
            503 if job.refused else 200,
            {
                "command": job.record.to_json() if job.record else None,
                "replies": [self.compile_reply(r) for r in replies],
            },
        )

    async def complete(self, request: Request) -> Response:
        """The page's suggestions as it types; a customer is offered only what a customer may run."""
        try:
            data = loads_bounded(request.body)
        except (UnsafeJson, ValueError):
            return json_response(400, {"error": "the body is not acceptable JSON"})
        if self._registry is None:
            return json_response(503, {"error": "no registry is loaded yet"})
        spec, version = self._registry()
        if self._completer is None or self._completer[0] != version:
            self._completer = (version, Completer(spec))
        completer = self._completer[1]
        trusted = self.trust_agent_role and request.client is not None and is_loopback_host(request.client)
        role = "agent" if isinstance(data, dict) and data.get("role") == "agent" and trusted else "customer"
        try:
            answer = browser_completion(data, lambda text, cursor: completer.complete(text, cursor, role))
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, answer)

    # -- live updates ----------------------------------------------------
    def publish(self, event: StateEvent) -> None:
        self._fan_out(event.record.conversation_id, ("state", event.to_json()))

    async def send(self, outbound: OutboundReply) -> None:
        self._fan_out(outbound.conversation_id, ("reply", self.compile_reply(outbound.reply)))

    def customer_sink(self) -> LocalChannel:
        """`CustomerReach`: an agent's command box replies reach the page through its event stream."""
        return self

    def notice(self, data: dict[str, Any]) -> None:
        """An event for every open page (e.g. the registry version after a reload)."""
        for conversation_id in list(self._subscribers):
            self._fan_out(conversation_id, (str(data.get("type", "notice")), data))

    def _fan_out(self, conversation_id: str, item: tuple[str, Any]) -> None:
        for subscriber in list(self._subscribers.get(conversation_id, ())):
            try:
                subscriber.send_nowait(item)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                # Too slow a page: cut it off; EventSource reconnects by itself.
                self._subscribers[conversation_id].discard(subscriber)
                subscriber.close()

    async def events(self, request: Request, receive: Receive, send: Send) -> None:
        conversation_id = request.query.get("conversation", "")
        if not conversation_id:
            await send_response(send, json_response(400, {"error": "give ?conversation=ID"}))
            return
        if self._streams >= self.max_streams:  # each open stream holds a connection and a queue
            await send_response(send, json_response(503, {"error": "too many open event streams"}))
            return
        sender, receiver = trio.open_memory_channel[tuple[str, Any]](self._queue)
        self._subscribers.setdefault(conversation_id, set()).add(sender)
        self._streams += 1
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")],
                }
            )
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_until_disconnect, receive, nursery.cancel_scope)
                await send({"type": "http.response.body", "body": b": connected\n\n", "more_body": True})
                while True:
                    with trio.move_on_after(self._heartbeat):
                        try:
                            kind, data = await receiver.receive()
                        except trio.EndOfChannel:
                            break
                        chunk = f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                        continue
                    await send({"type": "http.response.body", "body": b": heartbeat\n\n", "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                nursery.cancel_scope.cancel()
        finally:
            self._streams -= 1
            subscribers = self._subscribers.get(conversation_id)
            if subscribers is not None:
                subscribers.discard(sender)
                if not subscribers:
                    del self._subscribers[conversation_id]
            sender.close()

    async def aclose(self) -> None:
        """End every event stream (shutdown)."""
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.close()


async def _until_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
