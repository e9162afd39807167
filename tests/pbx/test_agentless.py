"""Agentless message campaigns on a real Asterisk: whoever answers hears the campaign's
message; the transfer key sends the person to the campaign's queue (stored as a
transfer); with answering-machine detection a machine gets the message after its beep
and the result MACHINE. Every attempt says its media: message."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import (
    add_records,
    assert_dialed_through_gate,
    attempts_of,
    create_campaign,
)

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def wait_all_ended(dialer: Client, campaign_id: int, count: int) -> dict[str, Any]:
    async def all_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == count and all(a["state"] == "ended" for a in found.values())

    await eventually(all_ended, timeout=40)
    return await attempts_of(dialer, campaign_id)


async def test_transfer_key_sends_the_person_to_an_agent_and_is_stored_as_a_transfer(
    dialer: Client, sim: Simulator
) -> None:
    """5551001 answers, listens 3 s to the message and presses 1: it joins the campaign's
    queue with the campaign's priority and agent 7001 takes it. The attempt is SUCCESS
    with the agent and media message; the transfer is listed and counted."""
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(
        dialer, dial_mode="agentless", message="vm-goodbye", transfer_key="1"
    )
    await add_records(dialer, campaign_id, ["+12125551001"])
    message = sim.wait_event("Newexten", timeout=15, application="Read", context="dialer-message")
    joined = sim.wait_event("QueueCallerJoin", timeout=20, queue="sales")
    priority = sim.wait_event("VarSet", timeout=20, variable="QUEUE_PRIO")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    # Read plays the message and takes the key: Read(DIALER_KEY,<message>,1,,1,5).
    assert (await message).get("appdata").split(",")[1] == "vm-goodbye"
    queued = await joined
    assert queued.get("uniqueid").startswith("pbxd-")
    prio = await priority
    assert prio.get("uniqueid") == queued.get("uniqueid") and prio.get("value") == "5"

    attempt = (await wait_all_ended(dialer, campaign_id, 1))["+12125551001"]
    assert attempt["result"] == "SUCCESS", attempt
    assert attempt["media"] == "message"
    assert attempt["agent"] == "Agent 7001"
    assert attempt["queue"] == "sales"
    assert attempt["answered_at"] < attempt["connected_at"]
    # The person talks to the agent until it hangs up, 8 s after pressing the key.
    assert 5.0 <= attempt["talk_s"] <= 9.0, attempt

    response = await dialer.get(f"/api/campaigns/{campaign_id}/transfers")
    assert response.status == 200
    body = await response.json()
    [transfer] = body["transfers"]
    assert transfer["attempt_id"] == attempt["id"]
    assert transfer["transferred_by"] == "message"
    assert transfer["target"] == "queue sales"
    assert transfer["kind"] == "blind"
    assert body["summary"]["transfers_last_15_min"] == 1
    assert body["summary"]["transfers_today"] == 1


async def test_machines_get_the_message_after_the_beep_and_people_at_once_without_agents(
    dialer: Client, sim: Simulator
) -> None:
    """No agent is logged in: a message campaign dials anyway (two lines). With AMD on,
    5551101 (a 5.7 s greeting, a beep, silence) is a MACHINE and gets the message once
    the beep is over; 5551201 ("hello", then silence) is a person and hears it at once.
    Both are stored with media message, which the attempts API filters by."""
    campaign_id = await create_campaign(
        dialer, dial_mode="agentless", message="vm-goodbye", amd=True, max_lines=2
    )
    await add_records(dialer, campaign_id, ["+12125551101", "+12125551201"])
    machine_message = sim.wait_event(
        "Newexten", timeout=30, application="Playback", context="dialer-message", exten="machine"
    )
    person_message = sim.wait_event(
        "Newexten", timeout=30, application="Read", context="dialer-message", exten="message"
    )
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    to_person = await person_message
    to_machine = await machine_message
    assert to_machine.get("appdata") == "vm-goodbye"
    assert to_person.get("appdata").split(",")[1] == "vm-goodbye"
    # The machine's greeting (5.7 s) and beep are over before its message starts.
    assert to_machine.at - to_person.at > 3.0

    attempts = await wait_all_ended(dialer, campaign_id, 2)
    machine, person = attempts["+12125551101"], attempts["+12125551201"]
    assert machine["result"] == "MACHINE", machine
    assert person["result"] == "SUCCESS", person
    for attempt in (machine, person):
        assert attempt["media"] == "message"
        assert attempt["agent"] is None and attempt["answered_at"] is not None
    # Both were placed together: no agent needed; both through the dial gate.
    assert abs(machine["placed_at"] - person["placed_at"]) < 1.0
    assert await assert_dialed_through_gate(dialer, campaign_id) == 2

    listed = await dialer.get(f"/api/campaigns/{campaign_id}/attempts?media=message")
    assert sorted(a["phone"] for a in (await listed.json())["attempts"]) == [
        "+12125551101",
        "+12125551201",
    ]
    agents = await dialer.get(f"/api/campaigns/{campaign_id}/attempts?media=agent")
    assert (await agents.json())["attempts"] == []
    bad = await dialer.get(f"/api/campaigns/{campaign_id}/attempts?media=fax")
    assert bad.status == 400
    assert (await bad.json())["fields"] == {"media": "must be one of agent, message"}
