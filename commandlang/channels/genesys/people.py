"""Who a Genesys Cloud user is and what they may watch: the sync sign-in's `WatchPolicy` for Genesys.

    people = GenesysPeople(channel.api, http, api_base, supervisor_groups=("Team leads",))
    viewer = await people.identify(access_token)        # GET /api/v2/users/me with *their* token
    await people.may_watch(viewer, "conversation:c1")    # None, or why not
    await people.roles_of(viewer.user_id)                # frozenset({"agent", "supervisor"})

Which Genesys calls answer what (paths and models from the official Python SDK 269,
`PureCloudPlatformClientV2/apis/*.py`; none of them is in shared/genesys/openapi-subset.json):
- the bearer: `GET /api/v2/users/me` -> `UserMe` (users_api `get_users_me`: "This request is not
  valid when using the Client Credentials OAuth grant", so it is sent with the agent's own token,
  never ours). A 401 is the agent's token refused.
- a conversation: `GET /api/v2/conversations/{conversationId}` -> `Conversation` (SOURCES.md 2), with
  our client-credentials token: the viewer may watch it when one of its `participants[].userId` is
  theirs (`Participant.userId`: "The PureCloud user for this participant"), connected or not (an
  agent who wrapped up still reads the commands of the conversation they had).
- a queue: a supervisor may watch any queue; anyone else must be a member:
  `GET /api/v2/users/{userId}/queues` -> `UserQueueEntityListing` (routing_api / users_api
  `get_user_queues`, paged with `pageSize`/`pageNumber`). We send no `joined` filter; the SDK does not
  document its default, so a member who has not joined the queue may not be listed (no source read
  says either way).
- roles: `GET /api/v2/users/{userId}?expand=groups,authorization` -> `User` (users_api `get_user`),
  whose `groups[]` (`Group` id, name) and `authorization.roles[]` (`DomainRole` id, name) are matched
  against `GENESYS_SUPERVISOR_GROUPS` / `GENESYS_SUPERVISOR_ROLES`, by id or by name
  (case-insensitive). The SDK warns that "expand parameters are resolved with a best effort approach
  and not guaranteed to be returned": a user whose groups do not come back is not a supervisor (we fail
  closed) and the log says so.

Bounded: answers are cached (`cache_ttl`, `cache_size`, oldest first out); the users/me look-ups an
unauthenticated caller can cause draw on their own sliding-window budget (`signin_rate` a minute,
ratelimit.py) and are refused (503) rather than queued once it is spent, so a flood of junk tokens
never reaches the org's rate limit. The agent's token is sent once, never retried on 401, never logged
or kept (the users/me cache is keyed by its SHA-256, which is kept only as long as `cache_ttl`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, TypeVar

import httpx

from ...errors import SignInRefused, SignInUnavailable
from .api import GenesysApiClient, GenesysApiError, GenesysRateLimitError
from .ratelimit import SlidingWindowLimiter

__all__ = ["GenesysPeople", "GenesysViewer", "DEFAULT_SIGNIN_RATE"]

log = logging.getLogger(__name__)

#: users/me look-ups a minute that callers not yet authenticated may cause (GENESYS_SIGNIN_RATE)
DEFAULT_SIGNIN_RATE = 120
_MAX_QUEUE_PAGES = 10  # 1000 queues a user: beyond that, not a member (and the log says so)

K = TypeVar("K")
V = TypeVar("V")


class _TtlCache(Generic[K, V]):
    """At most `size` entries, each kept `ttl` seconds; the oldest go first."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float]) -> None:
        self.ttl, self.size, self._clock = ttl, size, clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is None:
            return None
        if found[0] <= self._clock():
            del self._items[key]
            return None
        return found[1]

    def put(self, key: K, value: V) -> None:
        self._items.pop(key, None)
        self._items[key] = (self._clock() + self.ttl, value)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class GenesysViewer:
    """A signed-in Genesys user (a `sync.signin.Viewer`)."""

    user_id: str
    name: str
    roles: frozenset[str]
    roles_known: bool = True  # False: Genesys could not say (roles are then just "agent")


class _PresentedToken:
    """The agent's own access token as a `TokenSource`: used once; after a 401 it is refused, not retried."""

    def __init__(self, token: str) -> None:
        self._token: str | None = token

    async def token(self) -> str:
        if self._token is None:
            raise SignInRefused("Genesys Cloud refused this access token (expired or revoked): sign in again")
        return self._token

    def invalidate(self, stale: str | None = None) -> None:
        self._token = None

    def __repr__(self) -> str:  # never show the token
        return "_PresentedToken(****)"


def _matches(wanted: frozenset[str], entities: Iterable[Any]) -> bool:
    """Whether any `{id, name}` entity is named in `wanted` (ids exactly, names case-insensitively)."""
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        if entity.get("id") in wanted or str(entity.get("name", "")).casefold() in wanted:
            return True
    return False


class GenesysPeople:
    """The Genesys implementation of the sync sign-in's `WatchPolicy`, and roles for approvals."""

    def __init__(
        self,
        api: GenesysApiClient,
        http: httpx.AsyncClient,
        *,
        supervisor_groups: Iterable[str] = (),
        supervisor_roles: Iterable[str] = (),
        signin_rate: int = DEFAULT_SIGNIN_RATE,
        cache_ttl: float = 60.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api  # our client-credentials client: conversations, queues, users
        self._http = http
        self._groups = frozenset(g.strip().casefold() for g in supervisor_groups if g.strip()) | frozenset(
            g.strip() for g in supervisor_groups if g.strip()
        )
        self._roles = frozenset(r.strip().casefold() for r in supervisor_roles if r.strip()) | frozenset(
            r.strip() for r in supervisor_roles if r.strip()
        )
        # refuse at once once spent (max_queue=0 would refuse everyone: a few may wait their turn)
        self._signin_budget = SlidingWindowLimiter(max(1, signin_rate), 60.0, max_queue=8)
        self._me: _TtlCache[str, tuple[str, str]] = _TtlCache(cache_ttl, cache_size, clock)
        self._roles_cache: _TtlCache[str, frozenset[str]] = _TtlCache(cache_ttl, cache_size, clock)
        self._participants: _TtlCache[str, frozenset[str]] = _TtlCache(min(cache_ttl, 15.0), cache_size, clock)
        self._queues: _TtlCache[str, frozenset[str]] = _TtlCache(cache_ttl, cache_size, clock)
        self.lookups = 0  # users/me requests sent (tests, metrics)

    # -- WatchPolicy -----------------------------------------------------------------
    async def identify(self, platform_token: str) -> GenesysViewer:
        """`GET /api/v2/users/me` with the agent's token; `SignInRefused` on 401."""
        key = hashlib.sha256(platform_token.encode()).hexdigest()
        known = self._me.get(key)
        if known is None:
            me = await self._users_me(platform_token)
            user_id, name = me.get("id"), me.get("name")
            if not isinstance(user_id, str) or not user_id:
                raise SignInUnavailable("Genesys Cloud answered users/me without a user id")
            known = (user_id, name if isinstance(name, str) else user_id)
            self._me.put(key, known)
        user_id, name = known
        try:
            return GenesysViewer(user_id, name, await self.roles_of(user_id))
        except SignInUnavailable:
            # a conversation's participant needs no roles: sign them in; a queue falls back to membership
            log.warning("genesys: the roles of user %s could not be read; signing in as agent only", user_id)
            return GenesysViewer(user_id, name, frozenset({"agent"}), roles_known=False)

    async def may_watch(self, viewer: Any, scope: str) -> str | None:
        """None, or why `viewer` may not watch `conversation:<id>` / `queue:<id>`."""
        kind, _, target = scope.partition(":")
        if kind == "conversation":
            users = await self._conversation_users(target)
            if users is None:
                return f"conversation {target} was not found in Genesys Cloud"
            if viewer.user_id not in users:
                return f"you are not a participant of conversation {target}"
            return None
        if kind == "queue":
            if "supervisor" in viewer.roles:
                return None
            if target not in await self._user_queues(viewer.user_id):
                if not getattr(viewer, "roles_known", True):
                    raise SignInUnavailable("Genesys Cloud could not say whether you are a supervisor: try again")
                return f"you are not a member of queue {target} (and not a supervisor)"
            return None
        return f"scope {scope} cannot be watched through Genesys sign-in"

    async def roles_of(self, user_id: str) -> frozenset[str]:
        """`{"agent"}`, plus `"supervisor"` for a member of a supervisor group or holder of a supervisor role."""
        known = self._roles_cache.get(user_id)
        if known is not None:
            return known
        user = await self._get(f"/api/v2/users/{user_id}", {"expand": "groups,authorization"})
        groups = user.get("groups")
        roles = (user.get("authorization") or {}).get("roles")
        supervisor = (bool(self._groups) and _matches(self._groups, groups or ())) or (
            bool(self._roles) and _matches(self._roles, roles or ())
        )
        if not supervisor and self._groups and groups is None:
            log.warning("genesys: user %s came back without groups (expand is best effort): not a supervisor", user_id)
        found = frozenset({"agent", "supervisor"} if supervisor else {"agent"})
        self._roles_cache.put(user_id, found)
        return found

    # -- internals -------------------------------------------------------------------
    async def _users_me(self, platform_token: str) -> dict[str, Any]:
        client = GenesysApiClient(
            api_base=self.api.api_base,
            tokens=_PresentedToken(platform_token),
            http=self._http,
            max_attempts=2,  # one retry of a transport error or a 5xx; a 401 is never retried
            max_backoff=1.0,
            request_timeout=5.0,
            limiter=self._signin_budget,
        )
        self.lookups += 1
        try:
            answer = (await client.request("GET", "/api/v2/users/me")).json()
        except GenesysRateLimitError:
            raise SignInUnavailable("too many sign-ins right now: try again in a minute", retry_after=30) from None
        except GenesysApiError as exc:
            if exc.status in (400, 401, 403):
                raise SignInRefused("Genesys Cloud refused this access token: sign in again") from None
            raise SignInUnavailable(f"Genesys Cloud is not answering users/me ({exc.status or 'no answer'})") from None
        except httpx.HTTPError:
            raise SignInUnavailable("Genesys Cloud is not reachable") from None
        if not isinstance(answer, dict):
            raise SignInUnavailable("Genesys Cloud answered users/me with something else than a user")
        return answer

    async def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """A client-credentials GET; every failure is `SignInUnavailable` (the agent can do nothing about it)."""
        try:
            answer = (await self.api.request("GET", path, params=params)).json()
        except GenesysApiError as exc:
            if exc.status == 404:
                return {}
            log.error("genesys sign-in look-up %s failed: %s", path, exc)
            raise SignInUnavailable("Genesys Cloud could not be asked who may watch this: try again") from None
        except httpx.HTTPError:
            raise SignInUnavailable("Genesys Cloud is not reachable") from None
        return answer if isinstance(answer, dict) else {}

    async def _conversation_users(self, conversation_id: str) -> frozenset[str] | None:
        known = self._participants.get(conversation_id)
        if known is not None:
            return known
        conversation = await self._get(f"/api/v2/conversations/{conversation_id}")
        if not conversation:
            return None  # not cached: a conversation that does not exist yet may exist in a moment
        users = frozenset(
            p["userId"]
            for p in conversation.get("participants") or ()
            if isinstance(p, dict) and isinstance(p.get("userId"), str)
        )
        self._participants.put(conversation_id, users)
        return users

    async def _user_queues(self, user_id: str) -> frozenset[str]:
        known = self._queues.get(user_id)
        if known is not None:
            return known
        found: set[str] = set()
        for page in range(1, _MAX_QUEUE_PAGES + 1):
            listing = await self._get(f"/api/v2/users/{user_id}/queues", {"pageSize": "100", "pageNumber": str(page)})
            entities = listing.get("entities") or ()
            found.update(q["id"] for q in entities if isinstance(q, dict) and isinstance(q.get("id"), str))
            page_count = listing.get("pageCount")
            if not entities or not isinstance(page_count, int) or page >= page_count:
                break
        else:
            log.warning("genesys: user %s is in more than %d pages of queues; the rest are not read", user_id, page)
        queues = frozenset(found)
        self._queues.put(user_id, queues)
        return queues
