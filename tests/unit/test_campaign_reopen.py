"""New work for a Completed campaign reopens it (Paused, with a history entry): records
through the API or an import, a callback on one of its calls. A Stopped campaign takes
none (409). Who did it, in the history and in classified_by, is the logged-in user or
their API token, never a name the request gives. The dialer here has no Asterisk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.campaigns.model import CampaignStatus, Control
from pbx_dialer.dialing import completion
from pbx_dialer.http import keys
from tests.conftest import TEST_ADMIN, TEST_TOKEN, eventually
from tests.unit.test_imports import run_import, upload

Client = TestClient[web.Request, web.Application]
PHONE = "+12125550111"


async def _completed(api: Client, name: str, stop: bool = False) -> int:
    """A campaign that dialed its one record to a handled end, completed by the dialer
    (or stopped by a supervisor); returns its id (the attempt is `_attempt`'s)."""
    created = await api.post("/api/campaigns", json={"name": name, "queue": "sales"})
    campaign_id = int((await created.json())["id"])
    added = await api.post(
        f"/api/campaigns/{campaign_id}/records", json={"records": [{"phone": PHONE}]}
    )
    assert added.status == 201
    service = api.app[keys.campaigns_key]
    await service.control(campaign_id, Control.PLAY, actor="supervisor")
    db = api.app[keys.db_key]
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET state = 'handled', attempts = 1, classification = 'CONTACTED' "
            "WHERE campaign_id = ?",
            (campaign_id,),
        )
        await conn.execute(
            "INSERT INTO attempts (campaign_id, record_id, pbx, channel_id, phone, state, "
            "result, agent, placed_at, connected_at, ended_at, classification) "
            "SELECT campaign_id, id, 'main', 'chan-' || id, phone, 'ended', 'SUCCESS', "
            "'Agent 7001', 1, 2, 3, 'CONTACTED' FROM records WHERE campaign_id = ?",
            (campaign_id,),
        )
    if stop:
        await service.control(campaign_id, Control.STOP, actor="supervisor")
    else:
        await service.control(campaign_id, Control.COMPLETE, actor="dialer")
    return campaign_id


async def _attempt(api: Client, campaign_id: int) -> int:
    row = await api.app[keys.db_key].fetchone(
        "SELECT id FROM attempts WHERE campaign_id = ?", (campaign_id,)
    )
    assert row is not None
    return int(row["id"])


async def _campaign(api: Client, campaign_id: int) -> dict[str, Any]:
    return dict(await (await api.get(f"/api/campaigns/{campaign_id}")).json())


async def _history(api: Client, campaign_id: int) -> list[dict[str, Any]]:
    body = await (await api.get(f"/api/campaigns/{campaign_id}/history")).json()
    return list(body["actions"])


def _tomorrow() -> str:
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() + 86400, UTC).isoformat()


async def test_a_callback_on_a_completed_campaign_reopens_it_paused(api: Client) -> None:
    cid = await _completed(api, "Callback reopens")
    attempt_id = await _attempt(api, cid)
    answer = await api.post(
        f"/api/attempts/{attempt_id}/classify",
        json={"code": "CALLBACK", "callback_at": _tomorrow()},
        headers={"X-Actor": "mallory"},
    )
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["record_state"] == "ready"
    assert (await _campaign(api, cid))["status"] == "paused"
    last = (await _history(api, cid))[-1]
    assert (last["action"], last["actor"]) == ("reopen", TEST_ADMIN)
    assert last["detail"] == f"CALLBACK on attempt {attempt_id}: the record is due again"
    # Resumed, it has its callback to dial: the dial loop does not complete it again.
    assert (await api.post(f"/api/campaigns/{cid}/resume")).status == 200
    campaign = await api.app[keys.campaigns_key].get(cid)
    assert campaign.status is CampaignStatus.ACTIVE
    assert await completion.may_dial_again(api.app[keys.db_key], campaign, [])


async def test_a_callback_on_a_stopped_campaign_is_refused(api: Client) -> None:
    cid = await _completed(api, "Stopped callback", stop=True)
    attempt_id = await _attempt(api, cid)
    db = api.app[keys.db_key]
    answer = await api.post(
        f"/api/attempts/{attempt_id}/classify",
        json={"code": "CALLBACK", "callback_at": _tomorrow()},
    )
    assert answer.status == 409
    assert "stopped: it takes no new records or callbacks" in (await answer.json())["error"]
    row = await db.fetchone(
        "SELECT state, classification FROM records WHERE campaign_id = ?", (cid,)
    )
    assert row is not None and (row["state"], row["classification"]) == ("handled", "CONTACTED")
    # A final classification is still stored: it dials nothing.
    final = await api.post(f"/api/attempts/{attempt_id}/classify", json={"code": "SALE"})
    assert final.status == 200 and (await _campaign(api, cid))["status"] == "stopped"


async def test_classified_by_is_the_logged_in_user_never_the_body(api: Client) -> None:
    cid = await _completed(api, "Audit")
    attempt_id = await _attempt(api, cid)
    url = f"/api/attempts/{attempt_id}/classify"
    for field in ("agent", "classified_by"):
        refused = await api.post(url, json={"code": "SALE", field: "mallory"})
        assert refused.status == 422
        assert list((await refused.json())["fields"]) == [field]
    db = api.app[keys.db_key]

    async def classified_by() -> str:
        row = await db.fetchone("SELECT classified_by FROM attempts WHERE id = ?", (attempt_id,))
        assert row is not None
        return str(row["classified_by"])

    assert (await api.post(url, json={"code": "SALE"}, headers={"X-Actor": "mallory"})).ok
    assert await classified_by() == TEST_ADMIN
    token = {"Authorization": f"Bearer {TEST_TOKEN}"}
    assert (await api.post(url, json={"code": "SALE"}, headers=token)).ok
    assert await classified_by() == f"{TEST_ADMIN} (token tests)"
    # A final classification leaves a completed campaign completed.
    assert (await _campaign(api, cid))["status"] == "completed"


async def test_new_records_reopen_a_completed_campaign_and_a_stopped_one_refuses_them(
    api: Client,
) -> None:
    cid = await _completed(api, "Records reopen")
    added = await api.post(
        f"/api/campaigns/{cid}/records",
        json={"records": [{"phone": "+12125550112"}, {"phone": "+12125550113"}]},
        headers={"X-Actor": "mallory"},
    )
    assert added.status == 201
    assert (await _campaign(api, cid))["status"] == "paused"
    last = (await _history(api, cid))[-1]
    assert (last["action"], last["actor"], last["detail"]) == (
        "reopen",
        TEST_ADMIN,
        "2 records added through the API",
    )
    # Paused already: more records change nothing in its status or history.
    before = len(await _history(api, cid))
    more = await api.post(
        f"/api/campaigns/{cid}/records", json={"records": [{"phone": "+12125550115"}]}
    )
    assert more.status == 201 and len(await _history(api, cid)) == before

    assert (await api.post(f"/api/campaigns/{cid}/stop")).status == 200
    refused = await api.post(
        f"/api/campaigns/{cid}/records", json={"records": [{"phone": "+12125550114"}]}
    )
    assert refused.status == 409
    assert "stopped: it takes no new records" in (await refused.json())["error"]
    counted = await api.app[keys.db_key].fetchone(
        "SELECT count(*) AS n FROM records WHERE campaign_id = ?", (cid,)
    )
    assert counted is not None and counted["n"] == 4


async def test_an_import_reopens_a_completed_campaign(api: Client) -> None:
    cid = await _completed(api, "Import reopens")
    done = await run_import(api, cid, b"phone\n2125550120\n2125550121\n")
    assert (done["state"], done["accepted"]) == ("done", 2), done

    async def paused() -> bool:
        return bool((await _campaign(api, cid))["status"] == "paused")

    await eventually(paused, timeout=10)
    last = (await _history(api, cid))[-1]
    assert (last["action"], last["actor"]) == ("reopen", TEST_ADMIN)
    assert last["detail"] == f"import {done['id']} added records"


async def test_a_completed_campaign_may_be_edited_and_stays_completed(api: Client) -> None:
    cid = await _completed(api, "Edit completed")
    edited = await api.patch(f"/api/campaigns/{cid}", json={"max_lines": 4})
    assert edited.status == 200, await edited.text()
    body = await edited.json()
    assert (body["status"], body["max_lines"]) == ("completed", 4)
    assert (await api.post(f"/api/campaigns/{cid}/stop")).status == 409
    stopped = await _completed(api, "Edit stopped", stop=True)
    refused = await api.patch(f"/api/campaigns/{stopped}", json={"max_lines": 4})
    assert refused.status == 409
    assert (await refused.json())["error"] == "a stopped campaign cannot be edited"
    imported = await upload(api, f"/api/campaigns/{stopped}/imports", b"phone\n2125550130\n")
    assert imported.status == 409
