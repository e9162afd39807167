"""Alternate numbers through a real Asterisk: a record whose first number does not
reach anyone is dialed again on its next number, which an agent answers."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]

ANSWERS, BUSY, NO_ANSWER = "+12125550101", "+12125550201", "+12125550301"


async def customers(dialer: Client, campaign_id: int) -> dict[str, dict[str, Any]]:
    response = await dialer.get(f"/api/campaigns/{campaign_id}/customers")
    assert response.status == 200
    return {c["name"]: c for c in (await response.json())["customers"]}


async def test_busy_then_the_next_number_answers(dialer: Client, sim: Simulator) -> None:
    """Bea: busy, then her second number answers. Nat: no answer (15 s ring timeout),
    busy on the second number, the third answers. Retries are due at once."""
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    campaign_id = await create_campaign(
        dialer,
        name="Alternate numbers",
        max_lines=2,
        ring_timeout_s=15,
        max_attempts=3,
        retry_rules={
            "BUSY": {"delay_s": 0, "max_attempts": 3},
            "NOANSWER": {"delay_s": 0, "max_attempts": 3},
        },
    )
    records = [
        {"phone": BUSY, "name": "Bea", "phones": [ANSWERS]},
        {"phone": NO_ANSWER, "name": "Nat", "phones": [BUSY, ANSWERS]},
    ]
    response = await dialer.post(f"/api/campaigns/{campaign_id}/records", json={"records": records})
    assert response.status == 201, await response.text()
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def both_handled() -> bool:
        found = await customers(dialer, campaign_id)
        return all(c["state"] == "handled" for c in found.values())

    await eventually(both_handled, timeout=90)
    found = await customers(dialer, campaign_id)
    bea, nat = found["Bea"], found["Nat"]
    assert (bea["result"], bea["call_result"], bea["attempts"]) == ("CALL", "SUCCESS", 2)
    assert bea["phones"] == [
        {"phone": BUSY, "attempts": 1, "last_result": "BUSY", "next": False},
        {"phone": ANSWERS, "attempts": 1, "last_result": "SUCCESS", "next": False},
    ]
    assert (nat["call_result"], nat["attempts"]) == ("SUCCESS", 3)
    assert nat["phones"] == [
        {"phone": NO_ANSWER, "attempts": 1, "last_result": "NOANSWER", "next": False},
        {"phone": BUSY, "attempts": 1, "last_result": "BUSY", "next": False},
        {"phone": ANSWERS, "attempts": 1, "last_result": "SUCCESS", "next": False},
    ]
    # The attempts, in the order they were placed, each on the number the rule chose.
    response = await dialer.get(f"/api/campaigns/{campaign_id}/attempts")
    placed = sorted((await response.json())["attempts"], key=lambda a: a["id"])
    by_record: dict[str, list[tuple[str, str]]] = {}
    for a in placed:
        by_record.setdefault(a["record_name"], []).append((a["phone"], a["result"]))
    assert by_record == {
        "Bea": [(BUSY, "BUSY"), (ANSWERS, "SUCCESS")],
        "Nat": [(NO_ANSWER, "NOANSWER"), (BUSY, "BUSY"), (ANSWERS, "SUCCESS")],
    }
    assert all(
        a["agent"] in ("Agent 7001", "Agent 7002") for a in placed if a["result"] == "SUCCESS"
    )
