"""One message's way to its final state (runtime/lifecycle.py), without queues, HTTP servers or real sleeps:
the in-memory store (tests/runtime/memory_store.py), a real registry and executor whose backend is an
`httpx.MockTransport`, and Trio's autojumping MockClock, so a 5-second backend call takes no real time."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest
import trio

from commandlang import load_registry
from commandlang.execution.executor import Executor
from commandlang.replies.render import ReplyRenderer
from commandlang.replies.scrub import Scrubber
from commandlang.replies.templates import TemplateEngine
from commandlang.runtime.confirmations import ConfirmationBook
from commandlang.runtime.generation import Generation, GenerationHolder
from commandlang.runtime.lifecycle import SOMETHING_WENT_WRONG, CommandLifecycle
from commandlang.runtime.messages import InboundMessage, Job, OutboundReply
from commandlang.runtime.metrics import Metrics
from commandlang.runtime.store import CommandRecord, StateEvent

from tests.runtime.memory_store import MemoryStore

pytestmark = pytest.mark.mock_clock

REGISTRY = """
version: 1
backends:
  demo:
    base_url: http://backend.test
    timeout: 30s
    retry: {attempts: 1}
commands:
  slow:
    summary: Wait on the backend for n seconds
    args:
      n: {type: int, positional: true, required: true}
    request: {backend: demo, method: GET, path: "/slow/{n}"}
    ack: "Working on {{ args.n }}..."
    timeout: 2s
    reply:
      success: {text: "Slow {{ args.n }} done"}
  note:
    summary: A command without a backend
    args:
      text: {type: str, positional: true, required: true}
"""


def durable(store: MemoryStore, record: CommandRecord) -> bool:
    """The store holds this version of the record, or a later one (two changes committed together)."""
    stored = store.state.records.get(record.id)
    return stored is not None and stored.version >= record.version


class Events:
    """The sync hub's seat: checks each event is already durable and already on the job when published."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.published: list[StateEvent] = []
        self.jobs: list[Job] = []

    def publish(self, event: StateEvent) -> None:
        assert durable(self.store, event.record)  # durable first
        for job in self.jobs:
            if job.record is not None and job.record.id == event.record.id:
                assert job.record == event.record  # then the job
        self.published.append(event)


class Sink:
    """Where replies go once nobody waits for them."""

    def __init__(self) -> None:
        self.sent: list[OutboundReply] = []

    async def send(self, outbound: OutboundReply) -> None:
        self.sent.append(outbound)


class WatchedJob(Job):
    """A job that checks the store holds every state before the job is told of it."""

    def __init__(self, store: MemoryStore, message: InboundMessage, sink: Sink | None = None) -> None:
        super().__init__(message, sink)
        self._store = store
        self.seen: list[str] = []

    def update(self, record: CommandRecord) -> None:
        assert durable(self._store, record)
        self.seen.append(record.status)
        super().update(record)


class Harness:
    def __init__(self, lifecycle: CommandLifecycle, store: MemoryStore, events: Events) -> None:
        self.lifecycle, self.store, self.events = lifecycle, store, events
        self.count = 0

    def job(self, text: str, sink: Sink | None = None) -> WatchedJob:
        self.count += 1
        message = InboundMessage(
            channel="webhook",
            conversation_id="c1",
            message_id=f"m{self.count}",
            participant_id="agent-1",
            role="agent",
            text=text,
            timestamp=0.0,
        )
        job = WatchedJob(self.store, message, sink)
        self.events.jobs.append(job)
        return job


async def backend(request: httpx.Request) -> httpx.Response:
    """GET /slow/N answers after N seconds (of the MockClock)."""
    await trio.sleep(float(request.url.path.rsplit("/", 1)[-1]))
    return httpx.Response(200, json={"ok": True})


@asynccontextmanager
async def harness(tmp_path: Path, store: MemoryStore | None = None) -> AsyncIterator[Harness]:
    path = tmp_path / "commands.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    registry = load_registry(path, env={})
    engine = TemplateEngine(registry.spec.template_dir)
    renderer = ReplyRenderer(engine, registry.spec.template_dir, scrubber=Scrubber.for_registry(registry.spec))
    store = store or MemoryStore()
    events = Events(store)
    async with Executor(registry.spec, engine, transport_factory=lambda _: httpx.MockTransport(backend)) as executor:
        holder = GenerationHolder(Generation(registry, executor, renderer, "v1"))
        lifecycle = CommandLifecycle(
            holder,
            store,
            events,
            Metrics(),
            ConfirmationBook(store, ttl=300, limit=10, clock=trio.current_time),
            default_timeout=30.0,
            clock=trio.current_time,
        )
        yield Harness(lifecycle, store, events)


def texts(replies: list[object]) -> list[str]:
    return [reply.text for reply in replies]  # type: ignore[attr-defined]


async def test_a_command_goes_pending_executing_completed_each_state_durable_before_the_job_sees_it(tmp_path) -> None:
    async with harness(tmp_path) as h:
        job = h.job("/slow 1")
        await h.lifecycle.process(job)
        assert job.seen == ["pending", "executing", "completed"] and job.done.is_set()
        assert [e.record.status for e in h.events.published] == ["pending", "executing", "completed"]
        assert [e.seq for e in h.events.published] == [1, 2, 3]
        assert texts(job.replies) == ["Slow 1 done"]  # answered in time: the ack was never shown
        assert (await h.store.get(job.record.id)).status == "completed"


async def test_without_an_ack_pending_and_executing_are_one_commit(tmp_path) -> None:
    async with harness(tmp_path) as h:
        job = h.job("/note hello")
        await h.lifecycle.process(job)
        assert [e.record.status for e in h.events.published] == ["pending", "executing", "completed"]
        assert job.record.status == "completed" and h.lifecycle.running_ids() == set()


async def test_the_ack_is_sent_only_when_the_answer_is_late(tmp_path) -> None:
    async with harness(tmp_path) as h, trio.open_nursery() as nursery:
        sink = Sink()
        job = h.job("/slow 1", sink)
        nursery.start_soon(h.lifecycle.process, job)
        assert await job.wait(0.5) is False  # the channel stops waiting before the backend answers
        assert h.lifecycle.running_ids() == {job.record.id}
        assert texts(job.detach()) == ["Working on 1..."]  # late: the ack stands in for the answer
        assert await job.wait(5) is True
        assert texts([out.reply for out in sink.sent]) == ["Slow 1 done"]  # the answer follows through the sink


async def test_a_command_past_its_deadline_ends_timed_out(tmp_path) -> None:
    async with harness(tmp_path) as h:
        job = h.job("/slow 5")  # the backend takes 5 s, the command's timeout is 2 s
        start = trio.current_time()
        await h.lifecycle.process(job)
        assert trio.current_time() - start == pytest.approx(2.0, abs=0.1)
        assert job.record.status == "timed_out" and job.seen == ["pending", "executing", "timed_out"]


async def test_a_syntax_error_is_answered_and_recorded_rejected(tmp_path) -> None:
    async with harness(tmp_path) as h:
        job = h.job('/note "unclosed')
        assert h.lifecycle.is_command(job.message.text)  # a broken command still gets an answer
        await h.lifecycle.process(job)
        assert job.record.status == "rejected" and job.record.error["code"] == "unclosed_quote"
        assert job.seen == ["rejected"] and len(job.replies) == 1
        assert not h.lifecycle.is_command("hello, just chatting")


async def test_a_store_outage_mid_command_answers_something_went_wrong_and_the_next_command_runs(tmp_path) -> None:
    async with harness(tmp_path) as h, trio.open_nursery() as nursery:
        job = h.job("/slow 1")
        nursery.start_soon(h.lifecycle.process, job)
        await trio.sleep(0.5)  # executing, the backend call under way
        h.store.outage = True
        await job.done.wait()
        assert texts(job.replies)[-1] == SOMETHING_WENT_WRONG  # never unanswered
        assert job.record.status == "executing"  # the final save failed too: recovery marks it interrupted
        h.store.outage = False
        nxt = h.job("/note again")
        await h.lifecycle.process(nxt)  # the lifecycle goes on
        assert nxt.record.status == "completed"
        h.events.jobs.clear()  # the restart's change belongs to no job
        assert await h.lifecycle.recover() == 1
        assert (await h.store.get(job.record.id)).error["code"] == "interrupted"


async def test_a_cancelled_command_ends_cancelled_durably_and_cancellation_propagates(tmp_path) -> None:
    async with harness(tmp_path) as h:
        job = h.job("/slow 1")
        with trio.move_on_after(0.5) as scope:
            await h.lifecycle.process(job)
        assert scope.cancelled_caught  # trio.Cancelled was re-raised, not swallowed
        assert job.record.status == "cancelled" and (await h.store.get(job.record.id)).status == "cancelled"


async def test_through_the_pipeline_a_full_conversation_queue_answers_busy_and_releases_the_claim(tmp_path) -> None:
    from commandlang.runtime.pipeline import BUSY_TEXT, Pipeline, PipelineConfig

    async with harness(tmp_path) as h, trio.open_nursery() as nursery:
        lifecycle = h.lifecycle
        pipeline = Pipeline(
            lifecycle.generations,
            h.store,
            h.events,
            Metrics(),
            PipelineConfig(conversation_queue=1),
            clock=trio.current_time,
        )
        await nursery.start(pipeline.run)
        running, queued, second = (h.job("/slow 1").message for _ in range(3))
        await pipeline.submit(running)
        with trio.fail_after(5):  # the worker has taken it: the queue holds only what comes next
            while pipeline.queue_depth():
                await trio.sleep(0.001)
        await pipeline.submit(queued)
        refused = await pipeline.submit(second)  # one runs, c1's queue holds one more: the newest is refused
        assert refused.done.is_set() and refused.refused
        assert texts(refused.replies) == [BUSY_TEXT]
        assert await h.store.claim_message("webhook", "c1", second.message_id, ttl=60)  # released: "try again" works
        assert await pipeline.drain(10) is True
        pipeline.cancel_running()
        with trio.fail_after(1):
            await pipeline.stopped.wait()
