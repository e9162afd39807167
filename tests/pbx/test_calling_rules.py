"""What the dialer refuses to dial, on a real Asterisk: records outside their consumer
hours, numbers put on a DNC list after import, records of a disabled list. Each one's
"why not dialing" says so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys
from pbx_dialer.rules import load_pack
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def zones_open_and_closed() -> tuple[str, str]:
    """Two fixed-offset zones: in one it is now 10:00-15:59 local, in the other 00:00-05:59."""
    hour = datetime.now(UTC).hour
    open_zone = closed_zone = ""
    for offset in range(-12, 15):
        local = (hour + offset) % 24
        name = "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
        if 10 <= local <= 15 and not open_zone:
            open_zone = name
        if 0 <= local <= 5 and not closed_zone:
            closed_zone = name
    assert open_zone and closed_zone
    return open_zone, closed_zone


async def why_record(client: Client, campaign_id: int, record_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/campaigns/{campaign_id}/records/{record_id}/why")
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_consumer_hours_dnc_and_disabled_lists_are_honoured(
    dialer: Client, sim: Simulator
) -> None:
    open_zone, closed_zone = zones_open_and_closed()
    code = await dialer.post(
        "/api/hour-codes",
        json={
            "name": "Consumers 09-18",
            "timezone": "UTC",
            "weekly": {day: [["09:00", "18:00"]] for day in EVERY_DAY},
        },
    )
    assert code.status == 201, await code.text()
    code_id = (await code.json())["id"]
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    campaign_id = await create_campaign(dialer, consumer_hour_code_id=code_id, max_lines=3)
    await add_records(dialer, campaign_id, ["+12125550601", "+12125550602", "+12125550603"])
    records = (await (await dialer.get(f"/api/campaigns/{campaign_id}/records")).json())["records"]
    by_phone = {r["phone"]: r["id"] for r in records}
    db = dialer.app[keys.db_key]
    # Zones as an import would have found them; the DNC entry as another process (or a
    # list sync) would add it, without touching the records.
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET timezone = ? WHERE phone = '+12125550601'", (open_zone,)
        )
        await conn.execute(
            "UPDATE records SET timezone = ? WHERE phone = '+12125550602'", (closed_zone,)
        )
        await conn.execute(
            "UPDATE records SET timezone = ? WHERE phone = '+12125550603'", (open_zone,)
        )
        await conn.execute(
            "INSERT INTO dnc (campaign_id, phone, added_at) VALUES (0, '+12125550603', 0)"
        )
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def open_one_talking() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return found.get("+12125550601", {}).get("state") == "connected"

    await eventually(open_one_talking, timeout=15)
    # Give the dial loop several more passes: nothing else may be dialed.
    for _ in range(10):
        await dialer.app[keys.dialer_key].dial_once()
    attempts = await attempts_of(dialer, campaign_id)
    assert set(attempts) == {"+12125550601"}, attempts
    # Why it was allowed, checked right before the dial and kept with the attempt.
    allowed = attempts["+12125550601"]["compliance"]
    assert allowed["consumer_hours"].startswith(f"inside consumer hours in {open_zone}")
    assert allowed["dnc"] == "not on the global or the campaign's do-not-call list"
    assert allowed["attempt"] == "1 of 1"

    closed = await why_record(dialer, campaign_id, by_phone["+12125550602"])
    assert closed["reasons"][0]["code"] == "consumer_hours"
    assert closed["reasons"][0]["text"].startswith(f"outside consumer hours in {closed_zone}")
    blocked = (await (await dialer.get(f"/api/campaigns/{campaign_id}/records")).json())["records"]
    dnc_record = next(r for r in blocked if r["phone"] == "+12125550603")
    assert dnc_record["state"] == "filtered"
    why_dnc = await why_record(dialer, campaign_id, by_phone["+12125550603"])
    assert why_dnc["reasons"][0] == {"code": "filtered", "text": "filtered (DNC)"}

    # A disabled list keeps its records and is not dialed.
    lists = (await (await dialer.get(f"/api/campaigns/{campaign_id}/lists")).json())["lists"]
    disabled = await dialer.patch(
        f"/api/campaigns/{campaign_id}/lists/{lists[0]['id']}", json={"enabled": False}
    )
    assert disabled.status == 200, await disabled.text()
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET timezone = ? WHERE phone = '+12125550602'", (open_zone,)
        )
    why_list = await why_record(dialer, campaign_id, by_phone["+12125550602"])
    assert why_list["reasons"][0]["code"] == "list_disabled"
    for _ in range(5):
        await dialer.app[keys.dialer_key].dial_once()
    assert set(await attempts_of(dialer, campaign_id)) == {"+12125550601"}


async def test_the_rules_pack_holds_back_a_number_outside_its_legal_hours(
    dialer: Client, sim: Simulator
) -> None:
    """A campaign under the US rules of the pack (no hour code at all): two New York
    numbers, one whose known zone shows 10:00-15:59 now, one 00:00-05:59. The first is
    dialed, with the pack's verdict and version stored on its attempt; the second never
    is: it waits for the federal rule's next opening (08:00 in its zone), and "why not
    dialing" names the rule."""
    open_zone, closed_zone = zones_open_and_closed()
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(dialer, calling_rules="US", max_lines=2)
    await add_records(dialer, campaign_id, ["+12125550101", "+12125550102"])
    records = (await (await dialer.get(f"/api/campaigns/{campaign_id}/records")).json())["records"]
    by_phone = {r["phone"]: r["id"] for r in records}
    db = dialer.app[keys.db_key]
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET timezone = ? WHERE phone = '+12125550101'", (open_zone,)
        )
        await conn.execute(
            "UPDATE records SET timezone = ? WHERE phone = '+12125550102'", (closed_zone,)
        )
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def open_one_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return found.get("+12125550101", {}).get("state") == "ended"

    await eventually(open_one_ended, timeout=20)
    for _ in range(10):
        await dialer.app[keys.dialer_key].dial_once()
    attempts = await attempts_of(dialer, campaign_id)
    assert set(attempts) == {"+12125550101"}, attempts
    assert attempts["+12125550101"]["result"] == "SUCCESS"
    ruled = attempts["+12125550101"]["compliance"]["rules"]
    assert (ruled["rule_set"], ruled["allowed"]) == ("US", True)
    assert ruled["rules_pack"] == load_pack().version
    row = await db.fetchone("SELECT rules_pack FROM attempts WHERE campaign_id = ?", (campaign_id,))
    assert row is not None and row["rules_pack"] == load_pack().version
    # The closed one waits for 08:00 in its zone, not for the next pass.
    waiting = await db.fetchone(
        "SELECT state, attempts, next_attempt_at FROM records WHERE id = ?",
        (by_phone["+12125550102"],),
    )
    assert waiting is not None and (waiting["state"], waiting["attempts"]) == ("ready", 0)
    opening = datetime.fromtimestamp(waiting["next_attempt_at"], ZoneInfo(closed_zone))
    assert (opening.hour, opening.minute) == (8, 0), opening
    why = await why_record(dialer, campaign_id, by_phone["+12125550102"])
    codes = {r["code"]: r["text"] for r in why["reasons"]}
    assert "US-federal-hours" in codes["calling_rules"], why
    campaign = await (await dialer.get(f"/api/campaigns/{campaign_id}")).json()
    assert campaign["status"] == "active"  # a record may still be dialed: not complete
