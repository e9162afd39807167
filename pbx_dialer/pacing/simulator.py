"""A discrete-event simulation of one campaign shift, driving a pacing policy exactly the
way the live dialer does: every attempt and agent event is reported to the policy as it
happens, and after each event (and on a one-second tick, like the dial loop's timer) the
policy is asked `calls_to_place(snapshot)` and that many calls are placed at once.

The model (bench/pacing.py's base case):

* Each dial is, independently, answered by a person (p_person), by a machine (0.20,
  recognised and released 4 s after answer: answering-machine detection), busy or
  failed within 1-5 s (0.15), or left unanswered until a 25 s timeout (the rest).
  Answer delays are lognormal (mean 9 s, sd 4 s). While a machine is being detected the
  call counts as ringing: nobody knows yet.
* A call answered by a person waits for an agent (longest-idle first, calls in answer
  order); if none is free within 2 s it is abandoned: it hears the safe-harbour message
  and is released.
* Talk is lognormal (mean 120 s, CV 1), then 10 s of wrap-up, then the agent is idle.

Each dial draws its customer (outcome, delays, talk time) from the seed in dial order,
so two policies run on the same seed meet the same customers in the same order (common
random numbers), whatever their pace.

Measures, over the shift after the warm-up:

* occupancy: agent time spent on calls (talk + wrap-up) over agent time logged in;
* abandonment: abandoned / answered by a person (by answer time), over the run and in
  each hour counted from the end of the warm-up (the last one is shorter);
* dials per agent-hour: dials placed / logged-in agent-hours;
* peak lines: the most calls in progress at once (ringing, waiting or talking).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

from pbx_dialer.pacing.policy import (
    AGENT_AWAY,
    AGENT_BUSY,
    AGENT_IDLE,
    AGENT_WRAPUP,
    RESULT_ABANDONED,
    RESULT_MACHINE,
    RESULT_SUCCESS,
    PacingPolicy,
    PacingSnapshot,
)

_STANDARD = NormalDist()

SCENARIOS = ("base", "answer_halves", "answer_doubles", "agents_logout", "talk_drift")
AFTER_CHANGE_S = 900.0  # the span measured right after a scenario's change

# Event kinds, in the heap as (time, sequence, kind, call, agent).
_RESOLVE = 0  # ringing ends: a person answers, machine verdict, failure or timeout
_PATIENCE = 1  # an answered call's wait for an agent runs out
_TALK_END = 2
_WRAP_END = 3
_TICK = 4
_LOGOUT = 5
_LOGIN = 6

# Customer outcomes.
PERSON = 0
MACHINE = 1
FAILED = 2
NOANSWER = 3


@dataclass(frozen=True)
class Model:
    agents: int = 10
    p_person: float = 0.25
    p_machine: float = 0.20
    p_failed: float = 0.15
    answer_mean_s: float = 9.0
    answer_sd_s: float = 4.0
    machine_detect_s: float = 4.0
    fail_min_s: float = 1.0
    fail_max_s: float = 5.0
    no_answer_s: float = 25.0
    talk_mean_s: float = 120.0
    talk_cv: float = 1.0
    wrapup_s: float = 10.0
    patience_s: float = 2.0
    shift_s: float = 8 * 3600.0
    warmup_s: float = 600.0
    max_lines: int = 1000
    tick_s: float = 1.0
    scenario: str = "base"

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}")

    # Stress scenarios: what changes during the shift.
    def p_person_at(self, t: float) -> float:
        if self.scenario == "answer_halves" and t >= self.shift_s / 2:
            return self.p_person / 2
        if self.scenario == "answer_doubles" and t >= self.shift_s / 2:
            return min(1.0 - self.p_machine - self.p_failed, self.p_person * 2)
        return self.p_person

    def change_at(self) -> float | None:
        """When the scenario's sudden change comes (None: no sudden change)."""
        if self.scenario in ("answer_halves", "answer_doubles"):
            return self.shift_s / 2
        if self.scenario == "agents_logout":
            return 3 * 3600.0
        return None

    def talk_mean_at(self, t: float) -> float:
        if self.scenario == "talk_drift":  # mean talk time doubles over the shift
            return self.talk_mean_s * (1.0 + t / self.shift_s)
        return self.talk_mean_s

    def agent_moves(self) -> list[tuple[float, int, int]]:
        """(time, kind, agent) log-outs and log-ins of the agents_logout scenario: a third
        of the agents leave 3 h into the shift (each once its call is over) and come back
        2 h later."""
        if self.scenario != "agents_logout":
            return []
        leaving = range(self.agents - max(1, self.agents // 3), self.agents)
        return [(3 * 3600.0, _LOGOUT, a) for a in leaving] + [
            (5 * 3600.0, _LOGIN, a) for a in leaving
        ]


@dataclass
class Result:
    occupancy: float
    abandon: float
    worst_hour_abandon: float
    dials_per_agent_hour: float
    peak_lines: int
    dials: int
    answered: int
    abandoned: int
    hourly: list[tuple[int, int]] = field(default_factory=list)  # (answered, abandoned)
    outcomes: dict[int, int] = field(default_factory=dict)  # outcome -> dials
    # Machine verdicts per hour (by verdict time), for rules that count them (Ofcom).
    hourly_machines: list[int] = field(default_factory=list)
    # (answered, abandoned) by persons answering in the AFTER_CHANGE_S after the
    # scenario's change; (0, 0) without one.
    after_change: tuple[int, int] = (0, 0)


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    sigma2 = math.log(1.0 + (sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


@dataclass
class _Call:
    outcome: int
    answer_s: float  # delay from dial to answer (person, machine) or to the end (others)
    talk_s: float
    dialed_at: float
    answered_at: float = 0.0
    agent: int = -1
    state: int = 0  # 0 ringing, 1 waiting, 2 talking, 3 over


def simulate(policy: PacingPolicy, model: Model, seed: int) -> Result:
    return _Simulation(policy, model, seed).run()


class _Simulation:
    def __init__(self, policy: PacingPolicy, model: Model, seed: int) -> None:
        self.policy = policy
        self.m = model
        self.rng = random.Random(seed)
        self.answer_mu, self.answer_sigma = lognormal_params(model.answer_mean_s, model.answer_sd_s)
        self.talk_sigma = math.sqrt(math.log(1.0 + model.talk_cv**2))
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.calls: dict[int, _Call] = {}
        self.next_call = 0
        n = model.agents
        self.names = [f"agent{a}" for a in range(n)]
        self.logged_in = [True] * n
        self.leaving = [False] * n
        self.agent_state = [AGENT_IDLE] * n
        self.busy_since = [0.0] * n
        self.login_since = [0.0] * n
        self.idle: deque[int] = deque(range(n))  # longest idle first
        self.waiting: deque[int] = deque()
        self.ringing = 0
        self.talking = 0
        self.wrapup = 0
        self.n_logged_in = n
        # Measures.
        self.busy_time = 0.0
        self.login_time = 0.0
        self.dials = 0
        self.peak = 0
        self.hours = max(1, math.ceil((model.shift_s - model.warmup_s) / 3600.0))
        self.hour_answered = [0] * self.hours
        self.hour_abandoned = [0] * self.hours
        self.outcomes = {PERSON: 0, MACHINE: 0, FAILED: 0, NOANSWER: 0}
        self.hour_machines = [0] * self.hours
        self.change = model.change_at()
        self.change_answered = 0
        self.change_abandoned = 0

    # -- bookkeeping ---------------------------------------------------------------

    def push(self, t: float, kind: int, call: int = -1, agent: int = -1) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, call, agent))

    def window(self, start: float, end: float) -> float:
        """Length of [start, end] inside the measured part of the shift."""
        lo = max(start, self.m.warmup_s)
        hi = min(end, self.m.shift_s)
        return hi - lo if hi > lo else 0.0

    def just_changed(self, t: float) -> bool:
        return self.change is not None and self.change <= t < self.change + AFTER_CHANGE_S

    def hour_of(self, t: float) -> int:
        if t < self.m.warmup_s:
            return -1
        return min(self.hours - 1, int((t - self.m.warmup_s) // 3600.0))

    # -- customers -----------------------------------------------------------------

    def new_customer(self, t: float) -> _Call:
        # Always three draws per dial, so dial k meets the same customer whatever the pace.
        u, v, w = self.rng.random(), self.rng.random(), self.rng.random()
        m = self.m
        p_person = m.p_person_at(t)
        talk_mean = m.talk_mean_at(t)
        talk_mu = math.log(talk_mean) - self.talk_sigma**2 / 2.0
        talk = math.exp(talk_mu + self.talk_sigma * _normal(w))
        if u < p_person:
            outcome, delay = PERSON, math.exp(self.answer_mu + self.answer_sigma * _normal(v))
        elif u < p_person + m.p_machine:
            outcome, delay = MACHINE, math.exp(self.answer_mu + self.answer_sigma * _normal(v))
        elif u < p_person + m.p_machine + m.p_failed:
            outcome, delay = FAILED, m.fail_min_s + (m.fail_max_s - m.fail_min_s) * v
        else:
            outcome, delay = NOANSWER, m.no_answer_s
        return _Call(outcome, delay, talk, t)

    # -- the run -------------------------------------------------------------------

    def run(self) -> Result:
        m = self.m
        self.push(0.0, _TICK)
        for t, kind, agent in m.agent_moves():
            self.push(t, kind, agent=agent)
        for a in range(m.agents):
            self.policy.on_agent(0.0, self.names[a], AGENT_IDLE)
        heap = self.heap
        while heap:
            t, _, kind, call, agent = heapq.heappop(heap)
            if t > m.shift_s:
                break
            if kind == _RESOLVE:
                self.resolve(t, call)
            elif kind == _PATIENCE:
                self.patience_over(t, call)
            elif kind == _TALK_END:
                self.talk_end(t, call)
            elif kind == _WRAP_END:
                self.wrap_end(t, agent)
            elif kind == _TICK:
                if t + m.tick_s <= m.shift_s:
                    self.push(t + m.tick_s, _TICK)
            elif kind == _LOGOUT:
                self.logout(t, agent)
            elif kind == _LOGIN:
                self.login(t, agent)
            # Events at the same instant are handled together, then the policy decides.
            if heap and heap[0][0] == t:
                continue
            self.decide(t)
        return self.finish()

    def decide(self, t: float) -> None:
        m = self.m
        live = self.ringing + len(self.waiting) + self.talking
        snapshot = PacingSnapshot(
            now=t,
            agents_logged_in=self.n_logged_in,
            agents_idle=len(self.idle),
            agents_wrapup=self.wrapup,
            calls_ringing=self.ringing,
            calls_waiting=len(self.waiting),
            calls_live=live,
            max_lines=m.max_lines,
        )
        wanted = self.policy.calls_to_place(snapshot)
        # The dialer's own guards: the throttle, and never a call with nobody logged in.
        wanted = min(wanted, m.max_lines - live)
        if self.n_logged_in <= 0 or wanted <= 0 or t >= m.shift_s:
            return
        for _ in range(wanted):
            cid = self.next_call
            self.next_call += 1
            c = self.new_customer(t)
            self.calls[cid] = c
            self.ringing += 1
            if t >= m.warmup_s:
                self.dials += 1
                self.outcomes[c.outcome] += 1
            self.policy.on_dialed(t, cid)
            end = c.answer_s + (m.machine_detect_s if c.outcome == MACHINE else 0.0)
            self.push(t + end, _RESOLVE, cid)
        live += wanted
        if live > self.peak and t >= m.warmup_s:
            self.peak = live

    def resolve(self, t: float, cid: int) -> None:
        c = self.calls[cid]
        self.ringing -= 1
        if c.outcome == PERSON:
            c.answered_at = t
            c.state = 1
            h = self.hour_of(t)
            if h >= 0:
                self.hour_answered[h] += 1
            if self.just_changed(t):
                self.change_answered += 1
            self.policy.on_answered(t, cid)
            if self.idle:
                self.connect(t, cid, self.idle.popleft())
            else:
                self.waiting.append(cid)
                self.push(t + self.m.patience_s, _PATIENCE, cid)
            return
        del self.calls[cid]
        if c.outcome == MACHINE:
            h = self.hour_of(t)
            if h >= 0:
                self.hour_machines[h] += 1
            self.policy.on_machine(t, cid)
            self.policy.on_ended(t, RESULT_MACHINE, cid)
        elif c.outcome == FAILED:
            self.policy.on_ended(t, "BUSY", cid)
        else:
            self.policy.on_ended(t, "NOANSWER", cid)

    def connect(self, t: float, cid: int, agent: int) -> None:
        c = self.calls[cid]
        c.state = 2
        c.agent = agent
        self.talking += 1
        self.agent_state[agent] = AGENT_BUSY
        self.busy_since[agent] = t
        self.policy.on_agent(t, self.names[agent], AGENT_BUSY)
        self.policy.on_connected(t, t - c.answered_at, cid)
        self.push(t + c.talk_s, _TALK_END, cid, agent)

    def patience_over(self, t: float, cid: int) -> None:
        c = self.calls.get(cid)
        if c is None or c.state != 1:
            return
        self.waiting.remove(cid)
        del self.calls[cid]
        h = self.hour_of(c.answered_at)
        if h >= 0:
            self.hour_abandoned[h] += 1
        if self.just_changed(c.answered_at):
            self.change_abandoned += 1
        self.policy.on_ended(t, RESULT_ABANDONED, cid)

    def talk_end(self, t: float, cid: int) -> None:
        c = self.calls.pop(cid)
        self.talking -= 1
        self.wrapup += 1
        self.agent_state[c.agent] = AGENT_WRAPUP
        self.policy.on_ended(t, RESULT_SUCCESS, cid)
        self.policy.on_agent(t, self.names[c.agent], AGENT_WRAPUP)
        self.push(t + self.m.wrapup_s, _WRAP_END, agent=c.agent)

    def wrap_end(self, t: float, agent: int) -> None:
        self.wrapup -= 1
        self.busy_time += self.window(self.busy_since[agent], t)
        if self.leaving[agent]:
            self.leave(t, agent)
            return
        self.make_idle(t, agent)

    def make_idle(self, t: float, agent: int) -> None:
        self.agent_state[agent] = AGENT_IDLE
        self.policy.on_agent(t, self.names[agent], AGENT_IDLE)
        if self.waiting:
            self.connect(t, self.waiting.popleft(), agent)
        else:
            self.idle.append(agent)

    def logout(self, t: float, agent: int) -> None:
        if not self.logged_in[agent]:
            return
        if self.agent_state[agent] == AGENT_IDLE:
            self.idle.remove(agent)
            self.leave(t, agent)
        else:
            self.leaving[agent] = True  # after the call and its wrap-up

    def leave(self, t: float, agent: int) -> None:
        self.leaving[agent] = False
        self.logged_in[agent] = False
        self.n_logged_in -= 1
        self.agent_state[agent] = AGENT_AWAY
        self.login_time += self.window(self.login_since[agent], t)
        self.policy.on_agent(t, self.names[agent], AGENT_AWAY)

    def login(self, t: float, agent: int) -> None:
        if self.logged_in[agent]:
            self.leaving[agent] = False
            return
        self.logged_in[agent] = True
        self.n_logged_in += 1
        self.login_since[agent] = t
        self.make_idle(t, agent)

    def finish(self) -> Result:
        m = self.m
        end = m.shift_s
        for a in range(m.agents):
            if self.logged_in[a]:
                self.login_time += self.window(self.login_since[a], end)
                if self.agent_state[a] in (AGENT_BUSY, AGENT_WRAPUP):
                    self.busy_time += self.window(self.busy_since[a], end)
        answered = sum(self.hour_answered)
        abandoned = sum(self.hour_abandoned)
        hourly = list(zip(self.hour_answered, self.hour_abandoned, strict=True))
        worst = max((ab / an for an, ab in hourly if an), default=0.0)
        agent_hours = self.login_time / 3600.0
        return Result(
            occupancy=self.busy_time / self.login_time if self.login_time else 0.0,
            abandon=abandoned / answered if answered else 0.0,
            worst_hour_abandon=worst,
            dials_per_agent_hour=self.dials / agent_hours if agent_hours else 0.0,
            peak_lines=self.peak,
            dials=self.dials,
            answered=answered,
            abandoned=abandoned,
            hourly=hourly,
            outcomes=dict(self.outcomes),
            hourly_machines=list(self.hour_machines),
            after_change=(self.change_answered, self.change_abandoned),
        )


def _normal(u: float) -> float:
    """A standard normal from one uniform draw (inverse CDF), so each draw is one number."""
    return _STANDARD.inv_cdf(min(max(u, 1e-12), 1.0 - 1e-12))


PolicyFactory = Callable[[], PacingPolicy]
