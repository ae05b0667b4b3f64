"""Client-credentials tokens for Genesys Cloud: cached, one refresh in flight.

`POST {login_base}/oauth/token` with HTTP Basic `client_id:client_secret` and
the form body `grant_type=client_credentials` (SOURCES.md 1). The token is
kept until shortly before `expires_in`; however many tasks ask at once, one
request goes out (a `trio.Lock`: the first caller fetches, the rest find the
fresh token when they get the lock). `TokenProvider` also satisfies the
executor's auth protocol (`async token() -> str`, `invalidate() -> None`) for
backends declared with `auth: {type: genesys}`. Credentials and tokens are
never logged.
"""

from __future__ import annotations

import base64
import logging
import random as _random
import time
from typing import Callable

import httpx
import trio

from ...execution.client import door_of
from ...execution.door import Answer, fetch
from ...execution.retry import parse_retry_after, retry_delay
from ...execution.target import Target
from ...registry.model import RetryPolicy
from .models import ErrorBody, ModelError, TokenResponse
from ...errors import ChannelError

__all__ = ["TokenProvider", "GenesysAuthError"]

log = logging.getLogger(__name__)

_GRANT = b"grant_type=client_credentials"
#: Answers worth another try (the rest are refusals, reported at once).
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A token answer larger than this is refused (it is a small JSON object).
_MAX_TOKEN_ANSWER = 64 * 1024


class GenesysAuthError(ChannelError):
    """The token endpoint refused the client credentials (or kept failing)."""


class TokenProvider:
    """Client-credentials access tokens, cached until `refresh_margin` before expiry."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        login_base: str,
        http: httpx.AsyncClient,
        refresh_margin: float = 60.0,
        max_attempts: int = 5,
        max_backoff: float = 30.0,
        request_timeout: float = 15.0,
        fresh_grace: float = 2.0,
        clock: Callable[[], float] = trio.current_time,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET are required")
        self._url = f"{login_base.rstrip('/')}/oauth/token"
        self._target = Target.from_url(self._url)
        # HTTP Basic as httpx.BasicAuth builds it (UTF-8 "id:secret", base64), sent through the one door
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._headers = (
            (b"Authorization", f"Basic {basic}".encode("ascii")),
            (b"Accept", b"application/json"),
            (b"Accept-Encoding", b"identity"),
            (b"Content-Type", b"application/x-www-form-urlencoded"),
            (b"Content-Length", b"%d" % len(_GRANT)),
        )
        self._door = door_of(http)
        self._margin = refresh_margin
        # the one retry rule (execution/retry.py): Retry-After on 429/503 up to max_backoff, else full jitter
        self._retry = RetryPolicy(attempts=max_attempts, on=_RETRY_STATUSES, backoff=0.5, max_backoff=max_backoff)
        self._random = random  # the jitter source: tests pin it
        self._timeout = request_timeout
        self._clock = clock
        self._lock = trio.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self._fetched_at = float("-inf")
        self._fresh_grace = fresh_grace
        self._expires_at: float | None = None
        self.fetch_count = 0  # how many tokens were fetched (tests and metrics)

    @property
    def expires_at(self) -> float | None:
        """When the cached token expires (this provider's clock), None before the first one: the
        notification ingest re-creates its channels before then."""
        return self._expires_at if self._token is not None else None

    def __repr__(self) -> str:  # never show the secret or the token
        return f"TokenProvider(url={self._url!r}, cached={self._token is not None})"

    async def token(self) -> str:
        """A valid access token, fetching a new one if the cached one is (nearly) expired."""
        cached = self._current()
        if cached is not None:
            return cached
        async with self._lock:
            cached = self._current()  # someone else refreshed while we waited
            if cached is not None:
                return cached
            return await self._fetch()

    def invalidate(self, stale: str | None = None) -> None:
        """Forget the cached token (after a 401). With `stale`, only if it is still that token,
        so fifty tasks that all saw the same 401 cause one refresh, not fifty.

        Without `stale` (the executor's protocol), a token fetched less than `fresh_grace`
        seconds ago is kept: the 401 came from a request made with the one it replaced.
        """
        if stale is None and self._token is not None and self._clock() - self._fetched_at < self._fresh_grace:
            return
        if stale is None or stale == self._token:
            self._token = None
            self._refresh_at = 0.0

    def _current(self) -> str | None:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        return None

    async def _fetch(self) -> str:
        last_error = "no attempt made"
        for attempt in range(1, self._retry.attempts + 1):
            status: int | None = None  # None: no answer (a transport error or the attempt's timeout)
            retry_after: float | None = None
            try:
                with trio.fail_after(self._timeout):
                    response = await fetch(
                        self._door, b"POST", self._target, self._headers, _GRANT, limit=_MAX_TOKEN_ANSWER
                    )
            except (httpx.TransportError, trio.TooSlowError) as exc:
                last_error = f"{type(exc).__name__} talking to the token endpoint"
            else:
                if response.status_code == 200:
                    return self._store(response)
                if response.status_code in (400, 401, 403):
                    raise GenesysAuthError(
                        f"token endpoint refused the client credentials ({response.status_code} "
                        f"{_oauth_error(response)}); check GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET and the region"
                    )
                status = response.status_code
                if status not in _RETRY_STATUSES:
                    raise GenesysAuthError(f"token endpoint answered {status} {_oauth_error(response)}")
                last_error = f"token endpoint answered {status}"
                retry_after = parse_retry_after(response.header(b"retry-after"), time.time())
            decision = retry_delay(
                self._retry,
                attempt=attempt,
                status=status,
                retry_after=retry_after,
                remaining=trio.current_effective_deadline() - trio.current_time(),
                random=self._random,
            )
            if not decision.retry:  # attempts spent, or the wait would outlast the caller's deadline
                break
            log.warning("genesys token fetch failed (%s); retrying in %.1fs", last_error, decision.delay)
            await trio.sleep(decision.delay)
        raise GenesysAuthError(f"could not get a Genesys token: {last_error}")

    def _store(self, response: Answer) -> str:
        try:
            answer = TokenResponse.from_json(response.json())
        except (ValueError, ModelError) as exc:
            raise GenesysAuthError(f"token endpoint answered an unreadable token: {exc}") from None
        # refresh a little early; short-lived tokens (tests, 5 min clients) keep most of their life
        margin = min(self._margin, answer.expires_in * 0.2)
        self._token = answer.access_token
        self._fetched_at = self._clock()
        self._refresh_at = self._fetched_at + answer.expires_in - margin
        self._expires_at = self._fetched_at + answer.expires_in
        self.fetch_count += 1
        log.info("genesys access token fetched, valid for %ss", answer.expires_in)
        return answer.access_token


def _oauth_error(response: Answer) -> str:
    """The OAuth `error` code or the ErrorBody code of a refused token request, never the credentials."""
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        if isinstance(data.get("error"), str):
            return data["error"]
        try:
            return ErrorBody.from_json(data).code
        except ModelError:
            return ""
    return ""
