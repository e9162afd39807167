"""A re-implementation of VICIdial's ADAPT_HARD_LIMIT dial method, for comparison.

Rules implemented, from VICIdial's own scripts (astGUIclient, AGPLv2, read in public
mirrors of `bin/AST_VDadapt.pl` and `bin/AST_VDauto_dial.pl`, version 2.14) and the
campaign-settings documentation of the adaptive fields:

* Dialing (AST_VDauto_dial.pl): calls to place = round(dial level x counted agents)
  - calls of the campaign in progress (SENT, RINGING, LIVE, XFER: talking ones too).
  Counted agents, with "available only ratio tally" off (the default), are those READY
  or INCALL; agents in after-call work are PAUSED (dispositioning) and not counted.
* Sampling (count_agents_lines, every loop of 1 s): ready agents, calls waiting for an
  agent (LIVE) and all agents; the "differential" is the mean over the last 15 samples
  of ready agents minus the mean of waiting calls.
* Every 15 s (calculate_dial_level): target = differential + dl_diff_target (0);
  level x (1 + target / mean agents), with adaptive intensity 0 this is unchanged by
  the intensity factor; capped at the adaptive maximum level (default 3.0), floored at
  1.0.
* Drop rules (calculate_drops every 60 s feeds them): if more than 20 calls in the last
  minute and more than 50% of them dropped, halve the level; if more than 50 calls today
  and today's drops exceed the drop limit (default 3%) of today's human-answered calls,
  ADAPT_HARD_LIMIT sets the level to 1.0. Then the level is floored at 1.0.
* The level starts at the campaign's auto dial level (1.0 here).

Not modelled: the hopper, inbound blending, dial-level threshold options, the tapered
and average variants, and server trunk limits other than the campaign's max lines.
"""

from __future__ import annotations

from collections import deque

from pbx_dialer.pacing.policy import RESULT_ABANDONED, BasePolicy, PacingSnapshot
from pbx_dialer.pacing.power import ratio_calls

SAMPLES = 15  # $stat_it: one-second samples averaged for the differential
LEVEL_EVERY_S = 15.0  # $diff_ratio_updater >= 15
DROPS_EVERY_S = 60.0  # $drop_count_updater >= 60


class VicidialAdaptHardLimit(BasePolicy):
    def __init__(
        self,
        drop_limit_pct: float = 3.0,
        max_level: float = 3.0,
        start_level: float = 1.0,
        diff_target: float = 0.0,
    ) -> None:
        self.drop_limit_pct = drop_limit_pct
        self.max_level = max_level
        self.level = start_level
        self.diff_target = diff_target
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=SAMPLES)
        self._last_sample_s: int | None = None
        self._next_level_at: float | None = None
        self._next_drops_at: float | None = None
        # Raw event times, for the one-minute and today's counts.
        self._dials: deque[float] = deque()
        self._drops_recent: deque[float] = deque()
        self.dials_today = 0
        self.answers_today = 0
        self.drops_today = 0
        # Drop stats as last computed (once a minute, like calculate_drops).
        self._calls_one = 0
        self._drops_one_pct = 0.0
        self._calls_today = 0
        self._drops_answers_today_pct = 0.0

    def on_dialed(self, at: float, call: int | None = None) -> None:
        self.dials_today += 1
        self._dials.append(at)

    def on_answered(self, at: float, call: int | None = None) -> None:
        self.answers_today += 1

    def on_ended(self, at: float, result: str, call: int | None = None) -> None:
        if result == RESULT_ABANDONED:
            self.drops_today += 1
            self._drops_recent.append(at)

    def _calculate_drops(self, now: float) -> None:
        while self._dials and self._dials[0] <= now - 60.0:
            self._dials.popleft()
        while self._drops_recent and self._drops_recent[0] <= now - 60.0:
            self._drops_recent.popleft()
        self._calls_one = len(self._dials)
        drops_one = len(self._drops_recent)
        self._drops_one_pct = 100.0 * drops_one / self._calls_one if self._calls_one else 0.0
        self._calls_today = self.dials_today
        answers = max(1, self.answers_today)
        self._drops_answers_today_pct = 100.0 * self.drops_today / answers

    def _calculate_dial_level(self) -> None:
        if not self._samples:
            return
        n = len(self._samples)
        ready = sum(s[0] for s in self._samples) / n
        waiting = sum(s[1] for s in self._samples) / n
        agents = sum(s[2] for s in self._samples) / n
        target = ready - waiting + self.diff_target
        mul = target / agents if target != 0 and agents != 0 else 0.0
        level = self.level * (1.0 + mul)
        level = min(level, self.max_level)
        level = max(level, 1.0)
        if self._calls_one > 20 and self._drops_one_pct > 50.0:
            level /= 2.0
        if self._calls_today > 50 and self._drops_answers_today_pct > self.drop_limit_pct:
            level = 1.0  # the hard limit
        self.level = max(level, 1.0)

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        now = snapshot.now
        second = int(now)
        if self._last_sample_s is None or second > self._last_sample_s:
            self._last_sample_s = second
            self._samples.append(
                (snapshot.agents_idle, snapshot.calls_waiting, snapshot.agents_logged_in)
            )
        if self._next_drops_at is None:
            self._next_drops_at = now + DROPS_EVERY_S
            self._next_level_at = now + LEVEL_EVERY_S
        if now >= self._next_drops_at:
            self._calculate_drops(now)
            self._next_drops_at = now + DROPS_EVERY_S
        assert self._next_level_at is not None
        if now >= self._next_level_at:
            if snapshot.agents_logged_in > 0:
                self._calculate_dial_level()
            self._next_level_at = now + LEVEL_EVERY_S
        return ratio_calls(self.level, snapshot)
