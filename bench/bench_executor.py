"""Commands per second through the Executor vs a bare shared httpx.AsyncClient, against the demo backend.

    python bench/bench_executor.py [--seconds 4] [--concurrency 1,50]

The demo backend runs in a separate process (`python -m commandlang.cli.demo_backend
--port 0`). Each row runs `concurrency` Trio tasks that each send requests
back to back for `--seconds`, and reports requests/s and latency percentiles.
Rows (each measured in interleaved slices, so load from elsewhere hurts them alike):

- httpx (httpcore pool): a bare shared `httpx.AsyncClient()` loop: the baseline
- httpx + H11Transport: the same loop over our transport
- H11Transport.request: our transport's own door (no httpx models), as the Executor uses it
- Executor (H11Transport): `Executor.execute` end to end (request preparation,
  deadline, retry bookkeeping, size-capped reading, outcome)
- Executor (httpcore pool): the Executor over httpx's default transport
- Executor (H11 via httpx models): the Executor over H11Transport seen as any httpx transport,
  i.e. building an httpx.Request and httpx.Response per call (how it worked before the
  transport's own `request` door): the gain of that door, in the same run
- minimal h11 (calibration): one h11 connection per task, no httpx, no pool:
  the floor a Python HTTP/1.1 client on Trio costs on this machine, to scale
  the other rows to another machine (the issue measured ~4,500 requests/s)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import h11
import httpx
import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from commandlang.binding.call import Call  # noqa: E402
from commandlang.execution import Executor, H11Transport, Success, Target  # noqa: E402
from commandlang.registry.model import ArgSpec, BackendSpec, CommandSpec, RegistrySpec, RequestSpec, Settings, TypeSpec  # noqa: E402
from commandlang.replies.templates import TemplateEngine  # noqa: E402


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    concurrency: int
    requests: int
    seconds: float
    latencies: tuple[float, ...]
    failures: int
    cpu_seconds: float  # this process only: the backend runs in another one
    backend_cpu_seconds: float

    @property
    def per_core(self) -> float:
        """Requests per second of client CPU: the rate one core could drive if the backend kept up."""
        return self.requests / self.cpu_seconds if self.cpu_seconds else float("nan")

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def start_backend() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "commandlang.cli.demo_backend", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("listening "):
        process.kill()
        raise SystemExit(f"demo backend did not start: {line!r}")
    return process, line.split(" ", 1)[1]


def registry_for(base: str) -> RegistrySpec:
    backend = BackendSpec(name="orders", base_url=base + "/v1", timeout=5.0)
    command = CommandSpec(
        name="order.status",
        args=(ArgSpec(name="order", type=TypeSpec("int"), positional=True, required=True),),
        request=RequestSpec(backend="orders", method="GET", path="/orders/{order}"),
    )
    return RegistrySpec(
        version=1, settings=Settings(), backends={"orders": backend}, commands={command.name: command}, aliases={}
    )


async def measure(
    name: str, concurrency: int, seconds: float, one: Callable[[int], Awaitable[bool]], backend_pid: int
) -> Row:
    latencies: list[float] = []
    failures = 0
    counter = 0

    async def worker(index: int) -> None:
        nonlocal failures, counter
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            counter += 1
            started = time.perf_counter()
            ok = await one(counter)
            latencies.append(time.perf_counter() - started)
            failures += not ok

    for _ in range(min(20, concurrency)):  # warm up: pools fill outside the timing
        await one(0)
    began = time.perf_counter()
    cpu_began = time.process_time()
    backend_cpu_began = process_cpu_seconds(backend_pid)
    with trio.fail_after(seconds + 30):
        async with trio.open_nursery() as nursery:
            for index in range(concurrency):
                nursery.start_soon(worker, index)
    return Row(
        name,
        concurrency,
        len(latencies),
        time.perf_counter() - began,
        tuple(latencies),
        failures,
        time.process_time() - cpu_began,
        process_cpu_seconds(backend_pid) - backend_cpu_began,
    )


def merge(rows: list[Row]) -> Row:
    """One row from the slices of one client at one concurrency."""
    first = rows[0]
    return Row(
        first.name,
        first.concurrency,
        sum(r.requests for r in rows),
        sum(r.seconds for r in rows),
        tuple(latency for r in rows for latency in r.latencies),
        sum(r.failures for r in rows),
        sum(r.cpu_seconds for r in rows),
        sum(r.backend_cpu_seconds for r in rows),
    )


async def run(base: str, seconds: float, levels: list[int], backend_pid: int, rounds: int) -> list[Row]:
    """Every client measured in `rounds` interleaved slices, so a noisy neighbour hurts them alike."""
    registry = registry_for(base)
    engine = TemplateEngine()
    command = registry.commands["order.status"]
    url = base + "/v1/orders/{}"
    rows: list[Row] = []
    async with contextlib.AsyncExitStack() as stack:
        httpcore_client = await stack.enter_async_context(httpx.AsyncClient())
        h11_client = await stack.enter_async_context(httpx.AsyncClient(transport=H11Transport()))
        raw_transport = H11Transport()
        stack.push_async_callback(raw_transport.aclose)
        executor = await stack.enter_async_context(Executor(registry, engine))
        httpcore_executor = await stack.enter_async_context(
            Executor(registry, engine, transport_factory=lambda b: httpx.AsyncHTTPTransport())
        )
        models_executor = await stack.enter_async_context(
            Executor(registry, engine, transport_factory=lambda b: ThroughHttpxModels(H11Transport()))
        )

        def get_with(client: httpx.AsyncClient) -> Callable[[int], Awaitable[bool]]:
            async def one(n: int) -> bool:
                response = await client.get(url.format(n % 1000 + 1))
                return response.status_code == 200

            return one

        async def raw_one(n: int) -> bool:
            response = await raw_transport.request(
                b"GET", Target.from_url(url.format(n % 1000 + 1)), [(b"Accept", b"application/json")]
            )
            try:
                async for _ in response:
                    pass
            finally:
                await response.aclose()
            return response.status_code == 200

        def execute_with(chosen: Executor) -> Callable[[int], Awaitable[bool]]:
            async def one(n: int) -> bool:
                call = Call(command="order.status", args={"order": n % 1000 + 1}, spec=command)
                outcome = await chosen.execute(call, deadline=trio.current_time() + 10, command_id=f"c{n}")
                return isinstance(outcome, Success)

            return one

        for concurrency in levels:
            minimal = await stack.enter_async_context(MinimalH11(base, concurrency))
            clients = {
                "httpx (httpcore pool)": get_with(httpcore_client),
                "httpx + H11Transport": get_with(h11_client),
                "H11Transport.request": raw_one,
                "minimal h11 (calibration)": minimal.one,
                "Executor (H11Transport)": execute_with(executor),
                "Executor (httpcore pool)": execute_with(httpcore_executor),
                "Executor (H11 via httpx models)": execute_with(models_executor),
            }
            slices: dict[str, list[Row]] = {name: [] for name in clients}
            for _ in range(rounds):
                for name, one in clients.items():
                    slices[name].append(await measure(name, concurrency, seconds / rounds, one, backend_pid))
            rows.extend(merge(found) for found in slices.values())
    return rows


class ThroughHttpxModels(httpx.AsyncBaseTransport):
    """Any httpx transport to the Executor: it then builds httpx.Request and httpx.Response per call."""

    def __init__(self, inner: H11Transport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class MinimalH11:
    """One h11 connection per task, no httpx, no pool: the floor for a Python HTTP/1.1 client on Trio."""

    def __init__(self, base: str, concurrency: int) -> None:
        self.host, port = base.split("//", 1)[1].rsplit(":", 1)
        self.port = int(port)
        self.concurrency = concurrency
        self.free: list[tuple[trio.SocketStream, h11.Connection]] = []
        self.opened: list[trio.SocketStream] = []

    async def __aenter__(self) -> MinimalH11:
        for _ in range(self.concurrency):
            self.free.append(await self._open())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for stream in self.opened:
            await stream.aclose()

    async def _open(self) -> tuple[trio.SocketStream, h11.Connection]:
        stream = await trio.open_tcp_stream(self.host, self.port)
        self.opened.append(stream)
        return stream, h11.Connection(h11.CLIENT)

    async def one(self, n: int) -> bool:
        stream, conn = self.free.pop()
        try:
            target = f"/v1/orders/{n % 1000 + 1}"
            await stream.send_all(
                conn.send(h11.Request(method="GET", target=target, headers=[("Host", self.host)]))
                + conn.send(h11.EndOfMessage())
            )
            status = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.EndOfMessage):
                    break
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
            else:  # the server ends a connection now and then (hypercorn: after 1,000 requests)
                await stream.aclose()
                stream, conn = await self._open()
            return status == 200
        finally:
            self.free.append((stream, conn))


def print_table(rows: list[Row]) -> None:
    baselines = {r.concurrency: r.rate for r in rows if r.name.startswith("httpx (httpcore")}
    per_core = {r.concurrency: r.per_core for r in rows if r.name.startswith("httpx (httpcore")}
    print(
        f"{'client':<31} {'conc':>4} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'fail':>4} {'vs httpx':>8}"
        f" {'cpu us/req':>10} {'req/cpu-s':>9} {'vs httpx':>8} {'backend us/req':>14}"
    )
    for r in rows:
        print(
            f"{r.name:<31} {r.concurrency:>4} {r.rate:>7.0f} {r.percentile(50):>7.2f} {r.percentile(99):>7.2f} "
            f"{r.failures:>4} {r.rate / baselines[r.concurrency]:>7.2f}x"
            f" {1e6 * r.cpu_seconds / max(1, r.requests):>10.0f} {r.per_core:>9.0f} {r.per_core / per_core[r.concurrency]:>7.2f}x"
            f" {1e6 * r.backend_cpu_seconds / max(1, r.requests):>14.0f}"
        )
    print("req/s and latencies are end to end (the backend shares the machine); req/cpu-s is requests per second of")
    print("this process's CPU time, i.e. what one client core sustains when the backend is not the bottleneck;")
    print(f"backend us/req is the demo backend's CPU per request (this machine has {os.cpu_count()} CPUs).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each row (default 4)")
    parser.add_argument("--concurrency", default="1,50", help="comma-separated levels (default 1,50)")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved slices per row (default 8)")
    options = parser.parse_args()
    levels = [int(x) for x in options.concurrency.split(",")]
    process, base = start_backend()
    try:
        print(
            f"demo backend at {base} (separate process); {options.seconds:.0f}s per row in {options.rounds} interleaved slices; python {sys.version.split()[0]}, "
            f"httpx {httpx.__version__}, trio {trio.__version__}"
        )
        rows = trio.run(run, base, options.seconds, levels, process.pid, options.rounds)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
