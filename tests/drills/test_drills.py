"""Fault drills: load while things go wrong, then check what a user and an operator would check.

After each drill: every command has exactly one final state in the store, every
sync session saw every final state in its scope with a gapless seq, no message
ran twice (store records per message id, the demo backend's requests and
idempotency keys), no secret appears in the service's output, and `/readyz`
answers again within seconds. Each prints its figures (run with `pytest -s`,
or set `COMMANDLANG_DRILL_REPORT=FILE` to collect them as JSON lines).
`COMMANDLANG_DRILL_SECONDS=60` makes every drill's load run a minute.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import httpx
import pytest
import trio

from tests.drills.harness import (
    FaultPlan,
    Load,
    Proxy,
    ServiceProcess,
    Watcher,
    check_backend,
    check_logs,
    check_store,
    drill_seconds,
    report,
    start_backend,
)

CONVERSATIONS = 6
DEADLINE = 60 + 3 * drill_seconds(0)


async def _caught_up(watchers: list[Watcher], service: ServiceProcess, timeout: float = 15.0) -> None:
    """Wait (under a deadline) until every session has the store's last event in its scope."""
    with trio.move_on_after(timeout):
        while True:
            events = await service.events()
            if all(_last(w) >= max((seq for seq, body in events if w.in_scope(body)), default=0) for w in watchers):
                return
            await trio.sleep(0.05)


def _last(watcher: Watcher) -> int:
    seqs = [c.seq for c in watcher.changes] + [s.seq for s in watcher.snapshots]
    return max(seqs, default=0)


async def _all_final(service: ServiceProcess, timeout: float = 20.0) -> None:
    with trio.move_on_after(timeout):
        while any(row["status"] in ("pending", "executing") for row in await service.rows()):
            await trio.sleep(0.05)


async def _session_problems(watchers: list[Watcher], service: ServiceProcess) -> list[str]:
    events, rows = await service.events(), await service.rows()
    return [problem for watcher in watchers for problem in watcher.problems(events, rows)]


def _watchers() -> list[Watcher]:
    return [Watcher("all-1", "*"), Watcher("all-2", "*"), Watcher("conv-0", "conversation:drill-c0")]


async def _cut_now_and_then(proxy: Proxy, until: float, every: float) -> None:
    while trio.current_time() + every < until:
        await trio.sleep(every)
        proxy.cut()


@pytest.mark.deadline(DEADLINE)
async def test_mixed_load_while_the_backend_misbehaves_and_sessions_drop(tmp_path: Path) -> None:
    rng = random.Random(8)
    seconds = drill_seconds(4.0)
    async with trio.open_nursery() as nursery:
        backend, backend_url = await start_backend(nursery)
        service = ServiceProcess(tmp_path, backend_url)
        try:
            await service.start()
            proxy = Proxy(service.sync_port)
            await nursery.start(proxy.run)
            watchers = _watchers()
            for watcher in watchers:
                await nursery.start(watcher.run, f"ws://127.0.0.1:{proxy.port}/sync")
            async with httpx.AsyncClient() as client:
                load = Load(service, client)
                faults = FaultPlan(backend, rng)
                until = trio.current_time() + seconds
                async with trio.open_nursery() as drill:
                    drill.start_soon(faults.run, until)
                    drill.start_soon(_cut_now_and_then, proxy, until, 0.7)
                    for index in range(CONVERSATIONS):
                        drill.start_soon(load.conversation, f"drill-c{index}", until, random.Random(index))
                await load.redeliver()
                retries = await service.retries(client)
                await _all_final(service)
                await _caught_up(watchers, service)
                ready_after = await service.wait_ready(client)

            problems, figures = await check_store(load, service)
            problems += (
                await check_backend(backend, service) + check_logs(service) + await _session_problems(watchers, service)
            )
            report(
                "backend faults + session drops",
                {
                    **figures,
                    "faults_injected": faults.injected(),
                    **{f"fault_{k}": v for k, v in sorted(faults.planned.items())},
                    "backend_requests": len(backend.requests),
                    "retries": retries,
                    "duplicate_deliveries": load.duplicates_sent,
                    "refused_then_redelivered": load.refused,
                    "session_drops": proxy.cuts,
                    "reconnects": sum(w.client.connections - 1 for w in watchers if w.client),
                    "readyz_s": round(ready_after, 2),
                },
            )
            assert not problems, "\n".join(problems)
            assert faults.injected() >= 5 and proxy.cuts >= 3  # the drill did inject what it claims
        finally:
            await service.stop()
            nursery.cancel_scope.cancel()


@pytest.mark.deadline(DEADLINE)
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
async def test_the_service_is_stopped_mid_load_and_restarted(tmp_path: Path, how: str) -> None:
    rng = random.Random(9)
    seconds = drill_seconds(3.0)
    signum = signal.SIGTERM if how == "SIGTERM" else signal.SIGKILL
    async with trio.open_nursery() as nursery:
        backend, backend_url = await start_backend(nursery)
        service = ServiceProcess(tmp_path, backend_url, drain_timeout="2s")
        try:
            await service.start()
            watchers = _watchers()
            for watcher in watchers:
                await nursery.start(watcher.run, service.sync_url)
            async with httpx.AsyncClient() as client:
                load = Load(service, client)
                faults = FaultPlan(backend, rng, every=8)
                stops: list[dict] = []
                retries = [0]

                async def stop_and_restart(at: float) -> None:
                    await trio.sleep_until(at)
                    retries[0] += await service.retries(client)
                    stopped_at = trio.current_time()
                    service.signal(signum)
                    code = await service.wait()
                    down = trio.current_time() - stopped_at
                    await service.start()
                    ready = await service.wait_ready(client)
                    stops.append({"exit": code, "stop_s": round(down, 2), "readyz_after_restart_s": round(ready, 2)})

                start = trio.current_time()
                until = start + seconds
                async with trio.open_nursery() as drill:
                    drill.start_soon(faults.run, until)
                    drill.start_soon(stop_and_restart, start + seconds / 3)
                    for index in range(CONVERSATIONS):
                        drill.start_soon(load.conversation, f"drill-c{index}", until, random.Random(100 + index))
                await load.redeliver()
                retries[0] += await service.retries(client)
                await _all_final(service)
                await _caught_up(watchers, service)

            problems, figures = await check_store(load, service)
            problems += (
                await check_backend(backend, service) + check_logs(service) + await _session_problems(watchers, service)
            )
            interrupted = sum(
                1 for row in await service.rows() if (row.get("error") or {}).get("code") == "interrupted"
            )
            report(
                f"{how} + restart",
                {
                    **figures,
                    "interrupted": interrupted,
                    "faults_injected": faults.injected(),
                    "retries": retries[0],
                    "delivery_errors_while_down": load.transport_errors,
                    "refused_then_redelivered": load.refused,
                    "reconnects": sum(w.client.connections - 1 for w in watchers if w.client),
                    **stops[0],
                },
            )
            assert not problems, "\n".join(problems)
            assert stops[0]["exit"] == (0 if how == "SIGTERM" else -signal.SIGKILL)
            assert stops[0]["readyz_after_restart_s"] < 5
            assert all(w.client is not None and w.client.connections >= 2 for w in watchers)  # they did resume
            if how == "SIGTERM":
                assert interrupted == 0  # a graceful stop drains: nothing is left half-run
        finally:
            await service.stop()
            nursery.cancel_scope.cancel()
