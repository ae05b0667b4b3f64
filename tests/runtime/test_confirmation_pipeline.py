"""Confirmation records through the pipeline with the in-memory store and Trio's autojumping MockClock: a
question nobody answers ends its `awaiting_confirmation` record `rejected` (`confirmation_expired`) by
the pipeline's own sweep, and a confirmed command that needs an approver moves the same record on
through every waiting state."""

from pathlib import Path

import pytest
import trio

from commandlang.runtime.audit import audit_entries
from commandlang.runtime.metrics import Metrics

from .test_approval_pipeline import Events, Sink, message, pipeline_on

pytestmark = [pytest.mark.mock_clock, pytest.mark.deadline(4 * 3600)]  # mock time: the minutes pass at once

REGISTRY = """
version: 1
settings: {roles: [supervisor]}
commands:
  wipe:
    summary: Something that needs a yes
    args:
      order: {type: int, positional: true, required: true}
    confirm: "Wipe order {{ args.order }}?"
  credit:
    summary: A goodwill credit, confirmed then approved
    args:
      amount: {type: decimal, positional: true, required: true}
    confirm: "Credit {{ args.amount }}?"
    approve: {roles: [supervisor]}
"""


async def test_an_unanswered_question_ends_its_record_rejected_by_the_sweep(tmp_path: Path) -> None:
    events, sink, metrics = Events(), Sink(), Metrics()
    async with pipeline_on(tmp_path, events, sink, metrics, REGISTRY) as pipeline:
        asked = await pipeline.submit(message("/wipe 5"))
        await asked.done.wait()
        assert asked.record is not None and asked.record.status == "awaiting_confirmation"
        assert asked.record.confirmation == {"asked_of": "agent-1", "expires_at": asked.record.created_at + 300}
        await trio.sleep(4 * 60)
        assert (await events.store.get(asked.record.id)).status == "awaiting_confirmation"  # type: ignore[union-attr]
        await trio.sleep(2 * 60)  # past the five minutes: a sweep (every 30 s) has ended it
        ended = await events.store.get(asked.record.id)
        assert ended is not None and ended.status == "rejected"
        assert ended.error == {"code": "confirmation_expired", "message": "Nobody answered the question in time."}
        assert [e.record.status for e in events.published] == ["awaiting_confirmation", "rejected"]
        assert 'commandlang_commands_total{command="wipe",status="rejected"} 1' in metrics.render()


async def test_a_confirmed_command_waits_for_its_approver_on_the_same_record(tmp_path: Path) -> None:
    events, sink, metrics = Events(), Sink(), Metrics()
    async with pipeline_on(tmp_path, events, sink, metrics, REGISTRY) as pipeline:
        asked = await pipeline.submit(message("/credit 250"))
        await asked.done.wait()
        assert asked.record is not None
        token = asked.replies[0].quick_replies[0].payload.split()[1]
        confirmed = await pipeline.submit(message(f"/confirm {token}", n=2))
        await confirmed.done.wait()
        assert confirmed.record is not None and confirmed.record.id == asked.record.id
        code = confirmed.record.approval["id"]  # type: ignore[index]
        approved = await pipeline.submit(message(f"/approve {code}", participant="sup-1", role="supervisor", n=3))
        await approved.done.wait()
        assert [(e.record.id, e.record.status) for e in events.published] == [
            (asked.record.id, status)
            for status in ("awaiting_confirmation", "awaiting_approval", "pending", "executing", "completed")
        ]
        # the audit trail has the approval's steps only, the request by the requester
        trail = [(e.event, e.by) for e in audit_entries(await events.store.events_since(0.0, 100))]
        assert trail == [("requested", "agent-1"), ("approved", "sup-1")]
