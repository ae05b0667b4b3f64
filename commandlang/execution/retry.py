"""When to retry a call and how long to wait: the one place for backoff and `Retry-After`.

Pure: no I/O, no clock, no global random. Every caller (the Executor, the
Genesys clients, the webhook outbox, the Redis follower, `SyncClient`) passes
in its random source (so tests can pin the jitter) and, for an HTTP-date
`Retry-After`, the current wall-clock time.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import timezone
from typing import Callable

from ..registry.model import RetryPolicy

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_AFTER_STATUSES",
    "RetryDecision",
    "full_jitter",
    "may_retry",
    "parse_retry_after",
    "retry_delay",
]

#: Methods that may be repeated without changing the outcome (RFC 9110 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})

#: Statuses whose `Retry-After` header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})

# delta-seconds is 1*DIGIT (RFC 9110 10.2.3); a fraction is accepted because some servers send "1.5".
# ASCII only: str.isdigit() also accepts "²", which int() then refuses.
_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# A longer wait than this is no different in practice, and keeps an absurd header finite
# (RFC 9111 1.2.2 caps delta-seconds the same way).
_MAX_SECONDS = 2.0**31
# 2**64 already exceeds any cap; a larger exponent would only risk OverflowError.
_MAX_DOUBLINGS = 64


def may_retry(method: str, idempotency_key: str | None) -> bool:
    """A request may be sent again only if repeating it cannot do the work twice."""
    return method.upper() in IDEMPOTENT_METHODS or bool(idempotency_key)


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date), or None if absent/invalid.

    A negative number is invalid (None), not "now": the caller then falls back to its own
    backoff instead of hammering a server that sent a broken header. A date in the past is now (0).
    """
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return min(float(value), _MAX_SECONDS)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": an HTTP-date is always GMT, never the local zone
        moment = moment.replace(tzinfo=timezone.utc)
    return min(max(0.0, moment.timestamp() - now_epoch), _MAX_SECONDS)


def full_jitter(doublings: int, *, base: float, cap: float, random: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**doublings)].

    `doublings` is 0 for the first wait. Full jitter (not "equal" jitter, not none) so that
    clients that failed together spread out instead of retrying in step.
    """
    ceiling = min(cap, base * 2.0 ** max(0, min(doublings, _MAX_DOUBLINGS)))
    return random() * ceiling


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """`retry` False means stop now and report the last outcome; else wait `delay` seconds first."""

    retry: bool
    delay: float = 0.0
    honoured_retry_after: bool = False


def retry_delay(
    policy: RetryPolicy,
    *,
    attempt: int,
    status: int | None,
    retry_after: float | None,
    remaining: float | None,
    random: Callable[[], float],
    max_retry_after: float | None = None,
) -> RetryDecision:
    """Decide after a failed, retryable attempt (`status` None: a connection error or an attempt timeout).

    A `Retry-After` on 429/503 is honoured, capped by `max_retry_after` (default the policy's
    `max_backoff`; the Genesys client honours a longer one whole, up to its own ceiling); when
    the wait would outlast the command's deadline (`remaining`), we stop at once and report the
    answer we have rather than sleep into a timeout.
    """
    if attempt >= policy.attempts:
        return RetryDecision(False)
    if status is not None and status not in policy.on:
        return RetryDecision(False)
    if status in RETRY_AFTER_STATUSES and retry_after is not None:
        delay = min(retry_after, policy.max_backoff if max_retry_after is None else max_retry_after)
        honoured = True
    else:
        delay = full_jitter(attempt - 1, base=policy.backoff, cap=policy.max_backoff, random=random)
        honoured = False
    if remaining is not None and delay >= remaining:
        return RetryDecision(False)
    return RetryDecision(True, delay, honoured)
