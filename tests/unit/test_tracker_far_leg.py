"""The call tracker reads an unanswered call's outcome from the customer's own leg, and
ends an answered call when that leg ends, whatever the channel template.

The events are written the way Asterisk 22.10 sends them (field names and order as in
main/manager_channels.c and main/core_local.c): a direct `PJSIP/{number}@trunk`
originate, whose own channel is the customer leg; and `Local/{number}@dialer-outbound`,
whose trunk leg is a channel of Asterisk's own naming that carries DIALER_ATTEMPT."""

from __future__ import annotations

from pbx_dialer.ami.actions import originate_action_id
from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.tracker import CallTracker
from pbx_dialer.calls import CallCauseLearned, CallEnded, CallEvent, TechResult

CHANNEL_ID = "pbxd-7-abc"
T0 = 1_000.0


def event(name: str, at: float, **headers: str | list[str]) -> AmiEvent:
    return AmiEvent(name=name, at=at, headers={k.lower(): v for k, v in headers.items()})


def hangup(
    at: float, uniqueid: str, channel: str, cause: str, tech: str = "", attempt: str = "7"
) -> AmiEvent:
    fields: dict[str, str | list[str]] = {
        "Channel": channel,
        "Uniqueid": uniqueid,
        "ChanVariable": [f"DIALER_ATTEMPT={attempt}", "DIALER_CAMPAIGN=1"],
        "Cause": cause,
    }
    if tech:
        fields["TechCause"] = tech
    return event("Hangup", at, **fields)


def originate_failure(at: float, reason: str) -> AmiEvent:
    return event(
        "OriginateResponse", at, ActionID=originate_action_id(CHANNEL_ID), Response="Failure",
        Reason=reason, Uniqueid=CHANNEL_ID,
    )  # fmt: skip


def tracker() -> CallTracker:
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    calls.feed(event("Newchannel", T0 + 0.01, Uniqueid=CHANNEL_ID, Channel="PJSIP/trunk-1"))
    return calls


def feed_all(calls: CallTracker, *events: AmiEvent) -> list[CallEvent]:
    out: list[CallEvent] = []
    for one in events:
        out.extend(calls.feed(one))
    return out


def only_end(events: list[CallEvent]) -> CallEnded:
    ends = [e for e in events if isinstance(e, CallEnded)]
    assert len(ends) == 1, events
    return ends[0]


def test_a_busy_direct_trunk_call_is_busy_although_the_reason_says_failed() -> None:
    """What broke on a real trunk: 486 Busy Here comes back as OriginateResponse Reason 0;
    the channel's Hangup says cause 17 and TechCause 486."""
    calls = tracker()
    end = only_end(
        feed_all(
            calls,
            hangup(T0 + 1.2, CHANNEL_ID, "PJSIP/trunk-1", "17", "486"),
            originate_failure(T0 + 1.21, "0"),
        )
    )
    assert end.result is TechResult.BUSY
    assert (end.cause_code, end.sip_status) == (17, 486)
    assert end.ring_s is not None and abs(end.ring_s - 1.19) < 1e-6
    assert calls.live_count() == 0


def test_the_reason_arriving_first_waits_for_the_hangup_and_its_cause() -> None:
    """OriginateResponse is sent straight from the originating thread, the Hangup through
    stasis: the first may overtake the second."""
    calls = tracker()
    assert feed_all(calls, originate_failure(T0 + 1.0, "0")) == []
    end = only_end(feed_all(calls, hangup(T0 + 1.01, CHANNEL_ID, "PJSIP/trunk-1", "34", "503")))
    assert end.result is TechResult.CONGESTION and end.sip_status == 503
    assert end.at == T0 + 1.01


def test_a_channel_that_never_existed_ends_at_the_reason() -> None:
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    end = only_end(feed_all(calls, originate_failure(T0 + 0.1, "0")))
    assert end.result is TechResult.FAILED and end.cause_code is None


def test_a_wrong_number_behind_dialer_outbound_is_invalid_with_its_sip_status() -> None:
    """The trunk leg (Asterisk's own uniqueid, DIALER_ATTEMPT passed on by the dialplan)
    hangs up with 404; the Local channel then ends with cause 1 and Reason 0."""
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    local = "Local/2125550404@dialer-outbound-0001;1"
    events = feed_all(
        calls,
        event("Newchannel", T0, Uniqueid=CHANNEL_ID, Channel=local),
        hangup(T0 + 0.5, "1733.12", "PJSIP/trunk-00000003", "1", "404"),
        hangup(T0 + 0.51, CHANNEL_ID, local, "1"),
        originate_failure(T0 + 0.52, "0"),
    )
    end = only_end(events)
    assert end.result is TechResult.INVALID
    assert (end.cause_code, end.sip_status) == (1, 404)


def test_our_own_cancel_at_the_ring_timeout_is_no_answer() -> None:
    """The trunk leg answers our CANCEL with 487 (cause 127): that is not the customer;
    the dialer's own channel was hung up with cause 19 by the originate timeout."""
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    local = "Local/2125550999@dialer-outbound-0002;1"
    end = only_end(
        feed_all(
            calls,
            event("Newchannel", T0, Uniqueid=CHANNEL_ID, Channel=local),
            hangup(T0 + 30.0, CHANNEL_ID, local, "19"),
            hangup(T0 + 30.01, "1733.13", "PJSIP/trunk-00000004", "127", "487"),
            originate_failure(T0 + 30.02, "3"),
        )
    )
    assert end.result is TechResult.NOANSWER


def test_an_optimised_local_channel_leaves_the_end_to_the_customers_leg() -> None:
    """Without /n the Local pair is optimised away when the agent connects: its first
    half hangs up 0.05 s after the connect, while the customer talks 5 s more."""
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    local = "Local/2125550101@dialer-outbound-0003;1"
    events = feed_all(
        calls,
        event("Newchannel", T0, Uniqueid=CHANNEL_ID, Channel=local),
        event("Newstate", T0 + 1.0, Uniqueid=CHANNEL_ID, Channel=local, ChannelState="6"),
        event("QueueCallerJoin", T0 + 1.01, Uniqueid=CHANNEL_ID, Queue="sales"),
        event(
            "AgentConnect",
            T0 + 2.0,
            Uniqueid=CHANNEL_ID,
            Queue="sales",
            MemberName="Agent 1",
            Interface="PJSIP/agent1",
            DestChannel="PJSIP/agent1-0001",
        ),
        event("LocalOptimizationBegin", T0 + 2.02, LocalOneUniqueid=CHANNEL_ID),
        # Asterisk 22.10 says Success: No for the swap it did (seen on the SIP rig).
        event("LocalOptimizationEnd", T0 + 2.04, LocalOneUniqueid=CHANNEL_ID, Success="No"),
        hangup(T0 + 2.05, CHANNEL_ID, local, "16"),
    )
    assert not any(isinstance(e, CallEnded) for e in events)
    trunk_leg = event(
        "CoreShowChannel", T0 + 3.0, Uniqueid="1733.14", Channel="PJSIP/trunk-00000005",
        ChanVariable=["DIALER_ATTEMPT=7", "DIALER_CAMPAIGN=1"],
    )  # fmt: skip
    assert calls.present([trunk_leg]) == {CHANNEL_ID}, "a resync must see the call alive"
    end = only_end(feed_all(calls, hangup(T0 + 7.0, "1733.14", "PJSIP/trunk-00000005", "16")))
    assert end.result is TechResult.SUCCESS and end.agent == "Agent 1"
    assert end.talk_s is not None and abs(end.talk_s - 5.0) < 1e-6
    assert end.wait_s is not None and abs(end.wait_s - 0.99) < 1e-6


def test_a_kept_local_channel_ends_with_the_customers_own_hangup_time() -> None:
    """With /n the Local channel stays; the trunk leg hangs up first, a moment before."""
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    local = "Local/2125550101@dialer-outbound-0004;1"
    end = only_end(
        feed_all(
            calls,
            event("Newchannel", T0, Uniqueid=CHANNEL_ID, Channel=local),
            event("Newstate", T0 + 1.0, Uniqueid=CHANNEL_ID, Channel=local, ChannelState="6"),
            hangup(T0 + 4.0, "1733.15", "PJSIP/trunk-00000006", "16"),
            hangup(T0 + 4.08, CHANNEL_ID, local, "16"),
        )
    )
    assert end.result is TechResult.ABANDONED and end.at == T0 + 4.0


def test_a_leg_of_another_attempt_or_a_local_half_is_not_the_customer() -> None:
    calls = tracker()
    events = feed_all(
        calls,
        hangup(T0 + 1.0, "1733.16", "PJSIP/trunk-7", "17", "486", attempt="8"),
        hangup(T0 + 1.0, "1733.17", "Local/x@dialer-outbound-9;2", "17", attempt="7"),
        hangup(T0 + 1.1, CHANNEL_ID, "PJSIP/trunk-1", "1", "404"),
        originate_failure(T0 + 1.2, "0"),
    )
    assert only_end(events).result is TechResult.INVALID


def test_a_call_that_ended_unheard_has_no_invented_talk_time() -> None:
    """A resync after a restart finds an answered, connected call gone: when it ended is
    not known, so neither is its talk time; its ring and wait are."""
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    calls.resume(
        CHANNEL_ID, answered_at=T0 + 1.0, connected_at=T0 + 2.5, agent="Agent 1", queue="sales"
    )
    end = only_end(calls.settle_missing(set(), at=T0 + 15.0, cause="resync", placed_before=T0 + 1))
    assert end.result is TechResult.SUCCESS and not end.times_known
    assert end.talk_s is None
    assert end.wait_s is not None and abs(end.wait_s - 1.5) < 1e-6
    assert end.ring_s is not None and abs(end.ring_s - 1.0) < 1e-6


def test_after_a_restart_a_call_left_to_its_trunk_leg_ends_with_that_leg() -> None:
    """The Local channel was optimised away before the restart: the resync finds only
    the trunk leg (DIALER_ATTEMPT on it), and that leg's hang-up ends the call."""
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    calls.resume(
        CHANNEL_ID, answered_at=T0 + 1.0, connected_at=T0 + 2.0, agent="Agent 1", queue="sales"
    )
    trunk_leg = event(
        "CoreShowChannel", T0 + 5.0, Uniqueid="1733.20", Channel="PJSIP/trunk-00000009",
        ChanVariable=["DIALER_ATTEMPT=7", "DIALER_CAMPAIGN=1"],
    )  # fmt: skip
    assert calls.present([trunk_leg]) == {CHANNEL_ID}
    end = only_end(feed_all(calls, hangup(T0 + 9.0, "1733.20", "PJSIP/trunk-00000009", "16")))
    assert end.result is TechResult.SUCCESS and end.times_known
    assert end.talk_s is not None and abs(end.talk_s - 7.0) < 1e-6


def test_a_sip_response_that_comes_after_the_end_is_learnt_for_the_attempt() -> None:
    """Behind a Local channel a 404 at once may hang up the trunk leg a moment after the
    dialer's own channel: the attempt is already INVALID (the Local channel carried cause
    1); the trunk leg's SIP response follows for it alone."""
    calls = CallTracker()
    calls.track(7, CHANNEL_ID, T0)
    local = "Local/2125440002@dialer-outbound-0009;1"
    end = only_end(
        feed_all(
            calls,
            event("Newchannel", T0, Uniqueid=CHANNEL_ID, Channel=local),
            hangup(T0 + 0.01, CHANNEL_ID, local, "1"),
            originate_failure(T0 + 0.011, "0"),
        )
    )
    assert end.result is TechResult.INVALID and end.sip_status is None
    late = feed_all(calls, hangup(T0 + 0.02, "1733.30", "PJSIP/trunk-0000000a", "1", "404"))
    assert late == [CallCauseLearned(7, 404)]
    # Once only, and never for a channel of another attempt.
    assert feed_all(calls, hangup(T0 + 0.03, "1733.30", "PJSIP/trunk-0000000a", "1", "404")) == []
