"""Preview mode on a real Asterisk: a record reserved for one agent, who reads it and
accepts (the customer is dialed and connected to that agent, not via the queue), skips
it, or lets the auto-dial timer accept it; reservations end when the agent goes away."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import (
    add_records,
    assert_dialed_through_gate,
    attempts_of,
    create_campaign,
)

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]
A = "Local~7001@sim-agents"
B = "Local~7002@sim-agents"


async def desk(client: Client, agent: str, action: str = "desk") -> tuple[int, dict[str, Any]]:
    if action == "desk":
        response = await client.get(f"/api/agents/{agent}/desk")
    else:
        response = await client.post(f"/api/agents/{agent}/{action}")
    body: dict[str, Any] = await response.json()
    return response.status, body


async def logged_in(dialer: Client, *agents: str) -> None:
    """Wait until the dialer has seen these agents join the queue (an AMI event)."""

    async def seen() -> bool:
        found = [(await desk(dialer, agent))[1]["logged_in"] for agent in agents]
        return all(found)

    await eventually(seen, timeout=5)


async def preview_campaign(dialer: Client, phones: list[str], **settings: Any) -> int:
    campaign_id = await create_campaign(
        dialer, dial_mode="preview", agent_notes="Offer the spring renewal.", **settings
    )
    await add_records(dialer, campaign_id, phones)
    # Notes and fields as an import would have stored them.
    async with dialer.app[keys.db_key].transaction() as conn:
        await conn.execute(
            "UPDATE records SET notes = 'Asked for a call after lunch', custom = ? "
            "WHERE campaign_id = ?",
            (json.dumps({"plan": "Gold", "renewal": "2026-12-01"}), campaign_id),
        )
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    return campaign_id


async def record_state(dialer: Client, record_id: int) -> tuple[str, int]:
    row = await dialer.app[keys.db_key].fetchone(
        "SELECT state, attempts FROM records WHERE id = ?", (record_id,)
    )
    assert row is not None
    return str(row["state"]), int(row["attempts"])


async def test_accept_connects_the_customer_to_the_agent_who_reserved_it(
    dialer: Client, sim: Simulator
) -> None:
    """Two agents are idle in the queue; A reserves the only record. The dial loop never
    dials it and B gets nothing; A accepts and the customer is connected to A."""
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    campaign_id = await preview_campaign(dialer, ["+12125550101"])
    await logged_in(dialer, A, B)

    status, reserved = await desk(dialer, A, "next")
    assert status == 200, reserved
    assert reserved["state"] == "reserved"
    assert reserved["record"]["phone"] == "+12125550101"
    assert reserved["record"]["notes"] == "Asked for a call after lunch"
    assert reserved["record"]["fields"] == {"plan": "Gold", "renewal": "2026-12-01"}
    assert reserved["campaign"]["agent_notes"] == "Offer the spring renewal."
    assert "SALE" in [c["code"] for c in reserved["campaign"]["classifications"]]
    assert reserved["reservation"]["countdown_s"] is None  # no auto-dial timer

    # Several dial-loop passes later: not dialed, and B cannot have it.
    await asyncio.sleep(1.0)
    assert await attempts_of(dialer, campaign_id) == {}
    status, refused = await desk(dialer, B, "next")
    assert status == 409 and "no record" in refused["error"]
    status, again = await desk(dialer, A, "next")
    assert status == 200 and again["record"]["id"] == reserved["record"]["id"]

    status, accepted = await desk(dialer, A, "accept")
    assert status == 200, accepted
    assert accepted["state"] in ("dialing", "talking")

    async def ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return bool(found) and found["+12125550101"]["state"] == "ended"

    async def talking() -> bool:
        return bool((await desk(dialer, A))[1]["state"] == "talking")

    await eventually(talking, timeout=15)
    await eventually(ended, timeout=20)
    attempt = (await attempts_of(dialer, campaign_id))["+12125550101"]
    assert attempt["result"] == "SUCCESS", attempt
    assert attempt["agent"] == "Agent 7001"
    await assert_dialed_through_gate(dialer, campaign_id)  # the desk's path
    assert attempt["talk_s"] is not None and attempt["talk_s"] > 1.0
    assert attempt["compliance"]["dnc"].startswith("not on")
    # Asterisk rang A's phone and never B's.
    rung = {
        e.get("channel").split(";")[0].rsplit("-", 1)[0]
        for e in sim.events
        if e.name == "Newchannel"
    }
    assert "Local/7001@sim-agents" in rung and "Local/7002@sim-agents" not in rung
    # After the call: wrap-up on A's desk until A classifies it.
    _, wrapup = await desk(dialer, A)
    assert wrapup["state"] == "wrapup" and wrapup["call"]["attempt_id"] == attempt["id"]
    status, refused = await desk(dialer, A, "next")
    assert status == 409 and "classify your last call" in refused["error"]
    classified = await dialer.post(f"/api/attempts/{attempt['id']}/classify", json={"code": "SALE"})
    assert classified.status == 200, await classified.text()
    assert (await desk(dialer, A))[1]["state"] == "idle"


async def test_skip_gives_the_record_back_without_counting_an_attempt(
    dialer: Client, sim: Simulator
) -> None:
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    await preview_campaign(dialer, ["+12125550101", "+12125550102"])
    await logged_in(dialer, A, B)
    _, first = await desk(dialer, A, "next")
    first_id = first["record"]["id"]
    assert await record_state(dialer, first_id) == ("in_progress", 0)
    status, skipped = await desk(dialer, A, "skip")
    assert status == 200 and skipped["state"] == "idle" and skipped["reservation"] is None
    assert await record_state(dialer, first_id) == ("ready", 0)
    # A is offered the other record, not the one A skipped; B may have the skipped one.
    _, second = await desk(dialer, A, "next")
    assert second["record"]["id"] != first_id
    _, other = await desk(dialer, B, "next")
    assert other["record"]["id"] == first_id
    status, after = await desk(dialer, A, "skip")
    assert status == 200 and after["reservation"] is None
    status, refused = await desk(dialer, A, "skip")
    assert status == 409 and "no record is reserved" in refused["error"]


async def test_the_auto_dial_timer_accepts_for_the_agent(dialer: Client, sim: Simulator) -> None:
    await sim.add_agent("sales", 7001)
    campaign_id = await preview_campaign(dialer, ["+12125550101"], preview_autodial_s=2)
    await logged_in(dialer, A)
    _, reserved = await desk(dialer, A, "next")
    countdown = reserved["reservation"]["countdown_s"]
    assert 1.0 < countdown <= 2.0
    await asyncio.sleep(0.5)
    assert await attempts_of(dialer, campaign_id) == {}

    async def dialed_by_itself() -> bool:
        return "+12125550101" in await attempts_of(dialer, campaign_id)

    await eventually(dialed_by_itself, timeout=5)
    attempt = (await attempts_of(dialer, campaign_id))["+12125550101"]
    assert attempt["placed_at"] - reserved["reservation"]["reserved_at"] >= 2.0

    async def ended() -> bool:
        return bool((await attempts_of(dialer, campaign_id))["+12125550101"]["state"] == "ended")

    await eventually(ended, timeout=20)
    assert (await attempts_of(dialer, campaign_id))["+12125550101"]["result"] == "SUCCESS"


async def test_a_reservation_ends_when_the_agent_leaves_the_queue(
    dialer: Client, sim: Simulator
) -> None:
    await sim.add_agent("sales", 7001)
    campaign_id = await preview_campaign(dialer, ["+12125550101"])
    await logged_in(dialer, A)
    _, reserved = await desk(dialer, A, "next")
    record_id = reserved["record"]["id"]
    await sim.remove_agent("sales", 7001)

    async def given_back() -> bool:
        return await record_state(dialer, record_id) == ("ready", 0)

    await eventually(given_back, timeout=5)
    _, gone = await desk(dialer, A)
    assert gone["state"] == "away" and gone["reservation"] is None
    status, refused = await desk(dialer, A, "next")
    assert status == 409 and "not logged in" in refused["error"]
    assert await attempts_of(dialer, campaign_id) == {}


async def test_a_record_that_may_not_be_called_is_never_shown_to_the_agent(
    dialer: Client, sim: Simulator
) -> None:
    """The first record's number went on the DNC list after import: the agent is given
    the next one, and the first is filtered as DNC without an attempt."""
    await sim.add_agent("sales", 7001)
    await preview_campaign(dialer, ["+12125550101", "+12125550102"])
    await logged_in(dialer, A)
    async with dialer.app[keys.db_key].transaction() as conn:
        await conn.execute(
            "INSERT INTO dnc (campaign_id, phone, added_at) VALUES (0, '+12125550101', 0)"
        )
    _, reserved = await desk(dialer, A, "next")
    assert reserved["record"]["phone"] == "+12125550102"
    row = await dialer.app[keys.db_key].fetchone(
        "SELECT state, reason, attempts FROM records WHERE phone = '+12125550101'"
    )
    assert row is not None
    assert (row["state"], row["reason"], row["attempts"]) == ("filtered", "DNC", 0)


async def test_accept_after_the_agent_left_gives_the_record_back(
    dialer: Client, sim: Simulator
) -> None:
    await sim.add_agent("sales", 7001)
    campaign_id = await preview_campaign(dialer, ["+12125550101"])
    await logged_in(dialer, A)
    _, reserved = await desk(dialer, A, "next")
    await sim.remove_agent("sales", 7001)

    async def gone() -> bool:
        return not (await desk(dialer, A))[1]["logged_in"]

    await eventually(gone, timeout=5)
    status, refused = await desk(dialer, A, "accept")
    # Either the sweep gave it back already, or accept does it now: never dialed.
    assert status == 409
    assert "not logged in" in refused["error"] or "no record is reserved" in refused["error"]
    assert await record_state(dialer, reserved["record"]["id"]) == ("ready", 0)
    assert await attempts_of(dialer, campaign_id) == {}


async def test_two_agents_accept_together_and_each_gets_their_own_customer(
    dialer: Client, sim: Simulator
) -> None:
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    campaign_id = await preview_campaign(dialer, ["+12125550101", "+12125550102"], max_lines=2)
    await logged_in(dialer, A, B)
    _, for_a = await desk(dialer, A, "next")
    _, for_b = await desk(dialer, B, "next")
    accepted = await asyncio.gather(desk(dialer, A, "accept"), desk(dialer, B, "accept"))
    assert [status for status, _ in accepted] == [200, 200]

    async def both_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == 2 and all(a["state"] == "ended" for a in found.values())

    await eventually(both_ended, timeout=20)
    attempts = await attempts_of(dialer, campaign_id)
    agent_of = {phone: (a["result"], a["agent"]) for phone, a in attempts.items()}
    assert agent_of == {
        for_a["record"]["phone"]: ("SUCCESS", "Agent 7001"),
        for_b["record"]["phone"]: ("SUCCESS", "Agent 7002"),
    }
