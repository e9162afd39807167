"""Pacing policies: how many new calls a campaign places now.

A policy is a plain object: no I/O, no clock of its own (every method is told the
time). The live dialer (pbx_dialer/dialing/engine.py) and the simulator
(pbx_dialer/pacing/simulator.py, bench/pacing.py) drive the very same objects the same
way, one policy object per campaign:

Events, reported as they happen, each with the time it happened and, when known, the
attempt id (`call`), so the policy can follow every call:

* ``on_dialed(at, call)``: a call was placed (right after the policy asked for it);
* ``on_answered(at, call)``: answered by a person; it now waits for an agent;
* ``on_machine(at, call)``: answered by a machine (answering-machine detection said
  so); it is released, and ``on_ended(.., "MACHINE", ..)`` follows;
* ``on_connected(at, wait_s, call)``: an agent took the answered call after wait_s;
* ``on_ended(at, result, call)``: the attempt is over, exactly once per attempt, with
  its technical result: "SUCCESS" (talked to an agent, now over), "ABANDONED" (answered
  by a person, no agent in time: the safe-harbour message played), "MACHINE", or a
  failure or no answer ("BUSY", "NOANSWER", "CONGESTION", "FAILED");
* ``on_agent(at, agent, state)``: an agent of the campaign's queue became "idle",
  "busy" (on a call), "wrapup" (after-call work) or "away" (logged out or paused).

The question, asked after each event (or batch of events at the same instant) and on
the dial loop's timer:

* ``calls_to_place(snapshot) -> int``: how many new calls to originate now, given a
  `PacingSnapshot` (time; agents logged in, idle, in wrap-up; calls ringing, answered
  and waiting, in progress; the campaign's max lines). The caller places that many at
  once (fewer if records, the dispatch rate or the PBX limits run short) and reports
  each with ``on_dialed``. The answer never exceeds the free lines, and is 0 whenever
  no agent is logged in.

Every event method has a no-op default in `BasePolicy`: a caller that reports only some
events still works; the predictive policy then estimates what it was not told from the
snapshot (it is most precise with every event and the attempt ids).

Policies: `Progressive` (one call per idle agent), `Power` (fixed lines per idle agent),
`Predictive` (adaptive, keeps abandonment under the campaign's cap), `FixedRatio` and
`VicidialAdaptHardLimit` (baselines for bench/pacing.py). `AbandonmentCap` wraps the
modes that can abandon (`policy_for`: power, predictive, progressive) and holds them to
one call per idle agent whenever the campaign's abandonment, by its rule
(pbx_dialer.pacing.rules: TCPA or Ofcom), over the rule's window or its life, leaves no
room.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pbx_dialer.pacing.agentless import Agentless
from pbx_dialer.pacing.cap import CAP_ALERT, AbandonmentCap, cap_alert
from pbx_dialer.pacing.policy import (
    AGENT_AWAY,
    AGENT_BUSY,
    AGENT_IDLE,
    AGENT_STATES,
    AGENT_WRAPUP,
    BasePolicy,
    PacingPolicy,
    PacingSnapshot,
    Progressive,
    RecordsLeft,
    WrappedPolicy,
)
from pbx_dialer.pacing.power import FixedRatio, Power
from pbx_dialer.pacing.predictive import Predictive
from pbx_dialer.pacing.rate import CallRate
from pbx_dialer.pacing.rules import ABANDON_RULES, AbandonRule, Counts
from pbx_dialer.pacing.vicidial import VicidialAdaptHardLimit

__all__ = [
    "ABANDON_RULES",
    "AGENT_AWAY",
    "AGENT_BUSY",
    "AGENT_IDLE",
    "AGENT_STATES",
    "AGENT_WRAPUP",
    "CAP_ALERT",
    "AbandonRule",
    "AbandonmentCap",
    "BasePolicy",
    "CallRate",
    "Counts",
    "DispatchLimit",
    "FixedRatio",
    "PacingPolicy",
    "PacingSnapshot",
    "Power",
    "Predictive",
    "Progressive",
    "RecordsLeft",
    "VicidialAdaptHardLimit",
    "WrappedPolicy",
    "cap_alert",
    "learned_of",
    "policy_for",
]


def policy_for(
    dial_mode: str,
    *,
    max_abandon_pct: float = 3.0,
    lines_per_agent: float = 2.0,
    answered: int = 0,
    abandoned: int = 0,
    machines: int = 0,
    rule: AbandonRule | None = None,
    window: Iterable[tuple[float, Counts]] | None = None,
    hour: Iterable[tuple[float, Counts]] | None = None,
    now: float = 0.0,
    learned: Mapping[str, Any] | None = None,
) -> PacingPolicy:
    """A fresh policy for a campaign's dial mode (one per campaign: it keeps history).
    The modes that can abandon are wrapped in the campaign's abandonment cap under its
    `rule`, which starts from `answered` persons, `abandoned` calls and `machines` (the
    campaign's life so far) and the rule's `window` so far (buckets, see
    pbx_dialer.pacing.cap). `learned`: a predictive policy's stored statistics
    (`Predictive.learned()`), so it starts from them instead of a warm-up."""
    if dial_mode == "agent_first":
        # Agent first is one call per idle agent too; its calls wait in the queue for
        # the agent already reserved: none is abandoned for want of one.
        return Progressive()
    if dial_mode == "agentless":
        return Agentless()
    inner: PacingPolicy
    if dial_mode == "progressive":
        # Customer first: its call abandons when the agent it was placed for is taken
        # meanwhile (an inbound call): counted and alerted like the others.
        inner = Progressive()
    elif dial_mode == "power":
        inner = Power(lines_per_agent)
    elif dial_mode == "predictive":
        inner = Predictive(max_abandon_pct=max_abandon_pct, rule=rule)
        if learned:
            inner.start_from(learned)
    else:
        raise ValueError(f"unknown dial mode {dial_mode!r}")
    return AbandonmentCap(
        inner,
        max_abandon_pct,
        answered=answered,
        abandoned=abandoned,
        machines=machines,
        rule=rule,
        window=window,
        hour=hour,
        # Predictive guards its last hour itself, by the chance of each call (its hour
        # guard); the cap's worst case (every extra call abandoned) over an hour cost it
        # 2-3 points of occupancy on the bench's development seeds. Power has no guard:
        # the cap holds its hour and its 15 minutes.
        hourly=dial_mode != "predictive",
        now=now,
    )


def learned_of(policy: PacingPolicy) -> dict[str, Any] | None:
    """What a predictive policy (capped or not) learned, to store; None for the others."""
    inner = policy.policy if isinstance(policy, AbandonmentCap) else policy
    return inner.learned() if isinstance(inner, Predictive) else None


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
