"""The hub wired into the real runtime service: a webhook command's states reach a SyncClient and the panel."""

from __future__ import annotations

import trio

from commandlang.sync import Snapshot, SyncClient
from tests.runtime.support import running_service

from .support import token

SECRET = "service-sync-secret"


async def test_service_streams_command_states_to_sync_clients(tmp_path) -> None:
    async with running_service(tmp_path, sync_secret=SECRET) as run:
        assert f"listening sync ws://127.0.0.1:{run.ports.sync}/sync" in run.out.getvalue().splitlines()
        url = f"ws://127.0.0.1:{run.ports.sync}/sync"
        async with SyncClient(url, token("conversation:c7", secret=SECRET), ["conversation:c7"]) as client:
            assert isinstance(await client.__anext__(), Snapshot)
            response = await run.webhook("/status 12345", conversation="c7")
            await run.webhook("/status 1", conversation="c8")  # another conversation: not ours
            command_id = response.json()["command"]["id"]
            with trio.fail_after(5):
                states = [await client.__anext__() for _ in range(3)]
        assert [(s.command_id, s.status) for s in states] == [
            (command_id, "pending"),
            (command_id, "executing"),
            (command_id, "completed"),
        ]
        assert states[0].seq < states[1].seq < states[2].seq
        metrics = (await run.client.get(f"{run.base}/metrics")).text
        assert "commandlang_sync_sessions" in metrics
        panel = await run.client.get(f"{run.base}/panel?conversation=c7")
        assert panel.status_code == 200 and b"/panel/panel.js" in panel.content
        assert (
            (await run.client.get(f"{run.base}/panel/panel.js")).headers["content-type"].startswith("text/javascript")
        )
