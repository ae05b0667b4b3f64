"""Approvals through the pipeline with the in-memory store and Trio's autojumping MockClock: one nobody answers
is ended `rejected` (`approval_timeout`) by the pipeline's own sweep once its 30 minutes have passed, and
the requester's channel hears why; the requester is known by their person id across conversations, and
an agent holding the supervisor role besides (a channel's extra roles) may approve."""

from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import trio

from commandlang import load_registry
from commandlang.execution.executor import Executor
from commandlang.replies.render import ReplyRenderer
from commandlang.replies.templates import TemplateEngine
from commandlang.runtime.generation import Generation, GenerationHolder
from commandlang.runtime.messages import InboundMessage, OutboundReply
from commandlang.runtime.metrics import Metrics
from commandlang.runtime.pipeline import Pipeline
from commandlang.runtime.store import StateEvent

from .memory_store import MemoryStore

pytestmark = [pytest.mark.mock_clock, pytest.mark.deadline(4 * 3600)]  # mock time: the half hour passes at once

REGISTRY = """
version: 1
settings: {roles: [supervisor]}
commands:
  credit:
    summary: A goodwill credit
    args:
      amount: {type: decimal, positional: true, required: true}
    approve: {roles: [supervisor]}
"""


class Sink:
    """The requester's channel's late replies."""

    def __init__(self) -> None:
        self.sent: list[OutboundReply] = []

    async def send(self, outbound: OutboundReply) -> None:
        self.sent.append(outbound)


class Events:
    """The sync hub's seat, and the store it publishes for."""

    def __init__(self) -> None:
        self.store = MemoryStore(clock=trio.current_time)
        self.published: list[StateEvent] = []

    def publish(self, event: StateEvent) -> None:
        self.published.append(event)


def message(text: str, participant: str = "agent-1", role: str = "agent", n: int = 1, **more: Any) -> InboundMessage:
    return InboundMessage("webhook", more.pop("conversation", "c1"), f"m{n}", participant, role, text, 0.0, **more)


@asynccontextmanager
async def pipeline_on(
    tmp_path: Path, events: Events, sink: Sink, metrics: Metrics, registry_text: str = REGISTRY
) -> AsyncIterator[Pipeline]:
    """The pipeline running on the in-memory store (`events.store`), its late replies going to `sink`."""
    path = tmp_path / "commands.yaml"
    path.write_text(registry_text, encoding="utf-8")
    registry = load_registry(path, env={})
    async with (
        Executor(registry.spec, TemplateEngine(None)) as executor,
        trio.open_nursery() as nursery,
    ):
        holder = GenerationHolder(Generation(registry, executor, ReplyRenderer(), "v1"))
        pipeline = Pipeline(
            holder, events.store, events, metrics, clock=trio.current_time, late_replies=lambda channel: sink
        )
        await nursery.start(pipeline.run)
        yield pipeline
        nursery.cancel_scope.cancel()


async def test_an_unanswered_approval_times_out_rejected_and_the_requester_is_told(tmp_path: Path) -> None:
    events, sink, metrics = Events(), Sink(), Metrics()
    store = events.store
    async with pipeline_on(tmp_path, events, sink, metrics) as pipeline:
        asked = await pipeline.submit(message("/credit 250"))
        await asked.done.wait()
        assert asked.record is not None and asked.record.status == "awaiting_approval"
        code = asked.record.approval["id"]  # type: ignore[index]

        await trio.sleep(29 * 60)
        assert (await store.get(asked.record.id)).status == "awaiting_approval"  # type: ignore[union-attr]
        await trio.sleep(2 * 60)  # past the half hour: a sweep (every 30 s) has ended it
        ended = await store.get(asked.record.id)
        assert ended is not None and ended.status == "rejected"
        assert ended.error == {"code": "approval_timeout", "message": "Nobody approved it within 30 minutes."}
        assert ended.approval is not None and ended.approval["decision"] == "timed_out"
        assert [e.record.status for e in events.published] == ["awaiting_approval", "rejected"]
        (told,) = sink.sent
        assert told.conversation_id == "c1" and told.command_id == asked.record.id
        assert told.reply.text == "Your /credit was not run. Nobody approved it within 30 minutes."

        late = await pipeline.submit(message(f"/approve {code}", "sup-1", "supervisor", n=2))
        await late.done.wait()
        assert late.record is None and "Nothing is waiting" in late.replies[0].text
        assert 'commandlang_approvals_total{command="credit",outcome="timed_out"} 1.0' in metrics.render()
        assert 'commandlang_approval_seconds_bucket{command="credit",le="1800.0",outcome="timed_out"} 0.0' in (
            metrics.render()
        )


async def test_the_requester_is_known_across_conversations_and_extra_roles_may_approve(tmp_path: Path) -> None:
    events, sink, metrics = Events(), Sink(), Metrics()
    async with pipeline_on(tmp_path, events, sink, metrics) as pipeline:
        asked = await pipeline.submit(message("/credit 250", "p-in-c1", metadata={"user_id": "u-7"}))
        await asked.done.wait()
        code = asked.record.approval["id"]  # type: ignore[union-attr]
        # the same person (user u-7), another conversation, another participant id, a supervisor too
        same = message(f"/approve {code}", "p-in-c2", n=2, conversation="c2", metadata={"user_id": "u-7"})
        refused = await pipeline.submit(replace(same, roles=("supervisor",)))
        await refused.done.wait()
        assert refused.record is None and "yourself" in refused.replies[0].text
        other = message(f"/approve {code}", "p-sup", n=3, conversation="c2", roles=("supervisor",))
        approved = await pipeline.submit(other)  # an agent holding the supervisor role besides
        await approved.done.wait()
        assert approved.record is not None and approved.record.status == "completed"
        assert approved.record.approval is not None and approved.record.approval["requested_by"] == "u-7"  # the person
        assert [r.text for r in approved.replies] == ["Approved: /credit asked by u-7 runs now.", "Done: /credit"]
        (told,) = sink.sent  # the requester's conversation, c1
        assert told.conversation_id == "c1" and told.reply.text == "Done: /credit"
