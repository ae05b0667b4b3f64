"""`commandlang serve` as an operator runs it: a real process, real signals, a real state file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import trio

from commandlang.channels.webhook import signature_headers
from tests.runtime.support import REGISTRY, WEBHOOK_SECRET, stored_rows

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "commandlang", *args],
        cwd=env.get("CWD"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("listening http://"):
            return process, lines
    process.kill()
    raise AssertionError(f"no listening line; stdout {lines!r}, stderr {process.stderr.read()[-2000:]!r}")


@pytest.fixture
def backend():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process, lines = _start(["demo-backend", "--port", "0"], env)
    yield lines[-1].split()[-1]
    process.terminate()
    process.wait(10)


def _serve(tmp_path: Path, backend_url: str, store: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    """`serve` on `tmp_path`/state.db, named by `store` flags (default: the older `--db PATH`)."""
    (tmp_path / "commands.yaml").write_text(REGISTRY)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DEMO_API": f"{backend_url}/v1",
        "CWD": str(tmp_path),
        "COMMANDLANG_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "COMMANDLANG_LOG_FORMAT": "json",
    }
    process, lines = _start(
        ["serve", "--port", "0", "--sync-port", "0", *(store or ["--db", str(tmp_path / "state.db")])], env
    )
    return process, lines[-1].split()[-1]


def _post(base: str, text: str, message_id: str, timeout: float = 15) -> httpx.Response:
    body = json.dumps(
        {"conversation_id": "c1", "message_id": message_id, "participant_id": "a1", "role": "agent", "text": text}
    ).encode()
    return httpx.post(
        f"{base}/v1/messages", content=body, timeout=timeout, headers=signature_headers(WEBHOOK_SECRET, body)
    )


def _statuses(db: Path) -> list[tuple[str, str | None]]:
    """(status, error code) of every record, read through the store as the service opens it (its URL)."""
    rows = trio.run(stored_rows, f"sqlite://{db}")
    return [(row["status"], (row["error"] or {}).get("code")) for row in rows]


def _wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_sigterm_during_a_slow_command_lets_it_finish(tmp_path: Path, backend: str) -> None:
    process, base = _serve(tmp_path, backend)
    answers: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: answers.append(_post(base, "/slow 1 delay=1.0", "m-drain")))
    sender.start()
    _wait_for(lambda: ("executing", None) in _statuses(tmp_path / "state.db"))
    process.send_signal(signal.SIGTERM)
    sender.join(20)
    assert process.wait(20) == 0
    assert answers and answers[0].status_code == 200
    assert answers[0].json()["command"]["status"] == "completed"
    assert _statuses(tmp_path / "state.db") == [("completed", None)]
    logs = process.stderr.read()
    assert WEBHOOK_SECRET not in logs and "Traceback" not in logs


def test_kill_9_then_restart_marks_the_command_interrupted(tmp_path: Path, backend: str) -> None:
    process, base = _serve(tmp_path, backend)
    sender = threading.Thread(target=lambda: _post_quietly(base))
    sender.start()
    _wait_for(lambda: ("executing", None) in _statuses(tmp_path / "state.db"))
    process.kill()
    process.wait(10)
    sender.join(20)
    assert _statuses(tmp_path / "state.db") == [("executing", None)]

    process, base = _serve(tmp_path, backend, ["--store", "sqlite:state.db"])  # the same file, by its URL (relative)
    try:
        assert _statuses(tmp_path / "state.db") == [("failed", "interrupted")]
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        assert _post(base, "/status 4", "m-after").json()["command"]["status"] == "completed"
    finally:
        process.terminate()
        process.wait(20)


def _post_quietly(base: str) -> None:
    try:
        _post(base, "/slow 2 delay=5", "m-killed")
    except httpx.HTTPError:
        pass  # the server died under the request, as intended


def _serve_once(cwd: Path, args: list[str], env: dict[str, str] | None = None, timeout: float = 30):
    """`commandlang serve` on ports 0 with `args`, run to its end (for a start that must fail)."""
    return subprocess.run(
        [sys.executable, "-m", "commandlang", "serve", "--port", "0", "--sync-port", "0", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_broken_registry_stops_the_start_with_its_findings(tmp_path: Path) -> None:
    (tmp_path / "commands.yaml").write_text("version: 1\ncommands:\n  x:\n    args: {n: integr}\n")
    result = _serve_once(tmp_path, ["--db", str(tmp_path / "s.db")])
    assert result.returncode == 2
    assert "commands.yaml:4:" in result.stderr and "unknown_type" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_redis_stops_the_start_with_one_clear_line(tmp_path: Path) -> None:
    result = _serve_once(
        tmp_path,
        ["--registry", str(ROOT / "commands.yaml")],
        {"COMMANDLANG_REDIS_URL": f"unix://{tmp_path}/no-redis-here.sock"},
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot reach Redis" in result.stderr and "check COMMANDLANG_REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_help_lists_every_setting_with_env_and_default() -> None:
    from commandlang.runtime.config import SETTINGS

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "commandlang", "serve", "--help"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for setting in SETTINGS:
        assert setting.flag in text and setting.env in text
    assert "default 8080" in text and "default 127.0.0.1" in text
