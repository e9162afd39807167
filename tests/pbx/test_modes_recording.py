"""Recording (campaign `recording: true`, MixMonitor) in the agent-first and agentless
message modes, and a message campaign's transfer as the transfers API shows it.

Agent first: MixMonitor starts on the first half of the Local channel once an agent
holds the call, right before the customer is dialed: the file holds the agent hearing
the customer's line ring, then the agent and the customer, never the queue wait.
Agentless: the customer leg is recorded from answer: the message, the key press, and
the talk with the agent the key sent the person to (what was said to them is evidence
too, and a transferred call is an ordinary conversation with an agent)."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign
from tests.pbx.test_recording_transfers import monitor_dir, transfers_of

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def the_ended_attempt(dialer: Client, campaign_id: int, phone: str) -> dict[str, Any]:
    async def ended() -> bool:
        found = (await attempts_of(dialer, campaign_id)).get(phone)
        return found is not None and found["state"] == "ended"

    await eventually(ended, timeout=30)
    return (await attempts_of(dialer, campaign_id))[phone]


async def seconds_of(path: Path) -> float:
    """The length of a finished WAV file (MixMonitor writes its header at the end)."""

    async def written() -> bool:
        if not path.exists():
            return False
        try:
            with wave.open(str(path)) as audio:
                return int(audio.getnframes()) > 0
        except (EOFError, wave.Error):
            return False

    await eventually(written, timeout=10)
    with wave.open(str(path)) as audio:
        return int(audio.getnframes()) / int(audio.getframerate())


async def test_agent_first_recording_holds_the_agent_and_customer_not_the_queue_wait(
    dialer: Client, sim: Simulator, asterisk: AsteriskInstance
) -> None:
    """Agent 7001 answers the queued call after 1.5 s; the customer (5551201) rings 1 s,
    says "hello" and listens 10 s. The recording is the attempt's, starts once the agent
    holds the call and lasts until the customer hangs up. (MixMonitor writes the audio
    that flows: this customer sends some, unlike the 55501XX ones, which send none.)"""
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(dialer, dial_mode="agent_first", recording=True)
    await add_records(dialer, campaign_id, ["+12125551201"])
    connected = sim.wait_event("AgentConnect", timeout=15, queue="sales")
    started = sim.wait_event("MixMonitorStart", timeout=15)
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    agent_took_it, recording_started = await connected, await started

    attempt = await the_ended_attempt(dialer, campaign_id, "+12125551201")
    assert attempt["result"] == "SUCCESS" and attempt["agent"] == "Agent 7001", attempt
    assert attempt["recording"] == f"{attempt['channel_id']}.wav"
    assert attempt["recording"].startswith(f"pbxd-{attempt['id']}-")
    # Started on the half that dials the customer, after the agent answered.
    assert recording_started.get("uniqueid") == attempt["channel_id"]
    assert recording_started.at >= agent_took_it.at
    length = await seconds_of(monitor_dir(asterisk) / attempt["recording"])
    held = attempt["ended_at"] - attempt["connected_at"]  # ~1 s ringing + ~11 s talk
    assert abs(length - held) < 1.0, (length, held)
    assert length >= attempt["talk_s"] > 10.0


async def test_agentless_recording_holds_the_message_and_the_agent_after_the_key(
    dialer: Client, sim: Simulator, asterisk: AsteriskInstance
) -> None:
    """5551001 answers, hears the message, presses 1 after 2.5 s and talks 8 s with agent
    7001. The recording covers the whole call from answer; the transfer is listed with
    its time (the queue join), `message` and `queue sales`, and the recording."""
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(
        dialer, dial_mode="agentless", message="vm-goodbye", recording=True
    )
    await add_records(dialer, campaign_id, ["+12125551001"])
    joined = sim.wait_event("QueueCallerJoin", timeout=20, queue="sales")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    queue_join = await joined

    attempt = await the_ended_attempt(dialer, campaign_id, "+12125551001")
    assert attempt["result"] == "SUCCESS" and attempt["media"] == "message", attempt
    assert attempt["recording"] == f"{attempt['channel_id']}.wav"
    length = await seconds_of(monitor_dir(asterisk) / attempt["recording"])
    whole = attempt["ended_at"] - attempt["answered_at"]  # message + key + 8 s with the agent
    assert abs(length - whole) < 1.0, (length, whole)
    assert length > attempt["talk_s"] + 2.0, "the message before the agent is in it"

    body = await transfers_of(dialer, campaign_id)
    [transfer] = body["transfers"]
    assert transfer == {
        "id": transfer["id"],
        "attempt_id": attempt["id"],
        "kind": "blind",
        "at": queue_join.at,
        "transferred_by": "message",
        "agent_interface": None,
        "target": "queue sales",
        "phone": "+12125551001",
        "agent": "Agent 7001",
        "recording": attempt["recording"],
    }
    assert attempt["answered_at"] < transfer["at"] < attempt["connected_at"]
    assert body["summary"]["last_transfer_at"] == transfer["at"]
    # The time window of the list applies to the transfer's time.
    after = await transfers_of(dialer, campaign_id, f"?since={transfer['at'] + 0.001}")
    assert after["transfers"] == []

    # The API document describes these values, and every field of the answer.
    document = await (await dialer.get("/api/openapi.json")).json()
    schema = document["paths"]["/api/campaigns/{id}/transfers"]["get"]["responses"]["200"]
    item = schema["content"]["application/json"]["schema"]["properties"]["transfers"]["items"]
    assert set(item["properties"]) == set(transfer)
    assert "`message`" in item["properties"]["transferred_by"]["description"]
    assert "`queue <name>`" in item["properties"]["target"]["description"]


async def test_a_message_campaign_without_recording_leaves_no_file(
    dialer: Client, sim: Simulator, asterisk: AsteriskInstance
) -> None:
    """`recording: false`: no MixMonitor, no file, no recording on the attempt."""
    campaign_id = await create_campaign(dialer, dial_mode="agentless", message="vm-goodbye")
    await add_records(dialer, campaign_id, ["+12125551201"])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    attempt = await the_ended_attempt(dialer, campaign_id, "+12125551201")
    assert attempt["result"] == "SUCCESS" and attempt["recording"] is None, attempt
    assert not any(e.name == "MixMonitorStart" for e in sim.events)
    assert not list(monitor_dir(asterisk).glob(f"pbxd-{attempt['id']}-*"))
