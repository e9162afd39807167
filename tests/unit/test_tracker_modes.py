"""Agent-first and message calls recorded from a real Asterisk 22, replayed through the
pure call tracker (python -m pbx_dialer.testing.record_fixtures tests/fixtures/ami
agent_first_success agent_first_busy message_transfer message_machine message_person)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.tracker import CallTracker
from pbx_dialer.calls import (
    CallAnswered,
    CallConnected,
    CallEvent,
    CallQueued,
    CallTransferred,
    TechResult,
    TransferKind,
)
from tests.unit.test_tracker_replay import ended, load


def replay(name: str, events: list[AmiEvent] | None = None) -> list[CallEvent]:
    attempt, recorded = load(name)
    tracker = CallTracker()
    tracker.track(
        attempt["attempt_id"], attempt["channel_id"], attempt["placed_at"], attempt["kind"]
    )
    out: list[CallEvent] = []
    for event in recorded if events is None else events:
        out.extend(tracker.feed(event))
    assert tracker.live_count() == 0, "the attempt must be settled by the end of the session"
    return out


def test_agent_first_success_connects_the_agent_before_the_customer_answers() -> None:
    """The call queues, agent 7001 answers 1.5 s later, then the customer is dialed,
    rings 1 s and talks 4.5 s."""
    events = replay("agent_first_success")
    assert [type(e) for e in events][:3] == [CallQueued, CallConnected, CallAnswered]
    queued, connected, answered = events[0], events[1], events[2]
    assert isinstance(queued, CallQueued) and isinstance(connected, CallConnected)
    assert isinstance(answered, CallAnswered)
    assert queued.at < connected.at < answered.at
    assert connected.agent == "Agent 7001"
    end = ended(events)
    assert end.result is TechResult.SUCCESS
    assert end.agent == "Agent 7001" and end.queue == "sales"
    assert end.wait_s is not None and 1.3 <= end.wait_s <= 2.0
    # Ringing is counted from the moment the agent held the call (the customer's dial).
    assert end.ring_s is not None and 0.8 <= end.ring_s <= 1.5
    assert end.talk_s is not None and 4.0 <= end.talk_s <= 5.0


def test_agent_first_busy_is_busy_with_the_agent_who_heard_it() -> None:
    events = replay("agent_first_busy")
    assert [type(e) for e in events][:2] == [CallQueued, CallConnected]
    assert not any(isinstance(e, CallAnswered) for e in events)
    end = ended(events)
    assert end.result is TechResult.BUSY
    assert end.agent == "Agent 7001"
    assert end.talk_s is None
    assert "17" in end.cause
    # 0.5 s of ringing, then 2 s of busy tone to the agent.
    assert end.ring_s is not None and 2.0 <= end.ring_s <= 3.0


def test_agent_first_up_is_not_the_customer_answering() -> None:
    """The same session replayed as a customer-first call would take the agent's answer
    for the customer's: the kind given to `track` is what tells them apart."""
    attempt, recorded = load("agent_first_busy")
    tracker = CallTracker()
    tracker.track(attempt["attempt_id"], attempt["channel_id"], attempt["placed_at"])
    out = [e for event in recorded for e in tracker.feed(event)]
    assert ended(out).result is TechResult.ABANDONED


def test_agent_first_call_no_agent_took_is_failed_and_nobody_was_dialed() -> None:
    """The session cut before the agent answered, then the queue's timeout: the Local
    channel hangs up and the Originate fails (the events Asterisk sends then)."""
    attempt, recorded = load("agent_first_success")
    channel_id = attempt["channel_id"]
    before_agent = recorded[: next(i for i, e in enumerate(recorded) if e.name == "AgentConnect")]
    last = before_agent[-1].at
    hangup = AmiEvent(
        "Hangup",
        last + 30.0,
        {"event": "Hangup", "uniqueid": channel_id, "cause": "16", "exten": "s"},
    )
    failure = AmiEvent(
        "OriginateResponse",
        last + 30.0,
        {
            "event": "OriginateResponse",
            "actionid": f"originate/{channel_id}",
            "response": "Failure",
            "reason": "1",
            "uniqueid": "<null>",
        },
    )
    events = replay("agent_first_success", [*before_agent, hangup, failure])
    assert [type(e) for e in events][:1] == [CallQueued]
    assert not any(isinstance(e, CallConnected | CallAnswered) for e in events)
    end = ended(events)
    assert end.result is TechResult.FAILED
    assert "customer was not dialed" in end.cause


def test_message_transfer_key_is_a_transfer_to_the_queue() -> None:
    """The person answers, presses 1 after 3.3 s, agent 7001 takes the call 1.5 s later;
    the person hangs up 8 s after the key."""
    events = replay("message_transfer")
    kinds = [type(e) for e in events]
    assert kinds[:4] == [CallAnswered, CallQueued, CallTransferred, CallConnected]
    transfer = events[2]
    assert isinstance(transfer, CallTransferred)
    assert transfer.kind is TransferKind.BLIND
    assert transfer.by == "message" and transfer.target == "queue sales"
    assert transfer.by_interface is None
    end = ended(events)
    assert end.result is TechResult.SUCCESS
    assert end.agent == "Agent 7001"
    assert end.wait_s is not None and 1.3 <= end.wait_s <= 2.0


@pytest.mark.parametrize(
    ("name", "result"),
    [("message_machine", TechResult.MACHINE), ("message_person", TechResult.SUCCESS)],
)
def test_message_machine_or_person(name: str, result: TechResult) -> None:
    """AMD said MACHINE (the call ended in the `machine` extension, after the message
    that followed the beep) or HUMAN (the message played, no key)."""
    events = replay(name)
    assert isinstance(events[0], CallAnswered)
    end = ended(events)
    assert end.result is result
    assert end.agent is None and end.talk_s is None and end.wait_s is None


def test_a_message_call_that_hangs_up_twice_ends_once() -> None:
    _, recorded = load("message_machine")
    hangups = [e for e in recorded if e.name == "Hangup"]
    events = replay("message_machine", [*recorded, *(replace(h, at=h.at + 1) for h in hangups)])
    assert ended(events).result is TechResult.MACHINE


def test_unknown_call_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown call kind"):
        CallTracker().track(1, "pbxd-1-x", 0.0, "fax")


def test_a_resync_of_an_agent_first_call_tells_the_agent_from_the_customer() -> None:
    """After a reconnect, CoreShowChannels shows the call's first half: Up only means an
    agent answered; in a bridge, the customer answered too (and never twice)."""
    attempt, recorded = load("agent_first_success")
    channel_id = attempt["channel_id"]
    tracker = CallTracker()
    tracker.track(1, channel_id, attempt["placed_at"], "agent_first")
    upto = next(i for i, e in enumerate(recorded) if e.name == "AgentConnect")
    for event in recorded[: upto + 1]:
        tracker.feed(event)
    at = recorded[upto].at + 1.0
    up = AmiEvent("CoreShowChannel", at, {"uniqueid": channel_id, "channelstate": "6"})
    assert tracker.refresh(up) == []
    bridged = AmiEvent(
        "CoreShowChannel", at, {"uniqueid": channel_id, "channelstate": "6", "bridgeid": "b1"}
    )
    assert tracker.refresh(bridged) == [CallAnswered(1, at)]
    assert tracker.refresh(bridged) == []
