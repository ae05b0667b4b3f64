"""`GENESYS_*` settings and the channel's parts assembled from them (for the runtime service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import httpx

from .api import GenesysApiClient
from .botconnector import BOT_SECRET_HEADER, DEFAULT_BOT_BUDGET
from .conversations import ConversationsClient, ConversationsReplySink, MediaFile
from .notifications import NotificationIngest
from .oauth import TokenProvider
from .regions import GenesysEndpoints, resolve_region

__all__ = ["GenesysSettings", "GenesysChannel"]


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class GenesysSettings:
    """The channel's settings (runtime.md 2). `repr` never shows the secrets."""

    endpoints: GenesysEndpoints
    client_id: str
    client_secret: str = field(repr=False)
    queue_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    bot_secret: str = field(default="", repr=False)
    bot_secret_header: str = BOT_SECRET_HEADER
    bot_budget: float = DEFAULT_BOT_BUDGET

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GenesysSettings:
        """Read `GENESYS_REGION`, `GENESYS_CLIENT_ID`, ... (raises `RegionError`/`ValueError` with the setting's name)."""
        endpoints = resolve_region(env.get("GENESYS_REGION"), api_base=env.get("GENESYS_API_BASE") or None,
                                   login_base=env.get("GENESYS_LOGIN_BASE") or None)
        client_id, secret = env.get("GENESYS_CLIENT_ID", ""), env.get("GENESYS_CLIENT_SECRET", "")
        if not client_id or not secret:
            raise ValueError("GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET must be set")
        budget = env.get("GENESYS_BOT_BUDGET")
        return cls(endpoints, client_id, secret, _ids(env.get("GENESYS_QUEUE_IDS")), _ids(env.get("GENESYS_USER_IDS")),
                   env.get("GENESYS_BOT_SECRET", ""), env.get("GENESYS_BOT_SECRET_HEADER") or BOT_SECRET_HEADER,
                   float(budget) if budget else DEFAULT_BOT_BUDGET)


class GenesysChannel:
    """Token provider, API client, Conversations client, reply sink and (if topics are set) ingest.

    `http` is the service's shared `httpx.AsyncClient` (owned by the caller).
    """

    def __init__(self, settings: GenesysSettings, http: httpx.AsyncClient, *, compile_text: Callable[[Any], str],
                 compile_media: Callable[[Any], Sequence[MediaFile]] | None = None, **ingest_options: Any) -> None:
        self.settings = settings
        self.tokens = TokenProvider(client_id=settings.client_id, client_secret=settings.client_secret,
                                    login_base=settings.endpoints.login_base, http=http)
        self.api = GenesysApiClient(api_base=settings.endpoints.api_base, tokens=self.tokens, http=http)
        self.conversations = ConversationsClient(self.api)
        self.ingest = (NotificationIngest(self.api, self.conversations, queue_ids=settings.queue_ids,
                                          user_ids=settings.user_ids, **ingest_options)
                       if settings.queue_ids or settings.user_ids else None)
        self.sink = ConversationsReplySink(self.conversations, compile_text, compile_media=compile_media,
                                           on_sent=self.ingest.mark_sent if self.ingest else None)
