"""`commandlang demo-backend` runs as its own process and answers the sample endpoints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_demo_backend_cli_prints_its_address_and_serves() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "commandlang", "demo-backend", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening http://127.0.0.1:")
        base = line.split(" ", 1)[1]
        answer = httpx.get(base + "/v1/orders/12345", timeout=5)
        assert answer.status_code == 200 and answer.json()["order"] == 12345
        faulty = httpx.get(base + "/v1/orders/1", headers={"X-Demo-Fault": "status=429;retry_after=3"}, timeout=5)
        assert faulty.status_code == 429 and faulty.headers["retry-after"] == "3"
    finally:
        process.terminate()
        process.wait(timeout=10)
