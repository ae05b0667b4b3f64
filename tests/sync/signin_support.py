"""The service with Genesys sign-in on, against the fake Genesys Cloud (for the sign-in tests)."""

from __future__ import annotations

import functools
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import trio

from commandlang.testing.fake_genesys import FakeGenesys, serve_fake_genesys
from tests.runtime.support import Running, running_service

ROOT = Path(__file__).resolve().parents[2]
SYNC_SECRET = "sync-secret-for-signin-tests"


@asynccontextmanager
async def signin_service(tmp_path: Path, **extra: object) -> AsyncIterator[tuple[Running, FakeGenesys]]:
    """The service with Genesys sign-in on (region mypurecloud.ie, API and login on the fake)."""
    async with trio.open_nursery() as nursery:
        fake = await nursery.start(functools.partial(serve_fake_genesys, client_id="cc", client_secret="cc-secret"))
        fake.org.add_user("u-ann", "Ann Agent", queues=["q-support"])
        fake.org.add_user("u-bob", "Bob Agent", queues=["q-sales"])
        fake.org.add_user("u-lee", "Lee Lead", groups=["Team leads"])
        settings = dict(
            genesys_region="mypurecloud.ie",
            genesys_client_id="cc",
            genesys_client_secret="cc-secret",
            genesys_api_base=fake.base_url,
            genesys_login_base=fake.base_url,
            genesys_panel_client_id="panel-client",
            genesys_supervisor_groups="Team leads",
            sync_secret=SYNC_SECRET,
            **extra,
        )
        async with running_service(
            tmp_path, (ROOT / "commands.yaml").read_text(), templates=ROOT / "templates", **settings
        ) as run:
            yield run, fake
        nursery.cancel_scope.cancel()


async def exchange(run: Running, body: object, token: str | None = None, **headers: str):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await run.client.post(f"{run.base}/sync/token", json=body, headers=headers)
