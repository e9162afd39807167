"""Calls adopted by a restarted dialer, replayed through the pure call tracker: the new
tracker hears only what happens after the restart, and resumes from what the previous
run stored (answer, agent, queue)."""

from __future__ import annotations

from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.tracker import CALL_AGENT_FIRST, CALL_MESSAGE, CallTracker
from pbx_dialer.calls import CallAnswered, CallConnected, CallEnded, CallEvent, TechResult
from tests.unit.test_tracker_replay import ended, load


def adopted_replay(
    name: str, kind: str, after: str, *, stored: bool
) -> tuple[CallTracker, list[CallEvent]]:
    """Replay the recorded session from its first `after` event on, as a dialer that
    started then would hear it; with `stored`, resume from the answer and agent that
    the first part of the session gave."""
    attempt, recorded = load(name)
    first = CallTracker()
    first.track(attempt["attempt_id"], attempt["channel_id"], attempt["placed_at"], kind)
    cut = next(i for i, e in enumerate(recorded) if e.name == after)
    before: list[CallEvent] = []
    for event in recorded[:cut]:
        before.extend(first.feed(event))
    answered = next((e.at for e in before if isinstance(e, CallAnswered)), None)
    connected = next((e for e in before if isinstance(e, CallConnected)), None)

    tracker = CallTracker()
    tracker.track(attempt["attempt_id"], attempt["channel_id"], attempt["placed_at"], kind)
    if stored:
        tracker.resume(
            attempt["channel_id"],
            answered_at=answered,
            connected_at=connected.at if connected else None,
            agent=connected.agent if connected else None,
            queue=connected.queue if connected else None,
        )
    out: list[CallEvent] = []
    for event in recorded[cut:]:
        out.extend(tracker.feed(event))
    return tracker, out


def test_an_adopted_agent_first_call_ends_at_its_hangup_with_the_stored_agent() -> None:
    """The restart came after the customer answered: no AgentConnect, no BridgeEnter and
    no OriginateResponse are heard again. The hang-up alone ends it SUCCESS."""
    tracker, events = adopted_replay("agent_first_success", CALL_AGENT_FIRST, "Hangup", stored=True)
    end = ended(events)
    assert end.result is TechResult.SUCCESS
    assert end.agent == "Agent 7001" and end.queue == "sales"
    assert end.talk_s is not None and 4.0 <= end.talk_s <= 5.0
    assert tracker.live_count() == 0


def test_without_what_was_stored_the_adopted_agent_first_call_never_ends() -> None:
    """What the fix is for: the tracker would wait for an OriginateResponse that was
    sent before the restart, and a resync would later settle the call FAILED."""
    tracker, events = adopted_replay(
        "agent_first_success", CALL_AGENT_FIRST, "Hangup", stored=False
    )
    assert not any(isinstance(e, CallEnded) for e in events)
    assert tracker.live_count() == 1


def test_a_call_that_ended_while_no_dialer_listened_is_settled_from_its_stored_answer() -> None:
    """A resync finds the adopted message call gone: answered before the restart, it is
    settled SUCCESS (the message was heard); without the stored answer, FAILED."""
    results = []
    for answered_at in (105.0, None):
        tracker = CallTracker()
        tracker.track(9, "pbxd-9-cd", 100.0, CALL_MESSAGE)
        tracker.resume(
            "pbxd-9-cd", answered_at=answered_at, connected_at=None, agent=None, queue=None
        )
        [end] = tracker.settle_missing(set(), at=130.0, cause="resync", placed_before=120.0)
        assert isinstance(end, CallEnded)
        results.append(end.result)
    assert results == [TechResult.SUCCESS, TechResult.FAILED]


def test_a_resync_sees_an_agent_first_call_taken_by_an_agent_meanwhile() -> None:
    """The agent answered while no dialer listened: the first half is Up, then bridged
    with the customer. The resync reports the agent, then the answer."""
    tracker = CallTracker()
    tracker.track(7, "pbxd-7-ab", 100.0, CALL_AGENT_FIRST)
    tracker.resume("pbxd-7-ab", answered_at=None, connected_at=None, agent=None, queue="sales")
    up = AmiEvent("CoreShowChannel", 110.0, {"uniqueid": "pbxd-7-ab", "channelstate": "6"})
    [connected] = tracker.refresh(up)
    assert isinstance(connected, CallConnected) and connected.queue == "sales"
    assert connected.at == 110.0
    bridged = AmiEvent(
        "CoreShowChannel",
        112.0,
        {"uniqueid": "pbxd-7-ab", "channelstate": "6", "bridgeid": "b-1"},
    )
    [answered] = tracker.refresh(bridged)
    assert isinstance(answered, CallAnswered) and answered.at == 112.0
    assert tracker.refresh(bridged) == []
