"""A real `redis-server` for the tests, on a Unix socket in a temporary folder (no port to race for).

Tests that need it skip, naming what is missing, when `redis-server` is not installed
(`apt-get install redis-server`; CI installs it). COMMANDLANG_TEST_REDIS_SERVER overrides the path.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

REDIS_SERVER = os.environ.get("COMMANDLANG_TEST_REDIS_SERVER") or shutil.which("redis-server")

needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="redis-server is not installed (apt-get install redis-server, or set COMMANDLANG_TEST_REDIS_SERVER)",
)


class RedisServer:
    """One redis-server process; `url` reaches it. `stop()` and `start()` simulate an outage."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # a Unix socket path must stay under ~100 bytes: a short folder of its own, not the test's
        self.socket = Path(tempfile.mkdtemp(prefix="clr-")) / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._answers():  # the socket file appears before the server accepts on it
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.01)

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(1)
                probe.connect(str(self.socket))
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
            self.socket.unlink(missing_ok=True)


@contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
