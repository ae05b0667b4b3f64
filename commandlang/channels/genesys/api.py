"""Authorized requests to the Genesys Cloud REST API, with the retry rules of runtime.md 2.

- 401: the token is invalidated and the request retried once with a new one.
- 403: the ErrorBody names what is missing; it is logged and raised (no retry).
- 429: waits the whole `Retry-After` (seconds or HTTP date) up to `max_retry_after`
  (`GENESYS_MAX_RETRY_AFTER`; a longer one fails the request and says so), else backs off
  with full jitter; either way the shared rate budget pauses for everyone (the org's limit
  is per OAuth client, so one caller's 429 is every caller's).
- A client-side budget (`limiter`, `GENESYS_API_RATE`; ratelimit.py) queues a burst instead
  of letting it meet the org's rate limit; every attempt takes a slot, retries included.
- 500/502/503/504 and transport errors: retried with backoff for idempotent
  requests only, so a message is never sent twice (a 503's `Retry-After` is honoured like a 429's).
The waits are the one rule of `execution.retry.retry_delay` (the Executor's, the webhook's, the
token provider's): Retry-After on 429/503, else full jitter from 0.5 s up to `max_backoff`.
Every attempt runs under a deadline, and no wait (for a slot, for a Retry-After) outlasts
the caller's own: a caller whose deadline would pass first fails at once, clearly. Tokens and credentials are never logged.
"""

from __future__ import annotations

import logging
import random as _random
import time
from typing import Any, Callable, Mapping, Protocol

import httpx
import trio

from ...execution.client import door_of
from ...execution.door import Answer, fetch
from ...execution.request import json_body
from ...execution.retry import RETRY_AFTER_STATUSES, parse_retry_after, retry_delay
from ...execution.target import Target
from ...registry.model import RetryPolicy
from .models import ErrorBody, ModelError
from .ratelimit import RateBudgetExceeded, SlidingWindowLimiter
from ...errors import ChannelError

__all__ = [
    "GenesysApiClient",
    "GenesysApiError",
    "GenesysPermissionError",
    "GenesysRateLimitError",
    "TokenSource",
    "DEFAULT_MAX_RETRY_AFTER",
]

#: the longest `Retry-After` waited for (seconds; `GENESYS_MAX_RETRY_AFTER`). No source gives an upper
#: bound for Genesys's value (SOURCES.md 4 shows 42 s in an example); beyond this a request fails.
DEFAULT_MAX_RETRY_AFTER = 120.0

log = logging.getLogger(__name__)
_RETRYABLE = frozenset({500, 502, 503, 504})


class TokenSource(Protocol):
    """What the client needs from a token provider (see `oauth.TokenProvider`)."""

    async def token(self) -> str:
        """A valid bearer token."""
        ...

    def invalidate(self, stale: str | None = None) -> None:
        """Forget the token (only if it is still `stale`, when given)."""
        ...


class GenesysApiError(ChannelError):
    """A Genesys API call failed; `error` is the ErrorBody when the answer had one."""

    def __init__(self, method: str, path: str, status: int, error: ErrorBody | None) -> None:
        self.method, self.path, self.status, self.error = method, path, status, error
        detail = f"{error.code}: {error.message}" if error else "no error body"
        super().__init__(f"{method} {path} answered {status} ({detail})")


class GenesysPermissionError(GenesysApiError):
    """403: the OAuth client lacks a permission (named in `missing`)."""

    @property
    def missing(self) -> str:
        """The permission the ErrorBody names (messageParams, else its message)."""
        if self.error is None:
            return "unknown"
        params = self.error.message_params
        return params.get("permissions") or params.get("permission") or self.error.message or self.error.code


class GenesysRateLimitError(GenesysApiError):
    """A request given up for the rate limit: no budget slot before its deadline, a full queue, or a
    `Retry-After` longer than the ceiling or the caller's deadline. `reason` says which."""

    def __init__(self, method: str, path: str, reason: str, error: ErrorBody | None = None) -> None:
        super().__init__(method, path, 429, error)
        self.reason = reason
        self.args = (f"{method} {path}: {reason}",)


#: A Genesys answer larger than this is refused (they are small JSON documents; media goes elsewhere).
_MAX_ANSWER = 16 * 1024 * 1024


def _error_body(response: Answer) -> ErrorBody | None:
    try:
        return ErrorBody.from_json(response.json())
    except (ValueError, ModelError):
        return None


class GenesysApiClient:
    """`request()` against `api_base` with a bearer token from `tokens`."""

    def __init__(
        self,
        *,
        api_base: str,
        tokens: TokenSource,
        http: httpx.AsyncClient,
        max_attempts: int = 6,
        max_backoff: float = 30.0,
        request_timeout: float = 15.0,
        limiter: SlidingWindowLimiter | None = None,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.tokens = tokens
        self.http = http
        self.door = door_of(http)  # every request through the one door (execution/door.py)
        self.limiter = limiter  # None: no client-side budget (tests that count requests, GENESYS_API_RATE=0)
        # 429 always (the request was not done), 5xx and transport errors for idempotent requests only
        self._retry = RetryPolicy(
            attempts=max_attempts, on=frozenset({429, *_RETRYABLE}), backoff=0.5, max_backoff=max_backoff
        )
        self._max_retry_after = max_retry_after
        self._random = random  # the jitter source: tests pin it
        self._timeout = request_timeout
        self.requests_sent = 0  # HTTP requests that left (every attempt), for metrics and the bench
        self.rate_limited = 0  # 429 answers received

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Answer:
        """The successful (2xx) response, or raises `GenesysApiError` / `GenesysPermissionError`."""
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "PUT", "DELETE")
        url = f"{self.api_base}{path}"
        retried_401 = False
        attempt = 0
        while True:
            token = await self.tokens.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            error: ErrorBody | None = None
            if self.limiter is not None:
                try:
                    await self.limiter.acquire()  # under the caller's deadline, not the attempt's
                except RateBudgetExceeded as exc:
                    raise GenesysRateLimitError(method, path, str(exc)) from None
            self.requests_sent += 1
            retry_after: float | None = None
            try:
                with trio.fail_after(self._timeout):
                    response = await self._send(method, url, json, params, headers)
            except (httpx.TransportError, trio.TooSlowError) as exc:
                status, error = 0, ErrorBody(f"{type(exc).__name__}", "transport.error", 0)
                if not idempotent:
                    raise GenesysApiError(method, path, status, error) from None
                what = type(exc).__name__
            else:
                status = response.status_code
                if status < 300:
                    return response
                error = _error_body(response)
                if status == 401 and not retried_401:
                    retried_401 = True  # token expired or revoked early: one new token, one more try
                    self.tokens.invalidate(token)
                    continue
                if status == 403:
                    exc403 = GenesysPermissionError(method, path, status, error)
                    log.error(
                        "genesys %s %s forbidden: the OAuth client is missing permission %s (%s)",
                        method,
                        path,
                        exc403.missing,
                        error.code if error else "no code",
                    )
                    raise exc403
                if status == 429:
                    self.rate_limited += 1
                elif status not in _RETRYABLE or not idempotent:
                    raise GenesysApiError(method, path, status, error)
                if status in RETRY_AFTER_STATUSES:
                    retry_after = parse_retry_after(response.header(b"retry-after"), time.time())
                    self._check_retry_after(method, path, retry_after, error)
                what = f"answered {status}"
            attempt += 1
            # the one rule (execution/retry.py): the server's Retry-After honoured whole (checked against the
            # ceiling above), else our full-jitter backoff under max_backoff; never a wait past the deadline
            decision = retry_delay(
                self._retry,
                attempt=attempt,
                status=status or None,
                retry_after=retry_after,
                remaining=trio.current_effective_deadline() - trio.current_time(),
                random=self._random,
                max_retry_after=self._max_retry_after,
            )
            if status == 429 and self.limiter is not None:  # the org's budget is shared: hold everyone, not just us
                self.limiter.pause(retry_after if retry_after is not None else decision.delay)
            if not decision.retry:
                if attempt < self._retry.attempts and retry_after is not None:
                    raise GenesysRateLimitError(
                        method,
                        path,
                        f"answered {status} with Retry-After {retry_after:.0f}s, past this request's deadline",
                        error,
                    )
                raise GenesysApiError(method, path, status, error)
            log.warning(
                "genesys %s %s %s; retrying in %.1fs%s",
                method,
                path,
                what,
                decision.delay,
                " as Retry-After asked" if decision.honoured_retry_after else "",
            )
            await trio.sleep(decision.delay)

    def _check_retry_after(self, method: str, path: str, wait: float | None, error: ErrorBody | None) -> None:
        """A `Retry-After` beyond the ceiling is not waited for: the request fails and says why."""
        if wait is not None and wait > self._max_retry_after:
            log.error(
                "genesys %s %s: Retry-After %.0fs exceeds GENESYS_MAX_RETRY_AFTER (%.0fs); giving up",
                method,
                path,
                wait,
                self._max_retry_after,
            )
            raise GenesysRateLimitError(
                method,
                path,
                f"Genesys asked to retry after {wait:.0f}s, more than "
                f"GENESYS_MAX_RETRY_AFTER ({self._max_retry_after:.0f}s)",
                error,
            )

    async def _send(
        self, method: str, url: str, json: Any, params: Mapping[str, str] | None, headers: dict[str, str]
    ) -> Answer:
        body, framing = json_body(method, json, has_body=json is not None)
        wire = [
            *((name.encode(), value.encode()) for name, value in headers.items()),
            (b"Accept-Encoding", b"identity"),
            *framing,
        ]
        target = Target.from_url(url, list((params or {}).items()))
        return await fetch(self.door, method.encode(), target, wire, body, limit=_MAX_ANSWER)

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET `path`; the decoded JSON answer."""
        return (await self.request("GET", path, **kwargs)).json()

    async def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        """POST `body` as JSON to `path`; the decoded JSON answer."""
        return (await self.request("POST", path, json=body, **kwargs)).json()
