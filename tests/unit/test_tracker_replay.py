"""Recorded AMI sessions of a real Asterisk 22, replayed through the pure trackers.

The fixtures come from `python -m pbx_dialer.testing.record_fixtures tests/fixtures/ami`;
each holds the story it tells, the attempt the dialer placed, and every event the
dialer's AMI user saw.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pbx_dialer.ami.messages import AmiEvent, event_from_json
from pbx_dialer.ami.tracker import CallTracker, QueueTracker
from pbx_dialer.calls import (
    AgentState,
    CallAnswered,
    CallConnected,
    CallEnded,
    CallEvent,
    CallQueued,
    TechResult,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ami"


def load(name: str) -> tuple[dict[str, Any], list[AmiEvent]]:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data["attempt"], [event_from_json(e) for e in data["events"]]


def replay(name: str, events: list[AmiEvent] | None = None) -> list[CallEvent]:
    attempt, recorded = load(name)
    tracker = CallTracker()
    tracker.track(attempt["attempt_id"], attempt["channel_id"], attempt["placed_at"])
    out: list[CallEvent] = []
    for event in recorded if events is None else events:
        out.extend(tracker.feed(event))
    assert tracker.live_count() == 0, "the attempt must be settled by the end of the session"
    return out


def ended(events: list[CallEvent]) -> CallEnded:
    ends = [e for e in events if isinstance(e, CallEnded)]
    assert len(ends) == 1, ends
    return ends[0]


def test_success() -> None:
    """Customer answers after 1 s; agent 7001 takes the call 1.5 s later; the customer
    hangs up 4 s after answering."""
    events = replay("success")
    assert [type(e) for e in events] == [CallAnswered, CallQueued, CallConnected, CallEnded]
    connected = events[2]
    assert isinstance(connected, CallConnected)
    assert connected.agent == "Agent 7001"
    assert connected.agent_interface == "Local/7001@sim-agents"
    end = ended(events)
    assert end.result is TechResult.SUCCESS
    assert end.agent == "Agent 7001" and end.queue == "sales"
    assert end.ring_s is not None and 0.8 <= end.ring_s <= 1.5
    assert end.wait_s is not None and 1.3 <= end.wait_s <= 2.0
    assert end.talk_s is not None and 2.0 <= end.talk_s <= 3.0


@pytest.mark.parametrize(
    ("name", "result", "ring_min", "ring_max"),
    [
        ("busy", TechResult.BUSY, 0.3, 1.0),
        ("noanswer", TechResult.NOANSWER, 14.5, 15.5),
        ("congestion", TechResult.CONGESTION, 0.0, 0.3),
        ("failed", TechResult.FAILED, 0.0, 0.3),
    ],
)
def test_unanswered(name: str, result: TechResult, ring_min: float, ring_max: float) -> None:
    """Busy after 0.5 s of ringing; never answered until the 15 s timeout; congestion at
    once; a number the network does not know. OriginateResponse's Reason decides."""
    events = replay(name)
    end = ended(events)
    assert events == [end]
    assert end.result is result
    assert end.ring_s is not None and ring_min <= end.ring_s <= ring_max
    assert end.agent is None and end.wait_s is None and end.talk_s is None


def test_abandoned_in_queue() -> None:
    """Customer answers, joins the queue and hangs up after 1 s, before the agent answers.
    (Here OriginateResponse arrives only after QueueCallerJoin: order is not fixed.)"""
    events = replay("abandoned")
    assert [type(e) for e in events] == [CallAnswered, CallQueued, CallEnded]
    end = ended(events)
    assert end.result is TechResult.ABANDONED
    assert end.queue == "sales" and end.agent is None and end.talk_s is None
    assert end.wait_s is not None and 0.8 <= end.wait_s <= 1.5


def test_asterisk_restart_during_a_call() -> None:
    """The customer talks to agent 7001 when Asterisk restarts: Asterisk hangs the call up
    and says Shutdown. The call was connected, so it counts as a success."""
    end = ended(replay("restart"))
    assert end.result is TechResult.SUCCESS
    assert end.agent == "Agent 7001"


def test_events_lost_in_a_disconnect_are_settled_by_resync() -> None:
    """The same restart, but the connection dropped right after AgentConnect: the resync
    finds no channel and settles the attempt from what was known, once."""
    attempt, events = load("restart")
    cut = next(i for i, e in enumerate(events) if e.name == "AgentConnect") + 1
    tracker = CallTracker()
    tracker.track(attempt["attempt_id"], attempt["channel_id"], attempt["placed_at"])
    for event in events[:cut]:
        tracker.feed(event)
    settle_at = events[cut].at
    settled = tracker.settle_missing(set(), settle_at, "resync", placed_before=settle_at)
    end = ended(settled)
    assert end.result is TechResult.SUCCESS and end.agent == "Agent 7001"
    # What arrives later for it (if anything) is ignored: it ended once.
    assert all(not tracker.feed(e) for e in events[cut:])


def test_resync_leaves_calls_placed_after_it_started() -> None:
    tracker = CallTracker()
    tracker.track(1, "pbxd-1-a", placed_at=100.0)
    tracker.track(2, "pbxd-2-b", placed_at=105.0)
    settled = tracker.settle_missing(set(), at=104.0, cause="resync", placed_before=104.0)
    assert [e.attempt_id for e in settled if isinstance(e, CallEnded)] == [1]
    assert tracker.live_channel_ids() == {"pbxd-2-b"}


def test_duplicate_events_never_end_an_attempt_twice() -> None:
    _, events = load("success")
    doubled = [e for event in events for e in (event, event)]
    assert ended(replay("success", doubled)).result is TechResult.SUCCESS


def test_events_of_other_channels_are_ignored() -> None:
    """The Local channel's second leg carries the same DIALER_ATTEMPT variable; only the
    customer leg (Uniqueid = the ChannelId we assigned) counts."""
    attempt, events = load("success")
    tracker = CallTracker()
    tracker.track(attempt["attempt_id"], "pbxd-999-other", attempt["placed_at"])
    assert all(not tracker.feed(e) for e in events)
    assert tracker.live_count() == 1


def test_queue_tracker_follows_the_agent() -> None:
    """Agent 7001 logs in idle, goes in use for the call, and is idle again after it."""
    _, events = load("success")
    queues = QueueTracker()
    states = [s for e in events for s in queues.feed(e) if isinstance(s, AgentState)]
    assert [s.idle for s in states] == [True, False, True]
    assert states[0].name == "Agent 7001" and states[0].queue == "sales"
    assert queues.idle_agents("sales") == 1
    assert queues.logged_in("sales") == 1
    assert queues.waiting("sales") == {}


def test_resync_catches_up_on_an_answer_and_a_bridge_it_missed() -> None:
    """Connection lost right after the Originate; the resync's CoreShowChannels shows
    the customer leg up and bridged: the call is taken as answered and connected."""
    attempt, events = load("success")
    tracker = CallTracker()
    tracker.track(attempt["attempt_id"], attempt["channel_id"], attempt["placed_at"])
    channel = AmiEvent(
        name="CoreShowChannel",
        at=attempt["placed_at"] + 5,
        headers={
            "uniqueid": attempt["channel_id"],
            "channelstate": "6",
            "bridgeid": "b-1",
            "connectedlinename": "Agent 7001",
        },
    )
    caught_up = tracker.refresh(channel)
    assert [type(e) for e in caught_up] == [CallAnswered, CallConnected]
    hangup = next(
        e for e in events if e.name == "Hangup" and e.get("uniqueid") == attempt["channel_id"]
    )
    end = ended(tracker.feed(hangup))
    assert end.result is TechResult.SUCCESS and end.agent == "Agent 7001"


def _member_event(name: str, at: float, **headers: str) -> AmiEvent:
    return AmiEvent(name=name, at=at, headers={k.lower(): v for k, v in headers.items()})


def test_queue_resync_keeps_what_changed_while_it_ran() -> None:
    """An agent logs in between the QueueStatus question and the moment its answer is
    applied: the answer (which does not list the agent) must not wipe it out, while an
    agent that left before the question is forgotten."""
    queues = QueueTracker()
    queues.feed(
        _member_event("QueueMemberAdded", 1.0, queue="sales", interface="Local/7009@a", status="1")
    )
    token = queues.begin_resync()
    queues.feed(
        _member_event("QueueMemberAdded", 2.0, queue="sales", interface="Local/7001@a", status="1")
    )
    changes = queues.finish_resync(token, [])
    assert [m.interface for m in queues.members("sales")] == ["Local/7001@a"]
    assert [type(c).__name__ for c in changes] == ["AgentLeft"]
