"""`SyncClient`: the hub's Python client. Reconnects, resumes, never shows a gap or a duplicate.

    async with SyncClient(url, token, ["conversation:c1"]) as client:
        async for event in client:
            if isinstance(event, Snapshot): ...   # replace your view with event.commands
            else: ...                              # a StateChange: event.command moved on

Snapshots are yielded distinctly from state changes: the first thing a new
client sees is a `Snapshot`; after a reconnect the hub replays what was missed
as `StateChange`s, unless the client was away longer than the hub's event log
reaches, in which case it gets a fresh `Snapshot` (replace, do not merge).
Every item carries the hub's `seq`; `client.last_seq` is where a later client
may resume (`resume_after=`), e.g. after a process restart.
"""

from __future__ import annotations

import json
import logging
import random as _random
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable, Mapping, Sequence

import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from ..errors import SyncError
from ..execution.retry import full_jitter

__all__ = ["SyncClient", "Snapshot", "StateChange", "SyncAuthError", "FATAL_CLOSE_CODES"]

log = logging.getLogger("commandlang.sync.client")

#: close codes after which reconnecting cannot help: bad hello, bad token, scope not allowed
FATAL_CLOSE_CODES = frozenset({4400, 4401, 4403})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The live and recent commands in scope as of `seq` (the hub's `snapshot` frame)."""

    seq: int
    commands: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class StateChange:
    """One command's new state (the hub's `state` frame)."""

    seq: int
    command: Mapping[str, Any]

    @property
    def status(self) -> str:
        return str(self.command["status"])

    @property
    def command_id(self) -> str:
        return str(self.command["id"])


class SyncAuthError(SyncError):
    """The hub refused the hello (4400 bad hello, 4401 bad/expired token, 4403 scope not allowed)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


class SyncClient:
    """An async iterator of `Snapshot` and `StateChange`, kept alive across hub restarts.

    Reconnects with exponential backoff and full jitter (`delay = random() *
    min(max_backoff, min_backoff * 2**attempt)`, no attempt cap; the attempt
    count resets once a hub answers, so a 4408 (too slow) resumes within `min_backoff`).
    Heartbeat: answers the hub's pings (trio-websocket does) and pings the hub
    every `ping_interval`; no pong within `pong_timeout` means the hub is gone.
    """

    def __init__(
        self,
        url: str,
        token: str,
        subscribe: Sequence[str],
        *,
        resume_after: int | None = None,
        min_backoff: float = 0.1,
        max_backoff: float = 30.0,
        ping_interval: float = 20.0,
        pong_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        buffer: int = 64,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.url = url
        self.token = token
        self.subscribe = list(subscribe)
        self.last_seq = resume_after
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.ping_interval, self.pong_timeout, self.connect_timeout = ping_interval, pong_timeout, connect_timeout
        self.random = random
        self.connections = 0  # how many times a hub accepted our hello (1 + reconnects)
        self.connected = False
        self._send, self._receive = trio.open_memory_channel[Any](buffer)
        self._nursery_manager: Any = None

    async def __aenter__(self) -> SyncClient:
        self._nursery_manager = trio.open_nursery()
        nursery = await self._nursery_manager.__aenter__()
        nursery.start_soon(self._run)
        self._cancel = nursery.cancel_scope
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        self._cancel.cancel()
        return await self._nursery_manager.__aexit__(kind, error, tb)

    def __aiter__(self) -> SyncClient:
        return self

    async def __anext__(self) -> Snapshot | StateChange:
        try:
            item = await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None
        if isinstance(item, BaseException):
            raise item
        return item

    async def _run(self) -> None:
        attempt = 0
        async with self._send:
            while True:
                outcome = await self._connect_once()
                if isinstance(outcome, SyncAuthError):
                    await self._send.send(outcome)
                    return
                if outcome in ("answered", "too slow"):
                    attempt = 0  # a hub answered (4408: we fell behind): resume soon, still jittered
                delay = full_jitter(attempt, base=self.min_backoff, cap=self.max_backoff, random=self.random)
                attempt += 1
                log.info("sync: reconnecting in %.2fs (%s)", delay, outcome)
                await trio.sleep(delay)

    async def _connect_once(self) -> str | SyncAuthError:
        """One connection's life; returns why it ended (never raises but for cancellation)."""
        answered = False
        closed: ConnectionClosed | None = None
        try:
            async with open_websocket_url(
                self.url, connect_timeout=self.connect_timeout, disconnect_timeout=self.pong_timeout
            ) as ws:
                hello = {
                    "type": "hello",
                    "token": self.token,
                    "subscribe": self.subscribe,
                    "resume_after": self.last_seq,
                }
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._heartbeat, ws, nursery.cancel_scope)
                    # Caught here, inside the nursery, so it is not wrapped in an ExceptionGroup.
                    try:
                        await ws.send_message(json.dumps(hello))
                        while True:
                            frame = json.loads(await ws.get_message())
                            if not answered:
                                answered = True
                                self.connections += 1
                                self.connected = True
                            await self._deliver(frame)
                    except ConnectionClosed as exc:
                        closed = exc
                    finally:
                        self.connected = False
                        nursery.cancel_scope.cancel()
        except ConnectionClosed as exc:
            closed = exc
        except Exception as exc:  # OSError, HandshakeError, timeouts, bad JSON, or a group of them
            return "answered" if answered else f"{type(exc).__name__}: {exc}"
        if closed is not None and closed.reason is not None:
            code, reason = closed.reason.code, closed.reason.reason or ""
            if code in FATAL_CLOSE_CODES:
                return SyncAuthError(code, reason)
            if code == 4408:
                return "too slow"
            return "answered" if answered else f"closed {code} {reason}"
        return "answered" if answered else "heartbeat lost"

    async def _deliver(self, frame: Mapping[str, Any]) -> None:
        kind, seq = frame.get("type"), frame.get("seq")
        if not isinstance(seq, int):
            return
        if kind == "snapshot":
            item: Snapshot | StateChange = Snapshot(seq, tuple(frame.get("commands", ())))
        elif kind == "state":
            if self.last_seq is not None and seq <= self.last_seq:
                return  # already delivered (defensive: the hub does not resend)
            item = StateChange(seq, frame["command"])
        else:
            return  # a frame type from a newer hub
        # Only once the consumer has it does it count: a resume then starts after it, not before.
        await self._send.send(item)
        self.last_seq = seq

    async def _heartbeat(self, ws: Any, connection: trio.CancelScope) -> None:
        while True:
            await trio.sleep(self.ping_interval)
            try:
                with trio.fail_after(self.pong_timeout):
                    await ws.ping()
            except (trio.TooSlowError, ConnectionClosed):
                log.warning("sync: no pong from the hub within %.1fs; reconnecting", self.pong_timeout)
                connection.cancel()
                return
