"""Pacing policies and the dispatch limit: pure objects, driven with a fixed clock."""

from __future__ import annotations

from typing import Any

from pbx_dialer.pacing import DispatchLimit, PacingSnapshot, Progressive


def snapshot(**values: int) -> PacingSnapshot:
    base: dict[str, Any] = dict(agents_logged_in=3, agents_idle=3, agents_wrapup=0,
                                calls_ringing=0, calls_waiting=0, calls_live=0,
                                max_lines=10)  # fmt: skip
    base.update(values)
    return PacingSnapshot(now=0.0, **base)


def test_progressive_places_one_call_per_idle_agent_not_already_covered() -> None:
    policy = Progressive()
    assert policy.calls_to_place(snapshot()) == 3
    assert policy.calls_to_place(snapshot(calls_ringing=1, calls_waiting=1)) == 1
    assert policy.calls_to_place(snapshot(agents_idle=0)) == 0


def test_progressive_respects_the_throttle() -> None:
    assert Progressive().calls_to_place(snapshot(max_lines=4, calls_live=3)) == 1
    assert Progressive().calls_to_place(snapshot(max_lines=4, calls_live=5)) == 0


def test_dispatch_limit_is_a_sliding_minute() -> None:
    limit = DispatchLimit(per_minute=5)
    assert limit.allowed(100.0, 10) == 5
    limit.record(100.0, 5)
    assert limit.allowed(130.0, 10) == 0
    assert limit.allowed(160.5, 10) == 5
    unlimited = DispatchLimit(per_minute=0)
    unlimited.record(1.0, 1000)
    assert unlimited.allowed(1.0, 7) == 7
