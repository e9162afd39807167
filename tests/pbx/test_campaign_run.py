"""A campaign dialed end to end through a real Asterisk into a queue of simulated agents."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def create_campaign(dialer: Client, **settings: Any) -> int:
    # One attempt per record: these tests look at single calls, not retries.
    body = {
        "name": "Spring renewals",
        "queue": "sales",
        "queue_priority": 5,
        "max_attempts": 1,
        # Dialed at any hour of the day the suite runs (tests/pbx/test_calling_rules.py
        # checks the rules pack against a real Asterisk).
        "calling_rules": "none",
        **settings,
    }
    response = await dialer.post("/api/campaigns", json=body)
    assert response.status == 201, await response.text()
    campaign_id: int = (await response.json())["id"]
    return campaign_id


async def add_records(dialer: Client, campaign_id: int, phones: list[str]) -> None:
    records = [{"phone": p, "name": f"Customer {p}"} for p in phones]
    response = await dialer.post(f"/api/campaigns/{campaign_id}/records", json={"records": records})
    assert response.status == 201, await response.text()


async def assert_dialed_through_gate(dialer: Client, campaign_id: int) -> int:
    """Every attempt of the campaign was placed by the dial gate (pbx_dialer.dialing.gate),
    one gate placement per attempt; returns how many."""
    rows = await dialer.app[keys.db_key].fetchall(
        "SELECT record_id, phone FROM attempts WHERE campaign_id = ?", (campaign_id,)
    )
    stored = Counter((int(r["record_id"]), str(r["phone"])) for r in rows)
    placed = Counter(p for p in dialer.app[keys.dialer_key].gate.placed if p in stored)
    assert stored and placed == stored, (stored, placed)
    return sum(stored.values())


async def attempts_of(dialer: Client, campaign_id: int) -> dict[str, dict[str, Any]]:
    response = await dialer.get(f"/api/campaigns/{campaign_id}/attempts")
    assert response.status == 200
    return {a["phone"]: a for a in (await response.json())["attempts"]}


async def test_each_simulated_behaviour_gets_its_result_agent_and_timings(
    dialer: Client, sim: Simulator
) -> None:
    """Two agents take calls from one campaign; one number of each simulated behaviour:
    answered and talked (SUCCESS), busy, never answered (NOANSWER after the 15 s ring
    timeout), congestion, answered then hung up while still queued (ABANDONED), and a
    number the network does not know (FAILED)."""
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    campaign_id = await create_campaign(dialer, max_lines=6, ring_timeout_s=15)
    numbers = {
        "SUCCESS": "+12125550101",
        "BUSY": "+12125550201",
        "NOANSWER": "+12125550301",
        "CONGESTION": "+12125550401",
        "ABANDONED": "+12125550501",
        "FAILED": "+12125550701",
    }
    await add_records(dialer, campaign_id, list(numbers.values()))
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def all_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == len(numbers) and all(a["state"] == "ended" for a in found.values())

    await eventually(all_ended, timeout=60)
    attempts = await attempts_of(dialer, campaign_id)
    for result, phone in numbers.items():
        assert attempts[phone]["result"] == result, (phone, attempts[phone])

    assert await assert_dialed_through_gate(dialer, campaign_id) == len(numbers)
    ok = attempts[numbers["SUCCESS"]]
    assert ok["agent"] in ("Agent 7001", "Agent 7002")
    assert ok["queue"] == "sales"
    # The simulated customer rings 1 s, the agent answers 1.5 s after being rung, and the
    # customer hangs up 4 s after answering: talk is what is left after the agent came.
    assert 0.7 <= ok["ring_s"] <= 2.5
    assert 1.2 <= ok["wait_s"] <= 3.5
    assert 1.5 <= ok["talk_s"] <= 3.5

    busy = attempts[numbers["BUSY"]]
    assert 0.3 <= busy["ring_s"] <= 2.0 and busy["agent"] is None and busy["talk_s"] is None

    no_answer = attempts[numbers["NOANSWER"]]
    assert 14.0 <= no_answer["ring_s"] <= 18.0

    abandoned = attempts[numbers["ABANDONED"]]
    assert abandoned["agent"] is None and abandoned["queue"] == "sales"
    assert 0.7 <= abandoned["wait_s"] <= 2.0 and abandoned["talk_s"] is None

    assert attempts[numbers["FAILED"]]["agent"] is None

    records = (await (await dialer.get(f"/api/campaigns/{campaign_id}/records")).json())["records"]
    assert all(r["attempts"] == 1 for r in records)
    states = {r["phone"]: r["state"] for r in records}
    assert states[numbers["SUCCESS"]] == "handled"

    async def completed() -> bool:
        campaign = await (await dialer.get(f"/api/campaigns/{campaign_id}")).json()
        return bool(campaign["status"] == "completed")

    await eventually(completed, timeout=5)
