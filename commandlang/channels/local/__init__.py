"""The `local` channel: a chat page in the browser, for `commandlang serve --demo` and for trying commands.

`GET /` serves the page; `POST /local/messages` takes a message and answers
like the webhook without a callback (`{"command", "replies"}`), no signature
(the service listens on 127.0.0.1 by default); `GET /local/events` streams
the conversation's state changes and late replies as server-sent events.
"""

from __future__ import annotations

import json
import logging
import time
from importlib import resources
from typing import Any, Awaitable, Callable

import trio

from ...runtime.http import Receive, Request, Response, Send, json_response
from ...runtime.messages import InboundMessage, InboundShapeError, Job, OutboundReply, ReplySink, inbound_from_json
from ...runtime.store import StateEvent

__all__ = ["LocalChannel"]

log = logging.getLogger("commandlang.channels.local")

Submit = Callable[[InboundMessage, ReplySink | None], Awaitable[Job]]


class LocalChannel:
    """The demo page's channel: an `EventSink` (live states) and a `ReplySink` (late replies)."""

    def __init__(self, submit: Submit, *, wait: float = 10.0, subscriber_queue: int = 256, heartbeat: float = 15.0) -> None:
        self._submit = submit
        self.wait = wait
        self._queue = subscriber_queue
        self._heartbeat = heartbeat
        self._subscribers: dict[str, set[trio.MemorySendChannel[tuple[str, Any]]]] = {}
        self._page = resources.files(__package__).joinpath("page.html").read_bytes()

    async def page(self, request: Request) -> Response:
        return Response(200, self._page, {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"})

    async def messages(self, request: Request) -> Response:
        try:
            message = inbound_from_json(request.body, "local", time.time())
        except InboundShapeError as exc:
            return json_response(400, {"error": str(exc)})
        job = await self._submit(message, self)
        if not job.refused:
            await job.wait(self.wait)
        replies = job.detach()
        return json_response(503 if job.refused else 200, {"command": job.record.to_json() if job.record else None,
                                                          "replies": [r.to_json() for r in replies]})

    # -- live updates ----------------------------------------------------
    def publish(self, event: StateEvent) -> None:
        self._fan_out(event.record.conversation_id, ("state", event.to_json()))

    async def send(self, outbound: OutboundReply) -> None:
        self._fan_out(outbound.conversation_id, ("reply", outbound.reply.to_json()))

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
            body = b'{"error": "give ?conversation=ID"}'
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        sender, receiver = trio.open_memory_channel[tuple[str, Any]](self._queue)
        self._subscribers.setdefault(conversation_id, set()).add(sender)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]})
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
