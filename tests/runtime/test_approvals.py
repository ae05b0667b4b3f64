"""Approvals over the webhook, against the real service: asked, approved by a supervisor and run; denied
with a reason; timed out; refused to the requester and to someone without the role; surviving a
restart; asked on one replica and approved on another; after a confirmation. The timeout, under
Trio's MockClock, is in test_approval_timeout.py."""

from __future__ import annotations

import functools
import time

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from ..redis_server import RedisServer
from .approval_support import REGISTRY, approval_code, ask_credit, calls
from .support import QUESTION_KEY, CallbackReceiver, running_service


async def test_asked_then_approved_by_a_supervisor_and_run(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        asked = await ask_credit(run)
        command, (reply,) = asked["command"], asked["replies"]
        assert "waiting for approval by a supervisor" in reply["text"]
        assert command["args"] == {"order": 7, "amount": "150", "card": "****1111"}  # masked, as always
        assert command["approval"]["roles"] == ["supervisor"] and command["approval"]["requested_by"] == "agent-1"
        assert command["approval"]["expires_at"] == pytest.approx(time.time() + 1800, abs=30)
        assert calls(run) == 0  # nothing runs before the yes

        approved = (
            await run.webhook(
                f"/approve {approval_code(asked)}", conversation="sup-room", participant="sup-1", role="supervisor"
            )
        ).json()
        assert approved["command"]["id"] == command["id"] and approved["command"]["status"] == "completed"
        texts = [r["text"] for r in approved["replies"]]
        assert texts == ["Approved: /credit asked by agent-1 runs now.", "Credited 150 on order 7"]
        assert calls(run) == 1
        (row,) = await run.rows()
        assert row["status"] == "completed" and row["args"]["card"] == "****1111"
        assert row["approval"]["decision"] == "approved" and row["approval"]["decided_by"] == "sup-1"
        assert [e["status"] for e in await run.events()] == ["awaiting_approval", "pending", "executing", "completed"]
        again = (
            await run.webhook(f"/approve {command['approval']['id']}", participant="sup-2", role="supervisor")
        ).json()
        assert "Nothing is waiting for approval" in again["replies"][0]["text"] and calls(run) == 1
        metrics = (await run.client.get(f"{run.base}/metrics")).text
        assert 'commandlang_approvals_total{command="credit",outcome="approved"} 1.0' in metrics
        assert 'commandlang_approval_seconds_count{command="credit",outcome="approved"} 1.0' in metrics


async def test_below_the_condition_it_runs_at_once(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        answer = (await run.webhook("/credit 7 amount=20")).json()
        assert answer["command"]["status"] == "completed" and "approval" not in answer["command"]
        assert calls(run) == 1


async def test_denied_with_a_reason(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        code = approval_code(await ask_credit(run))
        denied = (
            await run.webhook(f"/deny {code} over the monthly limit", participant="sup-1", role="supervisor")
        ).json()
        assert denied["command"]["status"] == "rejected"
        assert denied["command"]["error"] == {
            "code": "approval_denied",
            "message": "Denied by sup-1: over the monthly limit",
        }
        assert denied["command"]["approval"]["reason"] == "over the monthly limit"
        assert "will not run" in denied["replies"][0]["text"] and calls(run) == 0
        late = (await run.webhook(f"/approve {code}", participant="sup-2", role="supervisor")).json()
        assert late["command"] is None and calls(run) == 0


async def test_the_requester_can_never_approve_their_own_command(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        code = approval_code(await ask_credit(run))
        # not even under a supervisor's role: the person who asked is the one who may not answer
        for role in ("agent", "supervisor"):
            mine = (await run.webhook(f"/approve {code}", participant="agent-1", role=role)).json()
            assert mine["command"] is None
            assert "You asked for /credit yourself" in mine["replies"][0]["text"]
        assert calls(run) == 0
        (row,) = await run.rows()
        assert row["status"] == "awaiting_approval"  # still waiting for someone else
        ok = (await run.webhook(f"/approve {code}", participant="sup-1", role="supervisor")).json()
        assert ok["command"]["status"] == "completed"


async def test_an_approver_without_the_role_is_refused(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        code = approval_code(await ask_credit(run))
        other = (await run.webhook(f"/approve {code}", participant="agent-2", role="agent")).json()
        assert other["command"] is None and calls(run) == 0
        assert other["replies"][0]["text"] == "Only a supervisor may approve /credit; you are an agent."
        denied = (await run.webhook(f"/deny {code} no", participant="agent-2", role="agent")).json()
        assert denied["command"] is None and (await run.rows())[0]["status"] == "awaiting_approval"


async def test_a_webhook_role_must_be_declared(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        answer = await run.webhook("/credit 7 amount=5", role="boss")
        assert answer.status_code == 400
        assert answer.json()["error"].startswith("unknown role 'boss': role must be one of")


async def test_a_restart_while_waiting_keeps_the_approval(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY, question_key=QUESTION_KEY) as run:
        asked = await ask_credit(run)
    async with running_service(tmp_path, REGISTRY, question_key=QUESTION_KEY) as run:
        assert "interrupted" not in run.out.getvalue()  # waiting is not running: nothing to recover
        approved = (
            await run.webhook(f"/approve {approval_code(asked)}", participant="sup-1", role="supervisor")
        ).json()
        assert approved["command"]["id"] == asked["command"]["id"]
        assert approved["command"]["status"] == "completed" and calls(run) == 1


async def test_asked_on_one_replica_and_approved_on_the_other(tmp_path, redis: RedisServer) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    async with (
        running_service(tmp_path / "a", REGISTRY, redis_url=redis.url, replica_id="a", question_key=QUESTION_KEY) as a,
        running_service(tmp_path / "b", REGISTRY, redis_url=redis.url, replica_id="b", question_key=QUESTION_KEY) as b,
    ):
        code = approval_code(await ask_credit(a))
        results: list[dict] = []

        async def approve(run, who: str) -> None:  # noqa: ANN001
            results.append((await run.webhook(f"/approve {code}", participant=who, role="supervisor")).json())

        async with trio.open_nursery() as nursery:  # two supervisors, one on each replica, at once
            nursery.start_soon(approve, b, "sup-1")
            nursery.start_soon(approve, a, "sup-2")
        ran = [r for r in results if r["command"] is not None]
        assert len(ran) == 1 and ran[0]["command"]["status"] == "completed"  # answered once
        assert calls(a) + calls(b) == 1


async def test_a_confirmed_command_then_waits_for_its_approver(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        question = (await run.webhook("/wipe 5")).json()
        assert question["command"]["status"] == "awaiting_confirmation"  # the requester confirms first
        token = question["replies"][0]["quick_replies"][0]["payload"].split()[1]
        asked = (await run.webhook(f"/confirm {token}")).json()
        assert asked["command"]["status"] == "awaiting_approval" and calls(run) == 0
        assert asked["command"]["id"] == question["command"]["id"]  # the same record moves on
        assert "waiting for approval by a supervisor" in asked["replies"][0]["text"]
        done = (await run.webhook(f"/approve {approval_code(asked)}", participant="sup-1", role="supervisor")).json()
        assert done["command"]["status"] == "completed" and calls(run) == 1


async def test_with_a_callback_url_the_requester_hears_the_outcome_in_their_conversation(tmp_path) -> None:
    receiver = CallbackReceiver()

    async def received(count: int) -> list[tuple[str, str]]:
        with trio.fail_after(5):
            while len(receiver.received) < count:
                await receiver.changed.wait()
                receiver.changed = trio.Event()
        return [(payload["conversation_id"], payload["reply"]["text"]) for payload, _, _ in receiver.received]

    async with trio.open_nursery() as nursery:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = config.errorlog = None
        binds = await nursery.start(functools.partial(serve, receiver, config))
        async with running_service(tmp_path, REGISTRY, webhook_callback=f"{binds[0]}/hook") as run:
            assert (await run.webhook("/credit 7 amount=150", conversation="c-req")).status_code == 202
            (waiting,) = await received(1)
            code = receiver.received[0][0]["reply"]["quick_replies"][0]["payload"].split()[1]
            assert waiting[0] == "c-req" and "waiting for approval by a supervisor" in waiting[1]
            await run.webhook(f"/approve {code}", conversation="c-sup", participant="sup-1", role="supervisor")
            # in order within a conversation; the two conversations go out on their own shards
            assert sorted((await received(4))[1:]) == [
                ("c-req", "Credited 150 on order 7"),  # the requester's conversation hears the outcome
                ("c-sup", "Approved: /credit asked by agent-1 runs now."),
                ("c-sup", "Credited 150 on order 7"),
            ]
        nursery.cancel_scope.cancel()


async def test_the_approvers_message_is_settled_and_a_registry_change_while_waiting_rejects_it(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY) as run:
        code = approval_code(await ask_credit(run))
        no_code = (await run.webhook("/approve", participant="sup-1", role="supervisor")).json()
        assert no_code["replies"][0]["text"] == "To answer an approval, type /approve followed by its approval code."
        # the registry changes under the request: `card` is no longer an argument, so its text no longer binds
        run.registry.write_text(REGISTRY.replace("      card: {type: str, sensitive: true}\n", ""))
        with trio.fail_after(5):
            while "card" in str(run.service.pipeline.generations.current.registry.spec.commands["credit"].args):
                await trio.sleep(0.05)
        answer = (await run.webhook(f"/approve {code}", participant="sup-1", role="supervisor")).json()
        assert answer["command"]["status"] == "rejected" and answer["command"]["error"]["code"] == "unknown_option"
        assert answer["command"]["approval"]["decision"] == "approved" and calls(run) == 0
        async with run._store() as store:
            assert await store.release_unsettled() == 0  # every claim settled, the approver's included


SUPERVISOR_ONLY = (
    REGISTRY
    + """
  escalations:
    summary: The open escalations (supervisors only)
    roles: [supervisor]
    reply:
      success: {text: "No open escalations"}
"""
)


async def test_a_webhook_supervisor_is_an_agent_too_and_holds_its_own_role(tmp_path) -> None:
    """A declared role on the webhook (`role: supervisor`) may run what agents may and what its own role
    may; /help lists both; an agent still may not run a supervisor-only command."""
    async with running_service(tmp_path, SUPERVISOR_ONLY) as run:
        ran = (await run.webhook("/credit 7 amount=20", participant="sup-1", role="supervisor")).json()
        assert ran["command"]["status"] == "completed" and ran["command"]["role"] == "supervisor"
        own = (await run.webhook("/escalations", participant="sup-1", role="supervisor")).json()
        assert own["command"]["status"] == "completed" and own["replies"][0]["text"] == "No open escalations"
        listed = (await run.webhook("/help", participant="sup-1", role="supervisor")).json()["replies"][0]["text"]
        assert "/credit" in listed and "/escalations" in listed
        refused = (await run.webhook("/escalations", participant="agent-1", role="agent")).json()
        assert refused["command"]["status"] == "rejected" and refused["command"]["error"]["code"] == "not_allowed"
        agent_help = (await run.webhook("/help", participant="agent-1", role="agent")).json()["replies"][0]["text"]
        assert "/credit" in agent_help and "/escalations" not in agent_help
