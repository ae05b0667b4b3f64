"""The fake's channel WebSocket (`connectUri`): events, heartbeats, pongs, closing warnings, expiry."""

from __future__ import annotations

import json
import re
from typing import Callable

import trio

from .state import FakeGenesys

__all__ = ["channel_socket", "HEARTBEAT"]

HEARTBEAT = {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
PONG = {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}
_PATH = re.compile(r"^/channels/(?P<id>[^/]+)$")


async def channel_socket(fake: FakeGenesys, scope: dict, receive: Callable, send: Callable) -> None:
    """One client socket on a channel; ends when the client leaves, the channel expires or a test drops it."""
    match = _PATH.match(scope["path"])
    await receive()  # websocket.connect
    channel = fake.channels.get(match.group("id")) if match else None
    if channel is None:
        await send({"type": "websocket.close", "code": 1008})  # refused before accept: the handshake fails
        return
    queue_in, queue_out = trio.open_memory_channel[dict](1000)
    channel.sockets.append(queue_in)  # before accepting: an event published once the client is connected reaches it
    try:
        await send({"type": "websocket.accept"})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_client_frames, receive, queue_in, nursery.cancel_scope)
            nursery.start_soon(_heartbeats, fake, queue_in)
            nursery.start_soon(_expiry, fake, channel.id, channel.expires_at, queue_in)
            nursery.start_soon(_token_expiry, fake, channel.id, channel.token_expires_at)
            async for event in queue_out:
                if "__drop__" in event or "__close__" in event:
                    await send({"type": "websocket.close", "code": 1011 if "__drop__" in event else 1000})
                    break
                await send({"type": "websocket.send", "text": json.dumps(event)})
            nursery.cancel_scope.cancel()
    finally:
        if queue_in in channel.sockets:
            channel.sockets.remove(queue_in)


async def _client_frames(receive: Callable, queue: trio.MemorySendChannel, scope: trio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            scope.cancel()
            return
        try:
            frame = json.loads(message.get("text") or message.get("bytes") or b"null")
        except ValueError:
            continue
        if isinstance(frame, dict) and frame.get("message") == "ping":
            try:
                queue.send_nowait(PONG)
            except trio.WouldBlock:
                pass


async def _heartbeats(fake: FakeGenesys, queue: trio.MemorySendChannel) -> None:
    while True:
        await trio.sleep(fake.heartbeat_interval)
        try:
            queue.send_nowait(HEARTBEAT)
        except trio.WouldBlock:
            pass


async def _expiry(fake: FakeGenesys, channel_id: str, expires_at: float, queue: trio.MemorySendChannel) -> None:
    """Warn `closing_warning` seconds before the channel's end, then end it (24 h on the real service)."""
    await trio.sleep_until(max(trio.current_time(), expires_at - fake.closing_warning))
    try:
        queue.send_nowait(
            {
                "topicName": "v2.system.socket_closing",
                "eventBody": {"message": "The channel expires soon; create a new one"},
            }
        )
    except trio.WouldBlock:
        pass
    await trio.sleep_until(expires_at)
    fake.close_channel(channel_id)


async def _token_expiry(fake: FakeGenesys, channel_id: str, token_expires_at: float) -> None:
    """The channel ends with the token that created it. Assumption (no source read; runtime.md 2 has the
    client renew "before their token expires"): without a `socket_closing` warning."""
    if token_expires_at == float("inf"):
        return
    await trio.sleep_until(token_expires_at)
    fake.close_channel(channel_id)
