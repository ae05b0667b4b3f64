"""`Executor`: runs a bound call's backend request under a deadline, with retries, to a typed `Outcome`.

Lifecycle: `async with Executor(registry, engine) as executor:` opens one
long-lived `httpx.AsyncClient` per backend (over `H11Transport`, see
transport.py for why) and closes them on exit. An executor is bound to one
registry version; on hot reload the runtime opens a new one and closes the old
one once its in-flight commands are done.

Timing, with one Trio cancel scope per attempt:
- each attempt is bounded by the earlier of the backend's `timeout` and the
  command's deadline (an absolute `trio.current_time()` value, or
  `now + command.timeout` when none is given);
- a backoff sleep is only taken when it ends before that deadline
  (`retry_delay`), and no attempt starts after it.

Retries (see retry.py): only when the method is idempotent or the request
carries an `Idempotency-Key` (every POST/PUT/PATCH does, the key being the
command id, so it is the same on every attempt); on connection errors, attempt
timeouts and the statuses in `retry.on`; honouring `Retry-After` on 429/503.
A `genesys` backend answering 401 gets one more attempt with a fresh token.

Errors are values: every network or protocol failure becomes an `Outcome`.
Raised only: `TemplateError`/`ValueError` for a request the registry author got
wrong (before any I/O), and `trio.Cancelled` from the caller's own scopes.
Logs (`commandlang.execution`) carry the command, the backend, the method, the
path *template*, statuses and timings, never header values, bodies or filled
paths (they may hold tokens or sensitive arguments).
"""

from __future__ import annotations

import logging
import math
import random as _random
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import httpx
import trio

from ..binding.call import Call
from ..registry.model import BackendSpec, RegistrySpec
from ..replies.scrub import Scrubber
from ..replies.templates import TemplateEngine
from .outcome import BackendError, BadResponse, Outcome, Timeout, Unreachable, classify_response
from .client import SharedClient
from .request import PreparedRequest, TokenProvider, json_body, prepare_request
from .door import StreamingResponse, Transport
from .response import BodyTooLarge
from .retry import may_retry, parse_retry_after, retry_delay
from .target import Target
from .transport import H11Transport, PoolLimits

__all__ = ["Executor", "TransportFactory"]

logger = logging.getLogger("commandlang.execution")

#: Builds the httpx transport for one backend (tests and the benchmark swap it).
TransportFactory = Callable[[BackendSpec], httpx.AsyncBaseTransport]


@dataclass(frozen=True, slots=True)
class _Attempt:
    """What one attempt came to, plus what the retry decision needs."""

    outcome: Outcome
    retryable: bool  # a transient failure: connection error, attempt timeout or a retry status
    retry_after: float | None = None


def _default_transport(backend: BackendSpec) -> httpx.AsyncBaseTransport:
    return H11Transport(
        PoolLimits(
            max_connections=backend.max_connections, max_idle=min(PoolLimits().max_idle, backend.max_connections)
        )
    )


#: Sent on every request. identity: the size cap counts the bytes we hold, so no decompression bombs.
_DEFAULT_HEADERS = ((b"Accept-Encoding", b"identity"), (b"User-Agent", b"commandlang"))


class _Wire:
    """A prepared request in the form it is sent, encoded once: every attempt sends the same bytes.

    The body is JSON as httpx's `json=` encodes it (`json_body`); header values are UTF-8
    (HTTP/1.1 carries bytes; h11 refuses line breaks and NULs).
    """

    __slots__ = ("prepared", "method", "headers", "body", "_target")

    def __init__(self, prepared: PreparedRequest) -> None:
        self.prepared = prepared
        self.method = prepared.method.encode("ascii")
        given = {name.lower() for name, _ in prepared.headers}
        self.body, framing = json_body(
            prepared.method, prepared.json, has_body=prepared.has_body, content_type="content-type" not in given
        )
        self.headers = [
            *_DEFAULT_HEADERS,
            *((name.encode(), value.encode()) for name, value in prepared.headers),
            *framing,
        ]
        self._target: Target | None = None

    def target(self) -> Target:
        if self._target is None:
            self._target = Target.from_url(self.prepared.url, self.prepared.query)
        return self._target


class Executor:
    """Runs backend calls for one registry; use as `async with Executor(...) as executor`."""

    def __init__(
        self,
        registry: RegistrySpec,
        engine: TemplateEngine,
        *,
        token_provider: TokenProvider | None = None,
        transport_factory: TransportFactory = _default_transport,
        random: Callable[[], float] = _random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self._scrubber = Scrubber.for_registry(registry)  # logs are scrubbed like replies: they leave the process too
        self.engine = engine
        self._token_provider = token_provider
        self._transport_factory = transport_factory
        self._random = random  # the jitter source: tests pin it
        self._wall_clock = wall_clock  # only for HTTP-date Retry-After values
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._doors: dict[str, Transport] = {}  # each backend's transport through the one door (door.py)

    async def __aenter__(self) -> Executor:
        for backend in self.registry.backends.values():
            if backend.auth.type == "genesys" and self._token_provider is None:
                raise ValueError(f"backend {backend.name!r} uses genesys auth but no token provider was given")
        for name, backend in self.registry.backends.items():
            client = SharedClient(
                transport=self._transport_factory(backend),
                timeout=httpx.Timeout(None),  # Trio scopes own every timeout (see module docstring)
                follow_redirects=False,
                trust_env=False,
            )
            self._clients[name], self._doors[name] = client, client.door
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every backend client (shielded: closing must finish even while cancelled)."""
        clients, self._clients = self._clients, {}
        self._doors = {}
        with trio.CancelScope(shield=True):
            for client in clients.values():
                await client.aclose()

    # -- public -----------------------------------------------------------
    def client(self, backend: str) -> httpx.AsyncClient:
        """The long-lived client of a backend (pooled, no cookie jar), for callers that want plain httpx."""
        return self._clients[backend]

    async def execute(self, call: Call, *, deadline: float | None = None, command_id: str) -> Outcome:
        """Run `call`'s request. `deadline` is absolute Trio time; `command_id` becomes the Idempotency-Key."""
        if deadline is None and call.spec.timeout is not None:
            deadline = trio.current_time() + call.spec.timeout
        prepared = prepare_request(call, self.registry, self.engine, idempotency_key=command_id)
        route = call.spec.request.path if call.spec.request and call.spec.request.path else "/commands/{name}"
        return await self.send(
            prepared,
            deadline=deadline,
            log_context={"command": call.command, "command_id": command_id, "route": route},
            log_scrubber=self._scrubber.for_call(call.spec, call.args),
        )

    async def send(
        self,
        prepared: PreparedRequest,
        *,
        deadline: float | None = None,
        log_context: Mapping[str, Any] | None = None,
        log_scrubber: Scrubber | None = None,
    ) -> Outcome:
        """Send a prepared request with the backend's retry policy under `deadline` (absolute Trio time).

        With `log_scrubber` (one that knows the call's sensitive values), the failure log line
        also carries the backend's own error message, scrubbed as replies are (no sensitive value,
        URL, address or stack trace: logs leave the process too): the operator's one place to read
        what a failing backend said, since users never see a 5xx message.
        """
        backend = self.registry.backends[prepared.backend]
        door = self._doors.get(prepared.backend)
        if door is None:
            raise RuntimeError("Executor is not open: use `async with Executor(...)`")
        context = {"backend": backend.name, "method": prepared.method, **(log_context or {})}
        retryable_request = may_retry(prepared.method, prepared.idempotency_key)
        wire = _Wire(prepared)
        try:
            wire.target()
        except httpx.InvalidURL as exc:  # only a registry author's base URL or path can do this
            raise ValueError(f"backend {backend.name}: cannot send to this URL ({exc})") from None
        started = trio.current_time()
        attempts = 0
        token_refreshed = False
        outcome: Outcome = Timeout(attempts=0)
        # One cancel scope per attempt, at the earlier of the attempt's timeout and the command's deadline
        # (not one for the deadline around one per attempt: a scope costs as much as a scheduler round
        # trip, and the backoff sleep is already cut to fit the deadline by `retry_delay`).
        until = deadline if deadline is not None else math.inf
        while True:
            attempts += 1
            result = await self._attempt(door, backend, wire, attempts, until)
            outcome = result.outcome
            if (
                isinstance(outcome, BackendError)
                and outcome.status == 401
                and prepared.needs_genesys_token
                and not token_refreshed
                and self._token_provider is not None
            ):
                self._token_provider.invalidate()  # an expired token: one more try with a fresh one
                token_refreshed = True
                continue
            if not result.retryable or not retryable_request or trio.current_time() >= until:
                break
            remaining = None if deadline is None else deadline - trio.current_time()
            decision = retry_delay(
                backend.retry,
                attempt=attempts,
                status=outcome.status,
                retry_after=result.retry_after,
                remaining=remaining,
                random=self._random,
            )
            if not decision.retry:
                break
            logger.info(
                "retrying %s %s after %s (attempt %d, waiting %.3fs%s)",
                backend.name,
                prepared.method,
                _describe(outcome),
                attempts + 1,
                decision.delay,
                ", as Retry-After asked" if decision.honoured_retry_after else "",
                extra={**context, "stage": "retry", "attempt": attempts + 1},
            )
            await trio.sleep(decision.delay)  # shorter than what is left of the deadline (retry_delay)
        return self._finish(outcome, context, started, log_scrubber)

    # -- one attempt ------------------------------------------------------
    async def _attempt(self, door: Transport, backend: BackendSpec, wire: _Wire, number: int, until: float) -> _Attempt:
        # Straight to the backend's transport rather than `client.send`: httpx's client logs every
        # full URL at INFO (a path may hold a sensitive argument), and the redirect, auth and cookie
        # machinery we do not use was ~10% of the CPU per request.
        with trio.move_on_at(min(until, trio.current_time() + backend.timeout)) as attempt_scope:
            try:
                headers = wire.headers
                if wire.prepared.needs_genesys_token and self._token_provider is not None:
                    token = await self._token_provider.token()
                    headers = [*headers, (b"Authorization", b"Bearer " + token.encode("utf-8"))]
                response = await door.request(wire.method, wire.target(), headers, wire.body)
            except httpx.TimeoutException:
                return _Attempt(Timeout(attempts=number), retryable=True)
            except httpx.TransportError as exc:  # refused, reset, closed mid-answer, broken HTTP
                return _Attempt(Unreachable(reason=exc.__class__.__name__, attempts=number), retryable=True)
            try:
                return await self._read(response, backend, wire.prepared, number)
            except httpx.TimeoutException:
                return _Attempt(Timeout(attempts=number), retryable=True)
            except httpx.TransportError as exc:
                return _Attempt(Unreachable(reason=exc.__class__.__name__, attempts=number), retryable=True)
            finally:
                await response.release()
        assert attempt_scope.cancelled_caught
        return _Attempt(Timeout(attempts=number), retryable=True)

    async def _read(
        self, response: StreamingResponse, backend: BackendSpec, prepared: PreparedRequest, number: int
    ) -> _Attempt:
        status = response.status_code
        retry_status = status in backend.retry.on
        retry_after = parse_retry_after(response.header(b"retry-after"), self._wall_clock()) if retry_status else None
        try:
            body = await response.read(backend.max_response_bytes)  # never holds more than the limit
        except BodyTooLarge:
            return _Attempt(BadResponse(status, "too_large", attempts=number), retryable=False)
        return _Attempt(
            classify_response(status, response.header(b"content-type") or "", body, prepared, number),
            retryable=retry_status,
            retry_after=retry_after,
        )

    def _finish(
        self, outcome: Outcome, context: Mapping[str, Any], started: float, scrubber: Scrubber | None
    ) -> Outcome:
        elapsed = trio.current_time() - started
        extra = {
            **context,
            "stage": "backend",
            "attempts": outcome.attempts,
            "code": outcome.code,
            "status": outcome.status,
        }
        if outcome.ok:
            logger.debug(
                "%s %s ok (%s) in %.3fs after %d attempt(s)",
                context["backend"],
                context["method"],
                outcome.status,
                elapsed,
                outcome.attempts,
                extra=extra,
            )
        else:
            said = ""
            if scrubber is not None and isinstance(outcome, BackendError) and outcome.message:
                said = f" ({scrubber.message(outcome.message)!r})"  # repr: one line, quotes show where it ends
            logger.warning(
                "%s %s failed: %s%s in %.3fs after %d attempt(s)",
                context["backend"],
                context["method"],
                _describe(outcome),
                said,
                elapsed,
                outcome.attempts,
                extra=extra,
            )
        return outcome


def _describe(outcome: Outcome) -> str:
    """A log-safe summary: codes, statuses and exception class names only (the backend's message is added, masked, by `_finish`)."""
    if isinstance(outcome, (Unreachable,)):
        return f"unreachable ({outcome.reason})"
    if isinstance(outcome, BadResponse):
        return f"bad_response ({outcome.reason}, status {outcome.status})"
    if isinstance(outcome, BackendError):
        return f"status {outcome.status}"
    return outcome.code or "ok"
