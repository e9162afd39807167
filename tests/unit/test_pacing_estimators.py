"""The predictive policy's estimators on hand-computed cases: talk times by age, sums of
yes/no events (exact and normal), and the decisions they lead to."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from pbx_dialer.pacing import AGENT_BUSY, AGENT_IDLE, PacingSnapshot, Predictive
from pbx_dialer.pacing.predictive import (
    EXACT_TERMS,
    Balance,
    TalkTimes,
    add_bernoulli,
    tail_at_least,
)


def ten_to_four_hundred() -> TalkTimes:
    talks = TalkTimes(size=400, min_tail=20)
    for seconds in range(10, 410, 10):  # 10, 20, ..., 400: forty talks
        talks.add(float(seconds))
    return talks


def test_talk_end_chance_is_the_share_of_longer_talks_that_ended() -> None:
    talks = ten_to_four_hundred()
    assert len(talks) == 40
    assert talks.mean(0.0) == pytest.approx(205.0)
    # A new talk: 10 of the 40 past talks ended within 100 s.
    assert talks.end_within(0.0, 100.0, 120.0) == pytest.approx(10 / 40)
    # 200 s in: of the 20 talks longer than 200 s, 10 ended by 300 s.
    assert talks.end_within(200.0, 100.0, 120.0) == pytest.approx(10 / 20)
    assert talks.end_within(200.0, 0.0, 120.0) == 0.0
    assert talks.end_within(200.0, -5.0, 120.0) == 0.0


def test_talk_end_chance_past_the_longest_talks_is_a_constant_rate() -> None:
    talks = ten_to_four_hundred()
    # 350 s in, only five longer talks (360..400, mean 380): 30 s left on average.
    assert talks.end_within(350.0, 30.0, 120.0) == pytest.approx(1.0 - math.exp(-1.0))
    # Longer than every talk seen: the mean talk time stands in.
    assert talks.end_within(500.0, 205.0, 120.0) == pytest.approx(1.0 - math.exp(-1.0))


def test_talk_end_chances_in_bulk_match_one_by_one() -> None:
    talks = ten_to_four_hundred()
    ages = [0.0, 15.5, 120.0, 199.9, 260.0, 355.0, 900.0]
    for x in (0.0, 12.0, 45.0):
        bulk = talks.ends_within(ages, x, 120.0)
        assert bulk == [talks.end_within(a, x, 120.0) for a in ages]


def test_no_talk_is_certain_to_end_by_a_time_it_never_reached_before() -> None:
    # One unseen longer talk is allowed for: forty past talks all ended within 400 s,
    # yet a new one ends by then with 40/41, not certainly.
    doubtful = TalkTimes(size=400, min_tail=20, doubt=1.0)
    for seconds in range(10, 410, 10):
        doubtful.add(float(seconds))
    assert doubtful.end_within(0.0, 500.0, 120.0) == pytest.approx(40 / 41)
    assert doubtful.ends_within([0.0, 200.0], 100.0, 120.0) == pytest.approx([10 / 41, 10 / 21])
    # Ten agents on 2 s talks begun 1 s ago: a dialer certain they are all free in 4 s
    # places more calls than one allowing for a talk longer than any seen.
    certain, doubting = experienced(talk_s=2.0), experienced(talk_s=2.0)
    certain.talk.doubt = 0.0
    assert doubting.talk.doubt == 1.0  # the default
    busy_since(certain, 999.0, range(10))
    busy_since(doubting, 999.0, range(10))
    busy = snapshot(1000.0, agents_idle=0, calls_live=10)
    assert certain.calls_to_place(busy) > doubting.calls_to_place(busy) > 0


def test_talk_times_keep_only_the_last_ones() -> None:
    talks = TalkTimes(size=3)
    for seconds in (100.0, 5.0, 6.0, 7.0):
        talks.add(seconds)
    assert len(talks) == 3
    assert talks.mean(0.0) == pytest.approx(6.0)
    assert talks.sorted == [5.0, 6.0, 7.0]


def test_sum_of_yes_no_events_is_exact() -> None:
    assert add_bernoulli([1.0], 0.5) == [0.5, 0.5]
    assert add_bernoulli([0.5, 0.5], 0.5) == [0.25, 0.5, 0.25]
    assert add_bernoulli([0.3, 0.7], 0.0) == [0.3, 0.7]
    # X = 2 + index: P(X >= k)
    dist = [0.25, 0.5, 0.25]
    assert tail_at_least(dist, 2, 2) == 1.0
    assert tail_at_least(dist, 2, 3) == pytest.approx(0.75)
    assert tail_at_least(dist, 2, 4) == pytest.approx(0.25)
    assert tail_at_least(dist, 2, 5) == 0.0


def test_balance_of_answers_and_freed_agents() -> None:
    # Two calls answering with chance 1/2 each, one talk certain to end, one never.
    balance = Balance([0.5, 0.5], [1.0, 0.0])
    assert balance.dist is not None
    assert balance.mean == pytest.approx(0.0)
    # Y = answers - 1: at least one more answer than freed agents with chance 1/4.
    assert balance.at_least(1) == pytest.approx(0.25)
    assert balance.at_least(0) == pytest.approx(0.75)
    assert balance.at_least(-1) == 1.0
    # One talk ending with chance 1/2: Y = A - F, P(Y >= 1) = P(A=2)(1) + P(A=1)P(F=0).
    balance = Balance([0.5, 0.5], [0.5])
    assert balance.at_least(1) == pytest.approx(0.25 + 0.5 * 0.5)
    assert balance.at_least(2) == pytest.approx(0.25 * 0.5)
    balance.add(1.0)  # a new call certain to be answered
    assert balance.at_least(2) == pytest.approx(0.25 + 0.5 * 0.5)


def test_balance_of_many_events_is_close_to_exact() -> None:
    n = 4 * EXACT_TERMS
    balance = Balance([0.5] * n, [])
    assert balance.dist is None  # too many for exact sums: a normal law
    for k in (n // 2 - 10, n // 2, n // 2 + 7):
        exact = sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n
        assert balance.at_least(k) == pytest.approx(exact, abs=0.005)
    balance.add(0.5)
    exact = sum(math.comb(n + 1, i) for i in range(n // 2, n + 2)) / 2 ** (n + 1)
    assert balance.at_least(n // 2) == pytest.approx(exact, abs=0.005)


def snapshot(now: float, **values: int) -> PacingSnapshot:
    base: dict[str, Any] = dict(agents_logged_in=10, agents_idle=2, agents_wrapup=0,
                                calls_ringing=0, calls_waiting=0, calls_live=8,
                                max_lines=100)  # fmt: skip
    base.update(values)
    return PacingSnapshot(now=now, **base)


def experienced(talk_s: float = 120.0, connect_s: float = 0.0) -> Predictive:
    """400 dials, one in four answered by a person after 9 s, taken by an agent
    `connect_s` later and talking `talk_s`, the others unanswered at 25 s; ten agents,
    all idle again at the end."""
    policy = Predictive()
    t = 0.0
    for call in range(400):
        policy.on_dialed(t, call)
        if call % 4 == 0:
            agent = f"agent{call // 4 % 10}"
            policy.on_answered(t + 9.0, call)
            policy.on_agent(t + 9.0, agent, AGENT_BUSY)
            policy.on_connected(t + 9.0 + connect_s, connect_s, call)
            policy.on_ended(t + 9.0 + talk_s, "SUCCESS", call)
            policy.on_agent(t + 9.0 + talk_s, agent, AGENT_IDLE)
        else:
            policy.on_ended(t + 25.0, "NOANSWER", call)
        t += 1.0
    return policy


def busy_since(policy: Predictive, at: float, agents: range) -> None:
    for a in agents:
        policy.on_agent(at, f"agent{a}", AGENT_BUSY)


def test_agents_near_the_end_of_their_talk_bring_more_calls() -> None:
    now = 1000.0
    # Every talk so far lasted 120 s: eight agents on calls begun 1 s ago will not be
    # free for two minutes; eight on calls begun 115 s ago are about to be.
    fresh, ending = experienced(), experienced()
    busy_since(fresh, now - 1.0, range(8))
    busy_since(ending, now - 115.0, range(8))
    early = fresh.calls_to_place(snapshot(now))
    late = ending.calls_to_place(snapshot(now))
    assert fresh.mode == ending.mode == "predictive"
    assert early >= 2  # never fewer than progressive
    assert late > early


def test_agents_slow_to_pick_up_leave_less_of_the_patience() -> None:
    now = 1000.0
    # Persons answer 9 s after the dial, talks last 120 s. Eight agents 108 s into their
    # talks are free in 12 s: in time for a person answered 10 s from now when an agent
    # picks up at once (2 s of patience), too late when agents take 1.5 s to pick up
    # (the queue rings them first: 0.5 s of patience left).
    prompt, slow = experienced(), experienced(connect_s=1.5)
    assert (prompt.connect_delay(), prompt.patience_left()) == (0.0, 2.0)
    assert (slow.connect_delay(), slow.patience_left()) == (1.5, 0.5)
    busy_since(prompt, now - 108.0, range(8))
    busy_since(slow, now - 108.0, range(8))
    assert prompt.calls_to_place(snapshot(now)) > slow.calls_to_place(snapshot(now)) >= 2


def test_agents_coming_free_count_only_once_they_have_rescued_a_waiting_call() -> None:
    # Agents pick up 1.5 s after being rung. A person abandoned while no connected call
    # ever waited past those 1.5 s: an agent coming free while a person waits does not
    # reach them in time (on Asterisk the queue looks for free agents every second),
    # so no patience is left beyond the pick-up.
    # One call that waited 1.9 s and still reached an agent: agents do come free in time,
    # and the patience less the pick-up is back. Where idle agents pick up at once (the
    # simulator), the same holds, with a rescued call that waited 1 s.
    for connect_s, rescued_wait_s, left in ((1.5, 1.9, 0.5), (0.0, 1.0, 2.0)):
        policy = experienced(connect_s=connect_s)
        policy.on_answered(990.0, 5000)
        policy.on_ended(992.0, "ABANDONED", 5000)
        assert policy.patience_left() == 0.0
        policy.on_answered(993.0, 5001)
        policy.on_connected(993.0 + rescued_wait_s, rescued_wait_s, 5001)
        assert policy.patience_left() == left


def test_talk_ages_are_ignored_when_the_agent_events_do_not_add_up() -> None:
    now = 1000.0
    # Agent events say 3 on calls, the snapshot says 8: every talk counts at the
    # average rate (nothing here knows which talk began when).
    policy = experienced()
    busy_since(policy, now - 115.0, range(3))
    assert policy._talk_ages(snapshot(now), 8) is None
    assert policy.calls_to_place(snapshot(now)) >= 2


def test_hour_guard_widens_the_margin_as_the_hour_runs_out_of_room() -> None:
    now = 1000.0
    calm, guarded = experienced(), experienced()
    busy_since(calm, now - 60.0, range(8))
    busy_since(guarded, now - 60.0, range(8))
    idle = snapshot(now, agents_idle=6, agents_logged_in=14, calls_live=8)
    unguarded = calm.calls_to_place(idle)
    assert calm.mode == "predictive"
    assert calm.z_now == calm.z
    placed = []
    # Each abandonment against ~100 answers in the hour leaves less room under 3%.
    for call in (5000, 5001, 5002, 5003):
        guarded.on_answered(now - 10.0, call)
        guarded.on_ended(now - 8.0, "ABANDONED", call)
        guarded.z = calm.z  # the same learned margin: only the guard differs
        room = 0.03 * len(guarded.hour) - guarded.hour_abandoned
        placed.append(guarded.calls_to_place(idle))
        assert guarded.mode == "guard"
        short = min(1.0, (guarded.hour_slack - room) / guarded.hour_slack)
        assert guarded.z_now == pytest.approx(calm.z + guarded.guard_z * short)
    # Room for 2.03, 1.06, 0.09, then -0.88 abandonments: ever fewer calls, never fewer
    # than progressive.
    assert unguarded >= placed[0] >= placed[1] >= placed[2] >= placed[3] >= 6
    assert placed[3] < unguarded
    # Over the cap: the widest margin, still placing calls (persons reaching agents
    # make room again).
    assert guarded.z_now == pytest.approx(calm.z + guarded.guard_z)


def test_a_repeated_agent_status_does_not_restart_the_talk() -> None:
    now = 1000.0
    policy = experienced()
    busy_since(policy, now - 115.0, range(8))
    busy_since(policy, now - 2.0, range(8))  # the PBX says "busy" again
    ages = policy._talk_ages(snapshot(now), 8)
    assert ages == [115.0] * 8


def test_wrap_ups_whose_end_the_queue_tells_are_taken_as_told() -> None:
    """Six agents are in wrap-up and the queue says when each ends. Ending in a second,
    they are as good as free; ending in five minutes, they are not: the policy places
    more calls for the first team. Without the ends it falls back on its own estimate."""
    now = 1000.0
    policy = experienced()
    busy_since(policy, now - 1.0, range(2))
    team = {"agents_idle": 2, "agents_wrapup": 6}
    soon = replace(snapshot(now, **team), wrapup_ends=(now + 1.0,) * 6)
    late = replace(soon, wrapup_ends=(now + 300.0,) * 6)
    assert policy._wrap_remaining(soon, 0.0) == [1.0] * 6
    assert policy._wrap_remaining(late, 0.0) == [300.0] * 6
    assert policy.calls_to_place(soon) > policy.calls_to_place(late) >= 2
    unknown = snapshot(now, **team)
    assert policy._wrap_remaining(unknown, 20.0) == [10.0] * 6
