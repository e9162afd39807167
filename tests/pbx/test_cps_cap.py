"""The per-PBX calls-per-second cap on a real Asterisk: three campaigns that together
want far more calls than the cap lets through; the calls Asterisk itself sees start
(Newchannel of the customer legs) stay under max_calls_per_second, beyond the bucket's
burst, and the cap is used, not starved."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.config import DatabaseSettings, DialerSettings, Settings
from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sim import Simulator
from tests.conftest import pbx_settings
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]
PER_SECOND = 2.0
BURST = 2  # a full bucket: one second's worth (pbx_dialer/pacing/rate.py)
RUN_S = 5.0


@pytest.fixture
def settings(asterisk: AsteriskInstance, tmp_path: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(path=str(tmp_path / "dialer.sqlite3")),
        pbx=(pbx_settings(asterisk, max_calls_per_second=PER_SECOND),),
        dialer=DialerSettings(tick_seconds=0.2),
    )


def customer_legs_started(sim: Simulator) -> list[float]:
    """When Asterisk created each attempt's customer leg (not an agent-first half)."""
    return sorted(
        e.at
        for e in sim.events
        if e.name == "Newchannel"
        and e.get("uniqueid").startswith("pbxd-")
        and not e.get("uniqueid").endswith("-2")
    )


async def test_three_campaigns_together_stay_under_the_pbx_calls_per_second(
    dialer: Client, sim: Simulator
) -> None:
    for agent in (7001, 7002, 7003):
        await sim.add_agent("sales", agent)
    # Every number is busy after 0.5 s: lines free up at once, demand stays high.
    phones = [f"+121255502{i:02d}" for i in range(40)]
    power = await create_campaign(dialer, name="Power", dial_mode="power", max_lines=10)
    messages = [
        await create_campaign(
            dialer, name=f"Message {n}", dial_mode="agentless", message="vm-goodbye", max_lines=10
        )
        for n in (1, 2)
    ]
    campaigns = [power, *messages]
    for campaign_id in campaigns:
        await add_records(dialer, campaign_id, phones)
    for campaign_id in campaigns:
        assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    await asyncio.sleep(RUN_S)
    for campaign_id in campaigns:
        assert (await dialer.post(f"/api/campaigns/{campaign_id}/pause")).status == 200
    # Calls placed just before the pause still reach Asterisk.
    await asyncio.sleep(0.5)
    started = customer_legs_started(sim)
    assert started, "no call was placed at all"
    for t in started:
        in_window = sum(1 for other in started if t <= other < t + 1.0)
        assert in_window <= PER_SECOND + BURST, (t, in_window, started)
    span = started[-1] - started[0]
    assert len(started) <= BURST + PER_SECOND * span + 1, (span, started)
    # Used, not starved: about the cap over the run (30 lines wanted calls all along).
    assert len(started) >= PER_SECOND * (RUN_S - 1.5), started
    # Every campaign got some of them, and the attempts are the calls Asterisk saw.
    placed = [len(await attempts_of(dialer, campaign_id)) for campaign_id in campaigns]
    assert all(n > 0 for n in placed), placed
    assert sum(placed) == len(started)
