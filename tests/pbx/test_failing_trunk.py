"""A campaign whose every call fails the same way on a real Asterisk is paused with an
alert after ten, and dials nothing more."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def test_twelve_congested_calls_pause_after_ten_with_the_alert(
    dialer: Client, sim: Simulator
) -> None:
    """55504XX is congestion on the simulated network (asterisk/extensions_sim.conf)."""
    campaign_id = await create_campaign(dialer, dial_mode="agentless", max_lines=1)
    phones = [f"+121255504{n:02d}" for n in range(1, 13)]
    await add_records(dialer, campaign_id, phones)
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def paused() -> bool:
        campaign = await (await dialer.get(f"/api/campaigns/{campaign_id}")).json()
        return bool(campaign["status"] == "paused")

    await eventually(paused, timeout=60)
    campaign = await (await dialer.get(f"/api/campaigns/{campaign_id}")).json()
    alert = campaign["alert"]
    assert alert is not None, campaign
    assert alert["text"].startswith("paused: the last 10 calls all failed the same way (CONGESTION")
    assert alert["text"].endswith("within 5 minutes — check the trunk and dialplan")

    attempts = await attempts_of(dialer, campaign_id)
    assert sorted(attempts) == phones[:10]
    assert all(a["result"] == "CONGESTION" and a["state"] == "ended" for a in attempts.values())
    records = (await (await dialer.get(f"/api/campaigns/{campaign_id}/records")).json())["records"]
    assert {r["phone"]: r["attempts"] for r in records if r["phone"] in phones[10:]} == {
        phones[10]: 0,
        phones[11]: 0,
    }
    history = await (await dialer.get(f"/api/campaigns/{campaign_id}/history")).json()
    last = history["actions"][-1]
    assert (last["action"], last["actor"], last["detail"]) == ("pause", "dialer", alert["text"])
