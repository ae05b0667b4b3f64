"""Fault drill for several replicas: two `commandlang serve` processes sharing one redis-server.

Conversations are spread over both replicas, a tenth of messages is delivered a second time to
the *other* replica, the backend misbehaves, and replica A is killed (SIGKILL) mid-load and
started again under the same replica id; while it is down its conversations fail over to B, as a
load balancer would send them. Agents watch on replica B. Afterwards, as in the single-process
drills: every message has exactly one command record in a final state, nothing ran twice (store
records per message, the backend's idempotency keys), every session saw every event with a
gapless seq, no secret in either replica's output, and A answers /readyz again within seconds.
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
    ServiceProcess,
    check_backend,
    check_logs,
    check_store,
    drill_seconds,
    report,
    start_backend,
)
from tests.drills.test_drills import CONVERSATIONS, DEADLINE, _all_final, _caught_up, _session_problems, _watchers
from tests.redis_server import RedisServer


@pytest.mark.deadline(DEADLINE)
async def test_a_replica_is_killed_mid_load_and_the_other_carries_on(tmp_path: Path, redis: RedisServer) -> None:
    rng = random.Random(21)
    seconds = drill_seconds(3.0)
    async with trio.open_nursery() as nursery:
        backend, backend_url = await start_backend(nursery)
        replicas = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            replicas.append(
                ServiceProcess(
                    tmp_path / name,
                    backend_url,
                    drain_timeout="2s",
                    redis_socket=redis.socket,
                    extra_env={"COMMANDLANG_REDIS_URL": redis.url, "COMMANDLANG_REPLICA_ID": name},
                )
            )
        a, b = replicas
        try:
            for replica in replicas:
                await replica.start()
            watchers = _watchers()
            for watcher in watchers:
                await nursery.start(watcher.run, b.sync_url)
            async with httpx.AsyncClient() as client:
                load = Load(a, client, replicas=[b])
                faults = FaultPlan(backend, rng, every=8)
                stops: list[dict] = []

                async def kill_and_restart(at: float) -> None:
                    await trio.sleep_until(at)
                    a.signal(signal.SIGKILL)
                    code = await a.wait()
                    await trio.sleep(0.5)  # down for a while: its conversations go to b meanwhile
                    await a.start()
                    stops.append({"exit": code, "readyz_after_restart_s": round(await a.wait_ready(client), 2)})

                start = trio.current_time()
                until = start + seconds
                async with trio.open_nursery() as drill:
                    drill.start_soon(faults.run, until)
                    drill.start_soon(kill_and_restart, start + seconds / 3)
                    for index in range(CONVERSATIONS):
                        drill.start_soon(load.conversation, f"drill-c{index}", until, random.Random(200 + index))
                await load.redeliver()
                await _all_final(b)
                await _caught_up(watchers, b)

            problems, figures = await check_store(load, b)
            problems += (
                await check_backend(backend, b) + check_logs(a) + check_logs(b) + await _session_problems(watchers, b)
            )
            rows = await b.rows()
            interrupted = sum(1 for row in rows if (row.get("error") or {}).get("code") == "interrupted")
            report(
                "replica SIGKILL + restart (Redis)",
                {
                    **figures,
                    "interrupted": interrupted,
                    "faults_injected": faults.injected(),
                    "duplicate_deliveries_to_the_other_replica": load.duplicates_sent,
                    "delivery_errors_failed_over": load.transport_errors,
                    "refused_then_redelivered": load.refused,
                    **stops[0],
                },
            )
            assert not problems, "\n".join(problems)
            assert stops[0]["exit"] == -signal.SIGKILL and stops[0]["readyz_after_restart_s"] < 5
            assert "recovered" in a.logs() or interrupted == 0  # what a was running when killed ends interrupted
            assert load.duplicates_sent > 0 and faults.injected() > 0  # the drill did what it claims
        finally:
            for replica in replicas:
                await replica.stop()
            nursery.cancel_scope.cancel()
