"""The per-PBX calls-per-second token bucket (pbx_dialer/pacing/rate.py)."""

from __future__ import annotations

import pytest

from pbx_dialer.pacing.rate import CallRate


def test_a_full_bucket_allows_one_seconds_worth_at_once() -> None:
    rate = CallRate(2.0)
    assert rate.available(100.0) == 2
    assert rate.take(100.0, 5) == 2
    assert rate.available(100.0) == 0
    assert rate.take(100.0, 1) == 0


def test_tokens_refill_at_the_rate_and_never_beyond_the_burst() -> None:
    rate = CallRate(2.0)
    rate.take(0.0, 2)
    assert rate.available(0.25) == 0
    assert rate.available(0.5) == 1
    assert rate.available(1.0) == 2
    assert rate.available(60.0) == 2  # idle a minute: still one burst, not 120 calls


def test_next_due_says_when_the_next_call_may_go() -> None:
    rate = CallRate(4.0)
    assert rate.next_due(10.0) == 10.0
    rate.take(10.0, 4)
    assert rate.next_due(10.0) == pytest.approx(10.25)
    rate.take(10.1, 0)
    assert rate.next_due(10.1) == pytest.approx(10.25)


def test_given_back_tokens_may_be_used_again() -> None:
    rate = CallRate(3.0)
    rate.take(5.0, 3)
    rate.give_back(2)
    assert rate.take(5.0, 3) == 2
    rate.give_back(10)
    assert rate.available(5.0) == 3


def test_over_a_long_run_calls_never_exceed_burst_plus_rate_times_time() -> None:
    rate = CallRate(2.0)
    placed: list[float] = []
    now = 0.0
    while now < 30.0:
        placed.extend([now] * rate.take(now, 10))
        now += 0.07
    for start in placed:
        in_window = sum(1 for t in placed if start <= t < start + 1.0)
        assert in_window <= 2 + 2, (start, in_window)
    assert len(placed) <= 2 + 2.0 * 30.0
    assert len(placed) >= 2.0 * 29.0  # the cap does not starve the dialer either


def test_a_slow_rate_still_lets_one_call_through() -> None:
    rate = CallRate(0.5)
    assert rate.burst == 1.0
    assert rate.take(0.0, 3) == 1
    assert rate.next_due(0.0) == pytest.approx(2.0)
    assert rate.take(1.9, 1) == 0
    assert rate.take(2.0, 1) == 1


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_the_rate_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="per_second"):
        CallRate(bad)


def test_time_going_backwards_adds_no_tokens() -> None:
    rate = CallRate(2.0)
    rate.take(10.0, 2)
    assert rate.available(9.0) == 0
    assert rate.available(10.5) == 1
