"""Agent first (the queue model) through real SIP: a campaign call and a SIP inbound
caller compete for one free SIP agent by queue priority, in both orders; and the
customer the agent then hears is dialed on the SIP trunk, with the outcome the network
gave (busy, wrong number, congestion) and the talk time of the customer's own leg.

The scenario of the priority tests: the inbound caller (sipp, dialing `sales-<prio>`)
waits first. The queue's only member is a ghost (a Local member whose custom device
state says free and which never answers), so the dialer sees an idle agent and places
one agent-first call: its Local half joins the queue with the campaign's priority, and
nobody is dialed yet. The ghost leaves and the SIP agent's phone (sipp, answering 1 s
after it rings) joins: the queue gives it whichever caller has the higher priority."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.ami import actions
from pbx_dialer.testing.sim import Simulator
from pbx_dialer.testing.sip import SipRig, trunk_number
from tests.conftest import eventually, pbx_settings
from tests.pbx.test_agent_first import GHOST, add_ghost
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = [pytest.mark.pbx, pytest.mark.sip]
Client = TestClient[web.Request, web.Application]


@pytest_asyncio.fixture
async def watcher(sip_rig: SipRig) -> AsyncIterator[Simulator]:
    """Asterisk's whole event stream (the simulator's AMI user), to see who the queue
    connects first."""
    asterisk = sip_rig.asterisk
    sim = Simulator(
        pbx_settings(
            asterisk,
            name="watch",
            username=asterisk.simulator_user,
            secret=asterisk.simulator_secret,
        )
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.close()


async def queue_the_campaign_call(
    dialer: Client,
    sim: Simulator,
    rig: SipRig,
    inbound_priority: int,
    campaign_priority: int,
    inbound_hold_s: float,
) -> tuple[int, str, str, str]:
    """The inbound caller (who hangs up `inbound_hold_s` after Asterisk answers it)
    waits, then the campaign's agent-first call joins; returns the campaign, its number,
    the inbound caller's and the campaign call's queue Uniqueids."""
    inbound_joined = sim.wait_event("QueueCallerJoin", timeout=15, queue="sales")
    await rig.inbound_call("sales", priority=inbound_priority, hold_s=inbound_hold_s)
    inbound = (await inbound_joined).get("uniqueid")
    await add_ghost(sim)
    number = trunk_number("answer", 1, talk_s=3)
    campaign_id = await create_campaign(
        dialer, dial_mode="agent_first", queue_priority=campaign_priority
    )
    await add_records(dialer, campaign_id, [number])
    campaign_joined = sim.wait_event("QueueCallerJoin", timeout=15, count="2")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    joined = await campaign_joined
    assert joined.get("uniqueid").startswith("pbxd-"), joined
    expected = "1" if campaign_priority > inbound_priority else "2"
    assert joined.get("position") == expected, "the queue orders the two by priority"
    assert rig.trunk_calls() == [], "agent first: nobody is dialed before an agent holds it"
    removed = await sim.client.send(actions.queue_remove("sales", GHOST))
    assert removed.success, removed.message
    return campaign_id, number, inbound, joined.get("uniqueid")


async def test_the_campaign_of_higher_priority_gets_the_free_sip_agent_first(
    dialer: Client, watcher: Simulator, sip_rig: SipRig
) -> None:
    campaign_id, number, inbound, campaign_call = await queue_the_campaign_call(
        dialer, watcher, sip_rig, inbound_priority=1, campaign_priority=10, inbound_hold_s=40.0
    )
    first = watcher.wait_event("AgentConnect", timeout=15, queue="sales")
    await sip_rig.add_to_queue("sales", 1)
    assert (await first).get("uniqueid") == campaign_call, "the campaign call went first"

    async def ended() -> bool:
        return bool((await attempts_of(dialer, campaign_id))[number]["state"] == "ended")

    await eventually(ended, timeout=30)
    attempt = (await attempts_of(dialer, campaign_id))[number]
    [call] = sip_rig.trunk_calls()
    assert attempt["result"] == "SUCCESS" and attempt["agent"] == "Agent 1", attempt
    # The agent held the call before the customer was dialed, then heard them answer.
    # (Asterisk dials the customer as it connects the agent: its AgentConnect stamp and
    # sipp's clock for the INVITE can differ by a few milliseconds either way.)
    assert attempt["connected_at"] - 0.1 < call.invite_at < attempt["answered_at"], attempt
    assert call.answered_at is not None and call.ended_at is not None
    assert abs(attempt["talk_s"] - (call.ended_at - call.answered_at)) < 0.6, attempt

    # Then the inbound caller gets the agent.
    async def inbound_served() -> bool:
        return any(
            e.name == "AgentConnect" and e.get("uniqueid") == inbound for e in watcher.events
        )

    await eventually(inbound_served, timeout=15)


async def test_an_inbound_sip_caller_of_higher_priority_gets_the_agent_first(
    dialer: Client, watcher: Simulator, sip_rig: SipRig
) -> None:
    campaign_id, number, inbound, campaign_call = await queue_the_campaign_call(
        dialer, watcher, sip_rig, inbound_priority=10, campaign_priority=0, inbound_hold_s=4.0
    )
    first = watcher.wait_event("AgentConnect", timeout=15, queue="sales")
    await sip_rig.add_to_queue("sales", 1)
    assert (await first).get("uniqueid") == inbound, "the inbound caller went first"
    # While the agent talks to the inbound caller the campaign's customer is not dialed.
    attempt = (await attempts_of(dialer, campaign_id))[number]
    assert attempt["state"] == "queued", attempt
    assert sip_rig.trunk_calls() == []

    async def campaign_served() -> bool:
        return bool((await attempts_of(dialer, campaign_id))[number]["state"] == "ended")

    await eventually(campaign_served, timeout=40)
    attempt = (await attempts_of(dialer, campaign_id))[number]
    assert attempt["result"] == "SUCCESS" and attempt["agent"] == "Agent 1", attempt
    assert [c.number for c in sip_rig.trunk_calls()] == [number]
    assert any(
        e.get("uniqueid") == campaign_call for e in watcher.events if e.name == "AgentConnect"
    )


async def test_the_agent_hears_what_the_network_says_of_the_customer(
    dialer: Client, sip_rig: SipRig
) -> None:
    """Agent first with one SIP agent: busy, a wrong number and a trunk that refuses
    are stored as the trunk's SIP response said, with the agent who heard them."""
    await sip_rig.add_to_queue("sales", 1)
    expected = {
        trunk_number("busy", 2): ("BUSY", 17, 486),
        trunk_number("not_found", 3): ("INVALID", 1, 404),
        trunk_number("unavailable", 4): ("CONGESTION", 34, 503),
    }
    campaign_id = await create_campaign(dialer, dial_mode="agent_first")
    await add_records(dialer, campaign_id, list(expected))
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def all_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == len(expected) and all(a["state"] == "ended" for a in found.values())

    await eventually(all_ended, timeout=60)
    attempts = await attempts_of(dialer, campaign_id)
    got = {n: (a["result"], a["cause_code"], a["sip_status"]) for n, a in attempts.items()}
    assert got == expected
    assert all(a["agent"] == "Agent 1" and a["talk_s"] is None for a in attempts.values())
    assert sorted(c.number for c in sip_rig.trunk_calls()) == sorted(expected)
