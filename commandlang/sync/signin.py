"""`POST /sync/token`: an agent's platform access token (Genesys Cloud's) exchanged for a sync token.

    exchange = TokenExchange(policy, secret, ttl=900)
    app.route("POST", "/sync/token", exchange.handle, admit=exchange.admit, max_body=MAX_BODY)

The port is `WatchPolicy` ("who is the bearer of this platform token, may they watch this scope,
which roles do they have"); sync knows no platform. `channels/genesys/people.py` implements it for
Genesys Cloud and the composition root (`commandlang/app/service.py`) wires the two.

Request: `Authorization: Bearer <platform token>` and a JSON body `{"conversation": ID}` or
`{"queue": ID}`. Answers:
- 200 `{"token", "expires_at" (epoch seconds), "agent" (the platform user id), "name", "scopes"
  (exactly the one asked for), "roles"}`;
- 400 a malformed body or id (before any platform call);
- 401 no or malformed `Authorization` (refused on the head, before the body is read), or a token the
  platform refuses;
- 403 `{"error", "reason"}` with a reason the agent can read (not a participant, not a member);
- 503 with `Retry-After` when the platform is unreachable or too many look-ups wait already.

Bounded: the header's shape is checked before the body is read, the body is tiny, and at most
`max_concurrent` platform look-ups run at once (the rest wait up to `queue_wait` seconds, then 503);
the platform implementation adds its own rate budget. The platform token is never logged, stored or
put in an answer; log lines carry the user id and the scope only.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

import trio

from ..errors import SignInRefused, SignInUnavailable
from ..runtime.http import Request, Response, json_response
from .tokens import issue_token

__all__ = ["WatchPolicy", "Viewer", "SignInSource", "TokenExchange", "DEFAULT_SIGNIN_TTL", "MAX_BODY", "scope_of"]

log = logging.getLogger("commandlang.sync.signin")

#: the sync token's lifetime (COMMANDLANG_SIGNIN_TTL): short, the panel renews it before it ends
DEFAULT_SIGNIN_TTL = 15 * 60.0
#: the request body is `{"conversation": "<id>"}`: a few dozen bytes
MAX_BODY = 1024
#: RFC 6750 b64token (token68), bounded: Genesys access tokens are far shorter than this
_BEARER = re.compile(r"^Bearer ([A-Za-z0-9\-._~+/]{8,4096}=*)$", re.IGNORECASE)
#: ids go into the platform's URL paths: letters, digits, `-` and `_` only (Genesys ids are UUIDs)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


class Viewer(Protocol):
    """Who signed in: the platform's user id, a display name, and their roles (e.g. agent, supervisor)."""

    @property
    def user_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def roles(self) -> frozenset[str]: ...


class WatchPolicy(Protocol):
    """A platform's answer to "who is this, and may they watch that" (Genesys: `channels/genesys/people.py`)."""

    async def identify(self, platform_token: str) -> Viewer:
        """The bearer of `platform_token`; `SignInRefused` if the platform refuses it,
        `SignInUnavailable` if it cannot be asked now."""
        ...

    async def may_watch(self, viewer: Viewer, scope: str) -> str | None:
        """None when `viewer` may watch `scope` (`conversation:<id>` or `queue:<id>`), else the reason
        they may not, in words an agent understands. `SignInUnavailable` if the platform cannot be asked."""
        ...

    async def roles_of(self, user_id: str) -> frozenset[str]:
        """The roles of a platform user (cached), e.g. `{"agent", "supervisor"}`."""
        ...


def scope_of(body: bytes) -> str:
    """The one scope a request body asks for (`conversation:<id>` or `queue:<id>`); ValueError says why not."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise ValueError('the body must be JSON: {"conversation": ID} or {"queue": ID}') from None
    if not isinstance(data, dict) or len(data) != 1 or not ({"conversation", "queue"} & data.keys()):
        raise ValueError('the body must be {"conversation": ID} or {"queue": ID}, one of them')
    kind, value = next(iter(data.items()))
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"{kind} must be an id of letters, digits, '-' or '_' (at most 128)")
    return f"{kind}:{value}"


@dataclass(frozen=True, slots=True)
class _Grant:
    token: str
    expires_at: int
    agent: str
    name: str
    scopes: tuple[str, ...]
    roles: tuple[str, ...]


class TokenExchange:
    """The `POST /sync/token` route: `admit` on the head, `handle` with the body."""

    def __init__(
        self,
        policy: WatchPolicy,
        secret: str,
        *,
        ttl: float = DEFAULT_SIGNIN_TTL,
        max_concurrent: int = 8,
        queue_wait: float = 2.0,
        lookup_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self._secret = secret
        self.ttl = ttl
        self._lookups = trio.CapacityLimiter(max_concurrent)
        self._queue_wait = queue_wait
        self._lookup_timeout = lookup_timeout
        self._clock = clock
        self.issued = 0  # sync tokens handed out (metrics)
        self.refused = 0  # 401 and 403 answers (metrics)

    def admit(self, request: Request) -> Response | None:
        """Refuse, before the body is read, a request without a well-formed bearer token."""
        if _BEARER.match(request.headers.get("authorization", "").strip()) is None:
            self.refused += 1
            return json_response(
                401,
                {"error": "Authorization: Bearer <Genesys Cloud access token> is required"},
                {"www-authenticate": 'Bearer realm="commandlang"'},
            )
        return None

    async def handle(self, request: Request) -> Response:
        """Ask the platform who the bearer is and whether they may watch the scope; answer a sync token."""
        refusal = self.admit(request)  # the route admits first; a direct call is checked all the same
        if refusal is not None:
            return refusal
        try:
            scope = scope_of(request.body)
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
        match = _BEARER.match(request.headers["authorization"].strip())
        assert match is not None
        try:
            grant = await self._exchange(match.group(1), scope)
        except SignInRefused as exc:
            self.refused += 1
            return json_response(401, {"error": str(exc)}, {"www-authenticate": 'Bearer error="invalid_token"'})
        except SignInUnavailable as exc:
            return json_response(503, {"error": str(exc)}, {"retry-after": str(max(1, round(exc.retry_after)))})
        if isinstance(grant, str):
            self.refused += 1
            return json_response(403, {"error": "you may not watch this", "reason": grant, "scope": scope})
        self.issued += 1
        return json_response(
            200,
            {
                "token": grant.token,
                "expires_at": grant.expires_at,
                "agent": grant.agent,
                "name": grant.name,
                "scopes": list(grant.scopes),
                "roles": list(grant.roles),
            },
            {"cache-control": "no-store"},
        )

    async def _exchange(self, platform_token: str, scope: str) -> _Grant | str:
        """The grant, or the reason (403) the viewer may not watch `scope`."""
        with trio.move_on_after(self._queue_wait) as waiting:
            await self._lookups.acquire()
        if waiting.cancelled_caught:
            raise SignInUnavailable("too many sign-ins at once: try again in a moment", retry_after=2)
        try:
            with trio.move_on_after(self._lookup_timeout) as looking:
                viewer = await self.policy.identify(platform_token)
                reason = await self.policy.may_watch(viewer, scope)
            if looking.cancelled_caught:
                raise SignInUnavailable("Genesys Cloud did not answer in time: try again in a moment")
        finally:
            self._lookups.release()
        if reason is not None:
            log.info("sign-in refused: user %s may not watch %s (%s)", viewer.user_id, scope, reason)
            return reason
        expires_at = int(self._clock() + self.ttl)
        token = issue_token(self._secret, viewer.user_id, [scope], self.ttl, now=self._clock)
        log.info("sign-in: user %s watches %s until %d", viewer.user_id, scope, expires_at)
        return _Grant(token, expires_at, viewer.user_id, viewer.name, (scope,), tuple(sorted(viewer.roles)))


@runtime_checkable
class SignInSource(Protocol):
    """A channel that signs agents in (Genesys): its `WatchPolicy` and what the panel's browser sign-in needs."""

    @property
    def watch_policy(self) -> WatchPolicy: ...

    def panel_signin(self) -> dict[str, Any]:
        """`client_id`, `grant`, `login_base`, `api_base`, `apps_origin` (no secret)."""
        ...
