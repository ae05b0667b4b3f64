"""Start the real service in-process (demo backend beside it, both on free ports) and talk to it over HTTP."""

from __future__ import annotations

import functools
import io
import json
import shutil
import sqlite3
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import trio

from commandlang.channels.webhook import signature_headers
from commandlang.runtime.config import ServiceConfig
from commandlang.runtime.service import Ports, Service
from commandlang.runtime.store import CommandRecord, Store
from commandlang.testing.demo_backend import DemoBackend, serve_demo_backend

WEBHOOK_SECRET = "whsec-test-1f9a8c"

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

    async def webhook(self, text: str, *, conversation: str = "c1", message_id: str | None = None,
                      participant: str = "agent-1", role: str = "agent", secret: str = WEBHOOK_SECRET) -> httpx.Response:
        body = json.dumps({"conversation_id": conversation, "message_id": message_id or f"m-{id(text)}-{trio.current_time()}",
                           "participant_id": participant, "role": role, "text": text}).encode()
        return await self.client.post(f"{self.base}/v1/messages", content=body,
                                      headers={**signature_headers(secret, body), "content-type": "application/json"})

    def rows(self) -> list[dict[str, Any]]:
        """Every command record in the state file, read as an operator would (sqlite3)."""
        with sqlite3.connect(self.db) as connection:
            return [json.loads(row[0]) for row in connection.execute("SELECT body FROM commands ORDER BY updated_at")]

    def events(self) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db) as connection:
            return [{"seq": seq, **json.loads(body)} for seq, body in connection.execute("SELECT seq, body FROM events ORDER BY seq")]


@asynccontextmanager
async def running_service(tmp_path: Path, registry: str = REGISTRY, *, templates: Path | None = None,
                          clock: Any = None, **settings: Any) -> AsyncIterator[Running]:
    """The service on free ports with `registry` (and a copy of `templates`), its backends on a demo backend."""
    backend = DemoBackend()
    async with trio.open_nursery() as nursery:
        backend_port = await nursery.start(functools.partial(serve_demo_backend, "127.0.0.1", 0, backend=backend))
        registry_path = tmp_path / "commands.yaml"
        registry_path.write_text(registry)
        if templates is not None:
            shutil.copytree(templates, tmp_path / "templates")
        config = replace(ServiceConfig(), port=0, sync_port=0, registry=str(registry_path), db=str(tmp_path / "state.db"),
                         webhook_secret=WEBHOOK_SECRET, reload_interval=0.1, drain_timeout=5.0)
        config = replace(config, **settings)
        out = io.StringIO()
        api = f"http://127.0.0.1:{backend_port}/v1"
        service = Service(config, env={"DEMO_API": api, "ORDERS_API": api}, out=out, handle_signals=False,
                          **({"clock": clock} if clock is not None else {}))
        ports = await nursery.start(service.serve)
        async with httpx.AsyncClient(timeout=10.0) as client:
            try:
                yield Running(service, ports, backend, client, tmp_path / "state.db", registry_path, out)
            finally:
                service.stop()
                with trio.move_on_after(10):
                    await service.stopped.wait()
                nursery.cancel_scope.cancel()


def sample_record(command_id: str, conversation: str = "c1", status: str = "pending", now: float = 100.0) -> CommandRecord:
    """A stored command as the pipeline writes it (masked args, a message id), for store tests."""
    return CommandRecord(id=command_id, conversation_id=conversation, command="refund",
                         args={"order": 1, "card": "****1111"}, status=status, actor="p1", role="agent",
                         channel="webhook", message_id=f"m-{command_id}", created_at=now, updated_at=now)


async def all_records(store: Store) -> list[CommandRecord]:
    """Every record a store holds, oldest change first, read through the `Store` API (any store)."""
    return list((await store.snapshot(limit=2**31 - 1))[1])
