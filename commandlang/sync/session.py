"""One agent session on the hub: handshake, hello, catch-up without gap or duplicate, heartbeat.

The hub's `publish` reaches into a live session only through four fields,
`last_sent`, `live`, `pending` and `peer` (kept as plain attributes because
that loop runs once per recipient per event and must stay cheap); everything
else a session does is in this module.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import RemoteProtocolError

from ..jsonsafe import UnsafeJson, loads_bounded
from ..runtime.store import CommandRecord, StateEvent
from .tokens import TokenError, check_scope, verify_token
from .wire import Peer, text_frame
from ..errors import SyncError

if TYPE_CHECKING:
    from .hub import SyncHub

__all__ = [
    "Session",
    "CLOSE_BAD_HELLO",
    "CLOSE_UNAUTHORIZED",
    "CLOSE_FORBIDDEN",
    "CLOSE_TOO_SLOW",
    "CLOSE_TOO_MANY",
    "CLOSE_GOING_AWAY",
    "CLOSE_NO_PONG",
    "CLOSE_UNAVAILABLE",
    "CLOSE_TOO_BIG",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_BAD_DATA",
]

log = logging.getLogger("commandlang.sync")

CLOSE_GOING_AWAY = 1001  # the hub is shutting down: reconnect (to another replica) and resume
CLOSE_PROTOCOL_ERROR = 1002  # a frame that breaks RFC 6455 (unmasked, bad opcode, ...)
CLOSE_BAD_DATA = 1007  # a text frame that is not UTF-8
CLOSE_TOO_BIG = 1009  # a client frame over `max_frame`
CLOSE_NO_PONG = 1011  # heartbeat: `missed_pongs` pings in a row unanswered
CLOSE_UNAVAILABLE = 1013  # the store did not answer: try again later
CLOSE_BAD_HELLO = 4400  # the first frame is not a well-formed hello
CLOSE_UNAUTHORIZED = 4401  # no, bad or expired token
CLOSE_FORBIDDEN = 4403  # subscribe asks for a scope the token does not grant
CLOSE_TOO_SLOW = 4408  # the session's bounded queue overflowed: reconnect and resume
CLOSE_TOO_MANY = 4429  # too many sessions for this agent

# Closes that do not wait for the peer's close frame: a peer that stopped answering pings will not send one,
# and after a frame wsproto could not parse it cannot read one.
_NO_CLOSE_ANSWER = frozenset({CLOSE_NO_PONG, CLOSE_PROTOCOL_ERROR, CLOSE_BAD_DATA})


class SessionRefused(SyncError):
    """A hello the hub will not serve: closed with `code` and `reason`, nothing sent before."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class Session:
    """One WebSocket connection from an agent desktop or tool."""

    __slots__ = (
        "last_sent",
        "live",
        "pending",
        "peer",
        "hub",
        "agent",
        "admitted",
        "scopes",
        "held",
        "held_overflow",
        "_ws",
        "_events",
        "_text",
        "_text_size",
        "_scope",
        "_close_request",
        "_remote_closed",
        "_eof",
        "_ping_outstanding",
        "_missed_pongs",
    )

    def __init__(self, hub: SyncHub, peer: Peer) -> None:
        self.hub = hub
        self.peer = peer
        self.agent = ""
        self.admitted = False  # counted against the agent's limit and registered in the hub's scopes
        self.scopes: frozenset[str] = frozenset()
        self.last_sent = -1  # the seq of the last event this session was sent or skipped past
        self.live = False  # False while catching up: live events go to `held` instead
        # this scheduler batch's frames (one frame as is, several as a list), written together by the hub's flush
        self.pending: bytes | list[bytes] | None = None
        self.held: list[StateEvent] = []
        self.held_overflow = False
        self._ws = WSConnection(ConnectionType.SERVER)
        self._events: deque[Any] = deque()
        self._text: list[str] = []
        self._text_size = 0
        self._scope: trio.CancelScope | None = None
        self._close_request: tuple[int, str] | None = None
        self._remote_closed = False
        self._eof = False
        self._ping_outstanding = False
        self._missed_pongs = 0

    # -- what the hub calls --------------------------------------------------
    def wants(self, record: CommandRecord) -> bool:
        """Whether `record` is in one of this session's subscribed scopes."""
        scopes = self.scopes
        return (
            "*" in scopes
            or f"conversation:{record.conversation_id}" in scopes
            or (record.queue_id is not None and f"queue:{record.queue_id}" in scopes)
        )

    def hold(self, event: StateEvent) -> None:
        """A live event that arrived while catching up; bounded, re-read from the store on overflow."""
        if len(self.held) >= self.hub.queue_size:
            self.held.clear()
            self.held_overflow = True
        elif not self.held_overflow:
            self.held.append(event)

    def close_soon(self, code: int, reason: str) -> None:
        """Stop the session and close it with `code` (first request wins). Never blocks."""
        if self._close_request is None:
            # The reason may quote what the client sent; it must still encode as UTF-8 (wsproto truncates it).
            self._close_request = (code, reason.encode("utf-8", "backslashreplace").decode("utf-8"))
            self.live = False  # nothing more is sent after the decision to close
            if self._scope is not None:
                self._scope.cancel()

    # -- the session's life --------------------------------------------------
    async def run(self) -> None:
        """Serve the connection until either side closes it; always releases the socket."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.peer.run_writer)
                with trio.CancelScope() as self._scope:
                    if self._close_request is not None:
                        self._scope.cancel()
                    await self._converse()
                with trio.move_on_after(self.hub.close_timeout):
                    await self._close()
                nursery.cancel_scope.cancel()
        finally:
            self.live = False
            self.peer.close()

    async def _converse(self) -> None:
        with trio.move_on_after(self.hub.hello_timeout) as deadline:
            if not await self._handshake():
                return
            hello = await self._next_text()
        if deadline.cancelled_caught:
            if self._ws.state is ConnectionState.OPEN:
                self.close_soon(CLOSE_UNAUTHORIZED, f"no hello within {self.hub.hello_timeout:g}s")
            return
        if hello is None:
            return
        try:
            resume_after = self._authenticate(hello)
            self.hub.admit(self)
        except SessionRefused as refused:
            log.info("sync session refused: %s", refused.reason, extra={"agent": self.agent, "code": refused.code})
            self.close_soon(refused.code, refused.reason)
            return
        async with trio.open_nursery() as tasks:
            tasks.start_soon(self._read_until_closed)
            tasks.start_soon(self._heartbeat)
            try:
                await self._catch_up(resume_after)
            except Exception as exc:  # the store's errors vary by backend; Cancelled is not an Exception
                log.warning("sync catch-up failed: %s", exc, extra={"agent": self.agent})
                self.close_soon(CLOSE_UNAVAILABLE, "state store unavailable, try again")

    async def _close(self) -> None:
        if self._close_request is not None and self._ws.state is ConnectionState.OPEN:
            code, reason = self._close_request
            self.peer.send_last(self._ws.send(CloseConnection(code=code, reason=reason)))
        elif self._close_request is None and not self._remote_closed:
            await self.peer.wait_flushed()  # e.g. a 404 for a wrong path; nothing else to say
            return
        await self.peer.wait_flushed()
        if self._close_request is not None and self._close_request[0] in _NO_CLOSE_ANSWER:
            return  # waiting for its close frame would only hold the socket (see _NO_CLOSE_ANSWER)
        # Wait (bounded by close_timeout) for the peer's close frame so it has read ours, then hang up:
        # RFC 6455 has the server close the TCP connection first.
        while not self._remote_closed and not self.peer.broken:
            event = await self._next_event()
            if event is None:
                break
            self._remote_closed = isinstance(event, CloseConnection)
        self.peer.shutdown_write()

    # -- handshake and hello -------------------------------------------------
    async def _handshake(self) -> bool:
        while True:
            event = await self._next_event()
            if event is None:
                return False
            if isinstance(event, Request):
                break
        if urlsplit(event.target).path != self.hub.path:
            self.peer.send_last(self._ws.send(RejectConnection(status_code=404)))
            return False
        self.peer.send(self._ws.send(AcceptConnection()))  # no extensions: frames must be identical per peer
        return True

    def _authenticate(self, text: str) -> int | None:
        try:
            # Not json.loads: a deep `[[[...` would raise RecursionError and a "\ud800" escape would give a
            # scope whose refusal reason cannot be encoded; both must be a 4400 like any other bad hello.
            hello = loads_bounded(text)
        except UnsafeJson as exc:
            raise SessionRefused(CLOSE_BAD_HELLO, f"bad hello: {exc}") from None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            raise SessionRefused(CLOSE_BAD_HELLO, 'the first frame must be {"type": "hello", ...}')
        try:
            token = verify_token(self.hub.secret, hello.get("token"), now=self.hub.clock)
        except TokenError as exc:
            raise SessionRefused(CLOSE_UNAUTHORIZED, str(exc)) from None
        self.agent = token.agent
        subscribe = hello.get("subscribe")
        if not isinstance(subscribe, list) or not subscribe:
            raise SessionRefused(CLOSE_BAD_HELLO, "subscribe must be a non-empty list of scopes")
        try:
            scopes = frozenset(check_scope(scope) for scope in subscribe)
        except ValueError as exc:
            raise SessionRefused(CLOSE_BAD_HELLO, str(exc)) from None
        for scope in sorted(scopes):
            if not token.allows(scope):
                raise SessionRefused(CLOSE_FORBIDDEN, f"scope {scope} is not allowed by this token")
        self.scopes = scopes
        resume_after = hello.get("resume_after")
        if resume_after is not None and (type(resume_after) is not int or resume_after < 0):
            raise SessionRefused(CLOSE_BAD_HELLO, "resume_after must be a seq (an integer >= 0) or null")
        return resume_after

    # -- catch-up: store first, then the live events held meanwhile ----------
    async def _catch_up(self, resume_after: int | None) -> None:
        """Send what the store has after `resume_after` (or a snapshot), then go live.

        The session is registered before the store is read, so an event
        published meanwhile is held; held events at or below what the store
        gave us are dropped, the rest sent in order: no gap, no duplicate.
        """
        hub = self.hub
        position = resume_after
        if resume_after is not None:
            # The client has everything up to here: live events at or below it, held while we read
            # the store, must not be sent even when the store has nothing newer.
            self.last_sent = resume_after
        while True:
            if position is None:
                conversations = [scope.split(":", 1)[1] for scope in self.scopes if scope.startswith("conversation:")]
                queues = [scope.split(":", 1)[1] for scope in self.scopes if scope.startswith("queue:")]
                with trio.fail_after(hub.store_timeout):
                    if len(conversations) + len(queues) == len(self.scopes):  # no `*`: the scopes' own commands
                        seq, records = await hub.store.snapshot_for(conversations, hub.snapshot_limit, queues=queues)
                    else:
                        seq, records = await hub.store.snapshot(hub.snapshot_limit)
                commands = [record.to_json() for record in records if self.wants(record)]
                payload = json.dumps(
                    {"type": "snapshot", "seq": seq, "commands": commands}, separators=(",", ":"), ensure_ascii=False
                ).encode("utf-8")
                await self._send_catching_up(text_frame(payload))
                self.last_sent = position = seq
            else:
                with trio.fail_after(hub.store_timeout):
                    events = await hub.store.events_after(position, hub.replay_page)
                if events is None:
                    position = None  # older than the kept log: a fresh snapshot instead
                    continue
                for event in events:
                    if event.seq > self.last_sent and self.wants(event.record):
                        await self._send_catching_up(hub.frame(event))
                    self.last_sent = max(self.last_sent, event.seq)
                position = max(position, self.last_sent)
                if len(events) >= hub.replay_page:
                    continue
            if self.held_overflow:  # too much arrived while we read: read the store again
                self.held_overflow = False
                self.held.clear()
                continue
            break
        # No await from here on: the held events and the switch to live are one step.
        for event in self.held:
            if event.seq > self.last_sent:
                self.last_sent = event.seq
                if not self.peer.send(hub.frame(event)):
                    self.close_soon(CLOSE_TOO_SLOW, "too slow: reconnect and resume")
                    return
        self.held = []
        self.live = self._close_request is None

    async def _send_catching_up(self, frame: bytes) -> None:
        # Catch-up waits for a slow peer (up to the send timeout) instead of cutting it off.
        limit = max(1, self.hub.queue_size // 2)
        if self.peer.queued >= limit:
            await self.peer.drain(limit)
        if not self.peer.send(frame):
            self.close_soon(CLOSE_TOO_SLOW, "too slow: reconnect and resume")
            await trio.lowlevel.checkpoint()

    # -- reading and heartbeat -------------------------------------------------
    async def _read_until_closed(self) -> None:
        while await self._next_text() is not None:
            pass  # clients have nothing more to say after hello; control frames are handled inside
        if self._close_request is None and self._scope is not None:
            self._scope.cancel()

    async def _heartbeat(self) -> None:
        count = 0
        while True:
            await trio.sleep(self.hub.ping_interval)
            if self._ping_outstanding:
                self._missed_pongs += 1
                if self._missed_pongs >= self.hub.missed_pongs:
                    self.close_soon(CLOSE_NO_PONG, f"heartbeat: {self._missed_pongs} pings unanswered")
                    return
            count += 1
            self._ping_outstanding = True
            if not self.peer.send(self._ws.send(Ping(payload=str(count).encode()))):
                self.close_soon(CLOSE_TOO_SLOW, "too slow: reconnect and resume")
                return

    async def _next_text(self) -> str | None:
        """The next whole text message; None once the peer closed or broke the protocol."""
        while True:
            event = await self._next_event()
            if event is None:
                return None
            if isinstance(event, TextMessage):
                self._text_size += len(event.data)
                if self._text_size > self.hub.max_frame:
                    self.close_soon(CLOSE_TOO_BIG, f"frames are limited to {self.hub.max_frame} bytes")
                    return None
                self._text.append(event.data)
                if event.message_finished:
                    text = "".join(self._text)
                    self._text, self._text_size = [], 0
                    return text
            elif isinstance(event, BytesMessage):
                self.close_soon(1003, "binary frames are not part of this protocol")
                return None
            elif isinstance(event, Ping):
                self.peer.send(self._ws.send(event.response()))
            elif isinstance(event, Pong):
                self._ping_outstanding = False
                self._missed_pongs = 0
            elif isinstance(event, CloseConnection):
                if self._ws.state is ConnectionState.OPEN:
                    # Not the peer's close: wsproto reports a frame it could not parse (1007 for invalid UTF-8,
                    # 1002 for a protocol error) as a close event and leaves the closing to us.
                    self.close_soon(event.code, event.reason or "")
                    return None
                self._remote_closed = True
                if self._ws.state is ConnectionState.REMOTE_CLOSING:
                    self.peer.send_last(self._ws.send(event.response()))
                return None

    async def _next_event(self) -> Any:
        while not self._events:
            if self._eof:
                return None
            data = await self.peer.receive_some()
            self._eof = not data
            try:
                self._ws.receive_data(data or None)
                self._events.extend(self._ws.events())
            except RemoteProtocolError as exc:
                self.close_soon(CLOSE_PROTOCOL_ERROR, f"protocol error: {exc}"[:120])
                return None
            if not data and not self._events:
                return None
        return self._events.popleft()
