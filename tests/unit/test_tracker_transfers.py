"""Recorded transfers and recordings of a real Asterisk 22, replayed through the tracker.

The fixtures come from
`python -m pbx_dialer.testing.record_fixtures tests/fixtures/ami blind_transfer attended_transfer`.
"""

from __future__ import annotations

from typing import TypeVar

from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.tracker import CallTracker, recording_file
from pbx_dialer.calls import (
    CallAnswered,
    CallConnected,
    CallEnded,
    CallEvent,
    CallQueued,
    CallRecording,
    CallTransferred,
    TechResult,
    TransferKind,
)
from tests.unit.test_tracker_replay import load, replay

T = TypeVar("T")


def only(events: list[CallEvent], kind: type[T]) -> T:
    found = [e for e in events if isinstance(e, kind)]
    assert len(found) == 1, found
    return found[0]


def test_blind_transfer_by_the_agent() -> None:
    """Recorded call: the customer answers after 1 s, agent 7001 takes it 1.5 s later,
    talks 1 s and blind-transfers the customer (AMI BlindTransfer on the agent's channel)
    to 8001@sim-transfer, which talks 4 s and hangs up. The transfer names the agent and
    the extension; the call stays a SUCCESS of agent 7001 whose talk time stops at the
    transfer, while the call itself ends 4 s later."""
    attempt, _ = load("blind_transfer")
    events = replay("blind_transfer")
    assert [type(e) for e in events] == [
        CallAnswered,
        CallRecording,
        CallQueued,
        CallConnected,
        CallTransferred,
        CallEnded,
    ]
    transfer = only(events, CallTransferred)
    assert transfer.kind is TransferKind.BLIND
    assert transfer.attempt_id == attempt["attempt_id"]
    assert transfer.by == "Agent 7001" and transfer.by_interface == "Local/7001@sim-agents"
    assert transfer.target == "8001@sim-transfer"
    connected = only(events, CallConnected)
    assert 0.8 <= transfer.at - connected.at <= 1.5
    end = only(events, CallEnded)
    assert end.result is TechResult.SUCCESS and end.agent == "Agent 7001"
    assert end.talk_s is not None and 0.8 <= end.talk_s <= 1.5
    assert 3.8 <= end.at - transfer.at <= 4.5


def test_attended_transfer_by_the_agent() -> None:
    """Recorded call: agent 7001 takes the customer, talks 1 s, starts an attended
    transfer (AMI Atxfer on the agent's channel) to 8001@sim-transfer, which answers at
    once; the agent hangs up once bridged with the target, which completes the transfer
    (AttendedTransfer, DestType Bridge: the bridges are merged, so the event names no
    target; the tracker finds it among the customer's bridge members). The target talks
    4 s with the customer and hangs up."""
    events = replay("attended_transfer")
    transfer = only(events, CallTransferred)
    assert transfer.kind is TransferKind.ATTENDED
    assert transfer.by == "Agent 7001" and transfer.by_interface == "Local/7001@sim-agents"
    assert transfer.target.startswith("Local/8001@sim-transfer-") and transfer.target.endswith(";1")
    end = only(events, CallEnded)
    assert end.result is TechResult.SUCCESS and end.agent == "Agent 7001"
    connected = only(events, CallConnected)
    assert end.talk_s == transfer.at - connected.at
    assert end.at > transfer.at + 2.0


def test_recording_is_reported_once_with_the_file_asterisk_writes() -> None:
    """Both transfer sessions record the call: MixMonitorStart on the customer leg right
    after answer; the file is named after the attempt's channel id."""
    for name in ("blind_transfer", "attended_transfer"):
        attempt, _ = load(name)
        recording = only(replay(name), CallRecording)
        assert recording.file == f"{attempt['channel_id']}.wav"
        assert recording.file == recording_file(attempt["channel_id"])
        assert recording.file.startswith(f"pbxd-{attempt['attempt_id']}-")


def test_unrecorded_calls_report_no_recording() -> None:
    """The older sessions were placed without DIALER_RECORD: no MixMonitorStart."""
    assert not [e for e in replay("success") if isinstance(e, CallRecording)]


def test_duplicate_events_report_one_transfer() -> None:
    _, events = load("attended_transfer")
    doubled = [e for event in events for e in (event, event)]
    out = replay("attended_transfer", doubled)
    assert only(out, CallTransferred).kind is TransferKind.ATTENDED
    assert only(out, CallEnded).result is TechResult.SUCCESS


def test_failed_transfer_is_not_a_transfer() -> None:
    """A BlindTransfer whose Result is not Success (e.g. the extension does not exist)
    changes nothing: the call's talk time runs to its end."""
    _, events = load("blind_transfer")
    failed = [
        AmiEvent(e.name, e.at, {**e.headers, "result": "Invalid"})
        if e.name == "BlindTransfer"
        else e
        for e in events
    ]
    out = replay("blind_transfer", failed)
    assert not [e for e in out if isinstance(e, CallTransferred)]
    end = only(out, CallEnded)
    assert end.talk_s is not None and end.talk_s > 4.0


def test_transfer_by_someone_else_names_the_channel() -> None:
    """After a dialer restart the tracker adopts the call without knowing the agent's
    channel (no AgentConnect seen): the transfer names the transferring channel."""
    attempt, events = load("blind_transfer")
    tracker = CallTracker()
    tracker.track(attempt["attempt_id"], attempt["channel_id"], attempt["placed_at"])
    out = [e for event in events if event.name != "AgentConnect" for e in tracker.feed(event)]
    transfer = only(out, CallTransferred)
    assert transfer.by.startswith("Local/7001@sim-agents-") and transfer.by_interface is None


def test_transfers_of_other_calls_are_ignored() -> None:
    _, events = load("attended_transfer")
    tracker = CallTracker()
    tracker.track(9, "pbxd-9-other", 0.0)
    assert all(not tracker.feed(e) for e in events)
