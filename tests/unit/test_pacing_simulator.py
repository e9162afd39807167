"""The pacing simulator: its model statistics, determinism, and the bench's quick run."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from pbx_dialer.pacing import BasePolicy, PacingSnapshot, Predictive, Progressive
from pbx_dialer.pacing.simulator import MACHINE, NOANSWER, PERSON, Model, simulate

ROOT = Path(__file__).resolve().parents[2]


def short(agents: int) -> Model:
    """A two-hour shift: the statistics need dials, not hours."""
    return Model(agents=agents, shift_s=2 * 3600.0, warmup_s=600.0)


class Recorder(BasePolicy):
    """Progressive pacing that keeps every event it is told, to check the model."""

    def __init__(self) -> None:
        self.dialed: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self.machine: dict[int, float] = {}
        self.ended: dict[int, tuple[float, str]] = {}
        self.talk: list[float] = []
        self.connected: dict[int, float] = {}
        self.wrapups: list[float] = []
        self._wrap_start: dict[str, float] = {}
        self.logged_out: set[str] = set()

    def on_dialed(self, at: float, call: int | None = None) -> None:
        assert call is not None
        self.dialed[call] = at

    def on_answered(self, at: float, call: int | None = None) -> None:
        assert call is not None
        self.answered[call] = at

    def on_machine(self, at: float, call: int | None = None) -> None:
        assert call is not None
        self.machine[call] = at

    def on_connected(self, at: float, wait_s: float, call: int | None = None) -> None:
        assert call is not None and 0.0 <= wait_s <= 2.0
        self.connected[call] = at

    def on_ended(self, at: float, result: str, call: int | None = None) -> None:
        assert call is not None and call not in self.ended
        self.ended[call] = (at, result)
        if result == "SUCCESS":
            self.talk.append(at - self.connected[call])

    def on_agent(self, at: float, agent: str, state: str) -> None:
        if state == "wrapup":
            self._wrap_start[agent] = at
        elif agent in self._wrap_start:
            self.wrapups.append(at - self._wrap_start.pop(agent))
        if state == "away":
            self.logged_out.add(agent)

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        # Two lines per idle agent: enough dials, and some abandonment to see.
        return max(0, 2 * snapshot.agents_idle - snapshot.calls_ringing - snapshot.calls_waiting)


@pytest.fixture(scope="module")
def recorded() -> Recorder:
    policy = Recorder()
    simulate(policy, short(50), seed=7)
    return policy


def test_answer_mix_matches_the_model(recorded: Recorder) -> None:
    dials = len(recorded.dialed)
    assert dials > 5000
    person = len(recorded.answered) / dials
    machine = len(recorded.machine) / dials
    results = [r for _, r in recorded.ended.values()]
    busy = results.count("BUSY") / dials
    no_answer = results.count("NOANSWER") / dials
    # Binomial sd is below 0.7 points at this many dials; 2.5 points is far out.
    assert person == pytest.approx(0.25, abs=0.025)
    assert machine == pytest.approx(0.20, abs=0.025)
    assert busy == pytest.approx(0.15, abs=0.025)
    assert no_answer == pytest.approx(0.40, abs=0.025)


def test_delays_match_the_model(recorded: Recorder) -> None:
    delays = [recorded.answered[c] - recorded.dialed[c] for c in recorded.answered]
    mean = sum(delays) / len(delays)
    sd = math.sqrt(sum((d - mean) ** 2 for d in delays) / len(delays))
    assert mean == pytest.approx(9.0, abs=0.5)
    assert sd == pytest.approx(4.0, abs=0.6)
    machine = [recorded.machine[c] - recorded.dialed[c] for c in recorded.machine]
    assert sum(machine) / len(machine) == pytest.approx(13.0, abs=0.6)  # answer + 4 s
    ends = {c: t - recorded.dialed[c] for c, (t, r) in recorded.ended.items() if r != "SUCCESS"}
    busy = [ends[c] for c, (_, r) in recorded.ended.items() if r == "BUSY"]
    assert min(busy) >= 1.0 and max(busy) <= 5.0
    assert {round(ends[c], 6) for c, (_, r) in recorded.ended.items() if r == "NOANSWER"} == {25.0}
    talk_mean = sum(recorded.talk) / len(recorded.talk)
    assert talk_mean == pytest.approx(120.0, rel=0.15)
    assert {round(w, 6) for w in recorded.wrapups} == {10.0}


def test_abandoned_calls_waited_two_seconds(recorded: Recorder) -> None:
    abandoned = [c for c, (_, r) in recorded.ended.items() if r == "ABANDONED"]
    assert abandoned, "two lines per idle agent abandons some calls"
    for call in abandoned:
        assert recorded.ended[call][0] - recorded.answered[call] == pytest.approx(2.0)
        assert call not in recorded.connected


def test_same_seed_same_run_other_seed_other_run() -> None:
    model = short(10)
    first = simulate(Predictive(), model, seed=3)
    again = simulate(Predictive(), model, seed=3)
    other = simulate(Predictive(), model, seed=4)
    assert first == again
    assert first != other


def test_progressive_never_abandons_and_measures_make_sense() -> None:
    result = simulate(Progressive(), short(10), seed=1)
    assert result.abandoned == 0 and result.abandon == 0.0
    assert 0.55 < result.occupancy < 0.8
    assert result.peak_lines <= 10
    assert result.dials_per_agent_hour > 50
    assert sum(result.outcomes.values()) == result.dials
    assert result.outcomes[PERSON] > result.outcomes[MACHINE] > 0
    assert result.outcomes[NOANSWER] > 0


def test_agents_logout_scenario_tells_the_policy() -> None:
    policy = Recorder()
    simulate(policy, Model(agents=9, scenario="agents_logout", shift_s=4 * 3600.0), seed=2)
    assert policy.logged_out == {"agent6", "agent7", "agent8"}


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        Model(scenario="weekend")


def test_bench_quick_run_ends_with_the_json_line() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pacing.py"), "--quick", "--processes", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    assert lines[-2].startswith("goals (predictive, base case):")
    cases = json.loads(lines[-1])["cases"]
    keys = {"policy", "agents", "p_answer", "talk_mean", "scenario", "occupancy", "abandon",
            "worst_hour_abandon", "dials_per_agent_hour", "peak_lines"}  # fmt: skip
    assert all(set(c) == keys for c in cases)
    policies = {c["policy"] for c in cases}
    assert policies == {"progressive", "predictive", "power", "vicidial", "best-ratio"}
    assert len(cases) == 5 * len({(c["agents"], c["scenario"]) for c in cases})
    assert {c["scenario"] for c in cases} == {"base", "answer_doubles", "short_150"}
    progressive = next(c for c in cases if c["policy"] == "progressive")
    assert progressive["abandon"] == 0.0
