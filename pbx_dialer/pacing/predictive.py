"""Predictive pacing: place calls ahead of free agents, keeping abandonment under a cap.

How it decides (all online, from what it has been told so far):

* It learns, over a sliding window of recent attempts, how a call's ringing phase ends
  and when: the share answered by a person and the distribution of the delay to that
  answer, against every other end (machine verdict, busy, no answer). From that it knows,
  for a call that has rung for `a` seconds, the chance a person answers within the next
  `x` seconds; and for a new call, the chance a person answers within `x`.
* It learns the mean talk time and the mean wrap-up from the calls and agents it sees.
* For a few horizons h (4 to 20 s ahead), it balances the agents expected to be free
  by h + patience (idle now, wrap-ups ending, talks ending followed by their wrap-up,
  at the learned rate) against the persons expected to answer by h (calls already
  waiting, calls ringing now given their age, and the new calls it would place). It
  places the most calls for which, at every horizon, expected answers exceed expected
  free agents by no more than `z` standard deviations of the balance (a normal
  approximation of the sums of independent events).
* `z` is the safety margin, steered by the outcome of every person-answered call: a
  stochastic-approximation step down on each call that reached an agent and up on each
  abandoned one, so abandonment settles at a target share of the cap (not at the cap: the
  cap also holds hour by hour).
* Guard: it keeps the last hour's answered and abandoned calls; when the abandonments
  that hour could still absorb under the cap run low, it dials progressively until the
  hour has room again.
* Until enough history is in (or with fewer agents than `min_agents`) it is exactly
  progressive, and it never places a call while no agent is logged in. It never places
  fewer calls than progressive would.
"""

from __future__ import annotations

import math
from collections import deque

from pbx_dialer.pacing.policy import (
    AGENT_BUSY,
    AGENT_WRAPUP,
    RESULT_ABANDONED,
    RESULT_SUCCESS,
    BasePolicy,
    PacingSnapshot,
    free_lines,
)

BIN_S = 0.5  # resolution of the ring-time histograms
MAX_RING_S = 90.0
HORIZONS_S = (4.0, 8.0, 12.0, 16.0, 20.0)


class _RingStats:
    """How ringing phases ended, over the last `size` resolved attempts: histograms by
    ring time of person answers and of every end."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.nbins = int(MAX_RING_S / BIN_S) + 1
        self.person = [0] * self.nbins
        self.ended = [0] * self.nbins
        self.window: deque[tuple[int, bool]] = deque()
        self.n_person = 0
        self._dirty = True
        # person_before[b]: person answers with bin < b; ended_from[b]: ends with bin >= b.
        self.person_before = [0] * (self.nbins + 1)
        self.ended_from = [0] * (self.nbins + 1)

    def bin(self, seconds: float) -> int:
        b = int(seconds / BIN_S) if seconds > 0 else 0
        return b if b < self.nbins else self.nbins - 1

    def add(self, ring_s: float, is_person: bool) -> None:
        b = self.bin(ring_s)
        self.window.append((b, is_person))
        self.ended[b] += 1
        if is_person:
            self.person[b] += 1
            self.n_person += 1
        if len(self.window) > self.size:
            ob, op = self.window.popleft()
            self.ended[ob] -= 1
            if op:
                self.person[ob] -= 1
                self.n_person -= 1
        self._dirty = True

    def __len__(self) -> int:
        return len(self.window)

    def refresh(self) -> None:
        if not self._dirty:
            return
        acc = 0
        for b in range(self.nbins):
            self.person_before[b] = acc
            acc += self.person[b]
        self.person_before[self.nbins] = acc
        acc = 0
        for b in range(self.nbins - 1, -1, -1):
            acc += self.ended[b]
            self.ended_from[b] = acc
        self.ended_from[self.nbins] = 0
        self._dirty = False

    def person_share(self) -> float:
        return self.n_person / len(self.window) if self.window else 0.0

    def new_call_person_within(self, horizon_s: float) -> float:
        n = len(self.window)
        if n == 0:
            return 0.0
        return self.person_before[min(self.bin(horizon_s), self.nbins)] / n

    def ringing_person_within(self, b0: int, hb: int) -> float:
        """Chance a call ringing for bin b0 is answered by a person within hb more bins."""
        alive = self.ended_from[b0]
        if alive <= 0:
            return 0.0
        b1 = b0 + hb if b0 + hb < self.nbins else self.nbins
        return (self.person_before[b1] - self.person_before[b0]) / alive


class _Mean:
    """Mean of the last `size` values."""

    def __init__(self, size: int) -> None:
        self.values: deque[float] = deque(maxlen=size)
        self.total = 0.0

    def add(self, v: float) -> None:
        if len(self.values) == self.values.maxlen:
            self.total -= self.values[0]
        self.values.append(v)
        self.total += v

    def __len__(self) -> int:
        return len(self.values)

    def mean(self, default: float) -> float:
        return self.total / len(self.values) if self.values else default


class Predictive(BasePolicy):
    def __init__(
        self,
        max_abandon_pct: float = 3.0,
        *,
        target_share: float = 0.5,
        patience_s: float = 2.0,
        min_agents: int = 2,
        min_dials: int = 100,
        min_answers: int = 10,
        window: int = 1500,
        step: float = 0.02,
        z_start: float = 2.5,
        hour_slack: float = 1.5,
    ) -> None:
        if not 0 < max_abandon_pct <= 100:
            raise ValueError("max_abandon_pct must be more than 0 and at most 100")
        self.cap = max_abandon_pct / 100.0
        self.target = self.cap * target_share
        self.patience_s = patience_s
        self.min_agents = min_agents
        self.min_dials = min_dials
        self.min_answers = min_answers
        self.step = step
        self.z = z_start
        self.hour_slack = hour_slack
        self.rings = _RingStats(window)
        self.talk = _Mean(400)
        self.agent_talk = _Mean(400)
        self.wrap = _Mean(400)
        self.ringing: dict[int, float] = {}  # call -> dialed at
        self.answered_at: dict[int, float] = {}  # waiting or talking call -> answered at
        self.connected_at: dict[int, float] = {}
        self.recent_dials: deque[float] = deque(maxlen=2000)  # for calls without ids
        self.agents: dict[str, tuple[str, float]] = {}  # agent -> (state, since)
        self.hour: deque[tuple[float, bool]] = deque()  # (answered at, abandoned)
        self.hour_abandoned = 0
        self.mode = "progressive"  # what the last decision was: for tests and dashboards

    # -- events ------------------------------------------------------------------

    def on_dialed(self, at: float, call: int | None = None) -> None:
        self.recent_dials.append(at)
        if call is not None:
            self.ringing[call] = at

    def on_answered(self, at: float, call: int | None = None) -> None:
        if call is None:
            return
        dialed = self.ringing.pop(call, None)
        if dialed is not None:
            self.rings.add(at - dialed, True)
        self.answered_at[call] = at

    def on_connected(self, at: float, wait_s: float, call: int | None = None) -> None:
        self._answer_outcome(at - wait_s, abandoned=False)
        if call is not None:
            self.connected_at[call] = at

    def on_ended(self, at: float, result: str, call: int | None = None) -> None:
        if result == RESULT_ABANDONED:
            answered = self.answered_at.get(call, at - self.patience_s) if call else None
            self._answer_outcome(answered if answered is not None else at, abandoned=True)
        if call is None:
            return
        dialed = self.ringing.pop(call, None)
        if dialed is not None:  # ended while ringing: machine, busy, no answer, failed
            self.rings.add(at - dialed, False)
        self.answered_at.pop(call, None)
        connected = self.connected_at.pop(call, None)
        if connected is not None and result == RESULT_SUCCESS:
            self.talk.add(at - connected)

    def on_agent(self, at: float, agent: str, state: str) -> None:
        before = self.agents.get(agent)
        if before is not None:
            old, since = before
            if old == AGENT_WRAPUP and state != AGENT_WRAPUP:
                self.wrap.add(at - since)
            elif old == AGENT_BUSY and state != AGENT_BUSY:
                self.agent_talk.add(at - since)
        self.agents[agent] = (state, at)

    def _answer_outcome(self, answered_at: float, abandoned: bool) -> None:
        # Robbins-Monro: z settles where abandoned answers are `target` of all answers.
        if abandoned:
            self.z += self.step * (1.0 - self.target)
            self.hour_abandoned += 1
        else:
            self.z -= self.step * self.target
        self.hour.append((answered_at, abandoned))

    # -- the decision --------------------------------------------------------------

    def _hour_room(self, now: float) -> float:
        """Abandonments the last hour could still absorb under the cap."""
        while self.hour and self.hour[0][0] < now - 3600.0:
            _, abandoned = self.hour.popleft()
            if abandoned:
                self.hour_abandoned -= 1
        return self.cap * len(self.hour) - self.hour_abandoned

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        s = snapshot
        if s.agents_logged_in <= 0:
            self.mode = "no agents"
            return 0
        lines = free_lines(s)
        progressive = max(0, min(s.agents_idle - s.calls_ringing - s.calls_waiting, lines))
        if (
            s.agents_logged_in < self.min_agents
            or len(self.rings) < self.min_dials
            or self.rings.n_person < self.min_answers
        ):
            self.mode = "progressive"
            return progressive
        if self._hour_room(s.now) < self.hour_slack:
            self.mode = "guard"
            return progressive
        self.mode = "predictive"
        wanted = self._predict(s)
        return max(progressive, min(wanted, lines))

    def _ringing_ages(self, s: PacingSnapshot) -> list[float]:
        if len(self.ringing) == s.calls_ringing:
            return [s.now - t for t in self.ringing.values()]
        # Not told which calls are which: take the most recent dials as those ringing.
        n = min(s.calls_ringing, len(self.recent_dials))
        ages = [s.now - self.recent_dials[-1 - i] for i in range(n)]
        ages.extend([0.0] * (s.calls_ringing - n))
        return ages

    def _wrap_remaining(self, s: PacingSnapshot, wrap_mean: float) -> list[float]:
        tracked = [
            max(0.0, wrap_mean - (s.now - since))
            for state, since in self.agents.values()
            if state == AGENT_WRAPUP
        ]
        if len(tracked) == s.agents_wrapup:
            return tracked
        return [wrap_mean / 2.0] * s.agents_wrapup

    def _predict(self, s: PacingSnapshot) -> int:
        rings = self.rings
        rings.refresh()
        talk_mean = self.talk.mean(self.agent_talk.mean(120.0))
        wrap_mean = self.wrap.mean(0.0)
        talking = max(0, s.agents_logged_in - s.agents_idle - s.agents_wrapup)
        bins = [rings.bin(a) for a in self._ringing_ages(s)]
        wraps = self._wrap_remaining(s, wrap_mean)
        best: int | None = None
        for h in HORIZONS_S:
            reach = h + self.patience_s
            # Agents free by `reach`: idle now, wrap-ups over, talks over plus wrap-up.
            wrap_free = sum(1 for r in wraps if r <= reach)
            talk_p = min(1.0, max(0.0, reach - wrap_mean) / talk_mean)
            supply = s.agents_idle + wrap_free + talking * talk_p
            supply_var = talking * talk_p * (1.0 - talk_p)
            # Persons answering by h: waiting now, ringing now, and the new calls.
            hb = int(h / BIN_S)
            demand = float(s.calls_waiting)
            demand_var = 0.0
            for b in bins:
                q = rings.ringing_person_within(b, hb)
                demand += q
                demand_var += q * (1.0 - q)
            g = rings.new_call_person_within(h)
            if g <= 0.0:
                continue
            # Largest n with demand + n g - supply <= -z sqrt(var + n g (1 - g)).
            n = self._largest(supply - demand, supply_var + demand_var, g)
            if best is None or n < best:
                best = n
                if best <= 0:
                    break
        return best if best is not None else 0

    def _largest(self, room: float, var: float, g: float) -> int:
        """Largest n with n g - room <= -z sqrt(var + n g (1 - g)): the left side grows
        linearly, the right as a square root, so the set of such n is an interval."""
        z = self.z

        def fits(n: int) -> bool:
            return n * g - room <= -z * math.sqrt(var + n * g * (1.0 - g))

        if not fits(0):
            return 0
        hi = 1
        while fits(hi) and hi < 100_000:
            hi *= 2
        lo = hi // 2  # fits(lo) holds
        while lo < hi - 1:
            mid = (lo + hi) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
        return lo if not fits(hi) else hi
