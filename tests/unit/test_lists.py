"""Contact lists: API-added records go to an 'API' list; lists are created, renamed,
enabled and disabled without losing records; the pick condition skips disabled lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import lists as list_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database

Client = TestClient[web.Request, web.Application]


async def new_campaign(api: Client, name: str = "Spring", **settings: Any) -> int:
    # "none": the suite's calls may go out at any hour (tests/unit/test_rules_pack.py).
    body = {"name": name, "calling_rules": "none", **settings}
    response = await api.post("/api/campaigns", json=body)
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def add(api: Client, campaign_id: int, records: list[dict[str, Any]], **extra: Any) -> None:
    response = await api.post(
        f"/api/campaigns/{campaign_id}/records", json={"records": records, **extra}
    )
    assert response.status == 201, await response.text()


async def open_db(tmp_path: Path) -> tuple[Database, int]:
    db = await Database.open(str(tmp_path / "lists.sqlite3"))
    campaign = await campaign_rows.create(db, CampaignSettings(name="Direct"), now=1000.0)
    return db, campaign.id


async def test_api_records_go_to_the_api_list_created_once(api: Client) -> None:
    cid = await new_campaign(api)
    await add(api, cid, [{"phone": "+12025550101"}])
    await add(api, cid, [{"phone": "+12025550102"}, {"phone": "+12025550103"}])
    body = await (await api.get(f"/api/campaigns/{cid}/lists")).json()
    assert [(x["name"], x["source"], x["enabled"], x["records"]) for x in body["lists"]] == [
        ("API", "api", True, 3)
    ]
    assert body["lists"][0]["states"] == {"ready": 3}
    records = (await (await api.get(f"/api/campaigns/{cid}/records")).json())["records"]
    assert {r["list_id"] for r in records} == {body["lists"][0]["id"]}


async def test_create_rename_disable_enable_keeps_records(api: Client) -> None:
    cid = await new_campaign(api)
    created = await api.post(f"/api/campaigns/{cid}/lists", json={"name": "March leads"})
    assert created.status == 201
    lst = await created.json()
    assert (lst["name"], lst["enabled"], lst["records"]) == ("March leads", True, 0)
    await add(api, cid, [{"phone": "+12025550111"}, {"phone": "+12025550112"}], list_id=lst["id"])

    off = await api.patch(f"/api/campaigns/{cid}/lists/{lst['id']}", json={"enabled": False})
    assert off.status == 200
    assert (await off.json())["enabled"] is False
    assert (await off.json())["records"] == 2
    renamed = await api.patch(f"/api/campaigns/{cid}/lists/{lst['id']}", json={"name": "Old"})
    assert (await renamed.json())["name"] == "Old"
    on = await api.patch(f"/api/campaigns/{cid}/lists/{lst['id']}", json={"enabled": True})
    assert (await on.json())["enabled"] is True
    assert (await on.json())["states"] == {"ready": 2}


async def test_list_errors_are_named(api: Client) -> None:
    cid = await new_campaign(api)
    url = f"/api/campaigns/{cid}/lists"
    assert (await api.post(url, json={"name": "A"})).status == 201
    taken = await api.post(url, json={"name": "A"})
    assert taken.status == 409
    assert (await taken.json())["fields"] == {"name": "taken"}
    bad = await api.post(url, json={"name": "", "colour": "red"})
    assert bad.status == 422
    assert set((await bad.json())["fields"]) == {"colour"}
    ctrl = await api.post(url, json={"name": "a\nb"})
    assert (await ctrl.json())["fields"] == {"name": "must be 1-100 printable characters"}
    flag = await api.patch(f"{url}/1", json={"enabled": "no"})
    assert (await flag.json())["fields"] == {"enabled": "must be true or false"}
    missing = await api.patch(f"{url}/999", json={"enabled": False})
    assert missing.status == 404
    other = await api.patch("/api/campaigns/999/lists/1", json={"enabled": False})
    assert other.status == 404
    wrong_list = await api.post(
        f"/api/campaigns/{cid}/records",
        json={"records": [{"phone": "+12025550100"}], "list_id": 99},
    )
    assert wrong_list.status == 422
    assert (await wrong_list.json())["fields"] == {"list_id": "no such list in this campaign"}
    lists = (await (await api.get(url)).json())["lists"]
    assert [x["name"] for x in lists] == ["A"]
    assert (
        await api.post(url, data=b"{", headers={"Content-Type": "application/json"})
    ).status == 400


async def test_pick_condition_skips_disabled_lists(tmp_path: Path) -> None:
    db, cid = await open_db(tmp_path)
    try:
        a = await list_rows.create(db, cid, "A", "api", 1000.0)
        b = await list_rows.create(db, cid, "B", "csv", 1000.0)
        await record_rows.add_many(db, cid, [record_rows.NewRecord("+12025550121")], 1000.0, a.id)
        await record_rows.add_many(db, cid, [record_rows.NewRecord("+12025550122")], 1000.0, b.id)
        await list_rows.update(db, cid, a.id, enabled=False)
        # A record added to a disabled list starts disabled too.
        await record_rows.add_many(db, cid, [record_rows.NewRecord("+12025550123")], 1000.0, a.id)
        pick = (
            "SELECT phone FROM records WHERE campaign_id = ? AND state = 'ready' AND "
            f"{record_rows.PICK_CONDITION} AND timezone IS NULL AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id"
        )
        assert [r[0] for r in await db.fetchall(pick, (cid, 2000.0))] == ["+12025550122"]
        plan = " ".join(
            str(r[3]) for r in await db.fetchall("EXPLAIN QUERY PLAN " + pick, (cid, 2000.0))
        )
        assert "USING INDEX records_pick" in plan and "TEMP B-TREE" not in plan, plan
        await list_rows.update(db, cid, a.id, enabled=True)
        assert len(await db.fetchall(pick, (cid, 2000.0))) == 3
        # A campaign with records only in disabled lists still has records to dial later.
        await list_rows.update(db, cid, a.id, enabled=False)
        await list_rows.update(db, cid, b.id, enabled=False)
        assert await record_rows.has_ready(db, cid, 2000.0)
    finally:
        await db.close()


async def test_flag_copy_runs_in_batches_and_setting_it_again_repairs(tmp_path: Path) -> None:
    db, cid = await open_db(tmp_path)
    try:
        lst = await list_rows.create(db, cid, "Big", "csv", 1.0)
        new = [record_rows.NewRecord(f"+1202555{n:04d}") for n in range(7)]
        await record_rows.add_many(db, cid, new, 1.0, lst.id)
        await list_rows._copy_flag(db, lst.id, False, batch=2)
        flags = "SELECT list_enabled, count(*) FROM records GROUP BY 1"
        assert [tuple(r) for r in await db.fetchall(flags)] == [(0, 7)]
        # A copy a crash cut short: the list says disabled, some of its records do not.
        async with db.transaction() as conn:
            await conn.execute("UPDATE records SET list_enabled = 1 WHERE id % 2 = 0")
        await list_rows.update(db, cid, lst.id, enabled=False)
        assert [tuple(r) for r in await db.fetchall(flags)] == [(0, 7)]
    finally:
        await db.close()
