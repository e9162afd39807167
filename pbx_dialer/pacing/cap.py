"""The abandonment cap: one guard around every policy that can abandon (power, predictive,
and progressive customer-first, whose call abandons when its agent is taken meanwhile,
e.g. by an inbound call).

A call placed beyond one per idle agent (an "extra" call) may find no agent when its
person answers: it is abandoned. The guard counts the campaign's persons answered
(calls ending SUCCESS or ABANDONED; a machine is not a person), abandoned calls and AMD
machine verdicts, both over the campaign's whole life so far and over the window of the
campaign's abandonment rule (pbx_dialer.pacing.rules: TCPA 30 days, Ofcom 24 hours,
with Ofcom's AMD false positives), each seeded at creation from storage
(`pbx_dialer.storage.attempts.abandon_counts`, `abandon_buckets`), so a restart of the
dialer keeps them. The window is kept in buckets of 1/720 of it (2 minutes for Ofcom,
an hour for TCPA): a bucket leaves the window once all of it is older than the window,
so the oldest few minutes may be counted a little longer than the rule says.

The rule, at every decision:

* room = cap x answered - abandoned (as the rule counts them), the smallest of the
  window's, the life's, the last hour's and the last 15 minutes' (see "The hour and the
  15 minutes" below): the abandonments the campaign may still have;
* extra calls in flight = every answered call still waiting for an agent (it may yet be
  abandoned: on a real queue a call that finds no free agent when it joins is offered
  one only at the queue's next retry, and with the agent's phone ringing first that
  can be past the 2 s, seen on the SIP rig), plus the calls ringing beyond the idle
  agents those waiting calls do not take first;
* while room >= 1, the wrapped policy may place extra calls, but never so many that the
  extra calls in flight exceed floor(room);
* otherwise it gets what Progressive would place (one call per idle agent not already
  covered): the calls that can always connect.

Why it holds: placing calls never lifts abandoned + extra in flight above cap x
answered (progressive calls add no extra call); answers only raise the right side, an
agent coming free or a call ending unanswered lowers the left, and an abandonment moves
one call from extra to abandoned. So over the campaign's life abandoned <= cap x
answered, exceeded at most by the extra calls in flight when the room ran out for
reasons the dialer did not choose: idle agents taken away (a pause, an inbound call),
or persons hanging up before any agent could take them (abandoned whatever the pacing;
they use up room like the others).
Two more things lower the room without the dialer choosing: answers older than the
window leaving it, and (Ofcom) each machine verdict adding its share of false positives
to both sides. With AMD false positives above cap x persons answered per machine, even
one call per idle agent goes over the cap: the campaign is then at the cap and says so.
tests/unit/test_pacing_cap.py shows the bound on short simulated campaigns,
tests/pbx/test_power_cap.py on a real Asterisk.

The hour and the 15 minutes (power and progressive; predictive guards its hour itself,
pbx_dialer.pacing.predictive): no rule names them, but a campaign held only over 24
hours or 30 days could still abandon many in one bad hour, and the bench (issue 11)
checks every clock hour and the first 15 minutes after a sudden change. The argument
above holds for them only up to one leak: a rolling span loses its oldest answers
while the abandonments allowed against them stay in it for the whole span, so a clock
hour (or the bench's shorter last one) can end over the cap although the rolling hour
never was at any decision. Hence the hour's room counts only the answers still in it
10 minutes from now against all its abandonments (any span of 50 to 60 minutes ending
at a decision is then held), and keeps one abandonment back for the answers' chance
variation (on the development seeds, 5-20 agents: clock hours up to 3.3% without
these, at most 2.9% with them, for about a point of power's occupancy on small teams).
The last 15 minutes are held at 5/3 of the cap (5% under 3%): a campaign well under
the cap for an hour banks room, and when persons suddenly answer twice as often it
would otherwise spend the hour's room in minutes (6.3% of the first 15 minutes'
answers abandoned). Both only limit extra calls; neither raises an alert.

Near the cap (less than one abandonment of room) the campaign places only the calls it
can always connect (one per idle agent). At the cap (the rule's rate at or over the cap,
in the window or over the life, with at least one abandonment counted) `at_cap()` says
so: the dial loop shows an alert on the campaign's pages, and "why not dialing" names
it (pbx_dialer.dialing.why).

Before it knows enough: a new campaign has no room (0 answered), so it starts exactly
progressive, whatever its mode, until the cap gives it one abandonment of room: at 3%,
34 persons answered with none abandoned (0.03 x 34 = 1.02). Each abandonment costs
1 / cap answers (about 33 at 3%) before extra calls are allowed again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from pbx_dialer.pacing.policy import (
    RESULT_ABANDONED,
    RESULT_MACHINE,
    RESULT_SUCCESS,
    PacingPolicy,
    PacingSnapshot,
    Progressive,
    WrappedPolicy,
    progressive_calls,
)
from pbx_dialer.pacing.rules import AbandonRule, Counts

PERSON_RESULTS = (RESULT_SUCCESS, RESULT_ABANDONED)
BUCKETS_PER_WINDOW = 720
LIFE = "campaign life"
HOUR = "hour"
HOUR_S = 3600.0
HOUR_BUCKET_S = 60.0
# The hour leaks (see above): its room counts only the answers still in it 10 minutes
# from now, and keeps one abandonment back.
HOUR_AHEAD_S = 600.0
HOUR_MARGIN = 1.0
# The last 15 minutes, at 5/3 of the cap (5% under 3%): the room banked over a calm hour
# is not all spent in a burst when more persons start answering.
QUARTER = "15 minutes"
QUARTER_S = 900.0
QUARTER_BUCKET_S = 15.0
QUARTER_SHARE = 5.0 / 3.0


class WindowCounts:
    """Counts over a sliding window, in buckets of `bucket_s` (start time -> counts)."""

    def __init__(
        self,
        window_s: float,
        buckets: Iterable[tuple[float, Counts]] = (),
        bucket_s: float | None = None,
    ) -> None:
        self.window_s = window_s
        self.bucket_s = bucket_s or window_s / BUCKETS_PER_WINDOW
        # Bucket number -> [answered, abandoned, machines], oldest first.
        self._buckets: dict[int, list[int]] = {}
        self.answered = self.abandoned = self.machines = 0
        for start, counts in sorted(buckets, key=lambda b: b[0]):
            self.add(start, counts.answered, counts.abandoned, counts.machines)

    def bucket_of(self, at: float) -> int:
        return math.floor(at / self.bucket_s)

    def add(self, at: float, answered: int = 0, abandoned: int = 0, machines: int = 0) -> None:
        key = self.bucket_of(at)
        bucket = self._buckets.get(key)
        if bucket is None:
            last = next(reversed(self._buckets), None)
            if last is not None and key < last:
                # Told late of an earlier moment whose bucket has gone: counted now.
                if answered < 0:
                    return  # taking back what has left the window already
                bucket = self._buckets[last]
            else:
                bucket = self._buckets[key] = [0, 0, 0]
        bucket[0] += answered
        bucket[1] += abandoned
        bucket[2] += machines
        self.answered += answered
        self.abandoned += abandoned
        self.machines += machines

    def since(self, at: float) -> tuple[int, int, int]:
        """Answered, abandoned, machines in the buckets that hold moments from `at` on."""
        first = self.bucket_of(at)
        answered = abandoned = machines = 0
        for key, (an, ab, m) in self._buckets.items():
            if key >= first:
                answered += an
                abandoned += ab
                machines += m
        return answered, abandoned, machines

    def expire(self, now: float) -> None:
        """Drop the buckets wholly older than the window ending `now`."""
        oldest = self.bucket_of(now - self.window_s)
        while self._buckets:
            key = next(iter(self._buckets))
            if key >= oldest:
                break
            answered, abandoned, machines = self._buckets.pop(key)
            self.answered -= answered
            self.abandoned -= abandoned
            self.machines -= machines


@dataclass(frozen=True, slots=True)
class CapState:
    """One span the cap counts over, as the rule counts it."""

    span: str  # "campaign life", or the rule's window ("24 hours", "30 days")
    answered: int
    abandoned: int
    machines: int
    live: float  # persons answered, plus Ofcom's AMD false positives
    counted: float  # abandoned, plus Ofcom's AMD false positives
    rate: float
    room: float
    allowed_pct: float  # the share this span allows (the cap, but the 15 minutes' more)


class AbandonmentCap(WrappedPolicy):
    """Wraps `policy`: it hears every event and decides, the cap only bounds its extra
    calls. `answered`, `abandoned`, `machines`: the campaign's life so far (from
    storage); `window`, `hour`: the rule's window and the last hour so far, in buckets
    (start time, counts); without a window, the life's counts are taken as all within
    it (a campaign younger than its window), without an hour, the window's. `hourly`:
    hold the last hour and 15 minutes too."""

    def __init__(
        self,
        policy: PacingPolicy,
        max_abandon_pct: float = 3.0,
        *,
        answered: int = 0,
        abandoned: int = 0,
        machines: int = 0,
        rule: AbandonRule | None = None,
        window: Iterable[tuple[float, Counts]] | None = None,
        hour: Iterable[tuple[float, Counts]] | None = None,
        hourly: bool = True,
        now: float = 0.0,
    ) -> None:
        if not 0 < max_abandon_pct <= 100:
            raise ValueError("max_abandon_pct must be more than 0 and at most 100")
        if answered < 0 or machines < 0 or not 0 <= abandoned <= answered:
            raise ValueError("the counts must be 0 <= abandoned <= answered")
        super().__init__(policy)
        self.max_abandon_pct = max_abandon_pct
        self.cap = max_abandon_pct / 100.0
        self.rule = rule or AbandonRule()
        self.answered = answered
        self.abandoned = abandoned
        self.machines = machines
        if window is None:
            window = [(now, Counts(answered, abandoned, machines))]
        window = list(window)
        self.window = WindowCounts(self.rule.window_s, window)
        # The last hour and 15 minutes too (`hourly`; see the module docstring): they
        # limit extra calls like the others and raise no alert. (Off for predictive,
        # which guards its hour itself: see policy_for.) The 15 minutes start from the
        # hour's buckets: what is older drops out at once.
        self.hourly = hourly
        recent = list(window if hour is None else hour)
        self.hour = WindowCounts(HOUR_S, recent, HOUR_BUCKET_S)
        self.quarter = WindowCounts(QUARTER_S, recent, QUARTER_BUCKET_S)
        self.now = now
        self.window.expire(now)
        self.hour.expire(now)
        self.quarter.expire(now)
        # Calls counted as answered persons when they answered, not yet ended: when.
        self._answering: dict[int, float] = {}

    @property
    def overdials(self) -> bool:
        """False when the wrapped policy never places more than one call per idle agent
        (progressive: the cap then only counts and alerts)."""
        return not isinstance(self.policy, Progressive)

    # -- the campaign's counts ---------------------------------------------------

    def _seen(self, at: float) -> None:
        if at > self.now:
            self.now = at
            self.window.expire(at)
            self.hour.expire(at)
            self.quarter.expire(at)

    def states(self) -> list[CapState]:
        """The campaign's life so far and the rule's window ending now."""
        w = self.window
        spans = [
            (LIFE, self.answered, self.abandoned, self.machines),
            (self.rule.window_name, w.answered, w.abandoned, w.machines),
        ]
        rule = self.rule
        return [
            CapState(
                span,
                answered,
                abandoned,
                machines,
                live=rule.live(answered, abandoned, machines),
                counted=rule.abandoned(answered, abandoned, machines),
                rate=rule.rate(answered, abandoned, machines),
                room=rule.room(self.cap, answered, abandoned, machines),
                allowed_pct=self.max_abandon_pct,
            )
            for span, answered, abandoned, machines in spans
        ]

    def hour_state(self) -> CapState:
        return self._guard_state(HOUR, self.hour, 1.0, HOUR_AHEAD_S, HOUR_MARGIN)

    def quarter_state(self) -> CapState:
        return self._guard_state(QUARTER, self.quarter, QUARTER_SHARE)

    def _guard_state(
        self,
        span: str,
        counts: WindowCounts,
        share: float,
        ahead_s: float = 0.0,
        margin: float = 0.0,
    ) -> CapState:
        """A span no rule names, held at `share` of the cap: its room counts the answers
        still in it `ahead_s` from now against all its abandonments, less `margin`."""
        rule, c = self.rule, counts
        if ahead_s > 0:
            kept, _, kept_machines = c.since(self.now - c.window_s + ahead_s)
        else:
            kept, kept_machines = c.answered, c.machines
        counted = rule.abandoned(c.answered, c.abandoned, c.machines)
        return CapState(
            span,
            c.answered,
            c.abandoned,
            c.machines,
            live=rule.live(c.answered, c.abandoned, c.machines),
            counted=counted,
            rate=rule.rate(c.answered, c.abandoned, c.machines),
            room=self.cap * share * rule.live(kept, 0, kept_machines) - counted - margin,
            allowed_pct=self.max_abandon_pct * share,
        )

    def binding(self) -> CapState:
        """The span with the least room: the one holding the campaign back."""
        spans = self.states()
        if self.hourly:
            spans += [self.hour_state(), self.quarter_state()]
        return min(spans, key=lambda state: state.room)

    def room(self) -> float:
        """Abandonments the campaign may still have under the cap (the least room of
        its life and its rule's window)."""
        return self.binding().room

    def extra_allowed(self) -> int:
        """Extra calls (beyond one per idle agent) that may be in flight at once."""
        room = self.room()
        return math.floor(room + 1e-9) if room >= 1.0 - 1e-9 else 0

    def holds_to_progressive(self) -> bool:
        """True while the cap allows no extra call: one call per idle agent."""
        return self.extra_allowed() == 0

    def at_cap(self) -> CapState | None:
        """The span whose rate is at or over the cap (with an abandonment counted), or
        None: the campaign is at its cap, and alerts."""
        over = [s for s in self.states() if s.counted > 0 and s.rate >= self.cap - 1e-12]
        return max(over, key=lambda s: s.rate) if over else None

    # -- events: counted, and passed on --------------------------------------------

    def on_answered(self, at: float, call: int | None = None) -> None:
        # Counted at once: the room grows as persons answer, not only when talks end.
        # Without an id, the call is counted when it ends.
        self._seen(at)
        if call is not None and call not in self._answering:
            self._answering[call] = at
            self.answered += 1
            self.window.add(at, answered=1)
            self.hour.add(at, answered=1)
            self.quarter.add(at, answered=1)
        self.policy.on_answered(at, call)

    def on_ended(self, at: float, result: str, call: int | None = None) -> None:
        self._seen(at)
        person = result in PERSON_RESULTS
        if call is not None and call in self._answering:
            counted_at = self._answering.pop(call)
            if not person:  # answered, but not by a person after all
                self.answered -= 1
                self.window.add(counted_at, answered=-1)
                self.hour.add(counted_at, answered=-1)
                self.quarter.add(counted_at, answered=-1)
        elif person:
            self.answered += 1
            self.window.add(at, answered=1)
            self.hour.add(at, answered=1)
            self.quarter.add(at, answered=1)
        if result == RESULT_ABANDONED:
            self.abandoned += 1
            self.window.add(at, abandoned=1)
            self.hour.add(at, abandoned=1)
            self.quarter.add(at, abandoned=1)
        elif result == RESULT_MACHINE:
            self.machines += 1
            self.window.add(at, machines=1)
            self.hour.add(at, machines=1)
            self.quarter.add(at, machines=1)
        self.policy.on_ended(at, result, call)

    # -- the decision -----------------------------------------------------------------

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        s = snapshot
        self._seen(s.now)
        wanted = self.policy.calls_to_place(s)
        # Calls placed now may bring the extra calls in flight up to what the room allows.
        # Waiting calls are at risk until an agent takes them, and take idle agents first.
        free_agents = max(0, s.agents_idle - s.calls_waiting)
        ceiling = free_agents + self.extra_allowed() - s.calls_waiting - s.calls_ringing
        return min(wanted, max(progressive_calls(s), ceiling))


# How the campaign's alert at the cap begins (the dial loop clears only its own).
CAP_ALERT = "at the abandonment cap"


def count_text(value: float) -> str:
    """A count as people read it: whole, or to one decimal (Ofcom's estimates)."""
    return str(round(value)) if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def span_text(cap: AbandonmentCap, state: CapState) -> str:
    """E.g. "TCPA, last 30 days" or "Ofcom, campaign life"."""
    span = state.span if state.span == LIFE else f"last {state.span}"
    return f"{cap.rule.title}, {span}"


def counts_text(cap: AbandonmentCap, state: CapState) -> str:
    """E.g. "2 of 61 answered abandoned (3.3% of 3% allowed)"; with Ofcom's AMD false
    positives, "2 abandoned + 0.4 AMD false positives of 21.4 live calls (...)"."""
    share = f"({100 * state.rate:.1f}% of {state.allowed_pct:g}% allowed)"
    false_positives = cap.rule.false_positives(state.machines)
    if false_positives > 0:
        return (
            f"{state.abandoned} abandoned + {count_text(false_positives)} AMD false positives"
            f" of {count_text(state.live)} live calls {share}"
        )
    return f"{state.abandoned} of {state.answered} answered abandoned {share}"


def cap_alert(cap: AbandonmentCap) -> str | None:
    """The alert of a campaign at its cap, or None while it is not."""
    state = cap.at_cap()
    if state is None:
        return None
    return (
        f"{CAP_ALERT} ({span_text(cap, state)}): {counts_text(cap, state)}; "
        "dialing one call per idle agent, no extra calls, until the rate is under the cap"
    )
