"""End-to-end commands/s through `commandlang serve`, next to a baseline doing the same two HTTP calls.

    python bench/bench_e2e.py [--seconds 4] [--concurrency 1,50] [--sessions 0,10,100] [--json]

Every part runs in its own process, on free loopback ports:

- the demo backend (`commandlang demo-backend --port 0`);
- `commandlang serve` (`--db` in a temp dir, log level warning) with a one-command registry,
  `/status N` -> `GET /v1/orders/N` on the demo backend, reached over the webhook channel
  (`POST /v1/messages`, HMAC-signed, answered when the command has ended);
- K simulated agent sessions (this file with `--sessions-child`): K WebSocket sessions on the sync
  hub, each with its own token, subscribed to `*` and read with a bare epoll loop (the framing helpers
  of `bench_fanout.py`), so every command's three state events go to all K;
- the load (this file with `--load-child`): C keep-alive connections, each sending the next message as
  soon as the previous answer is in (closed loop), with a minimal HTTP/1.1 client on raw sockets so the
  load generator costs as little CPU as possible;
- the baseline (this file with `--baseline-child`): a tiny ASGI app on hypercorn under Trio that, per
  POST, calls the same demo backend endpoint with one shared stock `httpx.AsyncClient` and answers:
  the same two HTTP calls (inbound request + backend call) without parsing, binding, state, fan-out
  or rendering.

Reported per row: commands/s, p50 and p99 latency seen by the load generator, and the CPU seconds
each process used per command (the machine is shared: CPU per command says where the time goes even
when the wall-clock rate is capped by the other processes). Ratios are against the baseline at the
same concurrency, measured in the same run. Goals: >= 1,000/s at K = 10, >= 500/s at K = 100,
p50 <= 5 ms at one conversation.

On each Genesys path the fake counts the Genesys API calls the service makes (token requests
excluded: they are not API calls), reported per command (goal on the Notification path: <= 2
once the agent's communication id is cached). The throughput rows run with `GENESYS_API_RATE=0`:
the fake enforces no limit there, and the real 300 a minute would cap every row at 5 commands/s.

The burst test (`--burst`, on by default with a Genesys path) is the rate budget's: the fake
enforces a limit of L requests per W seconds (Genesys's "300 within 60", scaled down to
L=30 per W=1 s so it runs in seconds: the same 10x ratio in a sixtieth of the time), and the
service's own Genesys API client (TokenProvider + GenesysApiClient over the service's HTTP
client) sends 10 x L message-text reads at once, first without the client-side limiter, then
with it (SlidingWindowLimiter(L, W)), each against a fresh window. Reported: 429s the fake
answered, requests that failed (a 429 retried up to the client's six attempts), wall time.
It is the API client under a burst, not `commandlang serve` end to end (`GENESYS_API_RATE` is
per minute; the scaled window exists only in the limiter's constructor).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

WEBHOOK_SECRET = "bench-webhook-secret"
SYNC_SECRET = "bench-sync-secret"
GENESYS_CLIENT_ID = "bench-client"
GENESYS_CLIENT_SECRET = "bench-client-secret"
GENESYS_BOT_SECRET = "bench-bot-secret"
GENESYS_QUEUE = "bench-queue"

REGISTRY = """
version: 1
backends:
  demo:
    base_url: ${DEMO_API}
    timeout: 5s
commands:
  status:
    summary: Order status
    args:
      order: {type: int, positional: true, required: true}
    request: {backend: demo, method: GET, path: "/orders/{order}"}
"""


# -- processes ---------------------------------------------------------------------------------------
def env_for(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra}


def spawn(
    args: list[str],
    env: dict[str, str],
    until: str,
    *,
    cwd: str | None = None,
    stderr=subprocess.DEVNULL,
    timeout: float = 30,
) -> tuple[subprocess.Popen, list[str]]:  # noqa: ANN001
    """Start `args` and read stdout until a line starting with `until`; returns the process and the lines."""
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(until):
            return process, lines
    process.kill()
    raise RuntimeError(f"{args[:4]} did not print {until!r}; stdout {lines!r}")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_backend() -> tuple[subprocess.Popen, str]:
    process, lines = spawn(
        [sys.executable, "-m", "commandlang", "demo-backend", "--port", "0"], env_for(), "listening http://"
    )
    return process, lines[-1].split()[-1]


def start_service(
    directory: str, backend_url: str, *, log_level: str = "warning", extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str, int]:
    """`commandlang serve` on free ports; returns the process, the HTTP base URL and the sync port."""
    registry = Path(directory) / "commands.yaml"
    registry.write_text(REGISTRY)
    env = env_for(
        DEMO_API=f"{backend_url}/v1",
        COMMANDLANG_WEBHOOK_SECRET=WEBHOOK_SECRET,
        COMMANDLANG_SYNC_SECRET=SYNC_SECRET,
        COMMANDLANG_LOG_LEVEL=log_level,
        **(extra_env or {}),
    )
    # BENCH_PROFILE=PREFIX runs the service under cProfile timing the Trio thread's CPU (profile_cpu.py;
    # PREFIX-<pid>.prof, written when it stops on SIGTERM): where the server's CPU per command goes, for
    # the profile tables in RESULTS.notes.md (summarised by profile_table.py)
    profile = os.environ.get("BENCH_PROFILE")
    profiler = [str(HERE / "profile_cpu.py"), f"{profile}-{os.getpid()}-{time.monotonic_ns()}.prof"] if profile else []
    process, lines = spawn(
        [
            sys.executable,
            *profiler,
            "-m",
            "commandlang",
            "serve",
            "--port",
            "0",
            "--sync-port",
            "0",
            "--registry",
            str(registry),
            "--db",
            str(Path(directory) / "state.db"),
            "--reload-interval",
            "0",
        ],
        env,
        "listening http://",
        cwd=directory,
    )
    sync_port = next(int(line.rsplit(":", 1)[1].split("/")[0]) for line in lines if line.startswith("listening sync"))
    return process, lines[-1].split()[-1], sync_port


def genesys_env(fake_url: str) -> dict[str, str]:
    """What `commandlang serve` needs to run its Genesys channel against the fake (both paths)."""
    return {
        "GENESYS_CLIENT_ID": GENESYS_CLIENT_ID,
        "GENESYS_CLIENT_SECRET": GENESYS_CLIENT_SECRET,
        "GENESYS_API_BASE": fake_url,
        "GENESYS_LOGIN_BASE": fake_url,
        "GENESYS_BOT_SECRET": GENESYS_BOT_SECRET,
        "GENESYS_QUEUE_IDS": GENESYS_QUEUE,
        # the fake enforces no rate limit in the throughput rows (the burst test is where it does), and the
        # real 300 a minute would cap every row at 5 commands/s: measure the service, not the budget
        "GENESYS_API_RATE": "0",
    }


def start_fake_genesys() -> tuple[subprocess.Popen, str]:
    """The fake Genesys Cloud in its own process; it also drives the Notification-path load (see fake_child)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--fake-genesys-child"],
        env=env_for(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("listening http://"):
        process.kill()
        raise RuntimeError(f"the fake Genesys did not start: {line!r}")
    return process, line.split()[-1]


def fake_request_count(fake: subprocess.Popen) -> int:
    """How many API requests the fake has answered so far (`/oauth/token` not counted)."""
    fake.stdin.write("count\n")  # type: ignore[union-attr]
    fake.stdin.flush()  # type: ignore[union-attr]
    return json.loads(fake.stdout.readline())["api_requests"]  # type: ignore[union-attr]


def run_notification_load(fake: subprocess.Popen, concurrency: int, seconds: float, warmup: float) -> dict:
    fake.stdin.write(f"run {concurrency} {seconds} {warmup}\n")  # type: ignore[union-attr]
    fake.stdin.flush()  # type: ignore[union-attr]
    return json.loads(fake.stdout.readline())  # type: ignore[union-attr]


def wait_ready(base: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the service did not become ready")


def start_baseline(backend_url: str) -> tuple[subprocess.Popen, str]:
    process, lines = spawn([sys.executable, __file__, "--baseline-child", backend_url], env_for(), "listening http://")
    return process, lines[-1].split()[-1]


def start_sessions(sync_port: int, count: int) -> subprocess.Popen:
    process, _ = spawn(
        [sys.executable, __file__, "--sessions-child", str(sync_port), str(count)], env_for(), "ready", timeout=60
    )
    return process


def stop_sessions(process: subprocess.Popen) -> dict:
    """Ask the sessions process for its counts (SIGTERM) and return them."""
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=20)
    for line in out.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return {}


# -- the sessions child ------------------------------------------------------------------------------
def sessions_child(port: int, count: int) -> None:
    from bench_fanout import _frames, _masked, _raise_fd_limit

    from commandlang.sync.tokens import issue_token

    _raise_fd_limit()
    socks, buffers = [], []
    for index in range(count):
        token = issue_token(SYNC_SECRET, f"bench-agent-{index}", ["*"], 3600)
        hello = json.dumps({"type": "hello", "token": token, "subscribe": ["*"], "resume_after": None}).encode()
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(
            (
                f"GET /sync HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                f"Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 101"), data[:80]
        buffer = bytearray(data[data.index(b"\r\n\r\n") + 4 :])
        sock.sendall(_masked(hello))
        while _frames(buffer) < 1:  # the snapshot: the session is live after it
            buffer += sock.recv(65536)
        sock.setblocking(False)
        socks.append(sock)
        buffers.append(buffer)
    received = [0] * count
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    poller = select.epoll(count + 8)
    index_of = {}
    for index, sock in enumerate(socks):
        poller.register(sock.fileno(), select.EPOLLIN)
        index_of[sock.fileno()] = index
    print("ready", flush=True)
    closed = 0
    while not stopping:
        try:
            ready = poller.poll(0.2, count)
        except InterruptedError:
            continue
        for fd, _ in ready:
            index = index_of[fd]
            try:
                data = socks[index].recv(65536)
            except BlockingIOError:
                continue
            if not data:
                poller.unregister(fd)
                closed += 1
                continue
            buffers[index] += data
            received[index] += _frames(buffers[index])
    print(
        json.dumps(
            {
                "sessions": count,
                "min_events": min(received, default=0),
                "max_events": max(received, default=0),
                "closed": closed,
            }
        ),
        flush=True,
    )


# -- the load child ----------------------------------------------------------------------------------
def load_child(base: str, concurrency: int, seconds: float, warmup: float, mode: str, tag: str) -> None:
    import hashlib
    import hmac

    import trio

    host, port = base.split("//", 1)[1].rsplit(":", 1)
    key = WEBHOOK_SECRET.encode()
    latencies: list[float] = []
    failures = [0]
    sample: list[bytes] = []
    total_sent = [0]

    async def connection(worker: int, start: float, end: float) -> None:
        sock = trio.socket.socket()
        await sock.connect((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        sent = 0
        conversation = f"{tag}-conv-{worker}"
        while True:
            now = trio.current_time()
            if now >= end:
                break
            sent += 1
            total_sent[0] += 1
            text = f"/status {1000 + sent % 97}"
            if mode == "bot":  # what Genesys's bot flow POSTs to a Bot Connector bot
                body = json.dumps(
                    {
                        "botId": "bench-bot",
                        "botVersion": "1.0",
                        "botSessionId": f"{tag}-session-{worker}",
                        "messageId": f"{tag}-{worker}-{sent}",
                        "inputMessage": {"type": "Text", "text": text},
                        "languageCode": "en-us",
                        "botSessionTimeout": 4320,
                        "genesysConversationId": f"{tag}-conv-{worker}",
                        "parameters": {},
                    },
                    separators=(",", ":"),
                ).encode()
                request = (
                    b"POST /genesys/bot HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                    b"Authorization: Bearer "
                    + GENESYS_BOT_SECRET.encode()
                    + b"\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
            else:
                body = json.dumps(
                    {
                        "conversation_id": conversation,
                        "message_id": f"{tag}-{worker}-{sent}",
                        "participant_id": f"agent-{worker}",
                        "role": "agent",
                        "text": text,
                    },
                    separators=(",", ":"),
                ).encode()
                stamp = str(int(time.time())).encode()
                signature = "sha256=" + hmac.new(key, stamp + b"." + body, hashlib.sha256).hexdigest()
                request = (
                    b"POST /v1/messages HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                    b"X-Commandlang-Timestamp: " + stamp + b"\r\n"
                    b"X-Commandlang-Signature: "
                    + signature.encode()
                    + b"\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
            t0 = time.perf_counter()
            view = memoryview(request)
            while view:
                view = view[await sock.send(view) :]
            while b"\r\n\r\n" not in buffer:
                chunk = await sock.recv(65536)
                if not chunk:
                    raise RuntimeError("the server closed the connection")
                buffer += chunk
            head, _, rest = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(rest) < length:
                chunk = await sock.recv(65536)
                if not chunk:
                    raise RuntimeError("the server closed the connection")
                rest += chunk
            answer, buffer = rest[:length], rest[length:]
            elapsed = time.perf_counter() - t0
            if b"\r\nconnection: close" in head.lower():  # hypercorn ends a connection after 1,000 requests
                sock.close()
                sock = trio.socket.socket()
                await sock.connect((host, int(port)))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffer = b""
            ok = head.startswith(b"HTTP/1.1 200") and (
                mode == "baseline" or (b'"MoreData"' in answer if mode == "bot" else b'"status":"completed"' in answer)
            )
            if not ok:
                failures[0] += 1
                if len(sample) < 3:
                    sample.append(head[:200] + b" | " + answer[:300])
            elif now >= start:
                latencies.append(elapsed)
        sock.close()

    async def main() -> float:
        start = trio.current_time() + warmup
        end = start + seconds
        cpu0 = time.process_time()
        async with trio.open_nursery() as nursery:
            for worker in range(concurrency):
                nursery.start_soon(connection, worker, start, end)
        return time.process_time() - cpu0

    cpu = trio.run(main)
    latencies.sort()
    print(
        json.dumps(
            {
                "count": len(latencies),
                "seconds": seconds,
                "failures": failures[0],
                "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
                "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None,
                "load_cpu": cpu,
                "sample_failures": [s.decode("latin-1") for s in sample],
                "sent": total_sent[0],
            }
        ),
        flush=True,
    )


def run_load(base: str, concurrency: int, seconds: float, warmup: float, mode: str, tag: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--load-child", base, str(concurrency), str(seconds), str(warmup), mode, tag],
        env=env_for(),
        capture_output=True,
        text=True,
        timeout=seconds + warmup + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the fake Genesys child: the fake Genesys Cloud, and the Notification-path load it generates -----------
def fake_child() -> None:
    """Serve the fake Genesys; on `run C SECONDS WARMUP` (stdin), C customers each type a command into a
    watched queue's conversation and wait for the agent-side reply the service sends back through the
    Conversations API (closed loop); prints the figures as one JSON line."""
    import functools

    import trio

    from commandlang.testing.fake_genesys import serve_fake_genesys

    async def load(fake, waiters: dict, concurrency: int, seconds: float, warmup: float) -> dict:  # noqa: ANN001
        latencies: list[float] = []
        failures = [0]
        typed = [0]
        requests_before = _api_requests(fake)

        async def customer(worker: int, start: float, end: float) -> None:
            conversation = None
            sent = 0
            while trio.current_time() < end:
                if sent % 10 == 0:  # a fresh conversation now and then: events carry every message id so far
                    conversation = fake.start_conversation(queue_id=GENESYS_QUEUE)
                sent += 1
                typed[0] += 1
                answered = waiters[conversation.id] = trio.Event()
                t0 = time.perf_counter()
                now = trio.current_time()
                fake.inject_customer_message(f"/status {1000 + sent % 97}", conversation_id=conversation.id)
                with trio.move_on_after(10):
                    await answered.wait()
                if not answered.is_set():
                    failures[0] += 1
                    conversation = None
                    sent = 0
                elif now >= start:
                    latencies.append(time.perf_counter() - t0)

        cpu0 = time.process_time()
        start = trio.current_time() + warmup
        async with trio.open_nursery() as nursery:
            for worker in range(concurrency):
                nursery.start_soon(customer, worker, start, start + seconds)
        latencies.sort()
        return {
            "count": len(latencies),
            "seconds": seconds,
            "failures": failures[0],
            "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None,
            "load_cpu": time.process_time() - cpu0,
            "api_calls": (_api_requests(fake) - requests_before) / max(1, typed[0]),
        }

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            fake = await nursery.start(
                functools.partial(serve_fake_genesys, client_id=GENESYS_CLIENT_ID, client_secret=GENESYS_CLIENT_SECRET)
            )
            waiters: dict[str, trio.Event] = {}
            add_message = fake.add_message

            def noting_replies(conversation, sender, text, **kw):  # noqa: ANN001, ANN202
                message = add_message(conversation, sender, text, **kw)
                if sender == "agent" and conversation.id in waiters:
                    waiters.pop(conversation.id).set()
                return message

            fake.add_message = noting_replies  # the bench's own probe on the fake (test tooling, not the service)
            print(f"listening {fake.base_url}", flush=True)
            stdin = trio.lowlevel.FdStream(os.dup(0))
            buffer = b""
            while True:
                chunk = await stdin.receive_some(4096)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip() == b"count":
                        print(json.dumps({"api_requests": _api_requests(fake)}), flush=True)
                        continue
                    _, concurrency, seconds, warmup = line.decode().split()
                    result = await load(fake, waiters, int(concurrency), float(seconds), float(warmup))
                    print(json.dumps(result), flush=True)
            nursery.cancel_scope.cancel()

    trio.run(main)


def _api_requests(fake) -> int:  # noqa: ANN001
    return sum(1 for r in fake.requests if r.path.startswith("/api/v2/"))


# -- the burst child: the rate budget against the fake enforcing a limit ------------------------------
def burst_child(limit: int, window: float) -> None:
    """10 x `limit` message-text reads at once through the service's Genesys API client, against the fake
    enforcing `limit` per `window`: without the client-side limiter, then with it. One JSON line out."""
    import functools

    import trio

    from commandlang.channels.genesys import GenesysApiClient, GenesysApiError, SlidingWindowLimiter, TokenProvider
    from commandlang.execution.client import SharedClient
    from commandlang.execution.transport import H11Transport
    from commandlang.testing.fake_genesys import serve_fake_genesys
    from commandlang.testing.fake_genesys.ratelimit import FakeRateLimit

    import logging

    logging.getLogger("commandlang").setLevel(logging.CRITICAL)  # a thousand "retrying" warnings say nothing new

    async def one_run(fake, http, limiter) -> dict:  # noqa: ANN001
        await trio.sleep(window * 1.5)  # a fresh window: nothing of the previous run is still counted
        fake.rate_limit = FakeRateLimit(limit, window)
        tokens = TokenProvider(
            client_id=GENESYS_CLIENT_ID, client_secret=GENESYS_CLIENT_SECRET, login_base=fake.base_url, http=http
        )
        api = GenesysApiClient(api_base=fake.base_url, tokens=tokens, http=http, limiter=limiter)
        await tokens.token()
        conversation = fake.start_conversation(queue_id=GENESYS_QUEUE)
        message = fake.add_message(conversation, "customer", "/status 1")
        path = f"/api/v2/conversations/messages/{conversation.id}/messages/{message.id}"
        failed = [0]

        async def read() -> None:
            try:
                with trio.fail_after(120):
                    await api.get_json(path)
            except (GenesysApiError, trio.TooSlowError):
                failed[0] += 1

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(10 * limit):
                nursery.start_soon(read)
        return {
            "requests": 10 * limit,
            "answered_429": fake.rate_limit.rejected,
            "failed": failed[0],
            "http_requests": api.requests_sent,
            "seconds": time.perf_counter() - started,
        }

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            fake = await nursery.start(
                functools.partial(serve_fake_genesys, client_id=GENESYS_CLIENT_ID, client_secret=GENESYS_CLIENT_SECRET)
            )
            async with SharedClient(transport=H11Transport()) as http:
                without = await one_run(fake, http, None)
                # slack: 10% of the scaled window for the trip to the fake (the default is 2% of a real minute)
                with_limiter = await one_run(fake, http, SlidingWindowLimiter(limit, window, slack=window * 0.1))
            print(
                json.dumps(
                    {"limit": limit, "window": window, "without_limiter": without, "with_limiter": with_limiter}
                ),
                flush=True,
            )
            nursery.cancel_scope.cancel()

    trio.run(main)


def run_burst(limit: int = 30, window: float = 1.0) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--burst-child", str(limit), str(window)],
        env=env_for(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the burst test failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the baseline child ------------------------------------------------------------------------------
def baseline_child(backend_url: str) -> None:
    import httpx
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    from commandlang.runtime.http import answer_lifespan

    clients: list[httpx.AsyncClient] = []

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if not clients:
            clients.append(httpx.AsyncClient(timeout=5.0))
        order = 1000 + len(body) % 97
        answer = await clients[0].get(f"{backend_url}/v1/orders/{order}")
        payload = json.dumps({"command": {"status": "completed"}, "replies": [answer.json()]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def main() -> None:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        config.errorlog = None
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, app, config)
            print(f"listening http://{binds[0].rsplit('//', 1)[-1]}", flush=True)

    trio.run(main)


def start_redis() -> tuple[subprocess.Popen, str]:
    """A redis-server on a Unix socket (append-only file, fsync every second: a production setting)."""
    folder = tempfile.mkdtemp(prefix="clb-")
    socket_path = os.path.join(folder, "redis.sock")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--unixsocket",
            socket_path,
            "--dir",
            folder,
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while (
        subprocess.run(["redis-cli", "-s", socket_path, "ping"], capture_output=True, text=True).stdout.strip()
        != "PONG"
    ):
        if process.poll() is not None or time.monotonic() > deadline:  # the socket file comes before it answers
            raise RuntimeError("redis-server did not start (apt-get install redis-server)")
        time.sleep(0.02)
    return process, f"unix://{socket_path}"


# -- the parent --------------------------------------------------------------------------------------
@dataclass
class Row:
    contender: str
    concurrency: int
    sessions: int
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    failures: int
    server_cpu_ms: float  # CPU of the server process (commandlang serve or the baseline) per command
    backend_cpu_ms: float
    load_cpu_ms: float
    sessions_ok: bool | None = None  # every session saw every state event
    ratio: float | None = None  # rate / baseline rate at the same concurrency
    api_calls: float | None = None  # Genesys API calls per command (Genesys paths), counted at the fake


PATHS = {
    "webhook": "commandlang serve (webhook)",
    "bot": "commandlang serve (Genesys Bot Connector)",
    "notification": "commandlang serve (Genesys Notification API)",
}


def measure(
    name: str,
    mode: str,
    base: str,
    server_pid: int,
    backend_pid: int,
    concurrency: int,
    sessions: int,
    seconds: float,
    warmup: float,
    tag: str,
    fake: subprocess.Popen | None = None,
) -> Row:
    server0, backend0 = cpu_seconds(server_pid), cpu_seconds(backend_pid)
    api_calls = None
    if mode == "notification":
        assert fake is not None
        result = run_notification_load(fake, concurrency, seconds, warmup)
        api_calls = result["api_calls"]
    else:
        before = fake_request_count(fake) if mode == "bot" and fake is not None else 0
        result = run_load(base, concurrency, seconds, warmup, mode, tag)
        if mode == "bot" and fake is not None:  # a late reply or the outgoing API would show here
            api_calls = (fake_request_count(fake) - before) / max(1, result["sent"])
    # CPU includes the warm-up: divide by every command answered, measured or not
    total = max(1, result["count"] * (seconds + warmup) / seconds)
    per = lambda used: 1000 * used / total  # noqa: E731
    return Row(
        name,
        concurrency,
        sessions,
        result["count"] / seconds,
        result["p50_ms"],
        result["p99_ms"],
        result["failures"],
        per(cpu_seconds(server_pid) - server0),
        per(cpu_seconds(backend_pid) - backend0),
        1000 * result["load_cpu"] / total,
        api_calls=api_calls,
    )


def run(
    seconds: float,
    warmup: float,
    levels: list[int],
    session_counts: list[int],
    paths: tuple[str, ...] = ("webhook", "bot", "notification"),
    redis: bool = False,
    burst: bool = True,
) -> dict:
    """With `redis`, a second `commandlang serve` keeps its state in a redis-server and takes the
    webhook load beside the others (K = 0 rows only: the sessions watch the SQLite service)."""
    backend = service = baseline = fake = redis_server = redis_service = None
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        try:
            backend, backend_url = start_backend()
            extra: dict[str, str] = {}
            if "bot" in paths or "notification" in paths:
                fake, fake_url = start_fake_genesys()
                extra = genesys_env(fake_url)
            service, base, sync_port = start_service(directory, backend_url, extra_env=extra)
            wait_ready(base)  # with Genesys: the notification channel is subscribed
            baseline, baseline_base = start_baseline(backend_url)
            if redis:
                redis_server, redis_url = start_redis()
                redis_directory = os.path.join(directory, "redis-replica")
                os.mkdir(redis_directory)
                redis_service, redis_base, _ = start_service(
                    redis_directory, backend_url, extra_env={"COMMANDLANG_REDIS_URL": redis_url}
                )
                wait_ready(redis_base)
            baselines: dict[int, list[Row]] = {}
            for count in session_counts:
                sessions = start_sessions(sync_port, count) if count else None
                try:
                    events_before = _last_seq(directory)
                    for concurrency in levels:
                        # the baseline takes its turn beside every measured row: the load on this machine swings
                        baselines.setdefault(concurrency, []).append(
                            measure(
                                "baseline",
                                "baseline",
                                baseline_base,
                                baseline.pid,
                                backend.pid,
                                concurrency,
                                0,
                                seconds,
                                warmup,
                                f"b{count}-{concurrency}",
                            )
                        )
                        for path in paths:
                            rows.append(
                                measure(
                                    PATHS[path],
                                    path,
                                    base,
                                    service.pid,
                                    backend.pid,
                                    concurrency,
                                    count,
                                    seconds,
                                    warmup,
                                    f"{path[0]}{count}-{concurrency}",
                                    fake,
                                )
                            )
                        if redis_service is not None and count == 0:
                            rows.append(
                                measure(
                                    PATHS["webhook"] + " on Redis",
                                    "webhook",
                                    redis_base,
                                    redis_service.pid,
                                    backend.pid,
                                    concurrency,
                                    0,
                                    seconds,
                                    warmup,
                                    f"r{count}-{concurrency}",
                                )
                            )
                finally:
                    if sessions is not None:
                        _wait_until_settled(directory)  # the phase's last commands finish before we count
                        time.sleep(0.5)  # ... and their events reach the sessions' process
                        counts = stop_sessions(sessions)
                        expected = _last_seq(directory) - events_before  # every state event the store logged
                        ok = counts.get("min_events", -1) >= expected and counts.get("closed", 1) == 0
                        for row in rows:
                            if row.sessions == count:
                                row.sessions_ok = ok
            for row in rows:
                base_rate = statistics.median(b.rate for b in baselines[row.concurrency])
                row.ratio = row.rate / base_rate if base_rate else None
            baseline_rows = []
            for concurrency, measured in baselines.items():
                best = sorted(measured, key=lambda r: r.rate)[len(measured) // 2]
                baseline_rows.append(best)
        finally:
            for process in (service, redis_service, redis_server, baseline, backend, fake):
                stop(process)
    burst_result = run_burst() if burst and ("bot" in paths or "notification" in paths) else None
    return {
        "seconds": seconds,
        "elapsed": time.monotonic() - started,
        "rows": [asdict(r) for r in baseline_rows + rows],
        "burst": burst_result,
    }


def _last_seq(directory: str) -> int:
    import sqlite3

    with sqlite3.connect(Path(directory) / "state.db") as connection:
        return connection.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]


def _wait_until_settled(directory: str, timeout: float = 20.0) -> None:
    """Until no command is pending or executing (messages still queued when the load stopped finish)."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(Path(directory) / "state.db") as connection:
            if not connection.execute(
                "SELECT count(*) FROM commands WHERE status IN ('pending', 'executing')"
            ).fetchone()[0]:
                return
        time.sleep(0.1)


def print_table(result: dict) -> None:
    print(
        f"{'':45} {'conc':>4} {'K':>4} {'cmd/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} "
        f"{'srv CPU ms':>10} {'backend':>8} {'load':>6} {'fail':>5} {'API/cmd':>7} sessions"
    )
    for r in result["rows"]:
        print(
            f"{r['contender']:45} {r['concurrency']:4} {r['sessions']:4} {r['rate']:8.0f} {r['p50_ms'] or 0:7.2f} "
            f"{r['p99_ms'] or 0:7.2f} {r['ratio'] or 1:6.2f} {r['server_cpu_ms']:10.3f} {r['backend_cpu_ms']:8.3f} "
            f"{r['load_cpu_ms']:6.3f} {r['failures']:5} {'' if r.get('api_calls') is None else format(r['api_calls'], '.2f'):>7} "
            f"{'' if r['sessions_ok'] is None else ('all saw all' if r['sessions_ok'] else 'MISSED')}"
        )
    burst = result.get("burst")
    if burst:
        print(
            f"burst: {burst['limit'] * 10} requests at once, the fake enforcing {burst['limit']} per "
            f"{burst['window']:g} s (Genesys's 300 a minute scaled down, the same 10x burst)"
        )
        for label, key in (("without the limiter", "without_limiter"), ("with the limiter", "with_limiter")):
            b = burst[key]
            print(
                f"  {label:20} 429s {b['answered_429']:5}  failed {b['failed']:4}  HTTP requests "
                f"{b['http_requests']:5}  {b['seconds']:.1f}s"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", default="1,50")
    parser.add_argument("--sessions", default="0,10,100")
    parser.add_argument(
        "--paths",
        default="webhook,bot,notification",
        help="inbound paths: webhook, bot (Genesys Bot Connector), notification (Genesys Notification API)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also measure a service keeping its state in a redis-server (webhook path, K = 0)",
    )
    parser.add_argument("--no-burst", action="store_true", help="skip the rate-budget burst test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(
        args.seconds,
        args.warmup,
        [int(c) for c in args.concurrency.split(",")],
        [int(k) for k in args.sessions.split(",")],
        tuple(args.paths.split(",")),
        redis=args.redis,
        burst=not args.no_burst,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs, {result['elapsed']:.0f}s")
        print_table(result)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--sessions-child":
        sessions_child(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--load-child":
        load_child(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7])
    elif len(sys.argv) > 1 and sys.argv[1] == "--fake-genesys-child":
        fake_child()
    elif len(sys.argv) > 1 and sys.argv[1] == "--burst-child":
        burst_child(int(sys.argv[2]), float(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--baseline-child":
        baseline_child(sys.argv[2])
    else:
        sys.exit(main())
