"""The retry policy (pure): Retry-After parsing, full-jitter backoff, caps and the deadline."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commandlang.execution.retry import full_jitter, may_retry, parse_retry_after, retry_delay
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


def test_retry_after_rejects_garbage_and_negatives_and_keeps_absurd_values_finite() -> None:
    for garbage in ("soon", "-3", "-0.5", "1e3", "nan", "inf", "\u00b2", "5 seconds", "Mon, 99 Foo 2024 00:00:00 GMT"):
        assert parse_retry_after(garbage, NOW) is None, garbage
    assert parse_retry_after(" 1.5 ", NOW) == 1.5  # lenient: some servers send a fraction
    assert parse_retry_after("9" * 400, NOW) == 2.0**31  # no OverflowError, no infinity


def test_an_http_date_without_a_zone_is_read_as_gmt() -> None:
    stamp = email.utils.formatdate(NOW + 30, usegmt=True).replace("GMT", "-0000")
    assert parse_retry_after(stamp, NOW) == pytest.approx(30.0)


@given(st.text(max_size=40))
def test_retry_after_never_raises_and_never_goes_negative(value: str) -> None:
    seconds = parse_retry_after(value, NOW)
    assert seconds is None or 0.0 <= seconds <= 2.0**31


def test_full_jitter_spans_zero_to_the_capped_exponential() -> None:
    assert [full_jitter(n, base=0.5, cap=3.0, random=lambda: 1.0) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert full_jitter(2, base=0.5, cap=3.0, random=lambda: 0.0) == 0.0  # may retry at once
    assert full_jitter(1, base=0.5, cap=3.0, random=lambda: 0.25) == 0.25
    assert full_jitter(10_000, base=0.1, cap=30.0, random=lambda: 1.0) == 30.0  # a huge count stays capped


@given(
    st.integers(min_value=-5, max_value=10_000),
    st.floats(0.001, 10.0),
    st.floats(0.001, 100.0),
    st.floats(0.0, 1.0, exclude_max=True),
)
def test_full_jitter_stays_within_zero_and_the_cap(doublings: int, base: float, cap: float, r: float) -> None:
    delay = full_jitter(doublings, base=base, cap=cap, random=lambda: r)
    assert 0.0 <= delay <= min(cap, base * 2.0 ** max(0, min(doublings, 64)))


def test_the_executor_policy_starts_at_its_backoff_and_doubles_to_its_cap() -> None:
    delays = [
        retry_delay(POLICY, attempt=n, status=502, retry_after=None, remaining=None, random=lambda: 1.0).delay
        for n in (1, 2, 3)
    ]
    assert delays == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured_but_capped_by_max_backoff() -> None:
    decision = retry_delay(POLICY, attempt=1, status=503, retry_after=2.0, remaining=None, random=lambda: 1.0)
    assert (decision.retry, decision.delay, decision.honoured_retry_after) == (True, 2.0, True)
    capped = retry_delay(POLICY, attempt=1, status=429, retry_after=60.0, remaining=None, random=lambda: 1.0)
    assert capped.delay == 3.0


def test_a_caller_may_honour_a_longer_retry_after_whole() -> None:
    """The Genesys client: a Retry-After up to its own ceiling is waited whole; its own backoff keeps the cap."""
    long = retry_delay(
        POLICY, attempt=1, status=429, retry_after=90.0, remaining=None, random=lambda: 1.0, max_retry_after=120.0
    )
    assert (long.delay, long.honoured_retry_after) == (90.0, True)
    own = retry_delay(
        POLICY, attempt=3, status=None, retry_after=None, remaining=None, random=lambda: 1.0, max_retry_after=120.0
    )
    assert (own.delay, own.honoured_retry_after) == (2.0, False)  # 0.5 doubled twice, under max_backoff


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
