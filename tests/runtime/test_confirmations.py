"""Confirmation questions: answered only with their token, by who was asked, where they were asked; they expire
and there is a bound on how many wait."""

from __future__ import annotations

import time

from tests.runtime.support import REGISTRY, running_service

CONFIRMED = (
    REGISTRY
    + """
  wipe:
    summary: Something that needs a yes
    args:
      order: {type: int, positional: true, required: true}
    request: {backend: demo, method: GET, path: "/orders/{order}"}
    confirm: "Wipe order {{ args.order }}?"
"""
)


def token_of(answer: dict) -> str:
    payload = answer["replies"][0]["quick_replies"][0]["payload"]
    assert payload.startswith("/confirm ")
    return payload.split()[1]


def wiped(run) -> int:  # noqa: ANN001
    return len([r for r in run.backend.requests if r.path.endswith("/orders/5")])


async def test_confirm_needs_the_token_the_question_showed(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED) as run:
        token = token_of((await run.webhook("/wipe 5", conversation="q1")).json())
        for guess in ("/confirm", "/confirm 0000000000", f"/confirm {token[:-1]}"):
            answer = (await run.webhook(guess, conversation="q1")).json()
            assert answer["command"] is None and wiped(run) == 0, guess
        assert "type /confirm followed by the code" in answer["replies"][0]["text"]
        done = (await run.webhook(f"/confirm {token}", conversation="q1")).json()
        assert done["command"]["status"] == "completed" and wiped(run) == 1
        again = (await run.webhook(f"/confirm {token}", conversation="q1")).json()  # answered once
        assert again["command"] is None and wiped(run) == 1


async def test_only_the_participant_asked_in_that_conversation_can_answer(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED) as run:
        token = token_of((await run.webhook("/wipe 5", conversation="q2", participant="agent-1")).json())
        other_person = (await run.webhook(f"/confirm {token}", conversation="q2", participant="agent-2")).json()
        other_place = (await run.webhook(f"/confirm {token}", conversation="q3", participant="agent-1")).json()
        assert other_person["command"] is None and other_place["command"] is None and wiped(run) == 0
        assert "nothing waiting" in other_person["replies"][0]["text"]


async def test_an_unanswered_question_expires_and_is_swept(tmp_path) -> None:
    now = [time.time()]
    async with running_service(tmp_path, CONFIRMED, clock=lambda: now[0]) as run:
        token = token_of((await run.webhook("/wipe 5", conversation="q4")).json())
        pipeline = run.service.pipeline
        assert await pipeline.expire_questions() == 0  # still in time
        now[0] += 301  # five minutes and a second
        assert await pipeline.expire_questions() == 1
        late = (await run.webhook(f"/confirm {token}", conversation="q4")).json()
        assert late["command"] is None and wiped(run) == 0
        # it never ran: rejected, not failed, with why, for the message that asked
        assert [(r["command"], r["status"], r["error"]["code"], r["args"]) for r in await run.rows()] == [
            ("wipe", "rejected", "confirmation_expired", {"order": 5})
        ]


async def test_past_the_bound_the_oldest_question_is_forgotten(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED) as run:
        pipeline = run.service.pipeline
        pipeline.confirmations.limit = 3
        tokens = [token_of((await run.webhook("/wipe 5", conversation=f"b{i}")).json()) for i in range(4)]
        oldest = (await run.webhook(f"/confirm {tokens[0]}", conversation="b0")).json()
        assert oldest["command"] is None and wiped(run) == 0
        newest = (await run.webhook(f"/confirm {tokens[3]}", conversation="b3")).json()
        assert newest["command"]["status"] == "completed" and wiped(run) == 1
        assert (
            'commandlang_messages_refused_total{reason="confirmation_evicted"} 1'
            in (await run.client.get(f"{run.base}/metrics")).text
        )


async def test_a_declined_question_ends_its_command_rejected(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED) as run:
        token = token_of((await run.webhook("/wipe 5", conversation="d1")).json())
        answer = (await run.webhook(f"/cancel {token}", conversation="d1")).json()
        assert answer["replies"][0]["text"] == "Cancelled: /wipe was not run."
        assert (answer["command"]["status"], answer["command"]["error"]["code"]) == ("rejected", "declined")
        assert wiped(run) == 0
        metrics = (await run.client.get(f"{run.base}/metrics")).text
        assert 'commandlang_commands_total{command="wipe",status="rejected"} 1' in metrics


async def test_a_replaced_question_ends_rejected_and_the_new_one_still_runs(tmp_path) -> None:
    async with running_service(tmp_path, CONFIRMED) as run:
        first = token_of((await run.webhook("/wipe 5", conversation="r1")).json())
        second = token_of((await run.webhook("/wipe 5", conversation="r1")).json())
        assert (await run.webhook(f"/confirm {first}", conversation="r1")).json()["command"] is None  # gone
        assert (await run.webhook(f"/confirm {second}", conversation="r1")).json()["command"]["status"] == "completed"
        assert sorted((r["status"], (r["error"] or {}).get("code")) for r in await run.rows()) == [
            ("completed", None),
            ("rejected", "confirmation_replaced"),
        ]
