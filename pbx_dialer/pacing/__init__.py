"""Pacing policies: how many new calls a campaign places now.

A policy is a plain object: no I/O, no clock of its own. The live dialer and the
simulator drive the very same objects the same way:

* they report what happens to attempts (`on_dialed`, `on_answered`, `on_connected`,
  `on_ended`) with the time it happened, and
* they ask `calls_to_place(snapshot)`, where the snapshot carries the time and the
  state of the campaign's queue and lines right now.

The answer is the number of new calls to originate at once; the caller applies it
and may ask again at any moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PacingSnapshot:
    now: float
    agents_logged_in: int
    agents_idle: int
    agents_wrapup: int
    calls_ringing: int  # placed, not answered yet
    calls_waiting: int  # answered, waiting for an agent
    calls_live: int  # every attempt of the campaign not ended yet
    max_lines: int  # the campaign's throttle


class PacingPolicy(Protocol):
    def on_dialed(self, at: float) -> None: ...
    def on_answered(self, at: float) -> None: ...
    def on_connected(self, at: float, wait_s: float) -> None: ...
    def on_ended(self, at: float, result: str) -> None: ...
    def calls_to_place(self, snapshot: PacingSnapshot) -> int: ...


class Progressive:
    """Customer first, one call per idle agent: an agent is free for every call placed,
    so no answered call waits for long, and none is abandoned for want of agents."""

    def on_dialed(self, at: float) -> None:
        pass

    def on_answered(self, at: float) -> None:
        pass

    def on_connected(self, at: float, wait_s: float) -> None:
        pass

    def on_ended(self, at: float, result: str) -> None:
        pass

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        free_agents = snapshot.agents_idle - snapshot.calls_ringing - snapshot.calls_waiting
        free_lines = snapshot.max_lines - snapshot.calls_live
        return max(0, min(free_agents, free_lines))


def policy_for(dial_mode: str) -> PacingPolicy:
    if dial_mode == "progressive":
        return Progressive()
    raise ValueError(f"unknown dial mode {dial_mode!r}")


class DispatchLimit:
    """At most `per_minute` new calls in any sliding minute (0: no limit). Pure: the
    caller says what time it is."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent: list[float] = []

    def allowed(self, now: float, wanted: int) -> int:
        if self.per_minute <= 0:
            return wanted
        self._sent = [t for t in self._sent if t > now - 60.0]
        return max(0, min(wanted, self.per_minute - len(self._sent)))

    def record(self, now: float, count: int) -> None:
        if self.per_minute > 0:
            self._sent.extend([now] * count)
