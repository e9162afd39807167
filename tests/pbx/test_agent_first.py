"""Progressive, agent first (the queue model) on a real Asterisk: the campaign call waits
in the queue with the campaign's priority, and the customer is dialed only once an agent
holds the call, so the agent hears the result and no call is ever abandoned."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.ami import actions
from pbx_dialer.testing.record_fixtures import blind_transfer
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

# A queue member whose presence says "idle" but whose phone never answers (sim-null
# hangs up at once): the dialer sees a free agent, the queue cannot deliver to it.
GHOST = "Local/9001@sim-null"


async def add_ghost(sim: Simulator) -> None:
    for action in (
        actions.set_device_state("Custom:agent9001", "NOT_INUSE"),
        actions.queue_add("sales", GHOST, "Ghost", "Custom:agent9001"),
    ):
        response = await sim.client.send(action)
        assert response.success, response.message


async def test_campaign_call_queues_before_an_earlier_inbound_caller_then_dials_the_customer(
    dialer: Client, sim: Simulator
) -> None:
    """An inbound caller (priority 0) waits in the queue. The only member is a ghost
    (idle to the dialer, never answering), so the dialer places one agent-first call: it
    joins the queue at priority 10 AHEAD of the inbound caller, and nobody is dialed yet.
    The ghost leaves; when agent 7001 logs in, the queue gives it the campaign call
    first; only then is the customer (5550101: rings 1 s, talks 4 s) dialed: SUCCESS,
    agent 7001, connected before the customer answered, no abandoned call."""
    inbound_joined = sim.wait_event("QueueCallerJoin", timeout=10, queue="sales")
    inbound = await sim.inbound_caller("sales", priority=0)
    assert (await inbound_joined).get("uniqueid") == inbound
    await add_ghost(sim)

    campaign_id = await create_campaign(dialer, dial_mode="agent_first", queue_priority=10)
    await add_records(dialer, campaign_id, ["+12125550101"])
    campaign_joined = sim.wait_event("QueueCallerJoin", timeout=15, count="2")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    joined = await campaign_joined
    # The queue caller is the second half of the dialer's Local channel.
    assert joined.get("uniqueid").startswith("pbxd-") and joined.get("uniqueid").endswith("-2")
    assert joined.get("position") == "1", "the campaign's priority puts it first"
    # Nobody has been dialed: no channel of the simulated network exists yet.
    assert not any("@sim-pstn" in e.get("channel") for e in sim.events)

    # The ghost leaves, so that the agent who logs in is the only one the queue can ring.
    removed = await sim.client.send(actions.queue_remove("sales", GHOST))
    assert removed.success, removed.message
    connected = sim.wait_event("AgentConnect", timeout=10, queue="sales", membername="Agent 7001")
    await sim.add_agent("sales", 7001)
    first = await connected
    assert first.get("uniqueid") == joined.get("uniqueid"), "the campaign call went first"

    async def ended() -> bool:
        return bool((await attempts_of(dialer, campaign_id))["+12125550101"]["state"] == "ended")

    await eventually(ended, timeout=20)
    attempt = (await attempts_of(dialer, campaign_id))["+12125550101"]
    assert attempt["result"] == "SUCCESS", attempt
    assert attempt["agent"] == "Agent 7001"
    assert attempt["media"] == "agent"
    await assert_dialed_through_gate(dialer, campaign_id)
    # The agent held the call before the customer answered: ringing 1 s in between.
    assert attempt["connected_at"] < attempt["answered_at"], attempt
    assert 0.7 <= attempt["answered_at"] - attempt["connected_at"] <= 2.5, attempt
    assert 0.7 <= attempt["ring_s"] <= 2.5, attempt
    assert 3.0 <= attempt["talk_s"] <= 6.0, attempt
    assert attempt["wait_s"] > 0.0
    stats = await (await dialer.get(f"/api/campaigns/{campaign_id}/stats")).json()
    assert stats["abandonment"]["24h"]["abandoned"] == 0
    only_agent = await dialer.get(f"/api/campaigns/{campaign_id}/attempts?media=agent")
    assert [a["phone"] for a in (await only_agent.json())["attempts"]] == ["+12125550101"]
    only_message = await dialer.get(f"/api/campaigns/{campaign_id}/attempts?media=message")
    assert (await only_message.json())["attempts"] == []


async def test_an_inbound_caller_of_higher_priority_reaches_the_agent_before_the_campaign(
    dialer: Client, sim: Simulator
) -> None:
    """The other order: the inbound caller has priority 10, the campaign 0. The campaign
    call joins behind it, the agent who logs in gets the inbound caller, and the
    campaign's customer is still not dialed (it would be only once an agent takes it)."""
    inbound_joined = sim.wait_event("QueueCallerJoin", timeout=10, queue="sales")
    inbound = await sim.inbound_caller("sales", priority=10)
    assert (await inbound_joined).get("uniqueid") == inbound
    await add_ghost(sim)
    campaign_id = await create_campaign(dialer, dial_mode="agent_first", queue_priority=0)
    await add_records(dialer, campaign_id, ["+12125550101"])
    campaign_joined = sim.wait_event("QueueCallerJoin", timeout=15, count="2")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    joined = await campaign_joined
    assert joined.get("uniqueid").startswith("pbxd-")
    assert joined.get("position") == "2", "the inbound caller's priority keeps it first"

    removed = await sim.client.send(actions.queue_remove("sales", GHOST))
    assert removed.success, removed.message
    connected = sim.wait_event("AgentConnect", timeout=10, queue="sales", membername="Agent 7001")
    await sim.add_agent("sales", 7001)
    assert (await connected).get("uniqueid") == inbound, "the inbound caller went first"

    async def stored_queued() -> bool:
        return bool((await attempts_of(dialer, campaign_id))["+12125550101"]["state"] == "queued")

    await eventually(stored_queued, timeout=5)
    assert not any("@sim-pstn" in e.get("channel") for e in sim.events)


async def test_busy_and_unanswered_customers_are_heard_by_the_agent_who_held_the_call(
    dialer: Client, sim: Simulator
) -> None:
    """Three agents, three records: a busy line (5550201), one that never answers
    (5550301, 15 s ring timeout) and congestion (5550401). Each call reaches an agent
    first; the agent hears the line busy, ringing out or congested; results BUSY,
    NOANSWER and CONGESTION with the agent, the queue wait, and no talk time; nothing
    abandoned; one call per idle agent at most."""
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    await sim.add_agent("sales", 7003)
    campaign_id = await create_campaign(
        dialer, dial_mode="agent_first", max_lines=5, ring_timeout_s=15
    )
    await add_records(dialer, campaign_id, ["+12125550201", "+12125550301", "+12125550401"])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def both_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == 3 and all(a["state"] == "ended" for a in found.values())

    await eventually(both_ended, timeout=40)
    attempts = await attempts_of(dialer, campaign_id)
    busy, noanswer, congested = (
        attempts["+12125550201"],
        attempts["+12125550301"],
        attempts["+12125550401"],
    )
    assert busy["result"] == "BUSY", busy
    assert noanswer["result"] == "NOANSWER", noanswer
    assert congested["result"] == "CONGESTION", congested
    for attempt in (busy, noanswer, congested):
        assert attempt["agent"] in ("Agent 7001", "Agent 7002", "Agent 7003"), attempt
        assert attempt["connected_at"] is not None and attempt["answered_at"] is None
        assert attempt["connected_at"] < attempt["ended_at"]
        assert attempt["talk_s"] is None
        assert attempt["wait_s"] is not None
    agents = {busy["agent"], noanswer["agent"], congested["agent"]}
    assert len(agents) == 3, "one call per idle agent"
    # The busy tone plays 2 s to the agent after 0.5 s of ringing.
    assert 2.0 <= busy["ended_at"] - busy["connected_at"] <= 4.5, busy
    assert 14.0 <= noanswer["ended_at"] - noanswer["connected_at"] <= 17.5, noanswer
    assert 1.5 <= congested["ended_at"] - congested["connected_at"] <= 3.5, congested
    stats = await (await dialer.get(f"/api/campaigns/{campaign_id}/stats")).json()
    assert stats["abandonment"]["24h"]["abandoned"] == 0


async def test_an_agent_first_call_transferred_by_its_agent_is_recorded(
    dialer: Client, sim: Simulator
) -> None:
    """The agent holds the call, the customer (5550601) answers after 1 s, the agent
    blind-transfers the call to 8001@sim-transfer. The agent is bridged with the queue
    half of the call, not with the customer, and the transfer is still the attempt's."""
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(dialer, dial_mode="agent_first")
    await add_records(dialer, campaign_id, ["+12125550601"])
    connected = sim.wait_event("AgentConnect", timeout=15, queue="sales")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    agent_channel = (await connected).get("destchannel")

    async def customer_answered() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return found["+12125550601"]["answered_at"] is not None

    await eventually(customer_answered, timeout=10)
    await blind_transfer(sim, agent_channel, "8001")

    async def ended() -> bool:
        return bool((await attempts_of(dialer, campaign_id))["+12125550601"]["state"] == "ended")

    await eventually(ended, timeout=20)
    attempt = (await attempts_of(dialer, campaign_id))["+12125550601"]
    assert attempt["result"] == "SUCCESS", attempt
    body = await (await dialer.get(f"/api/campaigns/{campaign_id}/transfers")).json()
    [transfer] = body["transfers"]
    assert transfer["attempt_id"] == attempt["id"]
    assert transfer["kind"] == "blind"
    assert transfer["transferred_by"] == "Agent 7001"
    assert transfer["target"] == "8001@sim-transfer"
    # The agent's talk time stops at the transfer.
    assert attempt["talk_s"] < attempt["ended_at"] - attempt["answered_at"] - 1.0, attempt
