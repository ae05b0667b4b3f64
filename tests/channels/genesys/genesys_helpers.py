"""Shared set-up for the Genesys channel tests: the fake on loopback and our clients pointed at it."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, AsyncIterator

import httpx
import trio

from commandlang.channels.genesys import ConversationsClient, GenesysApiClient, TokenProvider
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
async def genesys_env(*, max_backoff: float = 30.0, **fake_options: Any) -> AsyncIterator[GenesysTestEnv]:
    """A running fake and a token provider, API client and Conversations client pointed at it."""
    async with trio.open_nursery() as nursery:
        fake = await nursery.start(partial(serve_fake_genesys, "127.0.0.1", 0, client_id=CLIENT_ID,
                                           client_secret=CLIENT_SECRET, **fake_options))
        async with httpx.AsyncClient() as http:
            tokens = TokenProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, login_base=fake.base_url,
                                   http=http, max_backoff=max_backoff)
            api = GenesysApiClient(api_base=fake.base_url, tokens=tokens, http=http, max_backoff=max_backoff)
            yield GenesysTestEnv(fake, http, nursery, tokens, api, ConversationsClient(api))
        nursery.cancel_scope.cancel()
