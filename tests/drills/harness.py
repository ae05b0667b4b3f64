"""Fault drills: `commandlang serve` as a real process, a demo backend that misbehaves, agents that drop.

The service runs as a subprocess on fixed free ports (so a restart comes back
where clients look for it) with its stderr in a file; the demo backend runs in
the test's own Trio loop so the drill can plan faults and read every request it
received; sync watchers (`SyncClient`) reach the hub through a TCP proxy the
drill can cut. `COMMANDLANG_DRILL_SECONDS` makes the load run longer (default:
a few seconds per drill).
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import socket
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio

from commandlang.channels.webhook import signature_headers
from commandlang.sync import SyncClient
from commandlang.sync.client import Snapshot, StateChange
from commandlang.sync.tokens import issue_token
from commandlang.testing.demo_backend import DemoBackend, Fault, serve_demo_backend
from tests.runtime.support import stored_events, stored_rows

ROOT = Path(__file__).resolve().parents[2]

# Distinctive, so a leak is unmistakable in a log line.
WEBHOOK_SECRET = "whsec-DRILL-7c1f3a9e55"
SYNC_SECRET = "sync-DRILL-e4b2d80c11"
BACKEND_TOKEN = "tok-DRILL-b9a3f1d277"
CARD = "4111222233334444"  # a sensitive argument: only ****4444 may appear
SECRETS = (WEBHOOK_SECRET, SYNC_SECRET, BACKEND_TOKEN, CARD)

FINAL = {"completed", "failed", "timed_out", "cancelled", "rejected"}

REGISTRY = """
version: 1
backends:
  demo:
    base_url: ${DEMO_API}
    timeout: 5s
    auth: {type: bearer, token: "${DRILL_TOKEN}"}
    retry: {attempts: 4, on: [429, 502, 503, 504], backoff: 50ms, max_backoff: 2s}
commands:
  status:
    summary: Order status
    args:
      order: {type: int, positional: true, required: true}
    request: {backend: demo, method: GET, path: "/orders/{order}"}
  refund:
    summary: Refund an order
    args:
      order: {type: int, positional: true, required: true}
      amount: {type: decimal, min: 0.01, required: true}
      card: {type: str, sensitive: true}
    request: {backend: demo, method: POST, path: "/orders/{order}/refunds", json: {amount: "{{ args.amount }}"}}
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
  note:
    summary: A command without a backend
    args:
      text: {type: str, positional: true, required: true}
"""


def drill_seconds(default: float) -> float:
    """How long a drill's load runs: `COMMANDLANG_DRILL_SECONDS` or the short default."""
    return float(os.environ.get("COMMANDLANG_DRILL_SECONDS") or default)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mixed_text(index: int, rng: random.Random) -> str:
    """A realistic mix: lookups, refunds (POST, idempotency key), slow ones, no-backend ones, user errors."""
    kind = rng.random()
    if kind < 0.40:
        return f"/status {100 + index}"
    if kind < 0.65:
        return f"/refund {100 + index} amount={rng.randint(1, 99)}.{rng.randint(0, 99):02d} card={CARD}"
    if kind < 0.75:
        return f"/slow {index} delay=0.{rng.randint(1, 3)}"
    if kind < 0.90:
        return f'/note "drill note {index}"'
    return f"/refund {index} amount=0"  # a constraint error: failed, no backend call


class ServiceProcess:
    """`commandlang serve` as an operator runs it, restartable on the same ports and state file."""

    def __init__(
        self,
        directory: Path,
        backend_url: str,
        *,
        drain_timeout: str = "5s",
        extra_env: dict[str, str] | None = None,
        redis_socket: Path | None = None,
    ) -> None:
        self.extra_env = dict(extra_env or {})
        self.redis_socket = redis_socket  # with COMMANDLANG_REDIS_URL in extra_env: the state is read from there
        self.directory = directory
        self.db = directory / "state.db"
        self.registry = directory / "commands.yaml"
        self.registry.write_text(REGISTRY)
        self.stderr_path = directory / "stderr.log"
        self.stdout_path = directory / "stdout.log"
        self.http_port, self.sync_port = free_port(), free_port()
        self.backend_url = backend_url
        self.drain_timeout = drain_timeout
        self.process: trio.Process | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def sync_url(self) -> str:
        return f"ws://127.0.0.1:{self.sync_port}/sync"

    async def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DEMO_API": f"{self.backend_url}/v1",
            "DRILL_TOKEN": BACKEND_TOKEN,
            "COMMANDLANG_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "COMMANDLANG_SYNC_SECRET": SYNC_SECRET,
            "COMMANDLANG_LOG_FORMAT": "json",
            "COMMANDLANG_LOG_LEVEL": "debug",
            **self.extra_env,
        }
        self.starts += 1
        offset = self.stdout_path.stat().st_size if self.stdout_path.exists() else 0
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.process = await trio.lowlevel.open_process(
                [
                    sys.executable,
                    "-m",
                    "commandlang",
                    "serve",
                    "--port",
                    str(self.http_port),
                    "--sync-port",
                    str(self.sync_port),
                    "--registry",
                    str(self.registry),
                    "--db",
                    str(self.db),
                    "--drain-timeout",
                    self.drain_timeout,
                    "--reload-interval",
                    "0",
                ],
                cwd=str(self.directory),
                env=env,
                stdout=out,
                stderr=err,
            )
        with trio.fail_after(30):
            while "listening http://" not in self.stdout_path.read_bytes()[offset:].decode(errors="replace"):
                if self.process.poll() is not None:
                    raise AssertionError(f"the service exited with {self.process.returncode}: {self.logs()[-3000:]}")
                await trio.sleep(0.05)

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = 10.0) -> float:
        """Seconds until `/readyz` answered 200 (fails after `timeout`)."""
        started = trio.current_time()
        with trio.fail_after(timeout):
            while True:
                try:
                    if (await client.get(f"{self.base}/readyz", timeout=2)).status_code == 200:
                        return trio.current_time() - started
                except httpx.HTTPError:
                    pass
                await trio.sleep(0.05)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    async def wait(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        with trio.fail_after(timeout):
            return await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGTERM)
            with trio.move_on_after(20):
                await self.process.wait()
            if self.process.poll() is None:
                self.process.kill()
                await self.process.wait()

    def logs(self) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return text + (self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else "")

    @property
    def store_url(self) -> str:
        """The state store's URL, as `serve --store` takes it."""
        return f"unix://{self.redis_socket}" if self.redis_socket is not None else f"sqlite://{self.db}"

    async def rows(self) -> list[dict[str, Any]]:
        """Every record, read through the store opened by its URL beside the running service (any store)."""
        return await stored_rows(self.store_url)

    async def events(self) -> list[tuple[int, dict[str, Any]]]:
        return [(event.pop("seq"), event) for event in await stored_events(self.store_url)]

    async def retries(self, client: httpx.AsyncClient) -> int:
        """commandlang_backend_retries_total as /metrics reports it now (per process run)."""
        try:
            text = (await client.get(f"{self.base}/metrics", timeout=2)).text
        except httpx.HTTPError:
            return 0
        return int(
            sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("commandlang_backend_retries_total")
            )
        )


class Proxy:
    """A TCP proxy in front of the sync hub; `cut()` drops every connection through it (a network blip)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._scopes: set[trio.CancelScope] = set()
        self.cuts = 0

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self.port)
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, client: trio.SocketStream) -> None:
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
            except OSError:
                await client.aclose()
                return
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._pipe, client, upstream, nursery.cancel_scope)
                    nursery.start_soon(self._pipe, upstream, client, nursery.cancel_scope)
            finally:
                self._scopes.discard(scope)
                await trio.aclose_forcefully(client)
                await trio.aclose_forcefully(upstream)

    @staticmethod
    async def _pipe(source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope) -> None:
        try:
            while data := await source.receive_some(65536):
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()

    def cut(self) -> None:
        self.cuts += 1
        for scope in list(self._scopes):
            scope.cancel()


@dataclass
class Watcher:
    """An agent session: a `SyncClient` and everything it delivered."""

    name: str
    scope: str
    snapshots: list[Snapshot] = field(default_factory=list)
    changes: list[StateChange] = field(default_factory=list)
    client: SyncClient | None = None

    async def run(self, url: str, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        token = issue_token(SYNC_SECRET, f"agent-{self.name}", [self.scope], 3600)
        async with SyncClient(
            url, token, [self.scope], min_backoff=0.05, max_backoff=0.5, ping_interval=2, pong_timeout=2
        ) as client:
            self.client = client
            started = False
            async for item in client:
                if isinstance(item, Snapshot):
                    self.snapshots.append(item)
                else:
                    self.changes.append(item)
                if not started:
                    started = True
                    task_status.started()

    def in_scope(self, command: dict[str, Any]) -> bool:
        return self.scope == "*" or self.scope == f"conversation:{command['conversation_id']}"

    def problems(self, events: list[tuple[int, dict[str, Any]]], rows: list[dict[str, Any]]) -> list[str]:
        """What this session missed or got wrong, against the store's event log and final records."""
        found: list[str] = []
        seqs = [c.seq for c in self.changes]
        if any(b <= a for a, b in zip(seqs, seqs[1:])):
            found.append(f"{self.name}: seq not strictly increasing")
        # After the last snapshot (the first one, unless a resume reached too far back), every event in scope, no gap.
        base = self.snapshots[-1].seq if self.snapshots else 0
        last_snapshot_at = max((i for i, c in enumerate(self.changes) if self.snapshots and c.seq <= base), default=-1)
        expected = [seq for seq, body in events if seq > base and self.in_scope(body)]
        seen = [c.seq for c in self.changes[last_snapshot_at + 1 :] if c.seq > base]
        if seen != expected:
            missing = sorted(set(expected) - set(seen))
            extra = sorted(set(seen) - set(expected))
            found.append(
                f"{self.name}: {len(seen)} events after seq {base}, expected {len(expected)} "
                f"(missing {missing[:10]}, unexpected {extra[:10]})"
            )
        view: dict[str, str] = {}
        for snapshot in self.snapshots:
            view.update({c["id"]: c["status"] for c in snapshot.commands})
        for change in self.changes:
            view[change.command_id] = change.status
        for row in rows:
            if self.in_scope(row) and view.get(row["id"]) != row["status"]:
                found.append(
                    f"{self.name}: command {row['id']} is {row['status']} in the store, "
                    f"{view.get(row['id'])} in the session"
                )
                break
        return found


@dataclass
class Load:
    """Sends signed webhook messages and keeps, per message id, what became of it."""

    service: ServiceProcess
    client: httpx.AsyncClient
    # Other replicas behind the same load balancer: a conversation goes to one replica, and to the
    # next one while that one does not answer; `prefer_other` sends a delivery elsewhere on purpose.
    replicas: list[ServiceProcess] = field(default_factory=list)
    sent: dict[str, str] = field(default_factory=dict)  # message id -> text
    conversation_of: dict[str, str] = field(default_factory=dict)
    answered: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id -> the 200 answer
    unanswered: set[str] = field(default_factory=set)  # refused (503) or cut off: the platform delivers again
    duplicates_sent: int = 0
    duplicates_run: int = 0
    refused: int = 0
    transport_errors: int = 0

    def _route(self, conversation: str, prefer_other: bool) -> list[ServiceProcess]:
        every = [self.service, *self.replicas]
        first = (sum(conversation.encode()) + prefer_other) % len(every)
        return every[first:] + every[:first]

    async def deliver(self, conversation: str, message_id: str, text: str, *, prefer_other: bool = False) -> int:
        body = json.dumps(
            {
                "conversation_id": conversation,
                "message_id": message_id,
                "participant_id": f"p-{conversation}",
                "role": "agent",
                "text": text,
            }
        ).encode()
        self.sent[message_id] = text
        self.conversation_of[message_id] = conversation
        for target in self._route(conversation, prefer_other):
            try:
                response = await self.client.post(
                    f"{target.base}/v1/messages",
                    content=body,
                    timeout=30,
                    headers=signature_headers(WEBHOOK_SECRET, body),
                )
                break
            except httpx.HTTPError:
                self.transport_errors += 1
        else:
            self.unanswered.add(message_id)
            return 0
        if response.status_code == 200:
            self.unanswered.discard(message_id)
            if message_id in self.answered:
                if response.json()["command"] is not None:
                    self.duplicates_run += 1
            else:
                self.answered[message_id] = response.json()
        else:
            self.refused += 1
            self.unanswered.add(message_id)
        return response.status_code

    async def conversation(self, name: str, until: float, rng: random.Random, *, senders: int = 3) -> None:
        """Messages into one conversation from `senders` at once (a fast typist, a platform delivering in
        parallel), so the conversation's queue holds several commands at a time."""
        async with trio.open_nursery() as nursery:
            for sender in range(senders):
                nursery.start_soon(self._sender, name, sender, until, random.Random(rng.random()))

    async def _sender(self, name: str, sender: int, until: float, rng: random.Random) -> None:
        index = 0
        while trio.current_time() < until:
            index += 1
            message_id = f"{name}-s{sender}-m{index}"
            text = mixed_text(index, rng)
            if await self.deliver(name, message_id, text) != 200:
                await trio.sleep(0.1)  # refused or down: a platform backs off too
            if rng.random() < 0.1 and message_id in self.answered:  # the platform delivers it twice
                self.duplicates_sent += 1
                await self.deliver(name, message_id, text, prefer_other=True)

    async def redeliver(self, deadline: float = 30.0) -> None:
        """Deliver every unanswered message again, as a channel does after a refusal or a dropped connection."""
        with trio.fail_after(deadline):
            while self.unanswered:
                for message_id in sorted(self.unanswered):
                    await self.deliver(self.conversation_of[message_id], message_id, self.sent[message_id])
                if self.unanswered:
                    await trio.sleep(0.2)


async def check_store(load: Load, service: ServiceProcess) -> tuple[list[str], dict[str, int]]:
    """Every command message has exactly one record, in a final state; none ran twice."""
    rows = await service.rows()
    problems: list[str] = []
    by_message = Counter(row["message_id"] for row in rows if "message_id" in row)
    commands = [m for m in load.sent]  # every text the drill sends is a command
    lost = [m for m in commands if by_message[m] == 0]
    duplicated = [m for m, n in by_message.items() if n > 1]
    unfinished = [row for row in rows if row["status"] not in FINAL]
    if lost:
        problems.append(f"{len(lost)} message(s) have no command record: {lost[:5]}")
    if duplicated:
        problems.append(f"{len(duplicated)} message(s) ran more than once: {duplicated[:5]}")
    if unfinished:
        problems.append(
            f"{len(unfinished)} command(s) not in a final state: {[(r['id'], r['status']) for r in unfinished[:5]]}"
        )
    if load.duplicates_run:
        problems.append(f"{load.duplicates_run} duplicate deliveries ran again")
    statuses = Counter(row["status"] for row in rows)
    return problems, {
        "commands": len(rows),
        "lost": len(lost),
        "duplicated": len(duplicated) + load.duplicates_run,
        **{f"status_{k}": v for k, v in sorted(statuses.items())},
    }


async def check_backend(backend: DemoBackend, service: ServiceProcess) -> list[str]:
    """No message ran twice against the backend: every Idempotency-Key is one command's id, and every
    command reached the backend with at most one key; the bearer token went to the backend only."""
    rows = {row["id"]: row for row in await service.rows()}
    problems = []
    keys_by_message: dict[str, set[str]] = {}
    for request in backend.requests:
        key = request.header("idempotency-key")
        if request.method == "POST":
            if key is None or key not in rows:
                problems.append(f"a POST reached the backend with key {key!r}, which is no command's id")
                continue
            keys_by_message.setdefault(rows[key]["message_id"], set()).add(key)
        if request.header("authorization") != f"Bearer {BACKEND_TOKEN}":
            problems.append("a backend request without the configured bearer token")
            break
    twice = {m: k for m, k in keys_by_message.items() if len(k) > 1}
    if twice:
        problems.append(f"{len(twice)} message(s) reached the backend as two commands")
    keys = {key for ks in keys_by_message.values() for key in ks}
    if len(backend.refunds) > len(keys):
        problems.append(f"{len(backend.refunds)} refunds created by {len(keys)} refund commands")
    return problems


def check_logs(service: ServiceProcess, extra: tuple[str, ...] = ()) -> list[str]:
    logs = service.logs()
    leaked = [secret[:8] + "..." for secret in SECRETS + tuple(extra) if secret and secret in logs]
    problems = [f"a secret appears in the service's output: {leaked}"] if leaked else []
    if "Traceback" in logs:
        problems.append("a traceback in the service's output")
    return problems


class FaultPlan:
    """Keeps the demo backend's fault plan topped up with a mix of faults while the load runs."""

    MIX = (
        Fault(latency=0.2),
        Fault(status=429, retry_after="1"),
        Fault(status=503),
        Fault(status=502),
        Fault(reset=True),
    )

    def __init__(self, backend: DemoBackend, rng: random.Random, every: int = 4) -> None:
        self.backend, self.rng, self.every = backend, rng, every
        self.planned: Counter[str] = Counter()

    async def run(self, until: float) -> None:
        while trio.current_time() < until:
            if not self.backend._plan:  # noqa: SLF001 - a drill tops the plan up; DemoBackend has no public length
                fault = self.rng.choice(self.MIX)
                self.backend.plan(Fault(), times=self.rng.randint(0, self.every))  # some good requests in between
                self.backend.plan(fault)
                self.planned[_fault_name(fault)] += 1
            await trio.sleep(0.01)
        left = len(self.backend._plan)  # noqa: SLF001
        self.backend.clear_plan()
        self.left = left

    def injected(self) -> int:
        return sum(self.planned.values())


def _fault_name(fault: Fault) -> str:
    if fault.latency:
        return "latency"
    if fault.reset:
        return "reset"
    return f"http_{fault.status}"


def report(name: str, figures: dict[str, Any]) -> str:
    line = f"DRILL {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
    print(line)
    out = os.environ.get("COMMANDLANG_DRILL_REPORT")
    if out:
        with open(out, "a") as handle:
            handle.write(json.dumps({"drill": name, **figures}) + "\n")
    return line


async def start_backend(nursery: trio.Nursery) -> tuple[DemoBackend, str]:
    backend = DemoBackend(record_limit=1_000_000)
    port = await nursery.start(functools.partial(serve_demo_backend, "127.0.0.1", 0, backend=backend))
    return backend, f"http://127.0.0.1:{port}"
