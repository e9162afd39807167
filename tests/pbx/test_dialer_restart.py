"""The dialer itself restarts mid-campaign; Pause and Stop act within a second."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.config import Settings
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.testing.sim import Simulator
from tests.conftest import app_client, eventually, start_client
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def serve(settings: Settings) -> Client:
    client = await start_client(app_client(create_app(settings)))
    return client


async def test_dialer_restart_mid_campaign_dials_nothing_twice(
    settings: Settings, sim: Simulator
) -> None:
    """Two calls are talking (30 s customers) when the dialer process stops. A new one
    starts on the same database: it adopts the two calls from Asterisk, settles them
    when they end, and dials the rest, each record exactly once."""
    for agent in (7001, 7002):
        await sim.add_agent("sales", agent)
    first = await serve(settings)
    try:
        campaign_id = await create_campaign(first, max_lines=2)
        phones = ["+12125550601", "+12125550602", "+12125550101", "+12125550102"]
        await add_records(first, campaign_id, phones)
        assert (await first.post(f"/api/campaigns/{campaign_id}/play")).status == 200

        async def two_talking() -> bool:
            found = await attempts_of(first, campaign_id)
            return sum(1 for a in found.values() if a["state"] == "connected") == 2

        await eventually(two_talking, timeout=20)
    finally:
        await first.close()
    second = await serve(settings)
    try:
        dialer = second.app[keys.dialer_key]
        assert len(dialer.live) == 2  # adopted, not dialed again

        async def all_ended() -> bool:
            found = await attempts_of(second, campaign_id)
            return len(found) == len(phones) and all(a["state"] == "ended" for a in found.values())

        await eventually(all_ended, timeout=60)
        attempts = await attempts_of(second, campaign_id)
        assert {p: a["result"] for p, a in attempts.items()} == dict.fromkeys(phones, "SUCCESS")
        records = (await (await second.get(f"/api/campaigns/{campaign_id}/records")).json())[
            "records"
        ]
        assert all(r["attempts"] == 1 for r in records)
        dialed = Counter(
            e.get("uniqueid")
            for e in sim.events
            if e.name == "Newchannel"
            and e.get("uniqueid").startswith("pbxd-")
            and not e.get("uniqueid").endswith("-2")
        )
        assert len(dialed) == len(phones) and set(dialed.values()) == {1}
        assert dialer.live == {}
    finally:
        await second.close()


async def test_pause_stops_new_calls_within_a_second_and_lets_calls_finish(
    dialer: Client, sim: Simulator
) -> None:
    for agent in (7001, 7002, 7003):
        await sim.add_agent("sales", agent)
    campaign_id = await create_campaign(dialer, max_lines=1)
    await add_records(dialer, campaign_id, ["+12125550101", "+12125550102", "+12125550103"])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def one_talking() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return any(a["state"] == "connected" for a in found.values())

    await eventually(one_talking, timeout=15)
    paused_at = time.time()
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/pause")).status == 200

    async def first_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return any(a["state"] == "ended" for a in found.values())

    await eventually(first_ended, timeout=15)
    await asyncio.sleep(1.5)
    attempts = await attempts_of(dialer, campaign_id)
    # The call in progress finished normally; nothing was placed after the pause.
    assert [a["result"] for a in attempts.values()] == ["SUCCESS"]
    assert all(a["placed_at"] < paused_at for a in attempts.values())
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def second_placed() -> bool:
        return len(await attempts_of(dialer, campaign_id)) == 2

    await eventually(second_placed, timeout=5)
    stopped_at = time.time()
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/stop")).status == 200
    await asyncio.sleep(8)
    attempts = await attempts_of(dialer, campaign_id)
    assert len(attempts) == 2
    assert all(a["placed_at"] < stopped_at + 1.0 for a in attempts.values())
