"""Each pacing policy on hand-made snapshots and event sequences, with a fixed clock."""

from __future__ import annotations

from typing import Any

import pytest

from pbx_dialer.pacing import (
    AbandonmentCap,
    AbandonRule,
    BasePolicy,
    FixedRatio,
    PacingSnapshot,
    Power,
    Predictive,
    Progressive,
    VicidialAdaptHardLimit,
    policy_for,
)


def snapshot(now: float = 0.0, **values: int) -> PacingSnapshot:
    base: dict[str, Any] = dict(agents_logged_in=10, agents_idle=3, agents_wrapup=0,
                                calls_ringing=0, calls_waiting=0, calls_live=7,
                                max_lines=100)  # fmt: skip
    base.update(values)
    return PacingSnapshot(now=now, **base)


NOBODY = dict(agents_logged_in=0, agents_idle=0, calls_live=0)


def experienced_predictive(answer_s: float = 9.0, share: int = 4) -> Predictive:
    """A predictive policy that has seen 400 dials: one in `share` answered by a person
    after `answer_s`, the others ending unanswered at 25 s; 100 talks of 120 s."""
    policy = Predictive()
    t = 0.0
    for call in range(400):
        policy.on_dialed(t, call)
        if call % share == 0:
            policy.on_answered(t + answer_s, call)
            policy.on_connected(t + answer_s, 0.0, call)
            policy.on_ended(t + answer_s + 120.0, "SUCCESS", call)
        else:
            policy.on_ended(t + 25.0, "NOANSWER", call)
        t += 1.0
    return policy


def test_base_policy_accepts_every_event_and_places_nothing() -> None:
    policy = BasePolicy()
    policy.on_dialed(1.0, 7)
    policy.on_answered(2.0, 7)
    policy.on_machine(2.0)
    policy.on_connected(2.5, 0.5, 7)
    policy.on_ended(9.0, "SUCCESS", 7)
    policy.on_agent(9.0, "alice", "wrapup")
    assert policy.calls_to_place(snapshot()) == 0


@pytest.mark.parametrize(
    "policy",
    [Progressive(), Power(3), FixedRatio(2.5), VicidialAdaptHardLimit(), experienced_predictive()],
    ids=["progressive", "power", "ratio", "vicidial", "predictive"],
)
def test_no_policy_dials_with_no_agent_logged_in(policy: BasePolicy) -> None:
    for now in (0.0, 15.0, 30.0, 61.0):
        assert policy.calls_to_place(snapshot(now, **NOBODY)) == 0


@pytest.mark.parametrize(
    "policy",
    [Progressive(), Power(3), FixedRatio(3.0), experienced_predictive()],
    ids=["progressive", "power", "ratio", "predictive"],
)
def test_every_policy_respects_max_lines(policy: BasePolicy) -> None:
    assert policy.calls_to_place(snapshot(agents_idle=10, calls_live=0, max_lines=2)) <= 2
    assert policy.calls_to_place(snapshot(agents_idle=10, calls_live=5, max_lines=5)) == 0


def test_power_places_lines_per_idle_agent() -> None:
    assert Power(2).calls_to_place(snapshot(agents_idle=3)) == 6
    assert Power(2).calls_to_place(snapshot(agents_idle=3, calls_ringing=4, calls_waiting=1)) == 1
    assert Power(1.5).calls_to_place(snapshot(agents_idle=3)) == 4
    assert Power(2).calls_to_place(snapshot(agents_idle=0)) == 0
    with pytest.raises(ValueError, match="lines_per_agent"):
        Power(0.5)


def test_fixed_ratio_keeps_level_times_agents_lines_in_use() -> None:
    # 10 agents, 2 in wrap-up (paused for VICIdial): goal 1.5 x 8 = 12 lines, 7 in use.
    assert FixedRatio(1.5).calls_to_place(snapshot(agents_wrapup=2, calls_live=7)) == 5
    # Level 1.0 is progressive: one line per agent not in wrap-up.
    assert FixedRatio(1.0).calls_to_place(snapshot(agents_idle=3, calls_live=7)) == 3


def test_predictive_is_progressive_until_it_has_history() -> None:
    policy = Predictive()
    for call in range(20):
        policy.on_dialed(float(call), call)
        policy.on_ended(float(call) + 3.0, "BUSY", call)
    assert policy.calls_to_place(snapshot(agents_idle=4, calls_ringing=1)) == 3
    assert policy.mode == "progressive"


def test_predictive_is_progressive_with_too_few_agents() -> None:
    policy = experienced_predictive()
    one = snapshot(agents_logged_in=1, agents_idle=1, calls_live=0)
    assert policy.calls_to_place(one) == 1
    assert policy.mode == "progressive"


def test_predictive_dials_ahead_once_it_knows_the_answer_rate() -> None:
    policy = experienced_predictive()
    # 10 agents, 8 idle, nothing ringing: one person answers in four dials, so it places
    # more than the 8 calls progressive would.
    wanted = policy.calls_to_place(snapshot(now=500.0, agents_idle=8, calls_live=2))
    assert policy.mode == "predictive"
    assert wanted > 8
    # The same agents with many fresh calls ringing already: fewer new calls.
    for call in range(1000, 1012):
        policy.on_dialed(500.0, call)
    busy = policy.calls_to_place(
        snapshot(now=500.5, agents_idle=8, calls_ringing=12, calls_live=14)
    )
    assert busy < wanted


def test_predictive_counts_old_ringing_calls_as_unlikely_answers() -> None:
    policy = experienced_predictive()
    for call in range(1000, 1008):
        policy.on_dialed(500.0, call)
    fresh = policy.calls_to_place(
        snapshot(now=501.0, agents_idle=8, calls_ringing=8, calls_live=10)
    )
    # Twenty seconds later the same calls still ring: a person answers within 9 s here,
    # so they are all but certainly unanswered and new calls are placed for the agents.
    stale = policy.calls_to_place(
        snapshot(now=520.0, agents_idle=8, calls_ringing=8, calls_live=10)
    )
    assert stale > fresh


def test_predictive_margin_grows_with_abandonment() -> None:
    policy = experienced_predictive()
    z = policy.z
    for call in range(2000, 2010):
        policy.on_answered(600.0, call)
        policy.on_ended(602.0, "ABANDONED", call)
    assert policy.z > z
    # Ten abandonments against ~100 answers in the hour: over the 3% cap, so it guards.
    assert policy.calls_to_place(snapshot(now=603.0, agents_idle=2, calls_live=8)) == 2
    assert policy.mode == "guard"


def test_predictive_never_places_fewer_calls_than_progressive() -> None:
    policy = experienced_predictive()
    policy.z = 50.0  # absurdly cautious
    assert policy.calls_to_place(snapshot(now=500.0, agents_idle=3)) == 3


def test_predictive_works_without_call_ids() -> None:
    """The dial loop may report calls without their attempt ids: the policy then takes
    the most recent dials as the ones ringing."""
    policy = experienced_predictive()
    for _ in range(5):
        policy.on_dialed(500.0)
    assert policy.calls_to_place(snapshot(now=501.0, calls_ringing=5, calls_live=12)) >= 0
    assert policy.mode == "predictive"


def test_vicidial_raises_its_level_while_agents_wait_and_drops_it_at_the_hard_limit() -> None:
    policy = VicidialAdaptHardLimit()
    assert policy.level == 1.0
    for second in range(16):  # 15 s of 5 ready agents out of 10, no call waiting
        policy.calls_to_place(snapshot(float(second), agents_idle=5, calls_live=5))
    assert policy.level == pytest.approx(1.5)
    # 60 dials, 20 answered, 2 dropped today: 10% of answers, over the 3% limit.
    for call in range(60):
        policy.on_dialed(20.0, call)
    for call in range(20):
        policy.on_answered(25.0, call)
    policy.on_ended(30.0, "ABANDONED", 1)
    policy.on_ended(30.0, "ABANDONED", 2)
    for second in range(16, 76):
        policy.calls_to_place(snapshot(float(second), agents_idle=5, calls_live=5))
    assert policy.level == 1.0


def test_vicidial_level_is_capped() -> None:
    policy = VicidialAdaptHardLimit(max_level=2.0)
    for second in range(200):
        policy.calls_to_place(snapshot(float(second), agents_idle=10, calls_live=0))
    assert policy.level == 2.0


def test_policy_for_each_mode() -> None:
    # Customer first abandons when its agent is taken meanwhile: counted by the cap,
    # which never holds back a progressive call.
    progressive = policy_for("progressive")
    assert isinstance(progressive, AbandonmentCap) and isinstance(progressive.policy, Progressive)
    assert not progressive.overdials
    assert isinstance(policy_for("agent_first"), Progressive)
    # The modes that can abandon come wrapped in the abandonment cap, seeded as told.
    power = policy_for("power", lines_per_agent=3, answered=61, abandoned=2)
    assert isinstance(power, AbandonmentCap)
    assert isinstance(power.policy, Power) and power.policy.lines_per_agent == 3
    assert (power.answered, power.abandoned, power.max_abandon_pct) == (61, 2, 3.0)
    predictive = policy_for("predictive", max_abandon_pct=2.0)
    assert isinstance(predictive, AbandonmentCap)
    assert isinstance(predictive.policy, Predictive)
    assert predictive.cap == predictive.policy.cap == pytest.approx(0.02)
    with pytest.raises(ValueError, match="unknown dial mode"):
        policy_for("preview")
    with pytest.raises(ValueError, match="max_abandon_pct"):
        Predictive(max_abandon_pct=0)


def test_power_is_held_over_the_last_hour_and_predictive_guards_its_own() -> None:
    power = policy_for("power", answered=1000, abandoned=5, window=None, hour=[])
    predictive = policy_for("predictive", answered=1000, abandoned=5, window=None, hour=[])
    assert isinstance(power, AbandonmentCap) and isinstance(predictive, AbandonmentCap)
    assert power.holds_to_progressive() and power.binding().span == "hour"
    assert not predictive.holds_to_progressive() and predictive.extra_allowed() == 25


def test_predictive_hour_guard_counts_as_the_rule_and_looks_ahead() -> None:
    """Under Ofcom the AMD false positives take room in the hour as they do in the cap;
    the answers about to leave the hour make none."""
    tcpa = Predictive()
    ofcom = policy_for("predictive", rule=AbandonRule("ofcom", 0.1))
    assert isinstance(ofcom, AbandonmentCap) and isinstance(ofcom.policy, Predictive)
    for guard in (tcpa, ofcom.policy):
        for call in range(100):
            guard.on_connected(1000.0, 0.0, call)  # answered at 1000
        for call in range(100, 120):
            guard.on_ended(1500.0, "MACHINE", call)
    assert tcpa.hour_room(2000.0) == pytest.approx(3.0)  # 3% of 100
    # 2 false positives, abandoned and live: 0.03 x 102 - 2.
    assert ofcom.policy.hour_room(2000.0) == pytest.approx(1.06)
    # 10 minutes before they leave the hour, the 100 answers count no more; the
    # machine verdicts (later) still do.
    assert tcpa.hour_room(4001.0) == pytest.approx(0.0)
    assert ofcom.policy.hour_room(4001.0) == pytest.approx(0.03 * 2 - 2)
    assert ofcom.policy.hour_room(5200.0) == pytest.approx(0.0)
