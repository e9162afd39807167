"""Pacing benchmark: the real pacing objects in a discrete-event simulation of a shift.

    .venv/bin/python bench/pacing.py            # full sweep, 4 seeds (a few minutes on 2 cores)
    .venv/bin/python bench/pacing.py --quick    # two small cases, one seed, 2-hour shift

For every case, on the same seeds (common random numbers: dial k meets the same customer
whatever the policy), it runs:

* progressive: one call per idle agent;
* predictive: pbx_dialer.pacing.Predictive, online, the campaign's 3% cap, nothing
  tuned per case; its few constants were chosen on development seeds (1001-1008),
  not on the seeds measured here (1-4; a few early runs of since-discarded variants
  printed them too);
* vicidial: VICIdial's ADAPT_HARD_LIMIT re-implemented (pbx_dialer/pacing/vicidial.py),
  with its default settings (3% drop limit, maximum level 3.0);
* best-ratio: the best fixed dial level, picked IN HINDSIGHT on these very seeds: the
  highest level of a grid whose abandonment stays within 3% over the run and in every
  hour on every seed. This baseline is allowed to cheat; the predictive policy is not.

Occupancy is agent time on calls (talk + wrap-up) over agent time logged in, after the
10-minute warm-up; abandonment is abandoned over person-answered calls, over the run and
in the worst hour (hours counted from the end of the warm-up) across seeds.

The last line of output is one JSON object: {"cases": [...]}, one entry per policy and
case.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import Pool
from typing import Any

from pbx_dialer.pacing import FixedRatio, PacingPolicy, Predictive, Progressive
from pbx_dialer.pacing.simulator import Model, Result, simulate
from pbx_dialer.pacing.vicidial import VicidialAdaptHardLimit

SEEDS = (1, 2, 3, 4)
CAP = 0.03
LEVELS = (1.0, 1.02, 1.05, 1.08, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5, 1.75, 2.0, 2.5, 3.0)
QUICK_LEVELS = (1.0, 1.05, 1.1, 1.2, 1.4)
# Occupancy goals of the base case (p_answer 0.25, talk 120 s), by agents.
GOALS = {10: 0.83, 20: 0.88, 50: 0.93, 100: 0.955}


@dataclass(frozen=True)
class Case:
    agents: int
    p_answer: float = 0.25
    talk_mean: float = 120.0
    scenario: str = "base"

    def model(self, shift_s: float) -> Model:
        return Model(
            agents=self.agents,
            p_person=self.p_answer,
            talk_mean_s=self.talk_mean,
            scenario=self.scenario,
            shift_s=shift_s,
        )


def full_cases() -> list[Case]:
    cases = [Case(a) for a in (5, 10, 20, 50, 100)]
    for agents in (10, 50):
        cases += [Case(agents, p_answer=p) for p in (0.10, 0.40)]
        cases += [Case(agents, talk_mean=t) for t in (60.0, 300.0)]
    cases += [Case(20, scenario=s) for s in ("answer_halves", "agents_logout", "talk_drift")]
    return cases


def quick_cases() -> list[Case]:
    return [Case(10), Case(10, scenario="answer_halves")]


def make_policy(name: str) -> PacingPolicy:
    if name == "progressive":
        return Progressive()
    if name == "predictive":
        return Predictive(max_abandon_pct=CAP * 100)
    if name == "vicidial":
        return VicidialAdaptHardLimit(drop_limit_pct=CAP * 100)
    if name.startswith("ratio:"):
        return FixedRatio(float(name.split(":", 1)[1]))
    raise ValueError(name)


Task = tuple[str, Case, int, float]  # policy, case, seed, shift


def run_task(task: Task) -> tuple[Task, Result]:
    policy, case, seed, shift_s = task
    return task, simulate(make_policy(policy), case.model(shift_s), seed)


@dataclass
class Summary:
    occupancy: float
    abandon: float
    worst_hour_abandon: float
    dials_per_agent_hour: float
    peak_lines: int

    @property
    def within_cap(self) -> bool:
        return self.abandon <= CAP and self.worst_hour_abandon <= CAP


def summarise(results: Sequence[Result]) -> Summary:
    answered = sum(r.answered for r in results)
    abandoned = sum(r.abandoned for r in results)
    n = len(results)
    return Summary(
        occupancy=sum(r.occupancy for r in results) / n,
        abandon=abandoned / answered if answered else 0.0,
        worst_hour_abandon=max(r.worst_hour_abandon for r in results),
        dials_per_agent_hour=sum(r.dials_per_agent_hour for r in results) / n,
        peak_lines=max(r.peak_lines for r in results),
    )


Runner = Callable[[list[Task]], list[tuple[Task, Result]]]


def best_ratio(
    cases: list[Case], seeds: Sequence[int], shift_s: float, levels: Sequence[float], run: Runner
) -> dict[Case, tuple[float, Summary]]:
    """Raise each case's level along the grid while it keeps within the cap (hindsight:
    measured on the very seeds it is then compared on). All open cases advance together,
    so every round runs in parallel."""
    best: dict[Case, tuple[float, Summary]] = {}
    open_cases = list(cases)
    for level in levels:
        if not open_cases:
            break
        tasks = [(f"ratio:{level}", c, s, shift_s) for c in open_cases for s in seeds]
        done = run(tasks)
        still = []
        for case in open_cases:
            summary = summarise([r for t, r in done if t[1] == case])
            if summary.within_cap:
                best[case] = (level, summary)
                still.append(case)
        open_cases = still
    return best


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'agents':>6} {'p_ans':>5} {'talk':>5} {'scenario':<14} {'policy':<16}"
        f" {'occup':>6} {'aband':>6} {'worst h':>7} {'dials/ah':>8} {'peak':>5}"
    )
    lines = [head, "-" * len(head)]
    last = None
    for r in rows:
        key = (r["agents"], r["p_answer"], r["talk_mean"], r["scenario"])
        if last is not None and key != last:
            lines.append("")
        last = key
        policy = r["policy"] + (f" {r['level']:.2f}" if "level" in r else "")
        lines.append(
            f"{r['agents']:>6} {r['p_answer']:>5.2f} {r['talk_mean']:>5.0f} {r['scenario']:<14}"
            f" {policy:<16} {100 * r['occupancy']:>5.1f}% {100 * r['abandon']:>5.2f}%"
            f" {100 * r['worst_hour_abandon']:>6.2f}% {r['dials_per_agent_hour']:>8.1f}"
            f" {r['peak_lines']:>5}"
        )
    return "\n".join(lines)


def goals_line(rows: list[dict[str, Any]]) -> str:
    """Which goals the predictive policy meets in the base case (occupancy, and
    abandonment within 3% over the run and in every hour)."""

    def base(policy: str, agents: int) -> dict[str, Any] | None:
        for r in rows:
            if (r["policy"], r["agents"], r["scenario"]) == (policy, agents, "base") and (
                r["p_answer"],
                r["talk_mean"],
            ) == (0.25, 120.0):
                return r
        return None

    parts = []
    met = total = 0
    for agents in (5, 10, 20, 50, 100):
        pred = base("predictive", agents)
        if pred is None:
            continue
        capped = pred["abandon"] <= CAP and pred["worst_hour_abandon"] <= CAP
        if agents in GOALS:
            goal = GOALS[agents]
            ok = capped and pred["occupancy"] >= goal
            text = f"{agents} agents {100 * pred['occupancy']:.1f}% (goal >= {100 * goal:.1f}%)"
        else:
            prog = base("progressive", agents)
            goal = prog["occupancy"] if prog else 0.0
            ok = capped and pred["occupancy"] >= goal
            text = (
                f"{agents} agents {100 * pred['occupancy']:.1f}%"
                f" (goal >= progressive {100 * goal:.1f}%)"
            )
        worst = 100 * pred["worst_hour_abandon"]
        cap_text = f"abandon {100 * pred['abandon']:.2f}%, worst hour {worst:.2f}%"
        total += 1
        met += ok
        parts.append(f"{text}, {cap_text}: {'MET' if ok else 'NOT MET'}")
    return f"goals (predictive, base case): {met}/{total} met; " + "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="two cases, one seed, 2 h shift")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    seeds: Sequence[int]
    levels: Sequence[float]
    if args.quick:
        cases, seeds, shift_s, levels = quick_cases(), (1,), 2 * 3600.0, QUICK_LEVELS
    else:
        cases, seeds, shift_s, levels = full_cases(), SEEDS, 8 * 3600.0, LEVELS
    started = time.monotonic()
    processes = max(1, args.processes)

    with Pool(processes) if processes > 1 else _Serial() as pool:

        def run(tasks: list[Task]) -> list[tuple[Task, Result]]:
            # Longest first: the big cases should not be the stragglers.
            ordered = sorted(tasks, key=lambda t: -t[1].agents)
            return list(pool.imap_unordered(run_task, ordered))

        policies = ("progressive", "predictive", "vicidial")
        done = run([(p, c, s, shift_s) for p in policies for c in cases for s in seeds])
        ratios = best_ratio(cases, seeds, shift_s, levels, run)

    rows: list[dict[str, Any]] = []
    for case in cases:
        base = {
            "agents": case.agents,
            "p_answer": case.p_answer,
            "talk_mean": case.talk_mean,
            "scenario": case.scenario,
        }
        for policy in policies:
            summary = summarise([r for t, r in done if t[0] == policy and t[1] == case])
            rows.append({"policy": policy, **base, **_fields(summary)})
        if case in ratios:
            level, summary = ratios[case]
            rows.append({"policy": "best-ratio", **base, **_fields(summary), "level": level})
        else:
            rows.append({"policy": "best-ratio", **base, "occupancy": 0.0, "abandon": 0.0,
                         "worst_hour_abandon": 0.0, "dials_per_agent_hour": 0.0,
                         "peak_lines": 0, "level": None})  # fmt: skip
    print(
        f"pacing bench: {len(cases)} cases x {len(seeds)} seeds {list(seeds)},"
        f" {shift_s / 3600:.0f} h shift, first 10 min discarded;"
        f" best-ratio is picked in hindsight on these seeds (a baseline, not a policy)"
    )
    print(table([r for r in rows if r.get("level", 0) is not None]))
    print(f"elapsed {time.monotonic() - started:.1f} s on {processes} process(es)")
    print(goals_line(rows))
    cases_json = [{k: v for k, v in r.items() if k != "level"} for r in rows]
    print(json.dumps({"cases": cases_json}))
    return 0


def _fields(s: Summary) -> dict[str, Any]:
    return {
        "occupancy": round(s.occupancy, 4),
        "abandon": round(s.abandon, 4),
        "worst_hour_abandon": round(s.worst_hour_abandon, 4),
        "dials_per_agent_hour": round(s.dials_per_agent_hour, 1),
        "peak_lines": s.peak_lines,
    }


class _Serial:
    """Pool stand-in for --processes 1."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap_unordered(
        self, fn: Callable[[Task], tuple[Task, Result]], tasks: list[Task]
    ) -> list[tuple[Task, Result]]:
        return [fn(t) for t in tasks]


if __name__ == "__main__":
    sys.exit(main())
