"""The hour-code API over real HTTP on loopback (no Asterisk): CRUD, refusals, the check."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys

Client = TestClient[web.Request, web.Application]

US_CONSUMER: dict[str, Any] = {
    "name": "US consumer",
    "timezone": "America/Chicago",
    "weekly": {d: [["09:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
    "holidays": ["2026-12-25"],
}
PARIS_CENTRE: dict[str, Any] = {
    "name": "Paris centre",
    "timezone": "Europe/Paris",
    "weekly": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


async def create(api: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/api/hour-codes", json=body)
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def check(api: Client, code_id: int, **params: str) -> dict[str, Any]:
    response = await api.get(f"/api/hour-codes/{code_id}/check", params=params)
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def test_create_list_get_edit_delete(api: Client) -> None:
    created = await create(api, US_CONSUMER)
    assert created["id"] > 0
    assert {k: created[k] for k in US_CONSUMER} == US_CONSUMER
    assert created["fallback_zones"] == []
    other = await create(api, PARIS_CENTRE)

    listed = await (await api.get("/api/hour-codes")).json()
    assert [c["name"] for c in listed["hour_codes"]] == ["US consumer", "Paris centre"]
    got = await (await api.get(f"/api/hour-codes/{created['id']}")).json()
    assert got == created

    response = await api.patch(
        f"/api/hour-codes/{created['id']}",
        json={"holidays": ["2026-07-04"], "fallback_zones": ["America/New_York"]},
    )
    assert response.status == 200
    edited = await response.json()
    assert edited["holidays"] == ["2026-07-04"]
    assert edited["fallback_zones"] == ["America/New_York"]
    assert edited["weekly"] == US_CONSUMER["weekly"]  # untouched
    assert edited["name"] == "US consumer"

    response = await api.delete(f"/api/hour-codes/{other['id']}")
    assert response.status == 204
    assert (await api.get(f"/api/hour-codes/{other['id']}")).status == 404
    assert (await api.delete(f"/api/hour-codes/{other['id']}")).status == 404


async def test_invalid_code_is_refused_with_each_field_and_nothing_stored(api: Client) -> None:
    response = await api.post(
        "/api/hour-codes",
        json={
            "name": "bad",
            "timezone": "Mars/Olympus",
            "weekly": {"mon": [["17:00", "09:00"]], "funday": []},
            "holidays": ["2026-13-01"],
        },
    )
    assert response.status == 422
    body = await response.json()
    assert body["error"] == "invalid hour code"
    assert set(body["fields"]) == {"timezone", "weekly.mon[0]", "weekly.funday", "holidays[0]"}
    assert (await (await api.get("/api/hour-codes")).json())["hour_codes"] == []


async def test_bad_patch_leaves_the_code_as_it_was(api: Client) -> None:
    created = await create(api, US_CONSUMER)
    response = await api.patch(
        f"/api/hour-codes/{created['id']}",
        json={"holidays": [], "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}},
    )
    assert response.status == 422
    assert (await response.json())["fields"] == {
        "weekly.mon[1]": "11:00-13:00 overlaps 09:00-12:00"
    }
    assert await (await api.get(f"/api/hour-codes/{created['id']}")).json() == created


async def test_bodies_that_are_not_json_objects(api: Client) -> None:
    for raw in (b"{not json", b"\xff\xfe", b""):
        response = await api.post("/api/hour-codes", data=raw)
        assert response.status == 400, raw
        assert "body is not" in (await response.json())["error"]
    response = await api.post("/api/hour-codes", json=["name"])
    assert response.status == 422
    assert (await response.json())["fields"] == {"body": "must be a JSON object"}


async def test_names_are_unique(api: Client) -> None:
    await create(api, US_CONSUMER)
    other = await create(api, PARIS_CENTRE)
    response = await api.post("/api/hour-codes", json=US_CONSUMER)
    assert response.status == 409
    assert (await response.json())["fields"] == {"name": "taken"}
    response = await api.patch(f"/api/hour-codes/{other['id']}", json={"name": "US consumer"})
    assert response.status == 409


async def test_unknown_ids_answer_404(api: Client) -> None:
    for method, path in [
        ("GET", "/api/hour-codes/999"),
        ("PATCH", "/api/hour-codes/999"),
        ("DELETE", "/api/hour-codes/999"),
        ("GET", "/api/hour-codes/999/check"),
        ("GET", "/api/hour-codes/99999999999999999999999"),
    ]:
        response = await api.request(method, path, json={})
        assert response.status == 404, (method, path)
        assert "error" in await response.json()


async def test_delete_refused_while_a_campaign_uses_the_code(api: Client) -> None:
    consumer = await create(api, US_CONSUMER)
    centre = await create(api, PARIS_CENTRE)
    db = api.app[keys.db_key]
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO campaigns (name, cc_hour_code_id, consumer_hour_code_id, created_at, "
            "updated_at) VALUES ('Renewals', ?, ?, 0, 0)",
            (centre["id"], consumer["id"]),
        )
        campaign_id = cursor.lastrowid
    for code in (consumer, centre):
        response = await api.delete(f"/api/hour-codes/{code['id']}")
        assert response.status == 409
        body = await response.json()
        assert body["campaigns"] == [campaign_id]
        assert f"in use by campaigns {campaign_id}" in body["error"]
        assert (await api.get(f"/api/hour-codes/{code['id']}")).status == 200
    async with db.transaction() as conn:
        await conn.execute("UPDATE campaigns SET consumer_hour_code_id = NULL")
    assert (await api.delete(f"/api/hour-codes/{consumer['id']}")).status == 204


async def test_check_new_york_closed_while_los_angeles_open_at_the_same_instant(
    api: Client,
) -> None:
    code = await create(api, US_CONSUMER)
    at = "2026-06-02T01:00:00Z"  # Mon 21:00 in New York, 18:00 in Los Angeles
    ny = await check(api, code["id"], at=at, zone="America/New_York")
    assert ny["open"] is False
    assert ny["role"] == "consumer"
    assert ny["reason"] == (
        "outside consumer hours in America/New_York (local time Mon 21:00); opens Tue 09:00 local"
    )
    assert ny["next_open"] == "2026-06-02T13:00:00Z"
    assert ny["local_time"] == "2026-06-01T21:00:00-04:00"
    assert ny["closes_at"] is None
    la = await check(api, code["id"], at=at, zone="America/Los_Angeles")
    assert la["open"] is True
    assert la["closes_at"] == "2026-06-02T04:00:00Z"
    # The zone of a number: +1 212 is New York.
    by_phone = await check(api, code["id"], at=at, phone="+12125550100")
    assert (by_phone["open"], by_phone["zone"]) == (False, "America/New_York")


async def test_check_holiday_dst_and_offsets(api: Client) -> None:
    code = await create(api, US_CONSUMER)
    christmas = await check(
        api, code["id"], at="2026-12-25T12:00:00-05:00", zone="America/New_York"
    )
    assert christmas["open"] is False
    assert christmas["holiday"] == "2026-12-25"
    assert christmas["at"] == "2026-12-25T17:00:00Z"
    # The morning after the US spring-forward (Mon 2026-03-09): 09:00 EDT = 13:00 UTC.
    monday = await check(api, code["id"], at="2026-03-09T12:30:00Z", zone="America/New_York")
    assert monday["next_open"] == "2026-03-09T13:00:00Z"


async def test_check_unknown_zone_uses_the_fallback(api: Client) -> None:
    code = await create(api, {**US_CONSUMER, "weekly": {"mon": [["10:00", "20:00"]]}})
    # +1 208 (Idaho) may be Mountain or Pacific: 10:30 in Boise, 09:30 in Los Angeles.
    verdict = await check(api, code["id"], at="2026-06-01T16:30:00Z", phone="+12085550100")
    assert verdict["open"] is False
    assert verdict["zones"] == ["America/Boise", "America/Los_Angeles"]
    assert verdict["zone"] == "America/Los_Angeles"
    assert verdict["next_open"] == "2026-06-01T17:00:00Z"
    assert verdict["reason"].startswith("time zone unknown; outside consumer hours")


async def test_check_call_centre_in_its_own_zone(api: Client) -> None:
    code = await create(api, PARIS_CENTRE)
    verdict = await check(api, code["id"], at="2026-06-06T09:00:00Z")  # Sat 11:00 in Paris
    assert verdict["role"] == "call_centre"
    assert verdict["open"] is False
    assert verdict["zone"] == "Europe/Paris"
    assert verdict["reason"] == (
        'call centre closed (hour code "Paris centre" in Europe/Paris, local time Sat 11:00); '
        "opens Mon 08:00 local"
    )
    # Without `at`: the app's clock; the answer has the same shape.
    assert set(await check(api, code["id"])) == set(verdict)


async def test_check_bad_parameters_answer_400_naming_them(api: Client) -> None:
    code = await create(api, US_CONSUMER)
    cases: list[tuple[dict[str, str], str]] = [
        ({"at": "2026-06-01T12:00:00"}, "at"),  # no offset
        ({"at": "yesterday"}, "at"),
        ({"at": "0001-01-01T00:00:00Z"}, "at"),
        ({"zone": "Mars/Olympus"}, "zone"),
        ({"phone": "12125550100"}, "phone"),
        ({"role": "boss"}, "role"),
        ({"role": "call_centre", "zone": "America/New_York"}, "role"),
    ]
    for params, field in cases:
        response = await api.get(f"/api/hour-codes/{code['id']}/check", params=params)
        assert response.status == 400, params
        assert field in (await response.json())["fields"], params
