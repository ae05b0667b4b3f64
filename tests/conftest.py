"""Run `async def` tests under Trio (pytest-trio is not a dependency), each under a deadline.

`@pytest.mark.mock_clock` runs the test with `trio.testing.MockClock` set to
autojump: sleeps, backoff and Retry-After waits take no real time, and the
deadline below is then virtual time too.
"""

from __future__ import annotations

import inspect

import pytest
import trio
import trio.testing

TEST_DEADLINE = 20.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mock_clock: run the async test with an autojumping trio MockClock")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    # a small real-time threshold: loopback I/O between the client and the in-process backend
    # completes well inside it, so the clock only jumps when everyone is really sleeping
    clock = trio.testing.MockClock(autojump_threshold=0.02) if pyfuncitem.get_closest_marker("mock_clock") else None

    async def run() -> None:
        with trio.fail_after(TEST_DEADLINE):
            await pyfuncitem.obj(**kwargs)

    trio.run(run, clock=clock)
    return True
