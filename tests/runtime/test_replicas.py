"""Two replicas of the real service sharing one real redis-server (COMMANDLANG_REDIS_URL).

What an operator running several replicas behind a load balancer relies on: a message
delivered to both runs once; an agent connected to either replica sees every command's
states live, whichever replica ran it; a restarted replica recovers its own interrupted
work and never a live replica's.
"""

from __future__ import annotations

import json

import trio
from trio_websocket import open_websocket_url

from commandlang.runtime.redis_store import RedisStore
from commandlang.sync.tokens import issue_token

from tests.redis_server import RedisServer
from tests.runtime.support import running_service, sample_record

SYNC_SECRET = "sync-secret-replicas-3b7"


async def test_a_message_delivered_to_both_replicas_runs_once(tmp_path, redis: RedisServer) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    async with (
        running_service(tmp_path / "a", redis_url=redis.url, replica_id="a") as a,
        running_service(tmp_path / "b", redis_url=redis.url, replica_id="b") as b,
    ):
        assert "state store: Redis, shared (replica a)" in a.out.getvalue()
        first = await a.webhook("/status 7", message_id="dup-1")
        second = await b.webhook("/status 7", message_id="dup-1")
        assert first.json()["command"]["status"] == "completed"
        assert second.json() == {"command": None, "replies": [], "duplicate": True}  # the other replica took it
        assert len(a.backend.requests) + len(b.backend.requests) == 1
        assert (await b.client.get(f"{b.base}/readyz")).json()["ready"] is True


async def test_an_agent_on_one_replica_sees_commands_run_by_the_other(tmp_path, redis: RedisServer) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    async with (
        running_service(tmp_path / "a", redis_url=redis.url, replica_id="a", sync_secret=SYNC_SECRET) as a,
        running_service(tmp_path / "b", redis_url=redis.url, replica_id="b", sync_secret=SYNC_SECRET) as b,
    ):
        token = issue_token(SYNC_SECRET, "agent-1", ["*"], 60)
        async with open_websocket_url(f"ws://127.0.0.1:{b.ports.sync}/sync") as ws:
            await ws.send_message(
                json.dumps({"type": "hello", "token": token, "subscribe": ["*"], "resume_after": None})
            )
            snapshot = json.loads(await ws.get_message())
            assert snapshot["type"] == "snapshot"
            answers = [await a.webhook(f"/status {n}", conversation=f"c{n}") for n in (1, 2)]
            ids = [answer.json()["command"]["id"] for answer in answers]
            seen: list[tuple[int, str, str]] = []
            with trio.fail_after(5):
                while len(seen) < 6:
                    frame = json.loads(await ws.get_message())
                    if frame["type"] == "state":
                        seen.append((frame["seq"], frame["command"]["id"], frame["command"]["status"]))
        assert [seq for seq, _, _ in seen] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 7))  # gapless
        for command_id in ids:
            assert [status for _, cid, status in seen if cid == command_id] == ["pending", "executing", "completed"]


async def test_a_restarted_replica_recovers_its_own_interrupted_commands_only(tmp_path, redis: RedisServer) -> None:
    # What a crash leaves behind: replica "gone" and the live replica "a" each had a command running.
    async with trio.open_nursery() as nursery:
        leftovers = []
        for replica in ("gone", "a"):
            store = RedisStore(redis.url, replica_id=replica)
            await nursery.start(store.run)
            leftovers.append(
                (await store.append(sample_record(f"running-on-{replica}", conversation=f"c-{replica}"))).record
            )
            if replica == "a":
                a_store = store  # stays up: replica a is alive
            else:
                await store.aclose()  # replica "gone" died long enough ago that its lease ran out
        (tmp_path / "gone").mkdir()
        async with running_service(tmp_path / "gone", redis_url=redis.url, replica_id="gone") as restarted:
            assert "recovered: 1 command(s) interrupted" in restarted.out.getvalue()
            mine = await restarted.service.store.get("running-on-gone")
            others = await restarted.service.store.get("running-on-a")
        assert (mine.status, mine.error["code"]) == ("failed", "interrupted")
        assert others.status == "pending"  # a live replica's work is left to it
        await a_store.aclose()
        nursery.cancel_scope.cancel()


async def test_a_stopping_replica_shows_its_sessions_the_final_state_of_drained_commands(
    tmp_path, redis: RedisServer
) -> None:
    from trio_websocket import ConnectionClosed

    async with running_service(tmp_path, redis_url=redis.url, replica_id="a", sync_secret=SYNC_SECRET) as a:
        token = issue_token(SYNC_SECRET, "agent-1", ["*"], 60)
        async with open_websocket_url(f"ws://127.0.0.1:{a.ports.sync}/sync") as ws, trio.open_nursery() as nursery:
            await ws.send_message(
                json.dumps({"type": "hello", "token": token, "subscribe": ["*"], "resume_after": None})
            )
            assert json.loads(await ws.get_message())["type"] == "snapshot"
            nursery.start_soon(a.webhook, "/slow 1 delay=0.5")
            statuses: list[str] = []
            with trio.fail_after(10):
                while "executing" not in statuses:
                    statuses.append(json.loads(await ws.get_message())["command"]["status"])
                a.service.stop()  # drains the running command, then closes the sessions
                try:
                    while True:
                        frame = json.loads(await ws.get_message())
                        if frame["type"] == "state":
                            statuses.append(frame["command"]["status"])
                except ConnectionClosed as closed:
                    assert closed.reason.code == 1001
        assert statuses == ["pending", "executing", "completed"]


async def test_a_replica_that_never_comes_back_has_its_commands_marked_interrupted(
    tmp_path, redis: RedisServer
) -> None:
    async with running_service(tmp_path, redis_url=redis.url, replica_id="a", replica_lease=0.3) as a:
        async with trio.open_nursery() as other:  # another replica, alive while replica a starts
            gone = RedisStore(redis.url, replica_id="gone-for-good", lease=0.3)
            await other.start(gone.run)
            left = (await gone.append(sample_record("left-running"))).record
            other.cancel_scope.cancel()  # then it stops for good, its command still pending
        own = await a.webhook("/status 5")  # this replica's own work is never swept
        with trio.fail_after(5):
            while (await a.service.store.get(left.id)).status == "pending":
                await trio.sleep(0.05)
        swept = await a.service.store.get(left.id)
        assert (swept.status, swept.error["code"]) == ("failed", "interrupted")
        assert (await a.service.store.get(own.json()["command"]["id"])).status == "completed"
        assert "recovered" not in a.out.getvalue()  # not at start: the sweep found it


async def test_the_service_outlives_a_redis_outage_and_says_try_again_meanwhile(tmp_path, redis: RedisServer) -> None:
    async with running_service(tmp_path, redis_url=redis.url, replica_id="a") as a:
        assert (await a.webhook("/status 1")).json()["command"]["status"] == "completed"
        redis.stop()
        during = await a.webhook("/status 2", message_id="m-during")
        assert during.status_code == 503  # nothing ran unrecorded; the platform delivers it again
        assert (await a.client.get(f"{a.base}/readyz")).status_code == 503
        redis.start()  # its append-only file brings the state back
        with trio.fail_after(10):
            while (await a.client.get(f"{a.base}/readyz")).status_code != 200:
                await trio.sleep(0.1)
        again = await a.webhook("/status 2", message_id="m-during")
        assert again.json()["command"]["status"] == "completed"


async def test_a_command_whose_end_could_not_be_recorded_is_marked_interrupted_once_redis_is_back(
    tmp_path, redis: RedisServer
) -> None:
    async with (
        running_service(tmp_path, redis_url=redis.url, replica_id="a", replica_lease=0.3) as a,
        trio.open_nursery() as nursery,
    ):
        answers = []

        async def run_slow() -> None:
            answers.append(await a.webhook("/slow 1 delay=0.6", message_id="m-slow"))

        nursery.start_soon(run_slow)
        with trio.fail_after(5):
            while not a.backend.requests:  # the command is at the backend: pending and executing are stored
                await trio.sleep(0.01)
        redis.stop()  # ... and the store is gone when it ends
        with trio.fail_after(10):
            while not answers:
                await trio.sleep(0.05)
        assert "went wrong" in json.dumps(answers[0].json()["replies"])  # the user is answered, not left hanging
        redis.start()
        with trio.fail_after(10):
            while True:
                try:
                    record = await a.service.store.get(answers[0].json()["command"]["id"])
                except Exception:  # noqa: BLE001 - the store is still reconnecting
                    record = None
                if record is not None and record.status == "failed":
                    break
                await trio.sleep(0.1)
        assert record.error["code"] == "interrupted"
        assert (await a.webhook("/status 3")).json()["command"]["status"] == "completed"  # and it goes on
