"""The dialer against a real Asterisk that restarts under it, and queue priority."""

from __future__ import annotations

from collections import Counter

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys
from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def test_asterisk_restart_with_calls_up_dials_nothing_twice(
    asterisk: AsteriskInstance, sim: Simulator, dialer: Client
) -> None:
    """Two agents are talking to two customers (30 s calls) when Asterisk restarts.
    The dialer's AMI connection drops and comes back; the two calls are settled from
    what is known (both had reached an agent), the agents log in again, and the campaign
    dials its remaining records. Every record is dialed exactly once, as Asterisk itself
    saw it, and the dialer's count of live calls comes back to zero."""
    for agent in (7001, 7002):
        await sim.add_agent("sales", agent)
    campaign_id = await create_campaign(dialer, max_lines=2)
    phones = [
        "+12125550601",
        "+12125550602",
        "+12125550101",
        "+12125550102",
        "+12125550103",
        "+12125550104",
    ]
    await add_records(dialer, campaign_id, phones)
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def two_talking() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return sum(1 for a in found.values() if a["state"] == "connected") == 2

    await eventually(two_talking, timeout=20)
    pbx = dialer.app[keys.pbxs_key]["main"]
    assert pbx.live_calls() == 2

    await asterisk.restart()
    await sim.client.wait_ready(20)
    for agent in (7001, 7002):
        await sim.add_agent("sales", agent)

    async def all_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == len(phones) and all(a["state"] == "ended" for a in found.values())

    await eventually(all_ended, timeout=60)
    assert pbx.client.reconnects >= 1
    attempts = await attempts_of(dialer, campaign_id)
    assert attempts["+12125550601"]["result"] == "SUCCESS"
    assert attempts["+12125550602"]["result"] == "SUCCESS"
    assert all(attempts[p]["result"] == "SUCCESS" for p in phones[2:]), [
        (a["phone"], a["result"], a["cause"], a["placed_at"]) for a in attempts.values()
    ]

    records = (await (await dialer.get(f"/api/campaigns/{campaign_id}/records")).json())["records"]
    assert sorted(r["phone"] for r in records) == sorted(phones)
    assert all(r["attempts"] == 1 for r in records)
    # Asterisk's own view, through the simulator's connection: one customer channel per
    # attempt id, never a second Originate of the same attempt.
    channels = Counter(
        e.get("uniqueid")
        for e in sim.events
        if e.name == "Newchannel"
        and e.get("uniqueid").startswith("pbxd-")
        and not e.get("uniqueid").endswith("-2")
    )
    assert len(channels) == len(phones) - 2 or len(channels) == len(phones)
    assert set(channels.values()) == {1}
    assert pbx.live_calls() == 0
    assert dialer.app[keys.dialer_key].live == {}


async def test_campaign_call_with_higher_priority_goes_before_earlier_inbound_caller(
    sim: Simulator, dialer: Client
) -> None:
    """One agent. While the campaign's call rings (4 s), the agent pauses and an inbound
    caller (priority 0) joins the queue. The campaign call (priority 10) joins later;
    when the agent comes back, it is the campaign call that reaches the agent first."""
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(dialer, queue_priority=10, max_lines=1)
    await add_records(dialer, campaign_id, ["+12125550801"])
    dialing = sim.wait_event("Newchannel", timeout=15)
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    campaign_channel = (await dialing).get("uniqueid")
    assert campaign_channel.startswith("pbxd-")

    paused = sim.wait_event("QueueMemberPause", timeout=10, paused="1")
    await sim.pause_agent("sales", 7001, True)
    await paused
    inbound_joined = sim.wait_event("QueueCallerJoin", timeout=10, queue="sales")
    inbound_channel = await sim.inbound_caller("sales", priority=0)
    joined = await inbound_joined
    assert joined.get("uniqueid") == inbound_channel

    campaign_joined = await sim.wait_event("QueueCallerJoin", timeout=10, uniqueid=campaign_channel)
    # Asterisk placed the later, higher-priority call ahead of the inbound caller.
    assert campaign_joined.get("position") == "1"
    assert campaign_joined.get("count") == "2"

    connected = sim.wait_event("AgentConnect", timeout=10, queue="sales")
    await sim.pause_agent("sales", 7001, False)
    first = await connected
    assert first.get("uniqueid") == campaign_channel
    assert first.get("membername") == "Agent 7001"

    async def stored_connected() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return bool(found["+12125550801"]["state"] == "connected")

    await eventually(stored_connected, timeout=5)
    assert (await attempts_of(dialer, campaign_id))["+12125550801"]["agent"] == "Agent 7001"
