"""What the attack suite shares: real processes on free ports, raw HTTP, signed webhook bodies, /proc readers.

Everything talks to 127.0.0.1 only. `serve` starts `commandlang serve` the
production way (`--registry`, `COMMANDLANG_WEBHOOK_SECRET`, no `--demo`), its
stdout and stderr in files (a flood of log lines can never block it on a full
pipe); `Recorder` is the backend process (`tests/security/recorder.py`) whose
`seen()` says what reached it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import trio

from commandlang.channels.webhook import sign, signature_headers
from tests.runtime.support import stored_rows

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec-attack-7c1e55d0a9"
SYNC_SECRET = "sync-attack-secret-31f0"
CARD = "4111111111111111"
HOST = "127.0.0.1"

# Every command an attack needs; `${SEC_API}` is the recorder. Markers in paths say which request was which.
REGISTRY = """
version: 1
settings:
  unknown_command: reply
backends:
  rec:
    base_url: ${SEC_API}
    timeout: 5s
    retry: {attempts: 1}
commands:
  note:
    summary: A command without a backend
    args:
      text: {type: str, positional: true, required: true}
  touch:
    summary: Calls the backend with a marker
    args:
      marker: {type: str, positional: true, required: true}
    request: {backend: rec, method: POST, path: "/touch/{marker}"}
    reply:
      success: {text: "touched {{ args.marker }}"}
  staff:
    summary: For agents only
    roles: [agent]
    args:
      marker: {type: str, positional: true, required: true}
    request: {backend: rec, method: POST, path: "/staff/{marker}"}
    reply:
      success: {text: "staff {{ args.marker }}"}
  pay:
    summary: Asks first
    args:
      marker: {type: str, positional: true, required: true}
    confirm: "Pay for {{ args.marker }}?"
    request: {backend: rec, method: POST, path: "/pay/{marker}"}
    reply:
      success: {text: "paid {{ args.marker }}"}
  boom:
    summary: The backend fails with a revealing message
    args:
      marker: {type: str, positional: true, required: true}
    request: {backend: rec, method: POST, path: "/boom/{marker}"}
    reply:
      error: {text: "Failed: {{ error.message }}"}
  charge:
    summary: The backend echoes a sensitive argument in its refusal
    args:
      marker: {type: str, positional: true, required: true}
      card: {type: str, sensitive: true, required: true, pattern: "[0-9]{12,19}"}
    request: {backend: rec, method: POST, path: "/reject/{marker}", json: {card: "{{ args.card }}"}}
    reply:
      error: {text: "Failed: {{ error.message }} ({{ args.card }})"}
  links:
    summary: The backend answers with hostile URLs
    args:
      marker: {type: str, positional: true, required: true}
    request: {backend: rec, method: GET, path: "/links/{marker}"}
    reply:
      success:
        text: "Links: [js]({{ result.js }}) [data]({{ result.data }}) [ok]({{ result.good }})"
        format: markdown
        cards:
          - title: Card
            image: "{{ result.img }}"
            default_action: {kind: link, url: "{{ result.js }}"}
            actions:
              - {kind: link, label: Bad, url: "{{ result.js }}"}
              - {kind: link, label: Mixed, url: "{{ result.vb }}"}
              - {kind: link, label: Data, url: "{{ result.data }}"}
              - {kind: link, label: Good, url: "{{ result.good }}"}
"""


# -- processes -------------------------------------------------------------------------------------------
@dataclass
class Proc:
    process: subprocess.Popen
    out: Path
    err: Path
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start(
    args: list[str],
    workdir: Path,
    name: str,
    env: dict[str, str] | None = None,
    wait_for: tuple[str, ...] = ("listening http://",),
    timeout: float = 20.0,
) -> Proc:
    """Start `python -m <args>` with the worktree on PYTHONPATH; wait for each line of `wait_for` on stdout."""
    workdir.mkdir(parents=True, exist_ok=True)
    out, err = workdir / f"{name}.out", workdir / f"{name}.err"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("COMMANDLANG_", "GENESYS_"))}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=workdir,
            env=full_env,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    proc = Proc(process, out, err)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.lines = out.read_text().splitlines()
        if all(any(line.startswith(w) for line in proc.lines) for w in wait_for):
            return proc
        if process.poll() is not None:
            break
        time.sleep(0.05)
    proc.stop()
    raise AssertionError(f"{args[:2]} did not start: stdout {proc.lines!r}, stderr {proc.stderr()[-3000:]!r}")


@dataclass
class Recorder:
    proc: Proc
    base: str

    def seen(self, marker: str = "") -> list[dict[str, Any]]:
        """The requests that reached the backend whose path holds `marker`."""
        answer = httpx.get(f"{self.base}/__seen", timeout=5, trust_env=False)
        return [r for r in answer.json() if marker in r["path"]]


def start_recorder(workdir: Path) -> Recorder:
    proc = start(["tests.security.recorder", "--port", "0"], workdir, "recorder")
    return Recorder(proc, _url(proc, "listening http://"))


@dataclass
class Served:
    """A `commandlang serve` process, as an attacker (and the operator) sees it."""

    proc: Proc
    base: str
    port: int
    sync_url: str
    db: Path
    recorder: Recorder | None

    def rows(self) -> list[dict[str, Any]]:
        return trio.run(stored_rows, f"sqlite://{self.db}")  # through the store, as the service opens it

    def rows_where(self, needle: str) -> list[dict[str, Any]]:
        return [row for row in self.rows() if needle in json.dumps(row, ensure_ascii=False)]

    def stderr(self) -> str:
        return self.proc.stderr()

    def rss_kib(self) -> int:
        return rss_kib(self.proc.pid)

    def fds(self) -> int:
        return fd_count(self.proc.pid)

    def metrics(self) -> str:
        return httpx.get(f"{self.base}/metrics", timeout=10, trust_env=False).text

    def post(self, body: bytes, headers: dict[str, str] | None = None, timeout: float = 15) -> httpx.Response:
        return httpx.post(
            f"{self.base}/v1/messages",
            content=body,
            timeout=timeout,
            trust_env=False,
            headers={"content-type": "application/json", **(headers or {})},
        )

    def webhook(
        self,
        text: str,
        *,
        conversation: str,
        message_id: str | None = None,
        participant: str = "p1",
        role: str = "customer",
        timeout: float = 15,
    ) -> httpx.Response:
        body = message(text, conversation=conversation, message_id=message_id, participant=participant, role=role)
        return self.post(body, signature_headers(SECRET, body), timeout)


def serve(
    workdir: Path,
    recorder: Recorder | None = None,
    *,
    env: dict[str, str] | None = None,
    flags: list[str] | None = None,
    registry: str = REGISTRY,
    name: str = "serve",
) -> Served:
    """`commandlang serve --registry commands.yaml` on free ports, webhook secret set, no --demo."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "commands.yaml").write_text(registry)
    settings = {
        "COMMANDLANG_WEBHOOK_SECRET": SECRET,
        "COMMANDLANG_SYNC_SECRET": SYNC_SECRET,
        "COMMANDLANG_LOG_FORMAT": "json",
        "COMMANDLANG_RELOAD_INTERVAL": "0",
        "SEC_API": recorder.base if recorder else "http://127.0.0.1:9",
        **(env or {}),
    }
    db = workdir / "state.db"
    proc = start(
        [
            "commandlang",
            "serve",
            "--registry",
            str(workdir / "commands.yaml"),
            "--port",
            "0",
            "--sync-port",
            "0",
            "--db",
            str(db),
            *(flags or []),
        ],
        workdir,
        name,
        settings,
        wait_for=("listening http://", "listening sync ws://"),
    )
    base = _url(proc, "listening http://")
    return Served(proc, base, int(base.rsplit(":", 1)[1]), _url(proc, "listening sync ws://"), db, recorder)


def _url(proc: Proc, prefix: str) -> str:
    return next(line for line in proc.lines if line.startswith(prefix)).split()[-1]


# -- messages and signatures -------------------------------------------------------------------------------
_ids = iter(range(1, 10**9))


def message(
    text: str, *, conversation: str, message_id: str | None = None, participant: str = "p1", role: str = "customer"
) -> bytes:
    return json.dumps(
        {
            "conversation_id": conversation,
            "message_id": message_id or f"m-{next(_ids)}-{time.time_ns()}",
            "participant_id": participant,
            "role": role,
            "text": text,
        }
    ).encode()


def signed(body: bytes, at: int | None = None) -> dict[str, str]:
    return signature_headers(SECRET, body, at)


def legacy_signed(body: bytes) -> dict[str, str]:
    return {"X-Commandlang-Signature": sign(SECRET, body, None)}


# -- raw HTTP ------------------------------------------------------------------------------------------------
@dataclass
class RawResponse:
    status: int | None  # None: closed without an answer
    headers: dict[str, str]
    body: bytes
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body)


def head(method: str, path: str, headers: dict[str, str], host: str | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}" if host is not None else None]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(line for line in lines if line is not None) + "\r\n\r\n").encode("latin-1")


def parse_response(data: bytes, elapsed: float) -> RawResponse:
    if b"\r\n\r\n" not in data:
        return RawResponse(None, {}, data, elapsed)
    top, body = data.split(b"\r\n\r\n", 1)
    first, *rest = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in rest:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(first.split()[1]), headers, body, elapsed)


def raw_exchange(port: int, data: bytes, *, timeout: float = 10.0) -> RawResponse:
    """Send `data` as is and read one response (up to its content-length, or until the server closes)."""
    started = time.monotonic()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            received += chunk
            if b"\r\n\r\n" in received:
                response = parse_response(received, 0)
                length = int(response.headers.get("content-length", "-1"))
                if length >= 0 and len(response.body) >= length:
                    break
    return parse_response(received, time.monotonic() - started)


def http_get(port: int, path: str, headers: dict[str, str] | None = None, host: str = f"{HOST}") -> RawResponse:
    return raw_exchange(
        port,
        head("GET", path, {**(headers or {}), "Connection": "close"}, host=f"{host}:{port}" if host == HOST else host),
    )


def http_post(
    port: int, path: str, body: bytes, headers: dict[str, str] | None = None, host: str = HOST
) -> RawResponse:
    all_headers = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    return raw_exchange(port, head("POST", path, all_headers, host=f"{host}:{port}" if host == HOST else host) + body)


# -- /proc -------------------------------------------------------------------------------------------------
def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def eventually(predicate: Any, timeout: float = 10.0, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(step)


def texts(answer: dict[str, Any]) -> Iterator[str]:
    """Every string anywhere in a JSON answer."""
    if isinstance(answer, str):
        yield answer
    elif isinstance(answer, dict):
        for value in answer.values():
            yield from texts(value)
    elif isinstance(answer, list):
        for value in answer:
            yield from texts(value)
