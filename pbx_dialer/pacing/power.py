"""Fixed-rate policies: Power (lines per idle agent) and FixedRatio (a fixed dial level).

Neither learns anything: they are the simple modes and the baselines the predictive
policy is measured against (bench/pacing.py).
"""

from __future__ import annotations

import math

from pbx_dialer.pacing.policy import BasePolicy, PacingSnapshot, free_lines


class Power(BasePolicy):
    """A fixed number of lines per idle agent: with `lines_per_agent` = 2, two calls
    ring for every idle agent (calls already ringing or waiting count against them)."""

    def __init__(self, lines_per_agent: float = 2.0) -> None:
        if lines_per_agent < 1:
            raise ValueError("lines_per_agent must be at least 1")
        self.lines_per_agent = lines_per_agent

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        if snapshot.agents_logged_in <= 0 or snapshot.agents_idle <= 0:
            return 0
        goal = math.floor(self.lines_per_agent * snapshot.agents_idle + 1e-9)
        wanted = goal - snapshot.calls_ringing - snapshot.calls_waiting
        return max(0, min(wanted, free_lines(snapshot)))


def ratio_calls(level: float, snapshot: PacingSnapshot) -> int:
    """VICIdial's dialing rule (AST_VDauto_dial.pl, available-only tally off): keep
    `level` x (agents ready or in a call) lines in use, every line of the campaign
    counted, talking ones included. Agents in after-call work count as paused there."""
    if snapshot.agents_logged_in <= 0:
        return 0
    agents = snapshot.agents_logged_in - snapshot.agents_wrapup
    goal = math.floor(level * agents + 0.5)  # sprintf("%.0f")
    return max(0, min(goal - snapshot.calls_live, free_lines(snapshot)))


class FixedRatio(BasePolicy):
    """A fixed dial level (VICIdial's RATIO method): never adapts."""

    def __init__(self, level: float) -> None:
        if level < 1:
            raise ValueError("level must be at least 1")
        self.level = level

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        return ratio_calls(self.level, snapshot)
