"""Start the real service in-process (demo backend beside it, both on free ports) and talk to it over HTTP."""

from __future__ import annotations

import base64
import functools
import io
import json
import shutil
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import trio

from commandlang.channels.webhook import signature_headers
from commandlang.runtime.http import answer_lifespan, read_body
from commandlang.runtime.config import ServiceConfig
from commandlang.app.service import Ports, Service
from commandlang.runtime.stores import open_store, store_url
from commandlang.runtime.store import CommandRecord, Store, record_body
from commandlang.testing.demo_backend import DemoBackend, serve_demo_backend

WEBHOOK_SECRET = "whsec-test-1f9a8c"
# the key waiting questions are sealed with, for the services that must open one after a restart or on another replica
QUESTION_KEY = base64.b64encode(bytes(range(32))).decode()

REGISTRY = """
version: 1
backends:
  demo:
    base_url: ${DEMO_API}
    timeout: 5s
    retry: {attempts: 1}
commands:
  slow:
    summary: Wait on the backend for a while
    args:
      n: {type: int, positional: true, required: true}
      delay: {type: float, default: 0.3}
    request:
      backend: demo
      method: GET
      path: /echo/{n}
      headers: {X-Demo-Fault: "latency={{ args.delay }}"}
    ack: "Working on {{ args.n }}..."
    reply:
      success: {text: "Slow {{ args.n }} done"}
  status:
    summary: Order status
    args:
      order: {type: int, positional: true, required: true}
    request: {backend: demo, method: GET, path: "/orders/{order}"}
  note:
    summary: A command without a backend
    args:
      text: {type: str, positional: true, required: true}
"""


@dataclass
class Running:
    service: Service
    ports: Ports
    backend: DemoBackend
    client: httpx.AsyncClient
    db: Path
    registry: Path
    out: io.StringIO

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    async def webhook(
        self,
        text: str,
        *,
        conversation: str = "c1",
        message_id: str | None = None,
        participant: str = "agent-1",
        role: str = "agent",
        secret: str = WEBHOOK_SECRET,
        language: str | None = None,
    ) -> httpx.Response:
        message = {
            "conversation_id": conversation,
            "message_id": message_id or f"m-{id(text)}-{trio.current_time()}",
            "participant_id": participant,
            "role": role,
            "text": text,
        }
        if language is not None:
            message["language"] = language
        body = json.dumps(message).encode()
        return await self.client.post(
            f"{self.base}/v1/messages",
            content=body,
            headers={**signature_headers(secret, body), "content-type": "application/json"},
        )

    async def rows(self) -> list[dict[str, Any]]:
        """Every command record, oldest change first, as the store keeps it (the sync `command` object, the
        message id and the registry version), read through the `Store` API: the same for every store."""
        async with self._store() as store:
            return [json.loads(record_body(r)) for r in await all_records(store)]

    async def events(self) -> list[dict[str, Any]]:
        """Every stored state change in seq order: its seq and the record as it was then."""
        async with self._store() as store:
            events = await store.events_after(0, 2**31 - 1)
        assert events is not None, "the event log was pruned"
        return [{"seq": e.seq, **json.loads(record_body(e.record))} for e in events]

    def _store(self) -> AbstractAsyncContextManager[Store]:
        """The service's store while it runs; once it has stopped, the same store opened again by its
        URL, as an operator would look at what a stopped service left."""
        if self.service.stopped.is_set():
            return opened_store(store_url(self.service.config)[0])
        assert self.service.store is not None
        return nullcontext(self.service.store)


class CallbackReceiver:
    """A real HTTP endpoint standing in for the team's callback URL; it records what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, str, bytes]] = []  # (payload, signature header, raw body)
        self.timestamps: list[str] = []
        self.changed = trio.Event()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = await read_body(receive) or b""
        headers = dict(scope["headers"])
        self.received.append((json.loads(body), headers.get(b"x-commandlang-signature", b"").decode(), body))
        self.timestamps.append(headers.get(b"x-commandlang-timestamp", b"").decode())
        self.changed.set()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def running_service(
    tmp_path: Path, registry: str = REGISTRY, *, templates: Path | None = None, clock: Any = None, **settings: Any
) -> AsyncIterator[Running]:
    """The service on free ports with `registry` (and a copy of `templates`), its backends on a demo backend."""
    backend = DemoBackend()
    async with trio.open_nursery() as nursery:
        backend_port = await nursery.start(functools.partial(serve_demo_backend, "127.0.0.1", 0, backend=backend))
        registry_path = tmp_path / "commands.yaml"
        registry_path.write_text(registry)
        if templates is not None:
            shutil.copytree(templates, tmp_path / "templates")
        config = replace(
            ServiceConfig(),
            port=0,
            sync_port=0,
            registry=str(registry_path),
            db=str(tmp_path / "state.db"),
            webhook_secret=WEBHOOK_SECRET,
            reload_interval=0.1,
            drain_timeout=5.0,
        )
        config = replace(config, **settings)
        out = io.StringIO()
        api = f"http://127.0.0.1:{backend_port}/v1"
        service = Service(
            config,
            env={"DEMO_API": api, "ORDERS_API": api},
            out=out,
            handle_signals=False,
            **({"clock": clock} if clock is not None else {}),
        )
        ports = await nursery.start(service.serve)
        async with httpx.AsyncClient(timeout=10.0) as client:
            try:
                yield Running(service, ports, backend, client, tmp_path / "state.db", registry_path, out)
            finally:
                service.stop()
                with trio.move_on_after(10):
                    await service.stopped.wait()
                nursery.cancel_scope.cancel()


def sample_record(
    command_id: str, conversation: str = "c1", status: str = "pending", now: float = 100.0
) -> CommandRecord:
    """A stored command as the pipeline writes it (masked args, a message id), for store tests."""
    return CommandRecord(
        id=command_id,
        conversation_id=conversation,
        command="refund",
        args={"order": 1, "card": "****1111"},
        status=status,
        actor="p1",
        role="agent",
        channel="webhook",
        message_id=f"m-{command_id}",
        created_at=now,
        updated_at=now,
    )


async def all_records(store: Store) -> list[CommandRecord]:
    """Every record a store holds, oldest change first, read through the `Store` API (any store)."""
    return list((await store.snapshot(limit=2**31 - 1))[1])


@asynccontextmanager
async def opened_store(url: str, replica_id: str = "test-reader") -> AsyncIterator[Store]:
    """The store at `url` opened beside the service that uses it (or once it stopped), by the URL as
    `serve` would; a shared store takes a lease for `replica_id` meanwhile, and owns no work."""
    store = open_store(replace(ServiceConfig(), store=url, replica_id=replica_id))
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        try:
            yield store
        finally:
            await store.aclose()


async def stored_rows(url: str) -> list[dict[str, Any]]:
    """Every record in the store at `url` (`Running.rows` for a service in another process)."""
    async with opened_store(url) as store:
        return [json.loads(record_body(r)) for r in await all_records(store)]


async def stored_events(url: str) -> list[dict[str, Any]]:
    """Every stored change in the store at `url`, in seq order: its seq and the record as it was then."""
    async with opened_store(url) as store:
        events = await store.events_after(0, 2**31 - 1)
    assert events is not None, "the event log was pruned"
    return [{"seq": e.seq, **json.loads(record_body(e.record))} for e in events]


SAMPLE_ROOT = Path(__file__).resolve().parents[2]  # the project: its sample commands.yaml and templates/


def sample_service(tmp_path: Path, **settings: Any) -> AbstractAsyncContextManager[Running]:
    """The service on the sample registry and templates, its page's visitors holding the agent role; the
    caller turns the page on (`local_channel=True`, or `demo=True` for all of --demo)."""
    return running_service(
        tmp_path,
        (SAMPLE_ROOT / "commands.yaml").read_text(),
        templates=SAMPLE_ROOT / "templates",
        local_agent_role=True,
        **settings,
    )
