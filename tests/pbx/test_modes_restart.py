"""A dialer restart mid-campaign in the agent-first and agentless message modes: the new
process adopts the calls Asterisk still has, settles the one that ended while no dialer
listened from what was stored before, and dials every customer exactly once (counted
from Asterisk's own Newchannel events)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.ami import actions
from pbx_dialer.config import Settings
from pbx_dialer.http import keys
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_agent_first import GHOST, add_ghost
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign
from tests.pbx.test_dialer_restart import serve

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]

# The first half of the Local channel that dials a simulated customer.
_CUSTOMER_LEG = re.compile(r"^Local/(\+?\d+)@sim-pstn-[0-9a-f]+;1$")


def customer_dials(sim: Simulator) -> Counter[str]:
    """How many times Asterisk created a channel to each simulated customer."""
    dials: Counter[str] = Counter()
    for event in sim.events:
        found = _CUSTOMER_LEG.match(event.get("channel")) if event.name == "Newchannel" else None
        if found:
            dials[found.group(1)] += 1
    return dials


async def hung_up(sim: Simulator, channel_id: str) -> None:
    """Wait until Asterisk reports the end of the channel with this Uniqueid."""

    async def seen() -> bool:
        return any(e.name == "Hangup" and e.get("uniqueid") == channel_id for e in sim.events)

    await eventually(seen, timeout=15)


async def all_ended(client: Client, campaign_id: int, count: int) -> dict[str, dict[str, Any]]:
    async def ended() -> bool:
        found = await attempts_of(client, campaign_id)
        return len(found) == count and all(a["state"] == "ended" for a in found.values())

    await eventually(ended, timeout=60)
    return await attempts_of(client, campaign_id)


async def test_agent_first_restart_adopts_calls_and_settles_one_that_ended_meanwhile(
    settings: Settings, sim: Simulator
) -> None:
    """Two agents hold agent-first calls whose customers answered: 5550601 (talks 30 s)
    and 5550101 (talks 4 s). The dialer stops; 5550101 hangs up while no dialer runs. A
    new dialer on the same database adopts both: 5550101 is settled SUCCESS from what was
    stored (the agent, the answer) with its talk time unknown (when it ended nobody
    heard: never the time up to the resync), 5550601 ends SUCCESS when its customer hangs
    up, and the two records left are dialed after them. Every customer is dialed once."""
    for agent in (7001, 7002):
        await sim.add_agent("sales", agent)
    phones = ["+12125550601", "+12125550101", "+12125550602", "+12125550102"]
    first = await serve(settings)
    try:
        campaign_id = await create_campaign(first, dial_mode="agent_first", max_lines=2)
        await add_records(first, campaign_id, phones[:2])

        async def both_answered() -> bool:
            found = await attempts_of(first, campaign_id)
            return len(found) == 2 and all(a["answered_at"] is not None for a in found.values())

        assert (await first.post(f"/api/campaigns/{campaign_id}/play")).status == 200
        await eventually(both_answered, timeout=20)
        # Added now, so that the first dialer cannot have dialed them yet.
        await add_records(first, campaign_id, phones[2:])
        before = await attempts_of(first, campaign_id)
    finally:
        await first.close()
    await hung_up(sim, before["+12125550101"]["channel_id"])

    second = await serve(settings)
    try:
        dialer = second.app[keys.dialer_key]
        # Adopted, not dialed again (the call that ended meanwhile may be settled already).
        assert before["+12125550601"]["id"] in dialer.live
        attempts = await all_ended(second, campaign_id, len(phones))
        assert {p: a["result"] for p, a in attempts.items()} == dict.fromkeys(phones, "SUCCESS")
        for phone in phones[:2]:
            attempt = attempts[phone]
            assert attempt["agent"] == before[phone]["agent"], attempt
            assert attempt["agent"] in ("Agent 7001", "Agent 7002")
            assert attempt["connected_at"] == before[phone]["connected_at"]
            assert attempt["answered_at"] == before[phone]["answered_at"]
        unheard = attempts["+12125550101"]
        assert unheard["times_known"] is False and unheard["talk_s"] is None, unheard
        assert attempts["+12125550601"]["times_known"] is True
        assert (
            attempts["+12125550601"]["talk_s"] is not None
            and attempts["+12125550601"]["talk_s"] > 25
        )
        # The long call ended when its customer hung up, 30 s after answering.
        long_call = attempts["+12125550601"]
        assert 28.0 <= long_call["ended_at"] - long_call["answered_at"] <= 33.0, long_call
        for phone in phones[2:]:
            assert attempts[phone]["placed_at"] > before["+12125550601"]["placed_at"]
        records = (await (await second.get(f"/api/campaigns/{campaign_id}/records")).json())[
            "records"
        ]
        assert all(r["attempts"] == 1 for r in records)
        assert customer_dials(sim) == dict.fromkeys(phones, 1)
        stats = await (await second.get(f"/api/campaigns/{campaign_id}/stats")).json()
        assert stats["abandonment"]["24h"]["abandoned"] == 0
        assert dialer.live == {}
    finally:
        await second.close()


async def test_agentless_restart_keeps_the_transfer_and_settles_the_message_call(
    settings: Settings, sim: Simulator
) -> None:
    """A message campaign has two calls up: 5551001 pressed the transfer key and talks
    with an agent (8 s), 5551201 hears the message (then waits 5 s for a key and is
    released). The dialer stops; 5551201's call ends while no dialer runs. The new dialer
    settles it SUCCESS (it was answered: the message was heard), follows 5551001 to its
    end with its agent, keeps its one transfer, and dials the two records left. Every
    customer is dialed once; every attempt says media message."""
    for agent in (7001, 7002):
        await sim.add_agent("sales", agent)
    phones = ["+12125551001", "+12125551201", "+12125551002", "+12125551202"]
    first = await serve(settings)
    try:
        campaign_id = await create_campaign(
            first, dial_mode="agentless", message="vm-goodbye", max_lines=2
        )
        await add_records(first, campaign_id, phones[:2])

        async def talking_and_listening() -> bool:
            found = await attempts_of(first, campaign_id)
            return (
                len(found) == 2
                and found["+12125551001"]["connected_at"] is not None
                and found["+12125551201"]["answered_at"] is not None
            )

        assert (await first.post(f"/api/campaigns/{campaign_id}/play")).status == 200
        await eventually(talking_and_listening, timeout=20)
        await add_records(first, campaign_id, phones[2:])
        before = await attempts_of(first, campaign_id)
        transfers_before = (
            await (await first.get(f"/api/campaigns/{campaign_id}/transfers")).json()
        )["transfers"]
    finally:
        await first.close()
    assert [t["attempt_id"] for t in transfers_before] == [before["+12125551001"]["id"]]
    await hung_up(sim, before["+12125551201"]["channel_id"])

    second = await serve(settings)
    try:
        dialer = second.app[keys.dialer_key]
        assert before["+12125551001"]["id"] in dialer.live
        attempts = await all_ended(second, campaign_id, len(phones))
        assert {p: a["result"] for p, a in attempts.items()} == dict.fromkeys(phones, "SUCCESS")
        assert all(a["media"] == "message" for a in attempts.values())
        talked = attempts["+12125551001"]
        assert talked["agent"] == before["+12125551001"]["agent"]
        assert talked["connected_at"] == before["+12125551001"]["connected_at"]
        # The person stays 8 s with the agent, then hangs up: followed to its real end.
        assert 6.0 <= talked["ended_at"] - talked["connected_at"] <= 10.0, talked
        assert 5.0 <= talked["talk_s"] <= 10.0, talked
        listened = attempts["+12125551201"]
        assert listened["answered_at"] == before["+12125551201"]["answered_at"]
        assert listened["agent"] is None
        assert attempts["+12125551002"]["agent"] in ("Agent 7001", "Agent 7002")

        body = await (await second.get(f"/api/campaigns/{campaign_id}/transfers")).json()
        by_attempt = Counter(t["attempt_id"] for t in body["transfers"])
        assert by_attempt == {talked["id"]: 1, attempts["+12125551002"]["id"]: 1}
        assert all(
            t["transferred_by"] == "message" and t["target"] == "queue sales"
            for t in body["transfers"]
        )
        assert customer_dials(sim) == dict.fromkeys(phones, 1)
        assert dialer.live == {}
    finally:
        await second.close()


async def test_an_agent_first_call_still_queued_at_the_restart_is_followed_to_its_agent(
    settings: Settings, sim: Simulator
) -> None:
    """The only member is a ghost (idle to the dialer, never answering), so the call
    waits in the queue, nobody dialed, when the dialer stops. After the restart agent
    7001 logs in: the new dialer follows the queued call to that agent, then to the
    customer (5550101), SUCCESS; the customer is dialed once."""
    first = await serve(settings)
    try:
        await add_ghost(sim)
        campaign_id = await create_campaign(first, dial_mode="agent_first")
        await add_records(first, campaign_id, ["+12125550101"])
        joined = sim.wait_event("QueueCallerJoin", timeout=15, queue="sales")
        assert (await first.post(f"/api/campaigns/{campaign_id}/play")).status == 200
        queued = await joined

        async def stored_queued() -> bool:
            found = await attempts_of(first, campaign_id)
            return bool(found["+12125550101"]["state"] == "queued")

        await eventually(stored_queued, timeout=5)
    finally:
        await first.close()

    second = await serve(settings)
    try:
        dialer = second.app[keys.dialer_key]
        [adopted] = dialer.live.values()
        assert adopted.phone == "+12125550101" and adopted.phase == "waiting"
        removed = await sim.client.send(actions.queue_remove("sales", GHOST))
        assert removed.success, removed.message
        connected = sim.wait_event("AgentConnect", timeout=10, membername="Agent 7001")
        await sim.add_agent("sales", 7001)
        assert (await connected).get("uniqueid") == queued.get("uniqueid")
        attempt = (await all_ended(second, campaign_id, 1))["+12125550101"]
        assert attempt["result"] == "SUCCESS", attempt
        assert attempt["agent"] == "Agent 7001"
        assert attempt["connected_at"] < attempt["answered_at"]
        assert 3.0 <= attempt["talk_s"] <= 6.0, attempt
        assert customer_dials(sim) == {"+12125550101": 1}
        assert dialer.live == {}
    finally:
        await second.close()
