"""Callbacks an agent promised for themselves, on a real Asterisk: the callback waits for
that agent and is connected to them even while another agent is idle; in preview mode it
is reserved for them first; after waiting too long it goes to anyone."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.agents import rules
from pbx_dialer.http import keys
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, assert_dialed_through_gate, create_campaign
from tests.pbx.test_preview import A, B, desk, logged_in, preview_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]
AGENT_A = "Local/7001@sim-agents"


async def attempts_list(
    dialer: Client, campaign_id: int, phone: str = "+12125550101"
) -> list[dict[str, Any]]:
    """The attempts of one number of the campaign, oldest first."""
    response = await dialer.get(f"/api/campaigns/{campaign_id}/attempts")
    attempts: list[dict[str, Any]] = (await response.json())["attempts"]
    return sorted((a for a in attempts if a["phone"] == phone), key=lambda a: a["id"])


async def test_a_callback_for_agent_a_waits_for_a_while_b_is_idle(
    dialer: Client, sim: Simulator
) -> None:
    """B takes the first call and, in wrap-up, promises a callback by A in 2 s. When it
    is due A is paused and B idle: nothing is dialed. Once A is back, the customer is
    dialed and connected to A, not to B."""
    await sim.add_agent("sales", 7002)
    campaign_id = await create_campaign(dialer, max_attempts=3)
    # 5550301 never answers: it keeps the campaign from completing meanwhile.
    await add_records(dialer, campaign_id, ["+12125550101", "+12125550301"])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def first_ended() -> bool:
        found = await attempts_list(dialer, campaign_id)
        return bool(found) and found[0]["state"] == "ended"

    await eventually(first_ended, timeout=20)
    first = (await attempts_list(dialer, campaign_id))[0]
    assert first["agent"] == "Agent 7002"
    await sim.add_agent("sales", 7001, paused=True)
    due = time.time() + 2
    classified = await dialer.post(
        f"/api/attempts/{first['id']}/classify",
        json={
            "code": "CALLBACK",
            "callback_at": datetime.fromtimestamp(due, UTC).isoformat(),
            "callback_agent": AGENT_A,
        },
    )
    assert classified.status == 200, await classified.text()
    row = await dialer.app[keys.db_key].fetchone(
        "SELECT state, callback_agent FROM records WHERE campaign_id = ? AND phone = ?",
        (campaign_id, "+12125550101"),
    )
    assert row is not None and (row["state"], row["callback_agent"]) == ("ready", AGENT_A)
    # Due, B idle, A paused: it waits for A.
    await asyncio.sleep(max(0.0, due - time.time()) + 1.5)
    assert len(await attempts_list(dialer, campaign_id)) == 1
    _, b_desk = await desk(dialer, B)
    assert b_desk["state"] == "idle" and b_desk["call"]["attempt_id"] == first["id"]

    await sim.pause_agent("sales", 7001, False)

    async def called_back() -> bool:
        found = await attempts_list(dialer, campaign_id)
        return len(found) == 2 and found[1]["state"] == "connected"

    await eventually(called_back, timeout=20)
    second = (await attempts_list(dialer, campaign_id))[1]
    assert second["agent"] == "Agent 7001"
    _, a_desk = await desk(dialer, A)
    assert a_desk["state"] == "talking" and a_desk["call"]["attempt_id"] == second["id"]
    assert a_desk["record"]["phone"] == "+12125550101"
    # The first calls and the callback for agent A: all through the dial gate.
    assert await assert_dialed_through_gate(dialer, campaign_id) >= 2


async def test_in_preview_an_agents_callback_is_reserved_for_them_first(
    dialer: Client, sim: Simulator
) -> None:
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    campaign_id = await preview_campaign(dialer, ["+12125550101", "+12125550102"])
    await logged_in(dialer, A, B)
    db = dialer.app[keys.db_key]
    # 5550102 is a callback A promised, due now (as the classify API stores it); the
    # other record has been due for longer.
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET next_attempt_at = ?, callback_agent = ? WHERE phone = ? "
            "AND campaign_id = ?",
            (time.time() - 5, AGENT_A, "+12125550102", campaign_id),
        )
    _, b_next = await desk(dialer, B, "next")
    assert b_next["record"]["phone"] == "+12125550101"
    _, a_next = await desk(dialer, A, "next")
    assert a_next["record"]["phone"] == "+12125550102"
    assert a_next["record"]["callback_agent"] == AGENT_A


async def test_a_callback_whose_agent_stays_away_goes_to_anyone(
    dialer: Client, sim: Simulator
) -> None:
    """A never logs in: once the callback has waited AGENT_CALLBACK_WAIT_S past its due
    time, the dial loop takes it and the queue gives it to B."""
    await sim.add_agent("sales", 7002)
    campaign_id = await create_campaign(dialer)
    await add_records(dialer, campaign_id, ["+12125550101"])
    async with dialer.app[keys.db_key].transaction() as conn:
        await conn.execute(
            "UPDATE records SET next_attempt_at = ?, callback_agent = ? WHERE campaign_id = ?",
            (time.time() - rules.AGENT_CALLBACK_WAIT_S - 1, AGENT_A, campaign_id),
        )
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def connected_to_b() -> bool:
        found = await attempts_list(dialer, campaign_id)
        return bool(found) and found[0]["agent"] == "Agent 7002"

    await eventually(connected_to_b, timeout=20)
    row = await dialer.app[keys.db_key].fetchone(
        "SELECT callback_agent FROM records WHERE campaign_id = ?", (campaign_id,)
    )
    assert row is not None and row["callback_agent"] is None
