"""The sync hub: a WebSocket endpoint that streams command states to agent sessions.

Protocol (docs in `../shared/spec/runtime.md` section 3, beside the checkout): the client's
first frame is `{"type": "hello", "token", "subscribe", "resume_after"}`; the
hub answers with a `snapshot` (or the stored events after `resume_after`) and
then live `state` events with strictly increasing `seq`. Close codes are in
`session.py`.

Broadcast: `publish` encodes each event once (`frame`) and notes it for every
live session in scope; the hub's flush task, woken by the first event of a
scheduler batch, runs in the next batch and writes each session's frames of
the batch with one non-blocking `send`, straight to the socket (see `wire.py`
for why this is not trio-websocket's send path). At 50 conversations a batch
holds about three events, so a session costs one syscall per batch instead of
one per event; sessions sent the same frames share one joined buffer. The
cost is the rest of the current scheduler batch before the flush runs
(microseconds when idle; see bench/RESULTS.notes.md for the figures under
load). A session whose bounded queue (counted in frames) is full is closed
with 4408; the others never wait for it.

Order: the runtime publishes after the store commits, but two conversations'
commits can reach `publish` out of seq order. The hub forwards events in seq
order: an event ahead of the next expected seq is held until the gap fills,
or for at most `gap_timeout`, after which the missing events are read from
the store (they were committed but never published, e.g. a crash between the
two) or, if the store has none, skipped.

Not checked: the `Origin` header. Sessions authenticate with the token in
the hello, never with cookies, so a foreign page cannot ride on an agent's
browser session. `publish` must be called from the hub's Trio thread.
"""

from __future__ import annotations

import errno
import json
import logging
import time
from collections import OrderedDict
from typing import Any, Callable, Mapping

import trio

from ..runtime.store import StateEvent, Store
from .session import CLOSE_GOING_AWAY, CLOSE_TOO_MANY, CLOSE_TOO_SLOW, Session, SessionRefused
from .wire import Peer, open_listener, text_frame

__all__ = ["SyncHub"]

log = logging.getLogger("commandlang.sync")


class SyncHub:
    """Streams every published `StateEvent` to the sessions whose scopes include it; an `EventSink`.

    Start with `port = await nursery.start(hub.serve, host, port)`; stop with `await hub.aclose()`.

    - `store`: where catch-up reads from (`events_after`, `snapshot`); the same store the runtime appends to.
    - `secret`: the HMAC secret tokens are signed with (`COMMANDLANG_SYNC_SECRET`).
    - `ping_interval`, `missed_pongs`: heartbeat; that many pings in a row unanswered close with 1011.
    - `queue_size`: frames a session may have waiting for its socket; one more closes it with 4408.
    - `max_frame`: the largest message a client may send (the hello), in bytes; larger closes with 1009.
    - `max_sessions_per_agent` (4429 beyond it; counted per agent id, so fresh tokens for the same agent share it),
      `max_sessions` (connections refused beyond it), `max_unauthenticated` (connections that have not
      sent a valid hello yet; refused beyond it, so a flood of silent sockets cannot keep agents out).
    - `hello_timeout`: the hello must arrive this soon after connecting (else 4401).
    - `send_timeout`: a session whose socket takes nothing for this long is dropped.
    - `close_timeout`: how long a closing session waits for the peer's close frame; also bounds `aclose`.
    - `store_timeout`, `snapshot_limit` (final commands in a snapshot beside the live ones), `replay_page`.
    - `gap_timeout`: how long an event published ahead of a missing seq waits before the store is asked.
    - `clock`: wall clock for token expiry (trio's clock drives every timeout).
    """

    path = "/sync"

    def __init__(
        self,
        store: Store,
        secret: str | bytes,
        *,
        ping_interval: float = 30.0,
        missed_pongs: int = 3,
        queue_size: int = 256,
        max_frame: int = 64 * 1024,
        max_sessions_per_agent: int = 16,
        max_sessions: int = 10_000,
        max_unauthenticated: int | None = None,
        hello_timeout: float = 10.0,
        send_timeout: float = 30.0,
        close_timeout: float = 5.0,
        store_timeout: float = 10.0,
        snapshot_limit: int = 500,
        replay_page: int = 1000,
        gap_timeout: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("SyncHub needs a non-empty secret (COMMANDLANG_SYNC_SECRET)")
        self.store = store
        self.secret = secret
        self.ping_interval = ping_interval
        self.missed_pongs = missed_pongs
        self.queue_size = queue_size
        self.max_frame = max_frame
        self.max_sessions_per_agent = max_sessions_per_agent
        self.max_sessions = max_sessions
        # default: a quarter of the sessions may be mid-handshake at once (a thousand agents reconnecting after
        # a restart fit; a flood of silent sockets cannot take the rest)
        self.max_unauthenticated = (
            max_unauthenticated if max_unauthenticated is not None else max(16, max_sessions // 4)
        )
        self._unauthenticated = 0
        self.hello_timeout = hello_timeout
        self.send_timeout = send_timeout
        self.close_timeout = close_timeout
        self.store_timeout = store_timeout
        self.snapshot_limit = snapshot_limit
        self.replay_page = replay_page
        self.gap_timeout = gap_timeout
        self.clock = clock  # wall clock for token expiry; trio's clock drives every timeout
        self.port: int | None = None
        self._sessions: set[Session] = set()
        # scope -> its sessions; a dict, not a set, so a broadcast walks them in the order they
        # connected (a set's hash order costs measurably more in the kernel's send path)
        self._by_scope: dict[str, dict[Session, None]] = {}
        # Open sessions per agent id, not per token: an agent can mint tokens at will (POST /sync/token),
        # so a per-token count would cap nothing.
        self._per_agent: dict[str, int] = {}
        self._frames: OrderedDict[int, bytes] = OrderedDict()  # recent frames: resumes after a restart share them
        self._forwarded: int | None = None  # the last seq sent to live sessions; None until serve() read the store
        self._held: dict[int, StateEvent] = {}  # published ahead of a gap
        self._dirty: list[Session] = []  # sessions with frames in `pending`, for the next flush
        self._batch_frames: list[bytes] = []  # the frames forwarded since the last flush
        self._flush_wake = trio.Event()
        self._gap = trio.Event()
        self._closing = False
        self._idle = trio.Event()
        self._stopped = trio.Event()
        self._nursery: trio.Nursery | None = None

    @property
    def session_count(self) -> int:
        """Open sessions (for /metrics)."""
        return len(self._sessions)

    # -- EventSink -------------------------------------------------------------
    def publish(self, event: StateEvent) -> None:
        """Send a durable state change to every live session in scope. Never blocks."""
        forwarded = self._forwarded
        if forwarded is not None and event.seq <= forwarded:
            return  # already sent (a duplicate publish, or read from the store to fill a gap)
        if forwarded is None or event.seq != forwarded + 1:
            if len(self._held) >= 4 * self.queue_size:
                self._held.pop(min(self._held))
            self._held[event.seq] = event
            self._gap.set()
            return
        self._forward(event)
        while self._held and self._forwarded is not None and self._forwarded + 1 in self._held:
            self._forward(self._held.pop(self._forwarded + 1))

    def notice(self, data: Mapping[str, Any]) -> None:
        """A frame outside the event log, such as `{"type": "registry", "version": ...}` after a reload,
        to every live session; never blocks. Clients ignore frame types they do not know."""
        self.flush()  # after the events published before it
        frame = text_frame(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        for session in list(self._sessions):
            if session.live and not session.peer.send(frame):
                session.close_soon(CLOSE_TOO_SLOW, "too slow: reconnect and resume")

    def frame(self, event: StateEvent) -> bytes:
        """The event's WebSocket frame, encoded once and shared by every session (and by resumes)."""
        frame = self._frames.get(event.seq)
        if frame is None:
            payload = json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            frame = self._frames[event.seq] = text_frame(payload)
            if len(self._frames) > 4096:
                self._frames.popitem(last=False)
        return frame

    def _forward(self, event: StateEvent) -> None:
        seq = event.seq
        self._forwarded = seq
        record = event.record
        buckets = [self._by_scope.get("*"), self._by_scope.get(f"conversation:{record.conversation_id}")]
        if record.queue_id is not None:
            buckets.append(self._by_scope.get(f"queue:{record.queue_id}"))
        frame: bytes | None = None
        for bucket in buckets:
            if not bucket:
                continue
            if frame is None:
                frame = self.frame(event)
                self._batch_frames.append(frame)
            # The hot loop: one comparison, one attribute store and one list append per recipient.
            # `last_sent` also keeps a session subscribed to two matching scopes from getting it twice.
            dirty = self._dirty
            for session in bucket:
                if session.last_sent >= seq:
                    continue
                if session.live:
                    session.last_sent = seq
                    # a lone frame is kept as is (the usual batch for one session holds one event):
                    # no list to build per recipient
                    pending = session.pending
                    if pending is None:
                        session.pending = frame
                        dirty.append(session)
                    elif pending.__class__ is bytes:
                        session.pending = [pending, frame]
                    else:
                        pending.append(frame)  # type: ignore[union-attr]
                else:
                    session.hold(event)
        if self._dirty and not self._flush_wake.is_set():
            self._flush_wake.set()

    def flush(self) -> None:
        """Write every session's frames forwarded since the last flush: one `send` per session, the
        joined bytes shared by sessions sent the same frames (those with the same subscriptions)."""
        dirty, self._dirty = self._dirty, []
        frames, self._batch_frames = self._batch_frames, []
        if len(frames) == 1:  # one event in the batch (a quiet hub, or one broadcast): every session has just it
            frame = frames[0]
            for session in dirty:
                session.pending = None
                if session.live and not session.peer.send(frame):
                    session.close_soon(CLOSE_TOO_SLOW, "too slow: reconnect and resume")
            return
        last: list[bytes] | None = None
        joined = b""
        for session in dirty:
            data = session.pending
            session.pending = None
            if not session.live:
                continue  # closing: nothing more is sent after that decision
            if data.__class__ is bytes:
                sent = session.peer.send(data)
            else:
                if data != last:  # the same frame objects: compared by identity first, cheap
                    last, joined = data, b"".join(data)  # type: ignore[assignment, arg-type]
                sent = session.peer.send(joined, len(data))  # type: ignore[arg-type]
            if not sent:
                session.close_soon(CLOSE_TOO_SLOW, "too slow: reconnect and resume")

    async def _flush_loop(self) -> None:
        while True:
            await self._flush_wake.wait()
            self._flush_wake = trio.Event()
            self.flush()

    async def _fill_gaps(self) -> None:
        while True:
            await self._gap.wait()
            self._gap = trio.Event()
            await trio.sleep(self.gap_timeout)
            while self._held and self._forwarded is not None:
                try:
                    with trio.fail_after(self.store_timeout):
                        missing = await self.store.events_after(self._forwarded, self.replay_page)
                except Exception as exc:  # the store's errors vary by backend
                    log.warning("sync: could not read the store to fill a gap: %s", exc)
                    missing = None
                for event in missing or ():
                    if event.seq > self._forwarded:
                        self._forward(event)
                if not missing:  # the store has nothing: the gap is permanent, move on in order
                    self._forward(self._held.pop(min(self._held)))
                for seq in [seq for seq in self._held if seq <= self._forwarded]:
                    del self._held[seq]
                while self._held and self._forwarded + 1 in self._held:
                    self._forward(self._held.pop(self._forwarded + 1))
                await trio.lowlevel.checkpoint()

    # -- sessions --------------------------------------------------------------
    def admit(self, session: Session) -> None:
        """Check the limits and register an authenticated session in its scopes (before its catch-up)."""
        if self._closing:
            raise SessionRefused(CLOSE_GOING_AWAY, "server shutting down")
        agent = session.agent
        if self._per_agent.get(agent, 0) >= self.max_sessions_per_agent:
            raise SessionRefused(CLOSE_TOO_MANY, f"at most {self.max_sessions_per_agent} sessions per agent")
        self._per_agent[agent] = self._per_agent.get(agent, 0) + 1
        session.admitted = True
        self._unauthenticated -= 1
        for scope in session.scopes:
            self._by_scope.setdefault(scope, {})[session] = None

    def _forget(self, session: Session) -> None:
        if session not in self._sessions:
            return self._check_idle()
        self._sessions.discard(session)
        if not session.admitted:
            self._unauthenticated -= 1
            return self._check_idle()
        session.admitted = False
        for scope in session.scopes:
            bucket = self._by_scope.get(scope)
            if bucket is not None and session in bucket:
                del bucket[session]
                if not bucket:
                    del self._by_scope[scope]
        self._per_agent[session.agent] -= 1
        if self._per_agent[session.agent] <= 0:
            del self._per_agent[session.agent]
        self._check_idle()

    def _check_idle(self) -> None:
        if self._closing and not self._sessions:
            self._idle.set()

    async def _run_session(self, session: Session) -> None:
        try:
            await session.run()
        except Exception:  # a bug in one session must not take down the hub and every other session with it
            log.exception("sync session failed", extra={"agent": session.agent})
        finally:
            self._forget(session)

    # -- serving ---------------------------------------------------------------
    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on `host:port` (0 takes a free port) and serve `/sync` until `aclose`; reports the port."""
        with trio.fail_after(self.store_timeout):
            latest, _ = await self.store.snapshot(0)
        self._forwarded = latest
        for event in sorted(self._held.values(), key=lambda e: e.seq):  # published before we knew where we were
            self._held.pop(event.seq)
            self.publish(event)
        listener = await open_listener(host, port)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._accept, listener, nursery)
                nursery.start_soon(self._fill_gaps)
                nursery.start_soon(self._flush_loop)
                self.port = listener.getsockname()[1]
                log.info("sync hub listening on ws://%s:%s%s", host, self.port, self.path)
                task_status.started(self.port)
        finally:
            trio.lowlevel.notify_closing(listener)
            listener.close()
            for session in list(self._sessions):
                session.peer.close()
            self._stopped.set()

    async def _accept(self, listener, nursery: trio.Nursery) -> None:  # noqa: ANN001 - a stdlib socket
        while not self._closing:
            try:
                sock, _ = listener.accept()
            except BlockingIOError:
                await trio.lowlevel.wait_readable(listener)
                continue
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("sync: cannot accept (%s); retrying in 100 ms", exc)
                    await trio.sleep(0.1)
                    continue
                raise
            if len(self._sessions) >= self.max_sessions or self._unauthenticated >= self.max_unauthenticated:
                sock.close()  # over capacity: refuse before spending anything on it
            else:
                session = Session(self, Peer(sock, queue_size=self.queue_size, send_timeout=self.send_timeout))
                self._sessions.add(session)
                self._unauthenticated += 1
                nursery.start_soon(self._run_session, session)
            await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """Stop accepting, close every session with 1001 (they reconnect elsewhere and resume), stop."""
        self._closing = True
        for session in list(self._sessions):
            session.close_soon(CLOSE_GOING_AWAY, "server shutting down")
        if not self._sessions:
            self._idle.set()
        with trio.move_on_after(self.close_timeout):
            await self._idle.wait()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
            with trio.move_on_after(self.close_timeout):
                await self._stopped.wait()
