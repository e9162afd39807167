"""Agents in wrap-up, from recorded AMI sessions of a real Asterisk 22 replayed through
the pure queue tracker: LastCall + the wrap-up time (the member's own Wrapuptime, else
the queue's) is when the queue gives the agent a call again."""

from __future__ import annotations

from dataclasses import replace

from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.tracker import QueueTracker
from pbx_dialer.calls import AgentState
from pbx_dialer.campaigns import details
from tests.unit.test_tracker_replay import load


def states_of(queues: QueueTracker, events: list[AmiEvent]) -> list[AgentState]:
    return [s for e in events for s in queues.feed(e) if isinstance(s, AgentState)]


def with_member_wrapup(events: list[AmiEvent], seconds: str) -> list[AmiEvent]:
    """The same session as if the member had a wrap-up of its own (a `member =>` line
    with a wrapuptime, which Asterisk then reports in every member event)."""
    return [
        replace(e, headers={**e.headers, "wrapuptime": seconds})
        if e.name.startswith("QueueMember")
        else e
        for e in events
    ]


def test_after_the_call_the_agent_is_in_the_queues_wrap_up() -> None:
    """Agent 7001 takes the call; its end sets LastCall; with the queue's wrap-up of 3 s
    the agent is in wrap-up until LastCall + 3, and idle for the queue after it."""
    _, events = load("success")
    queues = QueueTracker({"sales": 3.0})
    states = states_of(queues, events)
    before, after = states[0], states[-1]
    assert before.wrapup_until == 0.0 and before.idle_at(before_end := events[0].at)
    last_call = next(
        int(e.get("lastcall")) for e in reversed(events) if e.name == "QueueMemberStatus"
    )
    assert last_call > before_end
    assert after.idle and after.wrapup_until == last_call + 3
    assert after.in_wrapup(last_call + 2.9) and not after.idle_at(last_call + 2.9)
    assert after.idle_at(last_call + 3) and not after.in_wrapup(last_call + 3)
    assert queues.idle_agents("sales", last_call + 1) == 0
    assert queues.in_wrapup("sales", last_call + 1) == 1
    assert queues.idle_agents("sales", last_call + 3) == 1
    # Without a time: free by device state, as before.
    assert queues.idle_agents("sales") == 1


def test_without_a_wrap_up_time_the_agent_is_idle_at_once() -> None:
    _, events = load("success")
    queues = QueueTracker()
    after = states_of(queues, events)[-1]
    assert after.wrapup_until == 0.0
    assert after.idle_at(after.wrapup_until) and not after.in_wrapup(0.0)


def test_the_members_own_wrap_up_wins_over_the_queues() -> None:
    _, events = load("success")
    queues = QueueTracker({"sales": 3.0})
    after = states_of(queues, with_member_wrapup(events, "7"))[-1]
    last_call = next(
        int(e.get("lastcall")) for e in reversed(events) if e.name == "QueueMemberStatus"
    )
    assert after.wrapup_until == last_call + 7


def test_wrap_up_is_for_free_agents_only() -> None:
    """Paused or on a call, the agent is not in wrap-up (nor idle): another state wins."""
    agent = AgentState("sales", "Local/7001@sim-agents", "Agent 7001", 1, False, False, 100.0)
    assert agent.in_wrapup(99.0)
    assert not replace(agent, paused=True).in_wrapup(99.0)
    assert not replace(agent, in_call=True, status=2).in_wrapup(99.0)
    assert not replace(agent, paused=True).idle_at(101.0)


def test_an_event_without_last_call_keeps_the_wrap_up() -> None:
    queues = QueueTracker({"sales": 3.0})
    member = {"queue": "sales", "interface": "Local/7001@sim-agents", "status": "1"}
    queues.feed(
        AmiEvent("QueueMemberStatus", 50.0, {**member, "lastcall": "50", "wrapuptime": "0"})
    )
    paused = queues.feed(AmiEvent("QueueMemberPause", 51.0, {**member, "paused": "1"}))
    assert isinstance(paused[0], AgentState) and paused[0].wrapup_until == 53.0


def test_details_count_the_queues_wrap_up_when_known() -> None:
    """With the queue's wrap-up known, it decides (classified or not); without it, the
    details page falls back to "last call not classified yet"."""
    queue_wrapup = AgentState("sales", "Local/a1@sim", "a1", 1, False, False, 100.0)
    over = replace(queue_wrapup, interface="Local/a2@sim", name="a2", wrapup_until=90.0)
    unknown = AgentState("sales", "Local/a3@sim", "a3", 1, False, False)
    agents = [queue_wrapup, over, unknown]
    counts = details.agent_counts(agents, {"a2", "a3"}, now=95.0)
    assert counts == {"logged_in": 3, "idle": 1, "on_call": 0, "wrapup": 2, "paused": 0}
    later = details.agent_counts(agents, set(), now=100.0)
    assert later == {"logged_in": 3, "idle": 3, "on_call": 0, "wrapup": 0, "paused": 0}
