"""What the sync tests share: a store and hub on real sockets, and a stand-in for the runtime's writes."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from commandlang.runtime.sqlite import SqliteStore
from commandlang.runtime.store import CommandRecord, StateEvent
from commandlang.sync.hub import SyncHub
from commandlang.sync.tokens import issue_token

SECRET = "test-sync-secret"


def token(*scopes: str, agent: str = "agent-1", ttl: float = 3600, secret: str = SECRET) -> str:
    return issue_token(secret, agent, scopes, ttl)


class FakeRuntime:
    """Does what the runtime does with state: append to the store, then publish to the hub."""

    def __init__(self, store: SqliteStore, hub: SyncHub) -> None:
        self.store, self.hub = store, hub
        self.records: dict[str, CommandRecord] = {}
        self.now = 1000.0

    async def create(
        self,
        command_id: str,
        conversation: str,
        queue: str | None = None,
        *,
        command: str = "refund",
        args: dict[str, Any] | None = None,
        status: str = "pending",
        actor: str = "cust-1",
        role: str = "customer",
        **fields: Any,
    ) -> StateEvent:
        self.now += 1
        record = CommandRecord(
            id=command_id,
            conversation_id=conversation,
            command=command,
            args={"order": "12345", "amount": "19.99"} if args is None else args,
            status=status,  # type: ignore[arg-type]
            actor=actor,
            role=role,
            channel="webhook",
            message_id=f"m-{command_id}",
            created_at=self.now,
            updated_at=self.now,
            queue_id=queue,
            **fields,
        )
        return await self._append(record)

    async def move(self, command_id: str, status: str) -> StateEvent:
        self.now += 1
        error = {"code": "backend", "message": "the refund service said no"} if status == "failed" else None
        return await self._append(self.records[command_id].moved(status, self.now, error))  # type: ignore[arg-type]

    async def append(self, record: CommandRecord) -> StateEvent:
        """Store and publish a record made by the test (a field `create` and `move` do not set)."""
        return await self._append(record)

    async def _append(self, record: CommandRecord) -> StateEvent:
        event = await self.store.append(record)
        self.records[record.id] = record
        self.hub.publish(event)
        return event


@asynccontextmanager
async def running_hub(path: Path, port: int = 0, **hub_options: Any) -> AsyncIterator[tuple[SqliteStore, SyncHub, str]]:
    """A SQLite store on `path` and a hub on 127.0.0.1:`port`, both stopped on exit."""
    async with trio.open_nursery() as nursery:
        store = SqliteStore(str(path))
        await nursery.start(store.run)
        hub = SyncHub(store, SECRET, **hub_options)
        bound = await nursery.start(hub.serve, "127.0.0.1", port)
        try:
            yield store, hub, f"ws://127.0.0.1:{bound}/sync"
        finally:
            with trio.CancelScope(shield=True):
                await hub.aclose()
                await store.aclose()


async def first_frame(url: str, scopes: list[str]) -> dict:
    """Say hello with a token for exactly `scopes` (no resume) and return the first frame the hub sends."""
    async with open_websocket_url(url) as ws:
        await ws.send_message(
            json.dumps({"type": "hello", "token": token(*scopes), "subscribe": scopes, "resume_after": None})
        )
        return json.loads(await ws.get_message())


async def refused_with(url: str, hello: dict[str, Any]) -> tuple[int, str, list[str]]:
    """Send a hello and return (close code, reason, frames received before the close)."""
    received: list[str] = []
    async with open_websocket_url(url) as ws:
        await ws.send_message(json.dumps(hello))
        try:
            while True:
                received.append(await ws.get_message())
        except ConnectionClosed as closed:
            return closed.reason.code, closed.reason.reason or "", received
    raise AssertionError("unreachable")
