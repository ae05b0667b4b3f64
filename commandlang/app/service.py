"""`commandlang serve`: one Trio process, one root nursery, every task under it.

Start-up order: the store, the channels built (`commandlang.channels.CHANNELS`,
each from its own settings; Genesys's token provider must exist before the
registry's backends do), the registry (linted; a broken one stops the start
with its findings), the pipeline (which first marks commands a crash left
running as `interrupted`), the sync hub, the channels started, then the
HTTP listener with every channel's routes; each prints what it loaded or where it listens. Shutdown (SIGTERM,
SIGINT, or `Service.stop`): stop taking messages, let running commands
finish up to the drain deadline, cancel the rest (`cancelled`, durably),
close sync sessions, flush and close the store. A second signal skips the
drain.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TextIO

import trio

from ..channels import CHANNELS
from ..resources import sample_registry_path
from ..sync import SyncHub
from .agents import AgentRoutes
from ..runtime.config import ServiceConfig
from ..runtime.generation import GenerationHolder, build_generation
from ..runtime.http import BodyBudget, HttpApp, Request, Response, json_response, serve_http, text_response
from ..runtime.listener import ConnectionGate, connection_limits, descriptor_room
from ..runtime.messages import (
    Channel,
    ChannelContext,
    EventSink,
    InboundMessage,
    Job,
    LateReplySource,
    NoticeSink,
    RegistryFollower,
    ReplySink,
    TokenSource,
    MetricsSource,
)
from ..runtime.metrics import Metrics
from ..runtime.pipeline import Pipeline, PipelineConfig
from ..runtime.reload import Reloader
from ..runtime.sealing import QuestionSeal
from ..runtime.store import SharedStore, StateEvent, Store, StoreUnavailable
from ..runtime.stores import open_store
from ..runtime.upkeep import prune_loop, sweep_loop

__all__ = ["Service", "Ports", "FanOut"]

log = logging.getLogger("commandlang.runtime")


@dataclass(frozen=True, slots=True)
class Ports:
    http: int
    sync: int | None
    demo_backend: int | None = None


class FanOut:
    """An `EventSink` that hands each durable state change to several sinks (hub, local page)."""

    def __init__(self) -> None:
        self.sinks: list[Any] = []

    def publish(self, event: StateEvent) -> None:
        for sink in self.sinks:
            sink.publish(event)


class Service:
    """The runtime service. `await nursery.start(service.serve)` returns the bound `Ports`."""

    def __init__(
        self,
        config: ServiceConfig,
        *,
        env: Mapping[str, str] | None = None,
        out: TextIO | None = None,
        handle_signals: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.env = dict(os.environ if env is None else env)
        self.out = out or sys.stdout
        self.handle_signals = handle_signals
        self.clock = clock
        self.metrics = Metrics()
        self._stop = trio.Event()
        self._force = trio.Event()
        self.stopped = trio.Event()  # set when `serve` has shut everything down
        self._http_shutdown = trio.Event()
        self._http_done = trio.Event()
        self.ready = False
        self.pipeline: Pipeline | None = None
        self.store: Store | None = None
        self.reloader: Reloader | None = None
        self.channels: list[Channel] = []  # the enabled ones, in registry order
        self._hub: SyncHub | None = None
        self.agents: AgentRoutes | None = None  # the panel's routes, once the sync secret and port are known
        self._closers: list[Callable[[], Any]] = []  # run after the drain, in start order
        self._at_exit: list[Callable[[], Any]] = []  # after the store: what the channels' closers still used
        self.connections: ConnectionGate | None = None
        self._room = 1000  # descriptors each listener may hold; set at start (`_descriptor_room`)
        self.body_budget = BodyBudget(config.body_budget)
        self._sync_secret = ""  # set by `_start_sync` (a random one when COMMANDLANG_SYNC_SECRET is unset)
        self._sync_port: int | None = None

    def say(self, line: str) -> None:
        """Progress for people and scripts on stdout (`listening ...` lines are the contract)."""
        print(line, file=self.out, flush=True)

    def stop(self) -> None:
        """Begin a graceful shutdown (what SIGTERM does); a second call skips the drain."""
        if self._stop.is_set():
            self._force.set()
        self._stop.set()

    async def serve(self, *, task_status: trio.TaskStatus[Ports] = trio.TASK_STATUS_IGNORED) -> None:
        config = self.config
        store = self.store = open_store(config, clock=self.clock)
        async with trio.open_nursery() as outer:
            await outer.start(store.run)
            self.say(f"state store: {store.describe()}")
            try:
                async with trio.open_nursery() as inner:
                    ports = await self._start(inner, store)
                    self.ready = True
                    task_status.started(ports)
                    await self._stop.wait()
                    self.ready = False
                    log.info("shutting down: draining running commands", extra={"stage": "shutdown"})
                    assert self.pipeline is not None
                    drained = False  # stays False when a second signal cuts the drain short
                    with trio.CancelScope() as drain_scope:
                        inner.start_soon(_cancel_when, self._force, drain_scope)
                        drained = await self.pipeline.drain(config.drain_timeout)
                    if not drained:
                        log.warning("drain deadline passed: cancelling what is left", extra={"stage": "shutdown"})
                        self.pipeline.cancel_running()
                        with trio.move_on_after(5):
                            await self.pipeline.stopped.wait()
                    # Answers of drained commands are still being written: let HTTP finish them.
                    self._http_shutdown.set()
                    with trio.move_on_after(5):
                        await self._http_done.wait()
                    if isinstance(store, SharedStore):  # the final states come back through the shared feed
                        try:
                            await store.caught_up(timeout=2)
                        except StoreUnavailable:
                            pass  # Redis is gone: sessions resume from it elsewhere once it is back
                    for closer in self._closers:
                        await closer()
                    inner.cancel_scope.cancel()
            finally:
                with trio.CancelScope(shield=True):
                    await store.aclose()
                    for close in self._at_exit:
                        await close()
                outer.cancel_scope.cancel()
        self.stopped.set()
        self.say("stopped")

    async def _start(self, nursery: trio.Nursery, store: Store) -> Ports:
        config = self.config
        self._room = descriptor_room()
        env = dict(self.env)
        registry_path = config.registry
        demo_port = None
        if config.demo:
            from ..testing.demo_backend import serve_demo_backend

            if not os.path.exists(registry_path):
                registry_path = str(sample_registry_path())
            demo_port = await nursery.start(
                functools.partial(serve_demo_backend, "127.0.0.1", _free_or(config.demo_backend_port))
            )
            env["ORDERS_API"] = f"http://127.0.0.1:{demo_port}/v1"  # the sample registry's backend
            self.say(f"demo backend: listening http://127.0.0.1:{demo_port}/v1")

        # Every channel exists before the registry: backends with `auth: {type: genesys}` use the
        # Genesys channel's token provider; channels reach the pipeline through `self._submit` once it runs.
        channels = self.channels = self._make_channels()
        tokens = next((channel.tokens for channel in channels if isinstance(channel, TokenSource)), None)
        followers = [channel for channel in channels if isinstance(channel, RegistryFollower)]
        # e.g. with Genesys on, a registry that breaks the Bot Connector's bot-list limits is refused (lint warns)
        build = functools.partial(
            build_generation,
            env=env,
            token_provider=tokens,
            extra_checks=tuple(follower.registry_check for follower in followers),
        )
        generation = await build(registry_path)
        commands = len(generation.registry.spec.commands)
        self.say(f"registry: {os.path.abspath(registry_path)} ({commands} commands, version {generation.version})")
        for warning in generation.registry.warnings:
            log.warning("registry: %s", warning.format_line(), extra={"stage": "load"})
        for name in generation.registry.spec.missing_env:
            log.warning("registry: environment variable %s is not set", name, extra={"stage": "load"})
        holder = GenerationHolder(generation)
        await nursery.start(holder.run)
        for follower in followers:
            follower.follow_registry(lambda: (holder.current.registry.spec, holder.current.version))

        events = FanOut()
        if not isinstance(store, SharedStore):
            changes = events  # one process: the pipeline publishes what it has stored
        else:
            # Several replicas: every replica's changes reach this one's hub and pages through the
            # store's feed, in seq order, ours included; the pipeline publishes nothing itself.
            changes = FanOut()
            await nursery.start(store.follow, events)
        pipeline = self.pipeline = Pipeline(
            holder,
            store,
            changes,
            self.metrics,
            PipelineConfig(
                max_concurrency=config.max_concurrency,
                conversation_queue=config.conversation_queue,
                default_timeout=config.command_timeout,
            ),
            clock=self.clock,
            late_replies=_late_replies(channels),
            seal=self._question_seal(store),
        )
        await nursery.start(pipeline.run)
        interrupted = await pipeline.recover()
        if interrupted:
            self.say(f"recovered: {interrupted} command(s) interrupted by the last stop marked failed")
        nursery.start_soon(prune_loop, store, config.retention, self.clock)
        if isinstance(store, SharedStore):
            nursery.start_soon(sweep_loop, store, pipeline, self.clock)

        sync_port = await self._start_sync(nursery, store, events)
        for channel in channels:
            if isinstance(channel, EventSink):  # e.g. the demo page's live states
                events.sinks.append(channel)
            await nursery.start(channel.run)
            self._closers.append(channel.aclose)  # after the drain: send the replies still queued
            self._channel_metrics(channel)
            line = channel.describe()
            if line:
                self.say(line)

        self.reloader = Reloader(
            registry_path,
            holder,
            build,
            self.metrics,
            interval=config.reload_interval,
            announce=self._announce_registry,
        )
        await nursery.start(self.reloader.run)
        if self.handle_signals:
            nursery.start_soon(self._signals)

        app = self._app(channels)
        agents = self.agents = AgentRoutes(
            config,
            channels,
            store,
            self._submit,
            lambda: holder.current.registry,
            self._sync_secret,
            self._sync_port,
            self.metrics,
            self.clock,
        )
        agents.mount(app)
        http_port = await nursery.start(self._serve_http, app)
        self.say(f"listening http://{config.host}:{http_port}")
        if config.demo:
            for line in agents.demo_lines(http_port):
                self.say(line)
        return Ports(http_port, sync_port, demo_port)

    def _channel_metrics(self, channel: Channel) -> None:
        """A `MetricsSource` channel's own gauges (its outbox, API calls...) as `commandlang_<channel>_<name>`."""
        if isinstance(channel, MetricsSource):
            for name, (help_text, read) in channel.gauges().items():
                self.metrics.gauge(f"commandlang_{channel.name}_{name}", help_text, read)

    async def _serve_http(self, app: HttpApp, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        gate = self.connections = ConnectionGate(connection_limits(self.config.max_connections, self._room))
        self.metrics.gauge(
            "commandlang_http_connections", "Open HTTP connections", lambda: gate.open + gate.reserve_open
        )
        self.metrics.gauge(
            "commandlang_http_connections_refused",
            "HTTP connections refused over the cap (since start)",
            lambda: gate.refused,
        )
        self.metrics.gauge(
            "commandlang_unauthenticated_body_bytes",
            "Bytes held by request bodies not yet authenticated",
            lambda: self.body_budget.held,
        )
        try:
            await serve_http(
                app,
                self.config.host,
                self.config.port,
                shutdown=self._http_shutdown,
                gate=gate,
                task_status=task_status,
            )
        finally:
            self._http_done.set()

    def _announce_registry(self, version: str) -> None:
        """Tell watching agents (sync sessions, demo pages) which registry version now serves."""
        notice = {"type": "registry", "version": version}
        if self._hub is not None:
            self._hub.notice(notice)
        for channel in self.channels:
            if isinstance(channel, NoticeSink):
                channel.notice(notice)

    def _question_seal(self, store: Store) -> QuestionSeal:
        """The key waiting questions' typed texts are sealed with (runtime/sealing.py)."""
        seal = QuestionSeal.from_settings(self.config.question_key, self.config.sync_secret)
        if seal.source == "random" and isinstance(store, SharedStore):
            log.warning(
                "neither COMMANDLANG_QUESTION_KEY nor COMMANDLANG_SYNC_SECRET is set: waiting questions are "
                "sealed with a random key for this process, so one asked on another replica or before a "
                "restart cannot be answered (its command must be sent again)",
                extra={"stage": "start"},
            )
        return seal

    async def _start_sync(self, nursery: trio.Nursery, store: Store, events: FanOut) -> int | None:
        """The sync hub (commandlang.sync): agent sessions see every durable state change live."""
        config = self.config
        secret = config.sync_secret
        if not secret:
            secret = secrets.token_urlsafe(32)
            log.warning(
                "COMMANDLANG_SYNC_SECRET is not set: using a random one for this run, so tokens from "
                "`commandlang token` will be refused"
                + (" (the agent panel link printed below carries a token for this run)" if config.demo else ""),
                extra={"stage": "start"},
            )
        hub = self._hub = SyncHub(
            store, secret, ping_interval=config.sync_ping_interval, max_sessions=min(10_000, self._room)
        )
        sync_port = await nursery.start(hub.serve, config.host, config.sync_port)
        self._sync_secret, self._sync_port = secret, int(sync_port)
        events.sinks.append(hub)
        self._closers.append(hub.aclose)  # after the drain: sessions see the final states, then 1001
        self.metrics.gauge("commandlang_sync_sessions", "Open state sync sessions", lambda: hub.session_count)
        self.say(f"listening sync ws://{config.host}:{sync_port}/sync")
        return int(sync_port)

    async def _submit(self, message: InboundMessage, sink: ReplySink | None = None) -> Job:
        assert self.pipeline is not None, "a channel submitted before the pipeline started"
        return await self.pipeline.submit(message, sink)

    def _make_channels(self) -> list[Channel]:
        """Every channel of the registry that its settings turn on, in registry order."""
        context = ChannelContext(submit=self._submit, close_at_exit=self._at_exit.append)
        built = (factory.from_config(self.config, self.env, context) for factory in CHANNELS.values())
        return [channel for channel in built if channel is not None]

    def _app(self, channels: list[Channel]) -> HttpApp:
        app = HttpApp(body_timeout=self.config.body_timeout, body_budget=self.body_budget)
        app.route("GET", "/healthz", self._healthz, max_body=0)
        app.route("GET", "/readyz", self._readyz, max_body=0)
        app.route("GET", "/metrics", self._metrics, max_body=0)
        for channel in channels:
            for spec in channel.routes():
                app.mount(spec)
        return app

    async def _healthz(self, request: Request) -> Response:
        return json_response(200, {"status": "alive"})

    async def _readyz(self, request: Request) -> Response:
        checks = {"registry": self.pipeline is not None, "store": False, "accepting": self.ready}
        for channel in self.channels:
            checks.update(channel.health())
        if self.store is not None:
            with trio.move_on_after(2):
                try:  # a real write: a read-only or full disk must show here
                    key = uuid.uuid4().hex
                    await self.store.claim_message("readyz", "readyz", key, ttl=60)
                    await self.store.release_message("readyz", "readyz", key)  # a probe leaves nothing behind
                    checks["store"] = True
                except Exception:  # noqa: BLE001 - any store failure means not ready
                    checks["store"] = False
        ready = all(checks.values())
        return json_response(200 if ready else 503, {"ready": ready, "checks": checks})

    async def _metrics(self, request: Request) -> Response:
        return text_response(200, self.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")

    async def _signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async for signum in signals:
                if signum == signal.SIGHUP and self.reloader is not None:
                    await self.reloader.reload("SIGHUP")
                else:
                    log.info("received %s", signal.Signals(signum).name, extra={"stage": "shutdown"})
                    self.stop()


def _late_replies(channels: list[Channel]) -> Callable[[str], ReplySink | None]:
    """channel name -> where it sends a reply nobody waits for (an approval's outcome), if it can."""
    sinks = {c.name: c.late_replies() for c in channels if isinstance(c, LateReplySource)}
    return lambda name: sinks.get(name)


async def _cancel_when(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


def _free_or(port: int) -> int:
    """`port` if it can be bound on loopback now, else 0 (a free one)."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port
