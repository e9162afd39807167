"""Agents classify calls through the API, on calls placed through a real Asterisk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys
from pbx_dialer.testing.sim import Simulator
from tests.conftest import TEST_ADMIN, eventually
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def records_by_phone(client: Client, campaign_id: int) -> dict[str, dict[str, Any]]:
    body = await (await client.get(f"/api/campaigns/{campaign_id}/records")).json()
    return {r["phone"]: r for r in body["records"]}


async def test_classified_during_the_call_applies_when_it_ends_and_after_at_once(
    dialer: Client, sim: Simulator
) -> None:
    """An agent classifies one call SALE while talking (the record is handled when the
    call ends) and the other DNC after it ended (filtered at once, number on the
    campaign's DNC list). A busy attempt cannot be classified."""
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    campaign_id = await create_campaign(dialer, max_lines=3, max_attempts=3)
    await add_records(dialer, campaign_id, ["+12125550101", "+12125550102", "+12125550201"])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def two_talking() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return sum(1 for a in found.values() if a["state"] == "connected") >= 2

    await eventually(two_talking, timeout=15)
    attempts = await attempts_of(dialer, campaign_id)
    # The interface that took each call is stored with it (an agent user is known by it).
    rows = await dialer.app[keys.db_key].fetchall(
        "SELECT agent_interface FROM attempts WHERE campaign_id = ? AND state = 'connected'",
        (campaign_id,),
    )
    assert sorted(r["agent_interface"] for r in rows) == [
        "Local/7001@sim-agents",
        "Local/7002@sim-agents",
    ]
    sale = await dialer.post(
        f"/api/attempts/{attempts['+12125550101']['id']}/classify",
        json={"code": "SALE"},
    )
    assert sale.status == 200, await sale.text()
    assert (await sale.json())["record_state"] == "in_progress"

    async def both_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        # Two agents, three records: the third is dialed once an agent is free again.
        phones = ("+12125550101", "+12125550102", "+12125550201")
        return all(p in found and found[p]["state"] == "ended" for p in phones)

    await eventually(both_ended, timeout=20)
    records = await records_by_phone(dialer, campaign_id)
    assert records["+12125550101"]["state"] == "handled"
    attempts = await attempts_of(dialer, campaign_id)
    assert attempts["+12125550101"]["classification"] == "SALE"
    assert attempts["+12125550102"]["classification"] == "CONTACTED"  # the default for SUCCESS

    dnc = await dialer.post(
        f"/api/attempts/{attempts['+12125550102']['id']}/classify", json={"code": "DNC"}
    )
    assert dnc.status == 200 and (await dnc.json())["record_state"] == "filtered"
    db = dialer.app[keys.db_key]
    assert await db.fetchone(
        "SELECT 1 FROM dnc WHERE campaign_id = ? AND phone = '+12125550102'", (campaign_id,)
    )
    busy = await dialer.post(
        f"/api/attempts/{attempts['+12125550201']['id']}/classify", json={"code": "SALE"}
    )
    assert busy.status == 409 and "never reached an agent" in (await busy.json())["error"]
    bad = await dialer.post(
        f"/api/attempts/{attempts['+12125550101']['id']}/classify", json={"code": "NOPE"}
    )
    assert bad.status == 422 and "code" in (await bad.json())["fields"]
    missing = await dialer.post("/api/attempts/987654/classify", json={"code": "SALE"})
    assert missing.status == 404


async def test_a_callback_on_a_completed_campaign_reopens_it_and_is_dialed_after_resume(
    dialer: Client, sim: Simulator
) -> None:
    """The campaign's one call is answered and ends CONTACTED: nothing is left, it
    completes. The agent then promises a callback: the campaign reopens, Paused; resumed,
    it dials the callback when due and completes again after it."""
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(dialer, max_lines=1)
    await add_records(dialer, campaign_id, ["+12125550103"])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def status_is(wanted: str) -> bool:
        body = await (await dialer.get(f"/api/campaigns/{campaign_id}")).json()
        return bool(body["status"] == wanted)

    async def completed() -> bool:
        return await status_is("completed")

    await eventually(completed, timeout=20)
    first = (await attempts_of(dialer, campaign_id))["+12125550103"]
    due = datetime.now(UTC) + timedelta(seconds=3)
    callback = await dialer.post(
        f"/api/attempts/{first['id']}/classify",
        json={"code": "CALLBACK", "callback_at": due.isoformat()},
        headers={"X-Actor": "someone else"},
    )
    assert callback.status == 200, await callback.text()
    assert await status_is("paused")
    history = (await (await dialer.get(f"/api/campaigns/{campaign_id}/history")).json())["actions"]
    assert (history[-1]["action"], history[-1]["actor"]) == ("reopen", TEST_ADMIN)
    db = dialer.app[keys.db_key]
    row = await db.fetchone("SELECT classified_by FROM attempts WHERE id = ?", (first["id"],))
    assert row is not None and row["classified_by"] == TEST_ADMIN

    assert (await dialer.post(f"/api/campaigns/{campaign_id}/resume")).status == 200

    async def called_back_and_done() -> bool:
        found = await db.fetchall(
            "SELECT state FROM attempts WHERE campaign_id = ? ORDER BY id",
            (campaign_id,),
        )
        return len(found) == 2 and found[1]["state"] == "ended" and await completed()

    await eventually(called_back_and_done, timeout=30)
    second = await db.fetchone(
        "SELECT placed_at, result FROM attempts WHERE campaign_id = ? AND id != ?",
        (campaign_id, first["id"]),
    )
    assert second is not None and second["result"] == "SUCCESS"
    assert second["placed_at"] >= due.timestamp() - 0.5  # not before the promised time
    records = await records_by_phone(dialer, campaign_id)
    assert records["+12125550103"]["state"] == "handled"
