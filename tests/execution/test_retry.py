"""The retry policy (pure): Retry-After parsing, full-jitter backoff, caps and the deadline."""

from __future__ import annotations

import email.utils

import pytest

from commandlang.execution.retry import backoff_delay, may_retry, parse_retry_after, retry_delay
from commandlang.registry.model import RetryPolicy

NOW = 1_700_000_000.0
POLICY = RetryPolicy(attempts=4, on=frozenset({429, 502, 503, 504}), backoff=0.5, max_backoff=3.0)


def test_retry_after_in_seconds_and_as_http_date() -> None:
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after(email.utils.formatdate(NOW + 42, usegmt=True), NOW) == pytest.approx(42.0)
    assert parse_retry_after(email.utils.formatdate(NOW - 42, usegmt=True), NOW) == 0.0  # in the past: now
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after("-3", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_full_jitter_spans_zero_to_the_capped_exponential() -> None:
    assert [backoff_delay(POLICY, n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(POLICY, 3, lambda: 0.0) == 0.0
    assert backoff_delay(POLICY, 2, lambda: 0.25) == 0.25


def test_retry_after_is_honoured_but_capped_by_max_backoff() -> None:
    decision = retry_delay(POLICY, attempt=1, status=503, retry_after=2.0, remaining=None, random=lambda: 1.0)
    assert (decision.retry, decision.delay, decision.honoured_retry_after) == (True, 2.0, True)
    capped = retry_delay(POLICY, attempt=1, status=429, retry_after=60.0, remaining=None, random=lambda: 1.0)
    assert capped.delay == 3.0


def test_a_wait_past_the_deadline_stops_at_once() -> None:
    decision = retry_delay(POLICY, attempt=1, status=503, retry_after=2.0, remaining=1.5, random=lambda: 1.0)
    assert not decision.retry


def test_no_retry_for_other_statuses_or_after_the_last_attempt() -> None:
    assert not retry_delay(POLICY, attempt=1, status=500, retry_after=None, remaining=None, random=lambda: 1.0).retry
    assert not retry_delay(POLICY, attempt=4, status=503, retry_after=None, remaining=None, random=lambda: 1.0).retry
    assert retry_delay(POLICY, attempt=1, status=None, retry_after=None, remaining=None, random=lambda: 1.0).retry


def test_only_idempotent_or_keyed_requests_may_be_retried() -> None:
    assert may_retry("GET", None) and may_retry("put", None) and may_retry("DELETE", None)
    assert not may_retry("POST", None) and not may_retry("PATCH", "")
    assert may_retry("POST", "cmd-1")
