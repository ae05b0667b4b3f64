"""Shared set-up for the Genesys channel tests: the fake on loopback and our clients pointed at it."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, AsyncIterator

import httpx
import trio

from commandlang.runtime.http import answer_lifespan, read_body
from commandlang.channels.genesys import ConversationsClient, GenesysApiClient, TokenProvider
from commandlang.execution.client import SharedClient
from commandlang.execution.transport import H11Transport
from commandlang.testing.fake_genesys import FakeGenesys, serve_fake_genesys

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret-do-not-log"


@dataclass
class GenesysTestEnv:
    fake: FakeGenesys
    http: httpx.AsyncClient
    nursery: trio.Nursery
    tokens: TokenProvider
    api: GenesysApiClient
    conversations: ConversationsClient


@asynccontextmanager
async def genesys_env(
    *, max_backoff: float = 30.0, plain_httpx: bool = False, **fake_options: Any
) -> AsyncIterator[GenesysTestEnv]:
    """A running fake and a token provider, API client and Conversations client pointed at it.

    The HTTP client is the service's (a SharedClient over H11Transport, whose own door the API
    client uses), or with `plain_httpx` a stock httpx.AsyncClient (the API client's httpx path)."""
    async with trio.open_nursery() as nursery:
        fake = await nursery.start(
            partial(
                serve_fake_genesys, "127.0.0.1", 0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **fake_options
            )
        )
        client = httpx.AsyncClient() if plain_httpx else SharedClient(transport=H11Transport())
        async with client as http:
            tokens = TokenProvider(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                login_base=fake.base_url,
                http=http,
                max_backoff=max_backoff,
            )
            api = GenesysApiClient(api_base=fake.base_url, tokens=tokens, http=http, max_backoff=max_backoff)
            yield GenesysTestEnv(fake, http, nursery, tokens, api, ConversationsClient(api))
        nursery.cancel_scope.cancel()


# -- a stand-in for the runtime: real Jobs, replies produced by a tiny "pipeline" ---------------------------

import time  # noqa: E402
from typing import Callable  # noqa: E402

from hypercorn.config import Config  # noqa: E402
from hypercorn.trio import serve  # noqa: E402

from commandlang.channels.genesys import handle_bot_request  # noqa: E402
from commandlang.runtime.messages import InboundMessage, Job, ReplySink  # noqa: E402
from commandlang.runtime.store import CommandRecord  # noqa: E402


@dataclass(frozen=True)
class TestReply:
    __test__ = False
    """What the reply model will be, reduced to what these tests need."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (label, command)


def compile_genesys(reply: TestReply) -> list[dict[str, Any]]:
    content = [
        {"contentType": "QuickReply", "quickReply": {"text": label, "payload": payload, "action": "Message"}}
        for label, payload in reply.buttons
    ]
    return [
        {"type": "Structured", "text": reply.text, "content": content}
        if content
        else {"type": "Text", "text": reply.text}
    ]


def compile_text(reply: TestReply, *, language: str | None = None) -> str:
    lines = [reply.text] + [f"{i}. {label} ({payload})" for i, (label, payload) in enumerate(reply.buttons, 1)]
    return "\n".join(lines)


class StubRuntime:
    """`submit(message) -> Job` like the runtime: `/slow` acks then answers after `slow_seconds`."""

    __test__ = False

    def __init__(self, nursery: trio.Nursery, sink: ReplySink | None, *, slow_seconds: float = 1.0) -> None:
        self.nursery = nursery
        self.sink = sink
        self.slow_seconds = slow_seconds
        self.submitted: list[InboundMessage] = []

    def submit(self, message: InboundMessage) -> Job:
        self.submitted.append(message)
        job = Job(message, self.sink)
        self.nursery.start_soon(self._run, job)
        return job

    async def _run(self, job: Job) -> None:
        text = job.message.text
        if not text.startswith("/"):
            job.finish()
            return
        name = text[1:].split()[0]
        now = time.time()
        job.update(
            CommandRecord(
                f"cmd-{len(self.submitted)}",
                job.message.conversation_id,
                name,
                {},
                "executing",
                job.message.participant_id,
                job.message.role,
                job.message.channel,
                job.message.message_id,
                now,
                now,
            )
        )
        if name == "hang":
            await trio.sleep_forever()
        if name == "slow":
            await job.deliver(TestReply("Working on it…"))
            await trio.sleep(self.slow_seconds)
            await job.deliver(TestReply("Slow thing done.", (("Again", "/slow"),)))
        else:
            await job.deliver(
                TestReply(
                    f"{name} done for {' '.join(text.split()[1:])}".strip(),
                    (("Order status", "/status 123"), ("Undo", "/refund.cancel R-1")),
                )
            )
        job.finish()


class BotEndpointApp:
    """The Bot Connector route as the runtime will mount it: body + headers -> handle_bot_request."""

    def __init__(self, submit: Callable[[InboundMessage], Job], *, secret: str, budget: float = 4.0) -> None:
        self.submit, self.secret, self.budget = submit, secret, budget

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = await read_body(receive) or b""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        answer = await handle_bot_request(
            body, headers, self.submit, secret=self.secret, compile_reply=compile_genesys, budget=self.budget
        )
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": answer.json_bytes()})


async def serve_bot_endpoint(nursery: trio.Nursery, app: BotEndpointApp) -> str:
    """Serve `app` on 127.0.0.1:0; returns its URL."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.graceful_timeout = 0.2
    binds = await nursery.start(serve, app, config)
    return f"{binds[0]}/genesys/bot"
