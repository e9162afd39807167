"""The abandonment cap: one guard around every policy that can abandon (power, predictive).

A call placed beyond one per idle agent (an "extra" call) may find no agent when its
person answers: it is abandoned. The guard counts the campaign's persons answered
(calls ending SUCCESS or ABANDONED; a machine is not a person) and abandoned calls over
the campaign's whole life so far, seeded at creation from storage
(`pbx_dialer.storage.attempts.life_abandonment`), so a restart of the dialer keeps them.

The rule, at every decision:

* room = cap x answered - abandoned: the abandonments the campaign may still have;
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
tests/unit/test_pacing_cap.py shows the bound on short simulated campaigns,
tests/pbx/test_power_cap.py on a real Asterisk.

Before it knows enough: a new campaign has no room (0 answered), so it starts exactly
progressive, whatever its mode, until the cap gives it one abandonment of room: at 3%,
34 persons answered with none abandoned (0.03 x 34 = 1.02). Each abandonment costs
1 / cap answers (about 33 at 3%) before extra calls are allowed again.
"""

from __future__ import annotations

import math

from pbx_dialer.pacing.policy import (
    RESULT_ABANDONED,
    RESULT_SUCCESS,
    BasePolicy,
    PacingPolicy,
    PacingSnapshot,
    progressive_calls,
)

PERSON_RESULTS = (RESULT_SUCCESS, RESULT_ABANDONED)


class AbandonmentCap(BasePolicy):
    """Wraps `policy`: it hears every event and decides, the cap only bounds its extra
    calls. `answered` and `abandoned`: the campaign's life so far (from storage)."""

    def __init__(
        self,
        policy: PacingPolicy,
        max_abandon_pct: float = 3.0,
        *,
        answered: int = 0,
        abandoned: int = 0,
    ) -> None:
        if not 0 < max_abandon_pct <= 100:
            raise ValueError("max_abandon_pct must be more than 0 and at most 100")
        if answered < 0 or not 0 <= abandoned <= answered:
            raise ValueError("the counts must be 0 <= abandoned <= answered")
        self.policy = policy
        self.max_abandon_pct = max_abandon_pct
        self.cap = max_abandon_pct / 100.0
        self.answered = answered
        self.abandoned = abandoned
        # Calls counted as answered persons when they answered, not yet ended.
        self._answering: set[int] = set()

    # -- the campaign's counts ---------------------------------------------------

    def room(self) -> float:
        """Abandonments the campaign may still have under the cap."""
        return self.cap * self.answered - self.abandoned

    def extra_allowed(self) -> int:
        """Extra calls (beyond one per idle agent) that may be in flight at once."""
        room = self.room()
        return math.floor(room + 1e-9) if room >= 1.0 - 1e-9 else 0

    def holds_to_progressive(self) -> bool:
        """True while the cap allows no extra call: one call per idle agent."""
        return self.extra_allowed() == 0

    # -- events: counted, and passed on --------------------------------------------

    def on_dialed(self, at: float, call: int | None = None) -> None:
        self.policy.on_dialed(at, call)

    def on_answered(self, at: float, call: int | None = None) -> None:
        # Counted at once: the room grows as persons answer, not only when talks end.
        # Without an id, the call is counted when it ends.
        if call is not None and call not in self._answering:
            self._answering.add(call)
            self.answered += 1
        self.policy.on_answered(at, call)

    def on_machine(self, at: float, call: int | None = None) -> None:
        self.policy.on_machine(at, call)

    def on_connected(self, at: float, wait_s: float, call: int | None = None) -> None:
        self.policy.on_connected(at, wait_s, call)

    def on_ended(self, at: float, result: str, call: int | None = None) -> None:
        person = result in PERSON_RESULTS
        if call is not None and call in self._answering:
            self._answering.discard(call)
            if not person:  # answered, but not by a person after all
                self.answered -= 1
        elif person:
            self.answered += 1
        if result == RESULT_ABANDONED:
            self.abandoned += 1
        self.policy.on_ended(at, result, call)

    def on_agent(self, at: float, agent: str, state: str) -> None:
        self.policy.on_agent(at, agent, state)

    # -- the decision -----------------------------------------------------------------

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        s = snapshot
        wanted = self.policy.calls_to_place(s)
        # Calls placed now may bring the extra calls in flight up to what the room allows.
        # Waiting calls are at risk until an agent takes them, and take idle agents first.
        free_agents = max(0, s.agents_idle - s.calls_waiting)
        ceiling = free_agents + self.extra_allowed() - s.calls_waiting - s.calls_ringing
        return min(wanted, max(progressive_calls(s), ceiling))
