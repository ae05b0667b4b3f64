"""What an unauthenticated caller can make `commandlang serve` hold, against a baseline checkout in the same run.

    python bench/bench_exposure.py [--baseline-rev 17f41b1] [--clients 150] [--flood 2000] [--connections 1100]

Each contender is a `commandlang serve` process started the production way
(webhook secret set, no `--demo`) from its own checkout: this one, and a git
worktree of `--baseline-rev` (default: the last commit before the security
hardening of issue 12). Measured on each, with the same clients:
- `slow bodies`: N clients send well-formed webhook headers (a fresh
  timestamp, a wrong signature) declaring a 1 MiB body, send 1,000,000 bytes
  of it, then one byte a second: the server's RSS and open descriptors
  after 5 s, and whether `/healthz` answers meanwhile;
- `descriptors`: the server started with `ulimit -n 1024`, M connections
  each sending a signed request's headers and then nothing of its body:
  whether `/healthz` still answers;
- `flood`: K signed messages with distinct unknown command names, then the
  size of a `/metrics` scrape;
- `stale signature`: a request with a 10-minute-old timestamp declaring a
  100,000-byte body and sending none: how long until it is refused.
Prints a table; nothing is asserted (tests/security/ does that).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECRET = "bench-exposure-secret"
REGISTRY = """
version: 1
backends:
  demo: {base_url: "${DEMO_API}", timeout: 5s}
commands:
  status:
    summary: Order status
    args:
      order: {type: int, positional: true, required: true}
    request: {backend: demo, method: GET, path: "/orders/{order}"}
"""


def start(
    root: Path, args: list[str], env: dict[str, str], cwd: str, nofile: int | None = None
) -> tuple[subprocess.Popen, str]:
    def limit() -> None:
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    process = subprocess.Popen(
        [sys.executable, "-m", "commandlang", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root), **env},
        preexec_fn=limit,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if line.startswith("listening http://"):
            return process, line.split()[-1]
        if not line:
            break
    process.kill()
    raise RuntimeError(f"{args[0]} from {root} did not start")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def signed(body: bytes, stamp: int | None) -> dict[str, str]:
    """Both header forms: the baseline checks the body-only signature, the hardened one the timestamped one."""
    if stamp is None:
        return {"X-Commandlang-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Commandlang-Timestamp": str(stamp), "X-Commandlang-Signature": "sha256=" + digest}


def healthz_ms(port: int, timeout: float = 3.0) -> float | None:
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = sock.recv(200)
        return (time.perf_counter() - started) * 1000 if data.startswith(b"HTTP/1.1 200") else None
    except OSError:
        return None


def raw_head(port: int, headers: dict[str, str], length: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    lines = [
        "POST /v1/messages HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {length}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def slow_bodies(pid: int, port: int, clients: int) -> dict:
    before = (rss_mib(pid), fds(pid))
    socks = []
    chunk = b"x" * 65536
    for _ in range(clients):
        try:
            sock = raw_head(
                port,
                {"X-Commandlang-Timestamp": str(int(time.time())), "X-Commandlang-Signature": "sha256=" + "0" * 64},
                1 << 20,
            )
            sock.setblocking(False)
            socks.append([sock, 0])
        except OSError:
            break
    end = time.monotonic() + 5
    while time.monotonic() < end:  # push up to 1,000,000 bytes each, as fast as the server takes them
        for entry in socks:
            if entry[1] < 1_000_000:
                try:
                    entry[1] += entry[0].send(chunk[: min(len(chunk), 1_000_000 - entry[1])])
                except (BlockingIOError, OSError):
                    pass
        time.sleep(0.01)
    during = (rss_mib(pid), fds(pid))
    health = healthz_ms(port)
    for _ in range(3):  # then one byte a second
        for entry in socks:
            try:
                entry[0].send(b"x")
            except OSError:
                pass
        time.sleep(1)
    answered = 0
    for sock, _ in socks:
        try:
            sock.setblocking(True)
            sock.settimeout(0.2)
            answered += bool(sock.recv(100))
        except OSError:
            pass
        sock.close()
    time.sleep(1)
    return {
        "rss_before": before[0],
        "fds_before": before[1],
        "rss_during": during[0],
        "fds_during": during[1],
        "healthz_ms": health,
        "answered_or_cut": answered,
        "rss_after": rss_mib(pid),
        "fds_after": fds(pid),
    }


def descriptors(port: int, connections: int) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, connections + 256)), hard))
    socks = []
    for _ in range(connections):  # each one a webhook request whose body never comes
        try:
            socks.append(raw_head(port, signed(b"{}", int(time.time())), 1000))
        except OSError:
            break
    time.sleep(2)
    health = healthz_ms(port)
    for sock in socks:
        sock.close()
    time.sleep(1)
    return {"opened": len(socks), "healthz_ms_during": health, "healthz_ms_after": healthz_ms(port)}


def flood(port: int, count: int, timestamped: bool) -> dict:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        before = len(client.get("/metrics").content)
        for index in range(count):
            body = json.dumps(
                {
                    "conversation_id": f"flood-{index % 50}",
                    "message_id": f"flood-{index}",
                    "participant_id": "p",
                    "role": "customer",
                    "text": f"/zz{index:05d}{'q' * 40} 1",
                }
            ).encode()
            client.post(
                "/v1/messages",
                content=body,
                headers={"content-type": "application/json", **signed(body, int(time.time()) if timestamped else None)},
            )
        return {"scrape_before": before, "scrape_after": len(client.get("/metrics").content)}


def stale(port: int) -> dict:
    body = b"{}"
    headers = signed(body, int(time.time()) - 600)
    sock = raw_head(port, headers, 100_000)
    started = time.perf_counter()
    sock.settimeout(5)
    try:
        data = sock.recv(100)
        elapsed = (time.perf_counter() - started) * 1000
        return {
            "refused_ms": elapsed if data else None,
            "status": data.split(b"\r\n", 1)[0].decode() if data else "closed",
        }
    except OSError:
        return {"refused_ms": None, "status": "no answer within 5 s"}
    finally:
        sock.close()


def contender(name: str, root: Path, args: argparse.Namespace) -> dict:
    work = tempfile.mkdtemp(prefix=f"exposure-{name}-")
    (Path(work) / "commands.yaml").write_text(REGISTRY)
    backend, backend_url = start(root, ["demo-backend", "--port", "0"], {}, work)
    env = {
        "DEMO_API": f"{backend_url}/v1",
        "COMMANDLANG_WEBHOOK_SECRET": SECRET,
        "COMMANDLANG_LOG_LEVEL": "error",
        "COMMANDLANG_RELOAD_INTERVAL": "0",
    }
    serve = ["serve", "--port", "0", "--sync-port", "0", "--registry", "commands.yaml", "--db", "state.db"]
    results: dict = {"name": name}
    try:
        server, base = start(root, serve, env, work)
        port = int(base.rsplit(":", 1)[1])
        results["idle_rss"] = rss_mib(server.pid)
        results["stale"] = stale(port)
        results["slow"] = slow_bodies(server.pid, port, args.clients)
        timestamped = name != "baseline"
        results["flood"] = flood(port, args.flood, timestamped)
        server.terminate()
        server.wait(15)
        server, base = start(root, serve, {**env, "COMMANDLANG_DB": "state2.db"}, work, nofile=1024)
        results["descriptors"] = descriptors(int(base.rsplit(":", 1)[1]), args.connections)
        server.terminate()
        server.wait(15)
    finally:
        backend.terminate()
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-rev", default="17f41b1")
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--flood", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=1100)
    args = parser.parse_args()
    baseline_dir = Path(tempfile.mkdtemp(prefix="exposure-baseline-src-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline_dir), args.baseline_rev],
        check=True,
        capture_output=True,
    )
    try:
        rows = [contender("baseline", baseline_dir, args), contender("this checkout", ROOT, args)]
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline_dir)], capture_output=True
        )
    print(json.dumps(rows, indent=1))
    print(
        f"\n| measure ({args.clients} slow bodies, {args.connections} unfinished requests under ulimit -n 1024, "
        f"{args.flood} unknown names) | " + " | ".join(r["name"] for r in rows) + " |"
    )
    print("| --- |" + " ---: |" * len(rows))
    table = [
        (
            "RSS idle -> with slow bodies (MiB)",
            lambda r: f"{r['slow']['rss_before']:.0f} -> {r['slow']['rss_during']:.0f}",
        ),
        ("descriptors idle -> with slow bodies", lambda r: f"{r['slow']['fds_before']} -> {r['slow']['fds_during']}"),
        ("RSS, descriptors after they left", lambda r: f"{r['slow']['rss_after']:.0f} MiB, {r['slow']['fds_after']}"),
        ("/healthz during slow bodies", lambda r: _ms(r["slow"]["healthz_ms"])),
        ("/healthz with unfinished requests past the limit", lambda r: _ms(r["descriptors"]["healthz_ms_during"])),
        (
            "/metrics bytes before -> after the flood",
            lambda r: f"{r['flood']['scrape_before']:,} -> {r['flood']['scrape_after']:,}",
        ),
        ("stale signature refused after", lambda r: _ms(r["stale"]["refused_ms"]) + f" ({r['stale']['status']})"),
    ]
    for label, cell in table:
        print(f"| {label} | " + " | ".join(cell(r) for r in rows) + " |")


def _ms(value: float | None) -> str:
    return "no answer" if value is None else f"{value:.1f} ms"


if __name__ == "__main__":
    main()
