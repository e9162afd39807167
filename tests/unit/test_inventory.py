"""Record states and inventory bands at a fixed clock; cancel kept for audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.records.inventory import StateCount, fold
from pbx_dialer.storage.db import Database
from tests.conftest import app_client, offline_settings, start_client
from tests.unit.test_lists import add, new_campaign

Client = TestClient[web.Request, web.Application]
NOW = 1_800_000_000.0


@pytest_asyncio.fixture
async def fixed(tmp_path: Path) -> AsyncIterator[Client]:
    """The app without Asterisk, its clock stopped at NOW (its dial loop idles: the
    campaigns here stay drafts)."""
    settings = offline_settings(tmp_path / "inventory.sqlite3")
    client = await start_client(app_client(create_app(settings, clock=lambda: NOW)))
    try:
        yield client
    finally:
        await client.close()


def db_of(api: Client) -> Database:
    return api.app[keys.db_key]


async def set_record(api: Client, phone: str, **values: object) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    async with db_of(api).transaction() as conn:
        await conn.execute(f"UPDATE records SET {sets} WHERE phone = ?", (*values.values(), phone))


# phone -> (state, attempts, next_attempt_at offset from NOW)
LAYOUT = {
    "+12025550001": ("ready", 0, -10),  # not handled, ready now
    "+12025550002": ("ready", 0, 0),  # due exactly now: ready now
    "+12025550003": ("ready", 2, -1),  # retry due now
    "+12025550004": ("ready", 1, 1),  # due in 0-15
    "+12025550005": ("ready", 1, 900),  # exactly 15 min: still 0-15
    "+12025550006": ("ready", 1, 901),  # 15-30
    "+12025550007": ("ready", 1, 1800),  # exactly 30 min: 15-30
    "+12025550008": ("ready", 1, 1801),  # 30+
    "+12025550009": ("in_progress", 1, -5),
    "+12025550010": ("handled", 1, 0),
    "+12025550011": ("max_calls", 3, 0),
    "+12025550012": ("filtered", 0, 0),
    "+12025550013": ("cancelled", 0, 0),
}


async def laid_out(api: Client) -> int:
    cid = await new_campaign(api)
    await add(api, cid, [{"phone": p, "name": f"C{p[-2:]}"} for p in LAYOUT])
    for phone, (state, attempts, offset) in LAYOUT.items():
        await set_record(api, phone, state=state, attempts=attempts, next_attempt_at=NOW + offset)
    return cid


async def test_inventory_bands_and_states_at_a_fixed_clock(fixed: Client) -> None:
    cid = await laid_out(fixed)
    # One ready record in a disabled list: kept, counted apart from the bands.
    lst = await (await fixed.post(f"/api/campaigns/{cid}/lists", json={"name": "Off"})).json()
    await add(fixed, cid, [{"phone": "+12025550099"}], list_id=lst["id"])
    await fixed.patch(f"/api/campaigns/{cid}/lists/{lst['id']}", json={"enabled": False})

    response = await fixed.get(f"/api/campaigns/{cid}/inventory")
    assert response.status == 200
    body = await response.json()
    assert body["at"] == NOW
    assert body["total"] == 14
    assert body["bands"] == {
        "completed": 4,
        "ready_now": 3,
        "due_0_15": 2,
        "due_15_30": 2,
        "due_30_plus": 1,
        "in_progress": 1,
        "list_disabled": 1,
    }
    assert body["states"] == {
        "not_handled": 3,
        "retry_due": 1,
        "scheduled": 5,
        "in_progress": 1,
        "handled": 1,
        "max_calls": 1,
        "filtered": 1,
        "cancelled": 1,
    }
    assert sum(body["bands"].values()) == sum(body["states"].values()) == body["total"]
    assert (await fixed.get("/api/campaigns/77/inventory")).status == 404


def test_fold_of_nothing_is_all_zero() -> None:
    empty = fold([])
    assert empty["total"] == 0
    assert set(empty["bands"].values()) == set(empty["states"].values()) == {0}
    one = fold([StateCount("ready", True, 4, 1, 2, 1, 0)])
    assert one["bands"]["due_30_plus"] == 1 and one["states"]["retry_due"] == 1


async def test_inventory_query_is_one_index_only_pass(fixed: Client) -> None:
    cid = await laid_out(fixed)
    plan = await db_of(fixed).fetchall(
        "EXPLAIN QUERY PLAN SELECT state, list_enabled, count(*), sum(attempts = 0), "
        "sum(next_attempt_at <= 1) FROM records WHERE campaign_id = ? "
        "GROUP BY state, list_enabled",
        (cid,),
    )
    detail = " ".join(str(r[3]) for r in plan)
    assert "COVERING INDEX records_pick" in detail and "TEMP B-TREE" not in detail, detail


async def test_cancel_by_state_keeps_records_for_audit(fixed: Client) -> None:
    cid = await laid_out(fixed)
    url = f"/api/campaigns/{cid}/records/cancel"
    response = await fixed.post(url, json={"state": "scheduled", "reason": "season over"})
    assert response.status == 200
    assert await response.json() == {"cancelled": 5, "skipped_in_progress": 0}
    page = await (
        await fixed.get(f"/api/campaigns/{cid}/records?state=cancelled&limit=1000")
    ).json()
    cancelled = {r["phone"]: r for r in page["records"]}
    assert len(cancelled) == 6  # the five scheduled and the one cancelled before
    assert cancelled["+12025550006"]["reason"] == "season over"
    assert cancelled["+12025550006"]["cancelled_at"] == NOW
    assert cancelled["+12025550006"]["attempts"] == 1  # its history is kept


async def test_cancel_all_skips_calls_in_progress_and_settled_records(fixed: Client) -> None:
    cid = await laid_out(fixed)
    url = f"/api/campaigns/{cid}/records/cancel"
    response = await fixed.post(url, json={"all": True})
    assert await response.json() == {"cancelled": 8, "skipped_in_progress": 1}
    inventory = await (await fixed.get(f"/api/campaigns/{cid}/inventory")).json()
    assert inventory["states"] == {
        "not_handled": 0,
        "retry_due": 0,
        "scheduled": 0,
        "in_progress": 1,
        "handled": 1,
        "max_calls": 1,
        "filtered": 1,
        "cancelled": 9,
    }
    again = await fixed.post(url, json={"all": True})
    assert await again.json() == {"cancelled": 0, "skipped_in_progress": 1}


async def test_cancel_by_list_phone_and_search(fixed: Client) -> None:
    cid = await laid_out(fixed)
    lst = await (await fixed.post(f"/api/campaigns/{cid}/lists", json={"name": "B"})).json()
    await add(fixed, cid, [{"phone": "+12025550200", "name": "Zed"}], list_id=lst["id"])
    url = f"/api/campaigns/{cid}/records/cancel"
    by_list = await fixed.post(url, json={"list_id": lst["id"]})
    assert await by_list.json() == {"cancelled": 1, "skipped_in_progress": 0}
    by_phone = await fixed.post(url, json={"phone": "+1202555000?"})
    assert await by_phone.json() == {"cancelled": 8, "skipped_in_progress": 1}
    other = await new_campaign(fixed, "Other")
    await add(fixed, other, [{"phone": "+12025550300", "name": "Zoe"}])
    by_search = await fixed.post(f"/api/campaigns/{other}/records/cancel", json={"q": "Zo?"})
    assert await by_search.json() == {"cancelled": 1, "skipped_in_progress": 0}


async def test_cancel_refusals_change_nothing(fixed: Client) -> None:
    cid = await laid_out(fixed)
    url = f"/api/campaigns/{cid}/records/cancel"
    cases = [
        ({}, {"all": "must be true when no filter is given"}),
        ({"all": False}, {"all": "must be true when no filter is given"}),
        ({"all": "yes"}, {"all": "must be true or false"}),
        (
            {"state": "gone"},
            {
                "state": "must be one of ready, in_progress, handled, max_calls, "
                "filtered, cancelled, not_handled, retry_due, scheduled"
            },
        ),
        ({"list_id": 0}, {"list_id": "must be a positive integer"}),
        ({"q": 5}, {"q": "must be a string"}),
        ({"all": True, "reason": ""}, {"reason": "must be 1-200 printable characters"}),
        ({"all": True, "where": "x"}, {"where": "not a cancel field"}),
        ([1], {"body": "must be an object"}),
    ]
    for body, fields in cases:
        response = await fixed.post(url, json=body)
        assert response.status == 422, body
        assert (await response.json())["fields"] == fields
    bad_json = await fixed.post(url, data=b"{", headers={"Content-Type": "application/json"})
    assert bad_json.status == 400
    inventory = await (await fixed.get(f"/api/campaigns/{cid}/inventory")).json()
    assert inventory["states"]["cancelled"] == 1
