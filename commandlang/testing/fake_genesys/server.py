"""`serve_fake_genesys`: the fake Genesys Cloud on one loopback origin (hypercorn under Trio)."""

from __future__ import annotations

import logging

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from .app import FakeGenesysApp
from .oracle import iter_violations
from .state import FakeGenesys
from ...errors import FakeGenesysError

__all__ = ["serve_fake_genesys", "PayloadViolations"]


class PayloadViolations(FakeGenesysError, AssertionError):
    """The fake saw payloads that break Genesys's SDK models (each listed)."""

    def __init__(self, violations: list) -> None:
        self.violations = list(violations)
        super().__init__("payloads that break Genesys's SDK models:\n" + iter_violations(self.violations))


async def serve_fake_genesys(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    client_id: str = "fake-client",
    client_secret: str = "fake-secret",
    token_ttl: float = 300.0,
    heartbeat_interval: float = 30.0,
    channel_ttl: float = 24 * 3600.0,
    closing_warning: float = 60.0,
    check_payloads: bool = True,
    task_status: trio.TaskStatus[FakeGenesys] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; `nursery.start` returns the `FakeGenesys` (its `base_url` is the origin).

    The token endpoint is `{base_url}/oauth/token` and the API lives under
    `{base_url}/api/v2/...`, so point both `GENESYS_API_BASE` and
    `GENESYS_LOGIN_BASE` at `base_url`. With the SDK installed, every payload is checked against
    Genesys's models (`check_payloads`); violations left when the fake stops raise `PayloadViolations`.
    """
    fake = FakeGenesys(
        client_id=client_id,
        client_secret=client_secret,
        token_ttl=token_ttl,
        heartbeat_interval=heartbeat_interval,
        channel_ttl=channel_ttl,
        closing_warning=closing_warning,
        check_payloads=check_payloads,
    )
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("commandlang.fake_genesys")
    config.graceful_timeout = 0.5
    try:
        async with trio.open_nursery() as nursery:
            fake.nursery = nursery
            binds = await nursery.start(serve, FakeGenesysApp(fake), config)
            fake.base_url = binds[0]
            task_status.started(fake)
    finally:
        # Every payload the real Genesys would refuse or never send fails the test that ran the fake (a test
        # that provokes one on purpose asserts it, then clears `fake.violations`). Raised here, where every
        # test's fake ends, so no test can forget the check.
        if fake.violations:
            raise PayloadViolations(fake.violations)
