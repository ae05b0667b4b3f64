"""`commandlang.channels.CHANNELS` is the one place a channel is named: a channel registered there (and
nowhere else) is built from the config, started, mounted, asked for readiness, told of reloads and closed."""

from __future__ import annotations

import inspect
import json
import time
from typing import Any, Iterator, Mapping

import pytest
import trio

from commandlang.channels import CHANNELS
from commandlang.replies import compile_genesys, compile_json, compile_text
from commandlang.runtime.http import Request, Response, RouteSpec, json_response
from commandlang.runtime.messages import Channel, ChannelContext, InboundMessage
from commandlang.channels.genesys import GenesysChannel
from commandlang.channels.local import LocalChannel
from commandlang.channels.webhook import WebhookChannel
from tests.runtime.support import running_service


class EchoChannel:
    """A channel that exists only in this test: one route, a background task, a health check."""

    name = "echo"
    compile_reply = staticmethod(compile_text)  # its own choice: plain text
    enabled = True  # stands for the channel's own setting
    built: list[EchoChannel] = []

    def __init__(self, context: ChannelContext) -> None:
        self._submit = context.submit
        self.started = False
        self.closed = False
        self.notices: list[dict[str, Any]] = []
        self.healthy = True
        context.close_at_exit(self._at_exit)
        self.exited = False

    @classmethod
    def from_config(cls, config: Any, env: Mapping[str, str], context: ChannelContext) -> EchoChannel | None:
        if not cls.enabled:
            return None
        channel = cls(context)
        cls.built.append(channel)
        return channel

    def routes(self) -> list[RouteSpec]:
        return [RouteSpec("POST", "/echo/messages", self.message, max_body=1024)]

    async def message(self, request: Request) -> Response:
        data = json.loads(request.body)
        job = await self._submit(
            InboundMessage(
                "echo", data["conversation_id"], data["message_id"], "agent-1", "agent", data["text"], time.time()
            ),
            None,
        )
        await job.wait(5)
        texts = [self.compile_reply(reply) for reply in job.detach()]
        return json_response(200, {"status": job.record.status if job.record else None, "texts": texts})

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.started = True
        task_status.started()
        await trio.sleep_forever()

    async def aclose(self) -> None:
        self.closed = True

    async def _at_exit(self) -> None:
        self.exited = True

    def health(self) -> dict[str, bool]:
        return {"echo": self.healthy}

    def describe(self) -> str | None:
        return "echo: on"

    def notice(self, data: dict[str, Any]) -> None:
        self.notices.append(data)


@pytest.fixture
def echo_registered() -> Iterator[None]:
    CHANNELS["echo"] = EchoChannel
    EchoChannel.built.clear()
    try:
        yield
    finally:
        del CHANNELS["echo"]
        EchoChannel.enabled = True


def test_every_shipped_channel_is_a_channel() -> None:
    assert list(CHANNELS) == ["local", "webhook", "genesys"]
    for factory in (LocalChannel, WebhookChannel, GenesysChannel):
        assert all(
            callable(getattr(factory, name))
            for name in ("from_config", "routes", "run", "aclose", "health", "describe")
        ), factory
    assert [factory.name for factory in CHANNELS.values()] == list(CHANNELS)


def test_each_channel_declares_its_reply_compiler(tmp_path) -> None:
    """The channel, not the runtime, says how its replies are compiled."""
    assert LocalChannel.compile_reply is compile_json and WebhookChannel.compile_reply is compile_json
    assert inspect.signature(GenesysChannel.__init__).parameters["compile_reply"].default is compile_genesys


async def test_a_registered_channel_is_built_started_mounted_and_closed(tmp_path, echo_registered) -> None:
    async with running_service(tmp_path) as run:
        (echo,) = EchoChannel.built
        assert isinstance(echo, Channel)
        assert echo.started and "echo: on" in run.out.getvalue().splitlines()
        response = await run.client.post(
            f"{run.base}/echo/messages",
            content=json.dumps({"conversation_id": "e1", "message_id": "m1", "text": "/note hello"}),
        )
        assert response.status_code == 200 and response.json()["status"] == "completed"
        texts = response.json()["texts"]  # compiled by the channel's own compiler (plain text)
        assert texts and all(isinstance(text, str) and text for text in texts), texts
        ready = (await run.client.get(f"{run.base}/readyz")).json()
        assert ready["checks"]["echo"] is True and ready["ready"] is True
        echo.healthy = False
        assert (await run.client.get(f"{run.base}/readyz")).status_code == 503
        run.registry.write_text(run.registry.read_text() + "\n# touched\n")
        with trio.fail_after(5):
            while not echo.notices:
                await trio.sleep(0.05)
        assert echo.notices[0]["type"] == "registry"
        # the route's own body limit holds
        assert (await run.client.post(f"{run.base}/echo/messages", content=b"x" * 2048)).status_code == 413
        service = run.service
    assert echo.closed and echo.exited and service.stopped.is_set()


async def test_a_channel_that_answers_none_is_not_mounted(tmp_path, echo_registered) -> None:
    EchoChannel.enabled = False
    async with running_service(tmp_path) as run:
        assert EchoChannel.built == []
        assert (await run.client.post(f"{run.base}/echo/messages", content=b"{}")).status_code == 404
        assert "echo" not in (await run.client.get(f"{run.base}/readyz")).json()["checks"]
