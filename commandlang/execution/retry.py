"""When to retry a backend call and how long to wait (pure: no I/O, no clock, no global random).

The executor passes in the current wall-clock time (for HTTP-date
`Retry-After`) and a random source (so tests can pin the jitter).
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass
from typing import Callable

from ..registry.model import RetryPolicy

__all__ = ["IDEMPOTENT_METHODS", "RETRY_AFTER_STATUSES", "RetryDecision", "backoff_delay", "may_retry", "parse_retry_after", "retry_delay"]

#: Methods that may be repeated without changing the outcome (RFC 9110 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})

#: Statuses whose `Retry-After` header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def may_retry(method: str, idempotency_key: str | None) -> bool:
    """A request may be sent again only if repeating it cannot do the work twice."""
    return method.upper() in IDEMPOTENT_METHODS or bool(idempotency_key)


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date), or None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        seconds = float(value)  # lenient: some servers send "1.5"
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - now_epoch)


def backoff_delay(policy: RetryPolicy, retry_number: int, random: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max_backoff, backoff * 2**(n-1))].

    `retry_number` counts from 1 (the wait before the second attempt).
    """
    ceiling = min(policy.max_backoff, policy.backoff * (2 ** max(0, retry_number - 1)))
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
) -> RetryDecision:
    """Decide after a failed, retryable attempt (`status` None: a connection error or an attempt timeout).

    A `Retry-After` on 429/503 is honoured, capped by `max_backoff`; when the wait would
    outlast the command's deadline (`remaining`), we stop at once and report the
    answer we have rather than sleep into a timeout.
    """
    if attempt >= policy.attempts:
        return RetryDecision(False)
    if status is not None and status not in policy.on:
        return RetryDecision(False)
    if status in RETRY_AFTER_STATUSES and retry_after is not None:
        delay = min(retry_after, policy.max_backoff)
        honoured = True
    else:
        delay = backoff_delay(policy, attempt, random)
        honoured = False
    if remaining is not None and delay >= remaining:
        return RetryDecision(False)
    return RetryDecision(True, delay, honoured)
