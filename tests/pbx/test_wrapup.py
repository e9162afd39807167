"""Wrap-up on a real Asterisk: queue sales-wrapup (asterisk/queues.conf) gives an agent
3 s of after-call work; the dialer must not count them idle meanwhile, place no call
for them until it is over, then place one; the agent's classification stores its
wrap-up time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.config import DatabaseSettings, DialerSettings, Settings
from pbx_dialer.http import keys
from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually, pbx_settings
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]
QUEUE = "sales-wrapup"
WRAPUP_S = 3.0


@pytest.fixture
def settings(asterisk: AsteriskInstance, tmp_path: Path) -> Settings:
    """The dialer told the queue's wrap-up, as queues.conf sets it (Asterisk's member
    events carry only a member's own)."""
    return Settings(
        database=DatabaseSettings(path=str(tmp_path / "dialer.sqlite3")),
        pbx=(pbx_settings(asterisk, queue_wrapup_s={QUEUE: WRAPUP_S}),),
        dialer=DialerSettings(tick_seconds=0.2),
    )


async def test_an_agent_in_wrap_up_gets_no_campaign_call_until_it_is_over(
    dialer: Client, sim: Simulator
) -> None:
    await sim.add_agent(QUEUE, 7001)
    campaign_id = await create_campaign(dialer, queue=QUEUE, max_lines=1)
    await add_records(dialer, campaign_id, ["+12125550101", "+12125550102"])
    engine = dialer.app[keys.dialer_key]
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def first_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return found.get("+12125550101", {}).get("state") == "ended"

    await eventually(first_ended, timeout=20)
    campaign = await engine.campaigns.get(campaign_id)
    pbx = engine.pbxs["main"]

    async def in_wrapup() -> bool:
        return engine.snapshot(campaign, pbx).agents_wrapup == 1

    await eventually(in_wrapup, timeout=5, interval=0.05)
    during = engine.snapshot(campaign, pbx)
    assert (during.agents_logged_in, during.agents_idle, during.agents_wrapup) == (1, 0, 1)
    [member] = pbx.agents(QUEUE)
    # Asterisk's own LastCall: the end of the call, in whole seconds.
    last_call = max(int(e.get("lastcall")) for e in sim.events if e.name == "QueueMemberStatus")
    assert member.wrapup_until == last_call + WRAPUP_S
    assert "+12125550102" not in await attempts_of(dialer, campaign_id)
    classified_at = time.time()
    first = (await attempts_of(dialer, campaign_id))["+12125550101"]
    response = await dialer.post(f"/api/attempts/{first['id']}/classify", json={"code": "SALE"})
    assert response.status == 200, await response.text()

    async def second_placed() -> bool:
        return "+12125550102" in await attempts_of(dialer, campaign_id)

    await eventually(second_placed, timeout=10, interval=0.05)
    attempts = await attempts_of(dialer, campaign_id)
    second = attempts["+12125550102"]
    # Not before the wrap-up was over, and soon after it (the loop wakes for it).
    assert second["placed_at"] >= member.wrapup_until
    assert second["placed_at"] < member.wrapup_until + 1.0
    after = engine.snapshot(campaign, pbx)
    assert after.agents_wrapup == 0
    # The agent classified the first call about when we asked, after its end.
    wrapup_s = attempts["+12125550101"]["wrapup_s"]
    assert wrapup_s == pytest.approx(
        attempts["+12125550101"]["classified_at"] - attempts["+12125550101"]["ended_at"]
    )
    assert 0 < wrapup_s <= time.time() - first["ended_at"]
    assert attempts["+12125550101"]["classified_at"] >= classified_at

    async def second_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return bool(found["+12125550102"]["state"] == "ended")

    await eventually(second_ended, timeout=20)
    attempts = await attempts_of(dialer, campaign_id)
    # The second customer got the agent without waiting out a wrap-up in the queue.
    assert attempts["+12125550102"]["result"] == "SUCCESS"
    assert attempts["+12125550102"]["wait_s"] < 2.5
    assert attempts["+12125550102"]["wrapup_s"] is None
