"""A campaign that does not dial says why, from what the dialer itself checks."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.testing.sim import Simulator
from tests.conftest import TEST_ADMIN, eventually
from tests.pbx.test_campaign_run import add_records, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def why(client: Client, campaign_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/campaigns/{campaign_id}/why")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]


async def test_active_campaign_without_agents_says_so_then_dials(
    dialer: Client, sim: Simulator
) -> None:
    campaign_id = await create_campaign(dialer)
    assert codes(await why(dialer, campaign_id))[0] == "draft"
    await add_records(dialer, campaign_id, ["+12125550601"])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def no_agents() -> bool:
        return codes(await why(dialer, campaign_id)) == ["no_agents"]

    await eventually(no_agents, timeout=10)
    body = await why(dialer, campaign_id)
    assert body["placing_calls"] is False
    assert body["reasons"][0]["text"] == "no agent is logged in to queue 'sales'"

    await sim.add_agent("sales", 7001, paused=True)

    async def agents_busy() -> bool:
        return codes(await why(dialer, campaign_id)) == ["agents_busy"]

    await eventually(agents_busy, timeout=10)
    assert "(1 paused)" in (await why(dialer, campaign_id))["reasons"][0]["text"]

    await sim.pause_agent("sales", 7001, False)

    async def talking_at_full_throttle() -> bool:
        body = await why(dialer, campaign_id)
        return body["live_calls"] == 1 and "throttle" in codes(body)

    await eventually(talking_at_full_throttle, timeout=15)
    assert "no_records" in codes(await why(dialer, campaign_id))


async def test_paused_campaign_names_who_paused_it(api: Client) -> None:
    created = await (await api.post("/api/campaigns", json={"name": "P", "queue": "q"})).json()
    cid = created["id"]
    await api.post(f"/api/campaigns/{cid}/play")
    # Who paused it is who is logged in, whatever an X-Actor header says.
    await api.post(f"/api/campaigns/{cid}/pause", headers={"X-Actor": "alice"})
    body = await why(api, cid)
    assert body["reasons"][0]["code"] == "paused"
    assert body["reasons"][0]["text"].startswith(f"paused by {TEST_ADMIN} at ")
    # No Asterisk behind this server: that is a reason too, in the AMI client's words.
    down = [r for r in body["reasons"] if r["code"] == "pbx_down"]
    assert down and "not connected" in down[0]["text"]
    assert (await api.get("/api/campaigns/424242/why")).status == 404


async def test_inbound_callers_waiting_too_long_hold_the_campaign_back(
    dialer: Client, sim: Simulator
) -> None:
    """The campaign yields to inbound callers who have waited more than 1 s in its queue."""
    await sim.add_agent("sales", 7001, paused=True)
    campaign_id = await create_campaign(dialer, inbound_wait_limit_s=1)
    await add_records(dialer, campaign_id, ["+12125550601"])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    await sim.inbound_caller("sales", priority=0)

    async def yields() -> bool:
        return "inbound_waiting" in codes(await why(dialer, campaign_id))

    await eventually(yields, timeout=10)
    text = next(
        r["text"]
        for r in (await why(dialer, campaign_id))["reasons"]
        if r["code"] == "inbound_waiting"
    )
    assert text == "inbound callers have waited more than 1 s in queue 'sales': they go first"
