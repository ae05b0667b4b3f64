"""The runtime service, started for real on free ports, driven over HTTP as a channel would."""

from __future__ import annotations

import functools
import json

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from tests.runtime.support import REGISTRY, CallbackReceiver, running_service


async def test_listening_lines_health_and_readiness(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        printed = run.out.getvalue()
        assert f"listening http://127.0.0.1:{run.ports.http}" in printed.splitlines()
        assert (await run.client.get(f"{run.base}/healthz")).json() == {"status": "alive"}
        ready = await run.client.get(f"{run.base}/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True


async def test_webhook_runs_a_command_and_answers_with_state_and_reply(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        response = await run.webhook("/status 12345")
        assert response.status_code == 200
        data = response.json()
        assert data["command"]["command"] == "status"
        assert data["command"]["status"] == "completed"
        assert data["command"]["args"] == {"order": 12345}
        assert data["replies"] and data["replies"][0]["text"]
        statuses = [event["status"] for event in await run.events() if event["id"] == data["command"]["id"]]
        assert statuses == ["pending", "executing", "completed"]


async def test_pending_and_executing_share_a_commit_unless_an_ack_comes_between(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        assert run.service.store is not None and run.service.store._writer is not None
        events_per_commit: list[int] = []

        def trace(sql: str) -> None:
            if sql == "BEGIN IMMEDIATE":
                events_per_commit.append(0)
            elif sql.startswith("INSERT INTO events"):
                events_per_commit[-1] += 1

        run.service.store._writer.set_trace_callback(trace)
        assert (await run.webhook("/status 5")).json()["command"]["status"] == "completed"
        assert [n for n in events_per_commit if n] == [2, 1]  # pending + executing, then completed
        events_per_commit.clear()
        assert (await run.webhook("/slow 1 delay=0.01")).json()["command"]["status"] == "completed"
        assert [n for n in events_per_commit if n] == [1, 1, 1]  # the ack is sent between pending and executing
        statuses = [event["status"] for event in await run.events()]
        assert statuses == ["pending", "executing", "completed"] * 2


async def test_chat_that_is_not_a_command_gets_nothing(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        response = await run.webhook("hello, is anyone there? /etc/hosts is broken")
        assert response.json() == {"command": None, "replies": []}
        assert await run.rows() == []


async def test_a_bind_error_is_a_friendly_reply_and_a_failed_record(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        data = (await run.webhook("/status abc")).json()
        assert data["command"]["status"] == "rejected"  # a typo, not a failure
        assert data["command"]["error"]["code"] == "invalid_value"
        text = data["replies"][0]["text"]
        assert "order" in text and "Traceback" not in text
        assert list(run.backend.requests) == []  # no backend call


async def test_webhook_refuses_unsigned_badly_signed_and_malformed_requests(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        assert (await run.webhook("/status 1", secret="wrong")).status_code == 401
        unsigned = await run.client.post(f"{run.base}/v1/messages", json={"text": "/status 1"})
        assert unsigned.status_code == 401
        from commandlang.channels.webhook import signature_headers
        from tests.runtime.support import WEBHOOK_SECRET

        for body, reason in (
            (b"{not json", "JSON"),
            (b'{"text": "/status 1"}', "missing"),
            (
                b'{"conversation_id": "c", "message_id": "m", "participant_id": "p", "role": "boss", "text": "/x"}',
                "role",
            ),
        ):
            response = await run.client.post(
                f"{run.base}/v1/messages", content=body, headers=signature_headers(WEBHOOK_SECRET, body)
            )
            assert response.status_code == 400 and reason in response.json()["error"]


async def test_redelivered_message_runs_once(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        first = await run.webhook("/status 7", message_id="dup-1")
        second = await run.webhook("/status 7", message_id="dup-1")
        assert first.json()["command"]["status"] == "completed"
        assert second.json() == {"command": None, "replies": [], "duplicate": True}
        assert len([r for r in run.backend.requests if r.path.endswith("/orders/7")]) == 1
        assert len(await run.rows()) == 1


async def test_one_conversation_runs_in_arrival_order(tmp_path) -> None:
    # Callback mode answers 202 once the message is accepted (claimed and queued): sending each after the
    # previous one's 202 makes the arrival order known, without reading the store's dedupe keys.
    receiver = CallbackReceiver()
    async with trio.open_nursery() as nursery:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = config.errorlog = None
        binds = await nursery.start(functools.partial(serve, receiver, config))
        async with running_service(tmp_path, webhook_callback=f"{binds[0]}/hook") as run:
            for index in range(5):
                # later commands are faster: only the per-conversation queue keeps them in order
                response = await run.webhook(
                    f"/slow {index} delay={0.25 - index * 0.05:.2f}",
                    conversation="ordered",
                    message_id=f"order-{index}",
                )
                assert response.status_code == 202
            with trio.fail_after(10):
                while len([p for p, _, _ in receiver.received if p["reply"]["text"].endswith(" done")]) < 5:
                    await receiver.changed.wait()
                    receiver.changed = trio.Event()
            served = [int(r.path.rsplit("/", 1)[1]) for r in run.backend.requests if "/echo/" in r.path]
            assert served == [0, 1, 2, 3, 4]
            done = [p["reply"]["text"] for p, _, _ in receiver.received if p["reply"]["text"].endswith(" done")]
            assert done == [f"Slow {n} done" for n in range(5)]  # answered in that order too
            # one at a time: each command started executing after the previous one finished
            spans: dict[int, dict[str, float]] = {}
            for event in await run.events():
                spans.setdefault(event["args"]["n"], {})[event["status"]] = event["updated_at"]
            ordered = [spans[n] for n in range(5)]
            for before, after in zip(ordered, ordered[1:]):
                assert before["completed"] <= after["executing"]
        nursery.cancel_scope.cancel()


async def test_different_conversations_run_concurrently(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        async with trio.open_nursery() as nursery:
            for index in range(8):
                nursery.start_soon(
                    functools.partial(run.webhook, f"/slow {index} delay=0.8", conversation=f"conv-{index}")
                )
        events = await run.events()
        started = [e["updated_at"] for e in events if e["status"] == "executing"]
        finished = [e["updated_at"] for e in events if e["status"] == "completed"]
        assert len(started) == len(finished) == 8
        # every command was executing before the first one finished: they overlapped
        assert max(started) < min(finished)


async def test_a_full_conversation_queue_refuses_the_newest_message_with_busy(tmp_path) -> None:
    async with running_service(tmp_path, conversation_queue=1) as run:
        responses: dict[int, object] = {}

        async def send(index: int) -> None:
            responses[index] = await run.webhook(
                f"/slow {index} delay=0.5", conversation="busy", message_id=f"busy-{index}"
            )

        async with trio.open_nursery() as nursery:
            for index in range(3):
                nursery.start_soon(send, index)
                await trio.sleep(0.05)
        # 0 runs, 1 waits in the queue of one, 2 finds it full
        assert responses[0].status_code == 200 and responses[1].status_code == 200
        refused = responses[2]
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert "busy" in refused.json()["replies"][0]["text"].lower()
        metrics = (await run.client.get(f"{run.base}/metrics")).text
        assert 'commandlang_messages_refused_total{reason="conversation_queue"} 1' in metrics
        # the sender does what the 503 and Retry-After ask: delivers the same message again, and it runs
        again = await run.webhook("/slow 2 delay=0.5", conversation="busy", message_id="busy-2")
        assert again.status_code == 200 and again.json()["command"]["status"] == "completed"


async def test_broken_registry_edit_is_refused_and_the_old_one_keeps_serving(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        run.registry.write_text(
            REGISTRY.replace(
                "type: int, positional: true, required: true}\n    request: {backend: demo",
                "type: integr, positional: true, required: true}\n    request: {backend: demo",
            )
        )
        with trio.fail_after(5):
            while (
                'commandlang_registry_reloads_total{result="refused"}'
                not in (await run.client.get(f"{run.base}/metrics")).text
            ):
                await trio.sleep(0.05)
        assert run.service.reloader.last_findings and "unknown_type" in run.service.reloader.last_findings[0]
        assert (await run.webhook("/status 3")).json()["command"]["status"] == "completed"
        # a good edit then takes over
        run.registry.write_text(REGISTRY + "  hello:\n    summary: Say hello\n")
        with trio.fail_after(5):
            while (
                'commandlang_registry_reloads_total{result="applied"}'
                not in (await run.client.get(f"{run.base}/metrics")).text
            ):
                await trio.sleep(0.05)
        assert (await run.webhook("/hello")).json()["command"]["status"] == "completed"


async def test_metrics_count_commands_by_name_and_status(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        await run.webhook("/status 5")
        await run.webhook("/status nope")
        metrics = (await run.client.get(f"{run.base}/metrics")).text
        assert 'commandlang_commands_total{command="status",status="completed"} 1' in metrics
        assert (
            'commandlang_commands_total{command="status",status="rejected"} 1' in metrics
        )  # a bad value is no failure
        assert 'commandlang_stage_seconds_count{stage="backend"} 1' in metrics


async def test_shutdown_drains_a_running_command(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        response: list = []

        async def send() -> None:
            response.append(await run.webhook("/slow 1 delay=0.6", conversation="drain"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            with trio.fail_after(3):
                while not any(r["status"] == "executing" for r in await run.rows()):
                    await trio.sleep(0.02)
            run.service.stop()
        assert response[0].json()["command"]["status"] == "completed"
        with trio.fail_after(10):
            await run.service.stopped.wait()
        assert [r["status"] for r in await run.rows()] == ["completed"]


async def test_a_reload_is_announced_to_sync_sessions(tmp_path) -> None:
    from trio_websocket import open_websocket_url

    from commandlang.sync.tokens import issue_token

    async with running_service(tmp_path, sync_secret="sync-secret-5d2e") as run:
        token = issue_token("sync-secret-5d2e", "agent-1", ["*"], 60)
        async with open_websocket_url(f"ws://127.0.0.1:{run.ports.sync}/sync") as ws:
            await ws.send_message(
                json.dumps({"type": "hello", "token": token, "subscribe": ["*"], "resume_after": None})
            )
            assert json.loads(await ws.get_message())["type"] == "snapshot"
            run.registry.write_text(REGISTRY + "  hello:\n    summary: Say hello\n")
            with trio.fail_after(5):
                notice = json.loads(await ws.get_message())
        assert notice == {"type": "registry", "version": run.service.reloader.holder.current.version}


async def test_a_second_stop_skips_the_drain_and_cancels_durably(tmp_path) -> None:
    async with running_service(tmp_path, drain_timeout=30.0) as run:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(run.webhook, "/slow 1 delay=20", conversation="forced"))
            with trio.fail_after(5):
                while not any(r["status"] == "executing" for r in await run.rows()):
                    await trio.sleep(0.02)
            run.service.stop()
            await trio.sleep(0.1)
            run.service.stop()  # impatient operator: the second signal
            with trio.fail_after(10):
                await run.service.stopped.wait()
            nursery.cancel_scope.cancel()
        assert [(r["status"], r["error"]["code"]) for r in await run.rows()] == [("cancelled", "cancelled")]


async def test_a_typo_is_rejected_not_failed_and_offers_the_corrected_command(tmp_path) -> None:
    async with running_service(tmp_path) as run:
        data = (await run.webhook("/stauts 5", conversation="typo")).json()
        assert data["command"]["status"] == "rejected" and data["command"]["error"]["code"] == "unknown_command"
        offered = [q["payload"] for q in data["replies"][0]["quick_replies"]]
        assert offered[0] == "/status 5"
        fixed = (await run.webhook(offered[0], conversation="typo")).json()  # one tap runs it
        assert fixed["command"]["status"] == "completed"
        metrics = (await run.client.get(f"{run.base}/metrics")).text
        assert 'commandlang_commands_total{command="unknown",status="rejected"} 1' in metrics


async def test_a_webhook_redelivery_runs_once_and_says_it_is_a_duplicate(tmp_path) -> None:
    """A script that retries after losing the answer can tell "already taken" from "not a command"."""
    async with running_service(tmp_path, REGISTRY) as run:
        first = (await run.webhook("/status 5", message_id="m-retry")).json()
        assert first["command"]["status"] == "completed" and "duplicate" not in first
        again = (await run.webhook("/status 5", message_id="m-retry")).json()
        assert again == {"command": None, "replies": [], "duplicate": True}
        chat = (await run.webhook("hello there", message_id="m-chat")).json()
        assert chat == {"command": None, "replies": []}
        assert len([row for row in await run.rows() if row["command"] == "status"]) == 1


async def test_sync_token_without_a_sign_in_channel_says_why(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        answer = await run.client.post(
            f"{run.base}/sync/token", json={"conversation": "c1"}, headers={"authorization": "Bearer x"}
        )
        assert answer.status_code == 501
        assert "commandlang token" in answer.json()["error"] and "GENESYS_CLIENT_ID" in answer.json()["error"]
