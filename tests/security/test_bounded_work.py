"""Attack 3: making the service hold memory and descriptors without authenticating.

Slow bodies (a byte a second behind well-formed, wrongly signed headers with a
fresh timestamp), bodies over the unauthenticated body budget, and a flood of
idle connections over `COMMANDLANG_MAX_CONNECTIONS`. The figures (RSS and
open descriptors of the server, before, during and after) are printed for the
report; run with `-s` to see them.
"""

from __future__ import annotations

import json
import time

import pytest
import trio
from trio_websocket import open_websocket_url

from commandlang.sync.tokens import issue_token

from .attack import HOST, SYNC_SECRET, Recorder, Served, head, http_get, message, parse_response, serve, signed

N_SLOW = 150
BODY_TIMEOUT = 2.0
BUDGET = 256 * 1024
MAX_CONNECTIONS = 50


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Served:
    found = serve(
        tmp_path_factory.mktemp("slow"),
        recorder,
        env={"COMMANDLANG_BODY_TIMEOUT": f"{BODY_TIMEOUT:g}s", "COMMANDLANG_BODY_BUDGET": str(BUDGET)},
    )
    yield found
    found.proc.stop()


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Served:
    found = serve(
        tmp_path_factory.mktemp("capped"), recorder, env={"COMMANDLANG_MAX_CONNECTIONS": str(MAX_CONNECTIONS)}
    )
    yield found
    found.proc.stop()


def _wrongly_signed_head(served: Served, length: int) -> bytes:
    headers = {
        **signed(b"a body the attacker never sends"),
        "Content-Type": "application/json",
        "Content-Length": str(length),
    }
    return head("POST", "/v1/messages", headers, host=f"{HOST}:{served.port}")


async def _read_answer(stream: trio.SocketStream) -> int | None:
    """The status the server answered, or None if it closed without one."""
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            received += chunk
    except trio.BrokenResourceError:
        pass
    return parse_response(received, 0).status


async def _slow_client(served: Served, results: list, connected: list) -> None:
    started = trio.current_time()
    stream = await trio.open_tcp_stream(HOST, served.port)
    async with stream:
        await stream.send_all(_wrongly_signed_head(served, 100))
        connected.append(1)
        status: list[int | None] = []

        async def drip() -> None:
            try:
                for _ in range(100):  # a byte a second, as long as the server lets it
                    await stream.send_all(b"x")
                    await trio.sleep(1.0)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drip)
            status.append(await _read_answer(stream))
            nursery.cancel_scope.cancel()
    results.append((status[0], trio.current_time() - started))


@pytest.mark.deadline(40)
async def test_slow_bodies_are_cut_and_hold_little(slow: Served) -> None:
    assert slow.webhook("/note warm up", conversation="c-warm").status_code == 200
    rss_before, fds_before = slow.rss_kib(), slow.fds()
    results: list = []
    connected: list = []
    peak_rss, peak_fds = rss_before, fds_before
    with trio.fail_after(BODY_TIMEOUT + 20):
        async with trio.open_nursery() as nursery:
            for _ in range(N_SLOW):
                nursery.start_soon(_slow_client, slow, results, connected)
            for _ in range(int((BODY_TIMEOUT + 15) / 0.1)):  # sample while they drip
                peak_rss, peak_fds = max(peak_rss, slow.rss_kib()), max(peak_fds, slow.fds())
                if len(results) == N_SLOW:
                    break
                await trio.sleep(0.1)
    await trio.sleep(0.5)
    rss_after, fds_after = slow.rss_kib(), slow.fds()
    statuses = [status for status, _ in results]
    longest = max(seconds for _, seconds in results)
    print(
        f"\n{N_SLOW} slow clients (a byte a second, body timeout {BODY_TIMEOUT:g} s): "
        f"RSS before {rss_before / 1024:.1f} MiB, during (peak) {peak_rss / 1024:.1f} MiB, after {rss_after / 1024:.1f} MiB; "
        f"fds before {fds_before}, during (peak) {peak_fds}, after {fds_after}; "
        f"answers {sorted(set(map(str, statuses)))}, longest client {longest:.2f} s"
    )
    assert len(connected) == N_SLOW
    assert set(statuses) <= {408, None}, statuses
    assert statuses.count(408) >= N_SLOW * 0.9  # cut with an answer, not just dropped
    assert longest < BODY_TIMEOUT + 5
    assert peak_rss - rss_before < 30 * 1024
    assert peak_fds - fds_before <= N_SLOW + 20
    assert fds_after - fds_before <= 10
    assert slow.webhook("/note after", conversation="c-after").json()["command"]["status"] == "completed"


async def _half_body(served: Served, statuses: list) -> None:
    stream = await trio.open_tcp_stream(HOST, served.port)
    async with stream:
        await stream.send_all(_wrongly_signed_head(served, 65000) + b"y" * 60000)
        statuses.append(await _read_answer(stream))


@pytest.mark.deadline(30)
async def test_bodies_over_the_budget_get_503(slow: Served) -> None:
    statuses: list = []
    with trio.fail_after(BODY_TIMEOUT + 10):
        async with trio.open_nursery() as nursery:
            for _ in range(8):  # 8 x 60 kB held at once > the 256 KiB budget
                nursery.start_soon(_half_body, slow, statuses)
            await trio.sleep(0.5)
            held = [
                line
                for line in slow.metrics().splitlines()
                if line.startswith("commandlang_unauthenticated_body_bytes ")
            ]
    print(f"\nbodies over the budget: answers {statuses}; held mid-attack: {held}")
    assert statuses.count(503) >= 3
    assert set(statuses) <= {503, 408, None}
    assert held and float(held[0].split()[1]) <= BUDGET
    # when they are gone, the budget is whole again
    held_after = [
        line for line in slow.metrics().splitlines() if line.startswith("commandlang_unauthenticated_body_bytes ")
    ]
    assert [float(line.split()[1]) for line in held_after] == [0]
    assert slow.webhook("/note after-budget", conversation="c-budget").json()["command"]["status"] == "completed"


async def _hold_idle(served: Served, count: int, holding: list, stop: trio.Event) -> None:
    """Keep `count` idle connections open (each one re-opened as soon as the server closes it) until `stop`."""

    async def one() -> None:
        for _ in range(3000):  # bounded re-opens (the server drops quiet ones past its cap within milliseconds)
            if stop.is_set():
                return
            await trio.sleep(0.005)
            try:
                stream = await trio.open_tcp_stream(HOST, served.port)
            except OSError:
                await trio.sleep(0.05)
                continue
            holding.append(stream)
            async with stream:
                with trio.move_on_after(30):
                    async with trio.open_nursery() as nursery:

                        async def closed_by_server() -> None:
                            try:
                                while await stream.receive_some(4096):
                                    pass
                            except trio.BrokenResourceError:
                                pass
                            nursery.cancel_scope.cancel()

                        async def stopped() -> None:
                            await stop.wait()
                            nursery.cancel_scope.cancel()

                        nursery.start_soon(closed_by_server)
                        nursery.start_soon(stopped)
            holding.remove(stream)

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one)


def _health(served: Served, path: str, tries: int = 25) -> tuple[int | None, int]:
    """GET `path` on fresh connections until one answers; (status, tries used)."""
    status = None
    for attempt in range(1, tries + 1):
        status = http_get(served.port, path).status
        if status is not None:
            return status, attempt
        time.sleep(0.2)
    return status, tries


async def _sync_hello(served: Served) -> str:
    token = issue_token(SYNC_SECRET, "agent-flood", ["conversation:c-flood"], 600)
    with trio.fail_after(10):
        async with open_websocket_url(served.sync_url) as ws:
            await ws.send_message(
                json.dumps(
                    {"type": "hello", "token": token, "subscribe": ["conversation:c-flood"], "resume_after": None}
                )
            )
            return json.loads(await ws.get_message())["type"]


def _gauge(served: Served, name: str) -> float | None:
    lines = [line for line in served.metrics().splitlines() if line.startswith(name + " ")]
    return float(lines[0].split()[1]) if lines else None


@pytest.mark.deadline(60)
async def test_health_answers_under_a_sustained_connection_flood(capped: Served) -> None:
    holding: list = []
    stop = trio.Event()
    flood = MAX_CONNECTIONS * 3
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_hold_idle, capped, flood, holding, stop)
        with trio.fail_after(10):  # the cap is full and the rest keep knocking
            while len(holding) < MAX_CONNECTIONS:
                await trio.sleep(0.05)
        await trio.sleep(1.0)
        try:  # an orchestrator probes every few seconds and restarts the service after a few failures
            probes = await trio.to_thread.run_sync(
                lambda: [
                    (http_get(capped.port, path).status, time.sleep(0.2))[0]
                    for _ in range(10)
                    for path in ("/healthz", "/readyz")
                ]
            )
        finally:
            stop.set()
    print(
        f"\nsustained flood of {flood} idle connections (cap {MAX_CONNECTIONS}): 20 health probes answered "
        f"{probes} (None: closed unanswered)"
    )
    assert probes == [200] * 20


@pytest.mark.deadline(60)
async def test_a_connection_flood_is_capped_and_leaves_sync_alive(capped: Served) -> None:
    await trio.sleep(0)
    with trio.fail_after(15):  # the previous attack's connections are gone (keep-alive timeout 5 s)
        while capped.fds() > 30:
            await trio.sleep(0.2)
    fds_before, rss_before = capped.fds(), capped.rss_kib()
    holding: list = []
    stop = trio.Event()
    flood = MAX_CONNECTIONS * 3
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_hold_idle, capped, flood, holding, stop)
        with trio.fail_after(10):  # the cap is full and the rest keep knocking
            while len(holding) < MAX_CONNECTIONS:
                await trio.sleep(0.05)
        await trio.sleep(1.0)
        try:
            fds_during, rss_during = capped.fds(), capped.rss_kib()
            hello = await _sync_hello(capped)
            body = message("/note flooded", conversation="c-flooded")
            over_cap = await trio.to_thread.run_sync(lambda: [_post_raw(capped, body) for _ in range(3)])
        finally:
            stop.set()
    with trio.fail_after(15):
        while capped.fds() > fds_before + 10:
            await trio.sleep(0.2)
    fds_after, rss_after = capped.fds(), capped.rss_kib()
    refused = _gauge(capped, "commandlang_http_connections_refused")
    print(
        f"\nflood of {flood} idle connections, re-opened as closed (cap {MAX_CONNECTIONS}): "
        f"fds before {fds_before}, during {fds_during}, after {fds_after}; "
        f"RSS before {rss_before / 1024:.1f} MiB, during {rss_during / 1024:.1f} MiB, after {rss_after / 1024:.1f} MiB; "
        f"sync hello -> {hello}; a message over the cap -> {over_cap}; connections refused (gauge) {refused}"
    )
    assert hello == "snapshot"
    assert set(over_cap) <= {503, None}
    assert refused is not None and refused > 0
    assert fds_during - fds_before <= MAX_CONNECTIONS + 32 + 20  # served + the health reserve + slack
    assert capped.webhook("/note after-flood", conversation="c-after-flood").json()["command"]["status"] == "completed"
    assert http_get(capped.port, "/healthz").status == 200


def _post_raw(served: Served, body: bytes) -> int | None:
    from .attack import http_post

    return http_post(served.port, "/v1/messages", body, {**signed(body), "Content-Type": "application/json"}).status
