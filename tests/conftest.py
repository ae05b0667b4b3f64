"""Shared fixtures: the sample registry, a registry writer, and hypothesis profiles.

The fuzz tests run a fixed, derandomized `ci` profile (a few hundred examples) so
the suite is fast and stable; `HYPOTHESIS_PROFILE=dev pytest tests/syntax` runs
many more random examples when hunting bugs.

`async def` tests run under Trio through pytest-trio (`trio_mode`), each under
a deadline (`@pytest.mark.deadline(S)` for a longer one); `@pytest.mark.mock_clock` runs one with an autojumping
`trio.testing.MockClock`, so sleeps and backoff take no real time.
"""

from __future__ import annotations

import inspect
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, settings

import commandlang

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "commands.yaml"

settings.register_profile(
    "ci", max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def sample_registry() -> commandlang.Registry:
    return commandlang.load_registry(SAMPLE, env={})


@pytest.fixture
def write_registry(tmp_path):
    """Write YAML text to a registry file in a fresh folder and return its path."""

    def write(text: str, name: str = "commands.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


TEST_DEADLINE = 20.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mock_clock: run the async test with an autojumping trio MockClock")
    config.addinivalue_line("markers", "deadline(seconds): a longer deadline than TEST_DEADLINE for this async test")


def _trio_runner(deadline: float, mock_clock: bool) -> Callable[..., object]:
    """A `trio.run` for pytest-trio that puts the whole test, fixtures included, under a deadline."""

    def run(fn: Callable[[], Awaitable[object]], clock: trio.abc.Clock | None = None, instruments=()) -> object:
        if mock_clock:
            # a small real-time threshold: loopback I/O between the client and the in-process backend
            # completes well inside it, so the clock only jumps when everyone is really sleeping
            clock = trio.testing.MockClock(autojump_threshold=0.02)

        async def under_deadline() -> object:
            with trio.fail_after(deadline):
                return await fn()

        return trio.run(under_deadline, clock=clock, instruments=instruments)

    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pytest-trio (trio_mode in pyproject.toml) runs every `async def` test; this gives each its
    # deadline and, when marked, its clock, through the runner the trio marker names
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        test = getattr(getattr(item.obj, "hypothesis", None), "inner_test", item.obj)
        if not inspect.iscoroutinefunction(test):
            continue
        marker = item.get_closest_marker("deadline")
        deadline = float(marker.args[0]) if marker else TEST_DEADLINE
        runner = _trio_runner(deadline, item.get_closest_marker("mock_clock") is not None)
        item.add_marker(pytest.mark.trio(run=runner), append=False)


@pytest.fixture
def redis(tmp_path: Path):
    """A fresh redis-server (tests/redis_server.py) for one test; skips when none is installed."""
    from tests.redis_server import REDIS_SERVER, needs_redis, redis_server

    if REDIS_SERVER is None:
        pytest.skip(needs_redis.kwargs["reason"])
    with redis_server(tmp_path) as server:
        yield server


# What a fresh machine lacks and the one command that brings it in: the README's test command runs
# every test it can, and says at the end which it could not and how to run them too.
_BRINGS_IN = {
    "chromium": "apt-get install -y chromium   (Debian; or run `bash .ci/run` as root, which installs it)",
    "redis-server": "apt-get install -y redis-server   (Debian; or `bash .ci/run` as root)",
    "shared/genesys": "clone the project beside its ../shared folder (CI does)",
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = Counter(
        (report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)).removeprefix("Skipped: ")
        for report in skipped
    )
    terminalreporter.section("tests this machine could not run")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:4d} skipped: {reason}")
        for what, command in _BRINGS_IN.items():
            if what in reason:
                terminalreporter.write_line(f"       to run them: {command}")
