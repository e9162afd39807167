"""A per-PBX cap on new calls per second: a token bucket, shared by every campaign (and
the agent desk) dialing through one Asterisk. Pure: the caller says what time it is.

Trunks and carriers refuse or flag bursts of call set-ups; the cap keeps the sum of all
campaigns' Originates under the rate the PBX was configured for, whatever each
campaign's own pacing asks.
"""

from __future__ import annotations

import math


class CallRate:
    """At most `per_second` new calls per second on average, and never more than
    `burst` at once (a full bucket). Tokens refill continuously; a call takes one."""

    def __init__(self, per_second: float, burst: float | None = None) -> None:
        if not per_second > 0:
            raise ValueError("per_second must be > 0")
        self.per_second = per_second
        # One second's worth by default, and at least one call, or nothing could go.
        self.burst = max(1.0, per_second if burst is None else burst)
        self._tokens = self.burst
        self._at: float | None = None

    def _refill(self, now: float) -> None:
        if self._at is not None and now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        if self._at is None or now > self._at:
            self._at = now

    def available(self, now: float) -> int:
        """How many calls may be placed now."""
        self._refill(now)
        # The epsilon absorbs float error in the refill (0.1 + 0.2 style).
        return max(0, math.floor(self._tokens + 1e-9))

    def take(self, now: float, count: int) -> int:
        """Take up to `count` calls' tokens now; returns how many were granted."""
        granted = min(max(0, count), self.available(now))
        self._tokens -= granted
        return granted

    def give_back(self, count: int) -> None:
        """Tokens taken for calls that were not placed after all."""
        self._tokens = min(self.burst, self._tokens + max(0, count))

    def next_due(self, now: float) -> float:
        """When the next call may be placed (`now` if one may be placed now)."""
        if self.available(now) >= 1:
            return now
        return now + (1.0 - self._tokens) / self.per_second
