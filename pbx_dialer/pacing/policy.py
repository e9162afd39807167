"""The pacing interface: the snapshot, the policy protocol, a no-op base, and Progressive.

See the package docstring for who calls what and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Results a policy may receive in `on_ended` (the technical results of
# pbx_dialer.calls.TechResult, plus MACHINE when answering-machine detection says so).
RESULT_SUCCESS = "SUCCESS"
RESULT_ABANDONED = "ABANDONED"
RESULT_MACHINE = "MACHINE"

# Agent states a policy may receive in `on_agent`.
AGENT_IDLE = "idle"
AGENT_BUSY = "busy"
AGENT_WRAPUP = "wrapup"
AGENT_AWAY = "away"  # logged out or paused: not available to this campaign
AGENT_STATES = (AGENT_IDLE, AGENT_BUSY, AGENT_WRAPUP, AGENT_AWAY)


@dataclass(frozen=True, slots=True)
class PacingSnapshot:
    """The campaign's queue and lines right now, as the caller sees them."""

    now: float
    agents_logged_in: int  # members of the campaign's queue able to take calls (not paused)
    agents_idle: int  # of which free right now
    agents_wrapup: int  # of which in after-call work (will be free soon)
    calls_ringing: int  # placed, outcome not known yet (includes machine detection)
    calls_waiting: int  # answered by a person, waiting for an agent
    calls_live: int  # every attempt of the campaign not ended yet (ringing, waiting, talking)
    max_lines: int  # the campaign's throttle
    # When each agent in wrap-up will be free (times, like `now`), if the caller knows
    # (Asterisk's queue wrap-up does); empty: a policy estimates it from what it saw.
    wrapup_ends: tuple[float, ...] = ()


class PacingPolicy(Protocol):
    def on_dialed(self, at: float, call: int | None = None) -> None: ...
    def on_answered(self, at: float, call: int | None = None) -> None: ...
    def on_machine(self, at: float, call: int | None = None) -> None: ...
    def on_connected(self, at: float, wait_s: float, call: int | None = None) -> None: ...
    def on_ended(self, at: float, result: str, call: int | None = None) -> None: ...
    def on_agent(self, at: float, agent: str, state: str) -> None: ...
    def calls_to_place(self, snapshot: PacingSnapshot) -> int: ...


class BasePolicy:
    """Every event is accepted and ignored: a policy overrides only what it uses, and a
    caller that does not report some event still works (the policy knows less)."""

    def on_dialed(self, at: float, call: int | None = None) -> None:
        pass

    def on_answered(self, at: float, call: int | None = None) -> None:
        pass

    def on_machine(self, at: float, call: int | None = None) -> None:
        pass

    def on_connected(self, at: float, wait_s: float, call: int | None = None) -> None:
        pass

    def on_ended(self, at: float, result: str, call: int | None = None) -> None:
        pass

    def on_agent(self, at: float, agent: str, state: str) -> None:
        pass

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        return 0


class WrappedPolicy(BasePolicy):
    """A policy around another: every event is passed on to `policy`, which decides; a
    wrapper overrides only what it adds (a bound on its calls, counts of its own)."""

    def __init__(self, policy: PacingPolicy) -> None:
        self.policy = policy

    def on_dialed(self, at: float, call: int | None = None) -> None:
        self.policy.on_dialed(at, call)

    def on_answered(self, at: float, call: int | None = None) -> None:
        self.policy.on_answered(at, call)

    def on_machine(self, at: float, call: int | None = None) -> None:
        self.policy.on_machine(at, call)

    def on_connected(self, at: float, wait_s: float, call: int | None = None) -> None:
        self.policy.on_connected(at, wait_s, call)

    def on_ended(self, at: float, result: str, call: int | None = None) -> None:
        self.policy.on_ended(at, result, call)

    def on_agent(self, at: float, agent: str, state: str) -> None:
        self.policy.on_agent(at, agent, state)

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        return self.policy.calls_to_place(snapshot)


class RecordsLeft(WrappedPolicy):
    """A campaign of `left` records: the wrapped policy, until every record is dialed
    (the bench's and the tests' short campaigns)."""

    def __init__(self, policy: PacingPolicy, left: int) -> None:
        super().__init__(policy)
        self.left = left

    def on_dialed(self, at: float, call: int | None = None) -> None:
        self.left -= 1
        self.policy.on_dialed(at, call)

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        return max(0, min(self.left, self.policy.calls_to_place(snapshot)))


def free_lines(snapshot: PacingSnapshot) -> int:
    return max(0, snapshot.max_lines - snapshot.calls_live)


def uncovered_agents(snapshot: PacingSnapshot) -> int:
    """Idle agents not already promised to a call that is ringing or waiting."""
    return snapshot.agents_idle - snapshot.calls_ringing - snapshot.calls_waiting


def progressive_calls(snapshot: PacingSnapshot) -> int:
    """One call per idle agent not already covered: the calls that can always connect."""
    if snapshot.agents_logged_in <= 0:
        return 0
    return max(0, min(uncovered_agents(snapshot), free_lines(snapshot)))


class Progressive(BasePolicy):
    """Customer first, one call per idle agent: an agent is free for every call placed,
    so no answered call waits for long, and none is abandoned for want of agents."""

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        return progressive_calls(snapshot)
