"""The SIP rig itself, without the dialer: real sipp user agents around a real Asterisk,
driven with Asterisk's own AMI (RawAmi Originate).

What Asterisk 22.10 reports for each trunk behaviour, on the originated channel
``PJSIP/<number>@trunk`` (Originate Async, Timeout 3 s, into ``sip-rig-answered``):

    behaviour                 SIP from trunk   Hangup Cause         TechCause  OriginateResponse
    answer, AMI Hangup Cause=16 200, BYE to it  16 Normal Clearing   -          Success, Reason 4
    answer_hangup (T=2)       200, BYE 2 s     0 Unknown            -          Success, Reason 4
    answer_hangup_now         200, BYE 0.1 s   0 Unknown            -          Success, Reason 4
    early_media (T=2)         183, 200, BYE    0 Unknown            -          Success, Reason 4
    no_answer                 180, CANCEL/487  19 No answer         480        Failure, Reason 3
    busy                      486              17 User busy         486        Failure, Reason 0
    temporarily_unavailable   480              19 No answer         480        Failure, Reason 0
    decline                   603              21 Call rejected     603        Failure, Reason 0
    unavailable               503              34 Congestion        503        Failure, Reason 0
    not_found                 404              1 Unallocated        404        Failure, Reason 0

(AMI Hangup without a Cause gives Cause 0 too.) So: when the customer hangs up an
answered call (BYE without a Reason header) the cause is 0, not 16; no answer (Asterisk
CANCELs at the Originate Timeout) reads 19 with TechCause 480, like a 480 from the
trunk, and only OriginateResponse Reason 3 tells them apart; every rejected call's
OriginateResponse Reason is 0 whatever the SIP status, so only the Hangup's
Cause/TechCause tell busy from congestion or a wrong number.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from pbx_dialer.testing import sip
from pbx_dialer.testing.asterisk import AmiMessage, RawAmi
from pbx_dialer.testing.sip import SipRig, SipUnavailable, trunk_number
from tests.conftest import eventually

pytestmark = pytest.mark.sip

TIME_SLACK_S = 0.3

# behaviour -> (talk_s, Hangup Cause, TechCause, OriginateResponse Reason)
EXPECTED: dict[str, tuple[int | None, str, str | None, str]] = {
    "answer_hangup": (2, "0", None, "4"),
    "answer_hangup_now": (None, "0", None, "4"),
    "early_media": (2, "0", None, "4"),
    "no_answer": (None, "19", "480", "3"),
    "busy": (None, "17", "486", "0"),
    "temporarily_unavailable": (None, "19", "480", "0"),
    "decline": (None, "21", "603", "0"),
    "unavailable": (None, "34", "503", "0"),
    "not_found": (None, "1", "404", "0"),
}


@pytest_asyncio.fixture
async def ami(sip_rig: SipRig) -> AsyncIterator[RawAmi]:
    """Asterisk's AMI as the simulator user, with every event."""
    asterisk = sip_rig.asterisk
    connection = await RawAmi.connect(asterisk.ami_host, asterisk.ami_port)
    await connection.login(asterisk.simulator_user, asterisk.simulator_secret)
    try:
        yield connection
    finally:
        await connection.close()


async def originate(ami: RawAmi, channel: str, channel_id: str, timeout_s: float = 3) -> str:
    """Send an Originate (its response and events are left to read); its ActionID."""
    return await ami.send(
        "Originate",
        Channel=channel,
        Context="sip-rig-answered",
        Exten="s",
        Priority="1",
        Async="true",
        ChannelId=channel_id,
        Timeout=str(int(timeout_s * 1000)),
    )


async def events_until(
    ami: RawAmi, done: set[tuple[str, str]], timeout: float = 15.0
) -> list[AmiMessage]:
    """Every event until one (Event, Uniqueid) of each pair in `done` has been seen."""
    seen: list[AmiMessage] = []
    left = set(done)
    deadline = time.monotonic() + timeout
    while left:
        try:
            msg = await ami.read(max(deadline - time.monotonic(), 0.01))
        except TimeoutError:
            raise AssertionError(f"AMI events not seen: {sorted(left)}") from None
        seen.append(msg)
        left.discard((msg.get("Event", ""), msg.get("Uniqueid", "")))
    return seen


def of(events: list[AmiMessage], name: str, uniqueid: str, **fields: str) -> AmiMessage:
    for msg in events:
        wanted = msg.get("Event") == name and msg.get("Uniqueid") == uniqueid
        if wanted and all(msg.get(k) == v for k, v in fields.items()):
            return msg
    raise AssertionError(f"no {name} {fields} for {uniqueid}")


def close_to(a: float | None, b: float, slack: float = TIME_SLACK_S) -> bool:
    return a is not None and abs(a - b) <= slack


async def test_every_trunk_behaviour_gives_its_cause_and_the_trunk_log_its_times(
    sip_rig: SipRig, ami: RawAmi
) -> None:
    """One call of each behaviour at once: Asterisk's Hangup Cause/TechCause and
    OriginateResponse, and the trunk's parsed log (status, who hung up, times) agree
    with Asterisk's event timestamps."""
    numbers = {
        b: trunk_number(b, i, talk_s) for i, (b, (talk_s, *_)) in enumerate(EXPECTED.items())
    }
    # Asterisk refuses a ChannelId that is a prefix of a live channel's Uniqueid
    ids = {b: f"siprig-{i:02d}-{b}" for i, b in enumerate(numbers)}
    actions = [await originate(ami, f"PJSIP/{numbers[b]}@trunk", ids[b]) for b in numbers]
    events = await events_until(
        ami,
        {(e, i) for i in ids.values() for e in ("Hangup", "OriginateResponse")},
    )
    accepted = {m.get("ActionID") for m in events if m.get("Response") == "Success"}
    assert accepted >= set(actions)

    async def logged() -> bool:
        # sipp writes its log a moment after Asterisk's Hangup (later still on a busy
        # machine): every answered call's BYE, then the comparison.
        found = sip_rig.trunk_calls()
        return len(found) == len(numbers) and all(
            c.ended_at is not None for c in found if c.answered_at is not None
        )

    await eventually(logged, timeout=10)
    calls = {c.number: c for c in sip_rig.trunk_calls()}
    assert sorted(calls) == sorted(numbers.values())  # one INVITE per number
    for behaviour, (_, cause, tech_cause, reason) in EXPECTED.items():
        uid, call = ids[behaviour], calls[numbers[behaviour]]
        hangup = of(events, "Hangup", uid)
        observed = (hangup.get("Cause"), hangup.get("TechCause"))
        assert observed == (cause, tech_cause), (behaviour, hangup.raw)
        assert of(events, "OriginateResponse", uid).get("Reason") == reason, behaviour
        assert call.behaviour == behaviour
        assert close_to(call.ended_at, float(hangup["Timestamp"])), (behaviour, call)
        if reason == "4":
            up = of(events, "Newstate", uid, ChannelState="6")
            assert call.final_status == 200 and call.bye_from == "rig", call
            assert close_to(call.answered_at, float(up["Timestamp"])), (behaviour, call)
    # the answers: after ~1 s of ringing (at once for answer_hangup_now), talk as told
    for behaviour in ("answer_hangup", "early_media"):
        call = calls[numbers[behaviour]]
        assert call.answered_at and call.ended_at
        assert close_to(call.answered_at - call.invite_at, 1.0), call
        assert close_to(call.ended_at - call.answered_at, 2.0), call
    now = calls[numbers["answer_hangup_now"]]
    assert now.answered_at and now.ended_at and now.ended_at - now.invite_at < 0.5, now
    assert calls[numbers["early_media"]].messages[2].first_line.startswith("SIP/2.0 183")
    # the failures: the SIP status sent, ACKed; no answer is cancelled at the timeout
    for behaviour, status in (
        ("busy", 486), ("temporarily_unavailable", 480), ("decline", 603),
        ("unavailable", 503), ("not_found", 404),
    ):  # fmt: skip
        call = calls[numbers[behaviour]]
        assert call.final_status == status and call.answered_at is None, call
        assert call.messages[-1].method == "ACK", call
    no_answer = calls[numbers["no_answer"]]
    assert no_answer.cancelled and no_answer.ended_at, no_answer
    assert close_to(no_answer.ended_at - no_answer.invite_at, 3.0), no_answer
    await asyncio.sleep(0.1)  # the 487 follows the CANCEL's 200 at once
    assert sip_rig.trunk_calls()[-1].final_status is not None
    assert {c.number: c.final_status for c in sip_rig.trunk_calls()}[numbers["no_answer"]] == 487


async def test_an_answered_call_has_rtp_both_ways_until_asterisk_hangs_up(
    sip_rig: SipRig, ami: RawAmi
) -> None:
    """The customer answers and talks; Asterisk receives its audio and sends its own
    (the channel's RTP counters), then hangs up: the trunk saw Asterisk's BYE."""
    number = trunk_number("answer")
    await originate(ami, f"PJSIP/{number}@trunk", "siprig-rtp")
    await ami.wait_for(
        lambda m: m.get("Event") == "Newstate" and m.get("Uniqueid") == "siprig-rtp"
        and m.get("ChannelState") == "6"
    )  # fmt: skip
    await asyncio.sleep(1.0)
    channel = await channel_of(ami, "siprig-rtp")
    for counter in ("rxcount", "txcount"):  # packets from the customer, and to them
        response = await ami.action("Getvar", Channel=channel, Variable=f"CHANNEL(rtcp,{counter})")
        assert int(response.get("Value") or 0) > 20, response.raw
    hung_up_at = time.time()
    await ami.action("Hangup", Channel=channel, Cause="16")
    hangup = await ami.wait_for(
        lambda m: m.get("Event") == "Hangup" and m.get("Uniqueid") == "siprig-rtp"
    )
    assert (hangup.get("Cause"), hangup.get("TechCause")) == ("16", None), hangup.raw
    await asyncio.sleep(0.1)
    (call,) = sip_rig.trunk_calls()
    assert call.bye_from == "asterisk" and call.final_status == 200, call
    assert close_to(call.ended_at, hung_up_at), call


async def channel_of(ami: RawAmi, uniqueid: str) -> str:
    """The channel name of a live channel, from its Uniqueid."""
    response = await ami.action("Getvar", Channel=uniqueid, Variable="CHANNEL(name)")
    if response.get("Response") == "Success" and response.get("Value"):
        return response["Value"]
    raise AssertionError(f"no channel {uniqueid}: {response.raw}")


async def test_an_agent_phone_rings_answers_after_its_delay_and_has_real_device_state(
    sip_rig: SipRig, ami: RawAmi
) -> None:
    """Agent 1's phone rings, answers after 1 s, talks 2 s and hangs up: its device state
    goes RINGING, INUSE, NOT_INUSE; stopped, it becomes UNAVAILABLE; started, NOT_INUSE."""
    await sip_rig.start_agent(1, answer_delay_s=1.0, talk_s=2.0)
    await originate(ami, sip_rig.agent_interface(1), "siprig-agent-call", timeout_s=5)
    # (no AMI DeviceStateChange without res_manager_devicestate: ask every 50 ms)
    states = [await sip_rig.device_state(1)]
    deadline = time.monotonic() + 10
    while states[1:] == [] or states[-1] != "NOT_INUSE":
        assert time.monotonic() < deadline, states
        state = await sip_rig.device_state(1)
        if state != states[-1]:
            states.append(state)
        await asyncio.sleep(0.05)
    up = await ami.wait_for(
        lambda m: m.get("Uniqueid") == "siprig-agent-call" and m.get("ChannelState") == "6"
    )
    up_at = float(up["Timestamp"])
    assert states == ["NOT_INUSE", "RINGING", "INUSE", "NOT_INUSE"]
    (call,) = sip_rig.agent_calls(1)
    assert call.answered_at and call.ended_at and call.bye_from == "rig", call
    assert close_to(call.answered_at - call.invite_at, 1.0), call
    assert close_to(call.ended_at - call.answered_at, 2.0), call
    assert close_to(call.answered_at, up_at), (call, up_at)
    assert sip_rig.agent_calls(2) == []

    await sip_rig.stop_agent(1)
    await sip_rig.wait_device_state(1, "UNAVAILABLE", timeout=5)
    await sip_rig.start_agent(1)
    await sip_rig.wait_device_state(1, "NOT_INUSE", timeout=5)


async def test_inbound_callers_reach_a_free_agent_through_the_queue_by_priority(
    sip_rig: SipRig, ami: RawAmi
) -> None:
    """Agent 2's phone is off, agent 1 is paused; a caller with priority 1 and then one
    with priority 9 wait in the queue. Unpaused, agent 1 gets the priority 9 caller,
    who hangs up 4 s after the answer: both sides' logs show it."""
    await sip_rig.add_to_queue("sales", 1, paused=True)
    await sip_rig.add_to_queue("sales", 2)
    await sip_rig.stop_agent(2)
    await sip_rig.wait_device_state(2, "UNAVAILABLE", timeout=5)
    low = await sip_rig.inbound_call("sales", priority=1, hold_s=8)
    await ami.wait_for(lambda m: m.get("Event") == "QueueCallerJoin" and m.get("Count") == "1")
    high = await sip_rig.inbound_call("sales", priority=9, hold_s=4)
    await ami.wait_for(lambda m: m.get("Event") == "QueueCallerJoin" and m.get("Count") == "2")
    await sip_rig.ami_action(
        "QueuePause", Queue="sales", Interface=sip_rig.agent_interface(1), Paused="false"
    )
    connect = await ami.wait_for(lambda m: m.get("Event") == "AgentConnect")
    assert connect.get("Exten") == "sales-9" and connect.get("MemberName") == "Agent 1", connect.raw
    assert await high.wait(10) == 0
    await low.stop()
    (caller,) = high.calls()
    (phone,) = sip_rig.agent_calls(1)
    assert caller.answered_at and caller.ended_at and caller.bye_from == "rig", caller
    assert close_to(caller.ended_at - caller.answered_at, 4.0), caller
    assert phone.answered_at and phone.bye_from == "asterisk", phone
    assert close_to(phone.answered_at - phone.invite_at, 1.0), phone
    assert close_to(phone.ended_at or 0, caller.ended_at), (phone, caller)
    assert sip_rig.agent_calls(2) == []


def test_without_sipp_the_rig_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setattr(os, "access", lambda _path, _mode: False)
    with pytest.raises(SipUnavailable, match="sip-tester"):
        sip.sipp_path()


def test_trunk_numbers_name_their_behaviour_and_refuse_what_they_cannot_do() -> None:
    assert trunk_number("busy", 7) == "+12125860007"
    assert trunk_number("answer_hangup", 12, talk_s=3) == "+12125223012"
    assert sip.trunk_behaviour("2125223012") == ("answer_hangup", 3, 12)
    assert sip.trunk_behaviour("+12125550101") is None
    for bad, message in (
        ({"behaviour": "hold_music"}, "unknown trunk behaviour"),
        ({"behaviour": "answer_hangup"}, "needs talk_s"),
        ({"behaviour": "busy", "talk_s": 2}, "makes no sense"),
        ({"behaviour": "answer", "talk_s": 10}, "1-9"),
        ({"behaviour": "answer", "index": 1000}, "0-999"),
    ):
        with pytest.raises(ValueError, match=message):
            trunk_number(**bad)
