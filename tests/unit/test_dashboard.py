"""The dashboard's data: bands, transfer icons, controls, paging and sorting, a fixed
number of queries per page, the API's checks and the websocket's pushes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.auth.model import Role, User
from pbx_dialer.campaigns.dashboard import (
    DashboardService,
    PageRequest,
    controls_for,
    progress_pct,
    transfer_state,
)
from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus, Suspension
from pbx_dialer.http import dashboard as dashboard_http
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.records.inventory import fold
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage import users as user_rows
from pbx_dialer.storage.db import Database
from tests.conftest import app_client, offline_settings, start_client

Client = TestClient[web.Request, web.Application]
# 2027-01-15 12:00 UTC: a Friday noon, far from any DST change.
NOW = 1_800_000_000.0 - (1_800_000_000 % 86400) + 12 * 3600
MIN = 60.0


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "dash.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


def no_agents(campaign: Campaign) -> int:
    return 0


def service(db: Database, agents: Any = no_agents, zone: str = "UTC") -> DashboardService:
    return DashboardService(db, lambda: NOW, zone, agents)


async def new_campaign(db: Database, name: str, created: float = NOW, **settings: Any) -> int:
    campaign = await campaign_rows.create(db, CampaignSettings(name=name, **settings), created)
    return campaign.id


async def put_records(db: Database, campaign_id: int, rows: Iterable[tuple[str, float]]) -> None:
    """Records in a state, due at a time (`next_attempt_at`)."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO records (campaign_id, phone, state, next_attempt_at, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (campaign_id, f"+1202555{n:04d}", state, due, NOW - 3600)
                for n, (state, due) in enumerate(rows)
            ],
        )


async def put_transfer(db: Database, campaign_id: int, at: float) -> None:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO records (campaign_id, phone, state, created_at) VALUES (?, ?, ?, ?)",
            (campaign_id, "+12025559999", "handled", at),
        )
        record_id = cursor.lastrowid
        cursor = await conn.execute(
            "INSERT INTO attempts (campaign_id, record_id, pbx, channel_id, phone, state, "
            "placed_at) VALUES (?, ?, 'main', ?, '+12025559999', 'ended', ?)",
            (campaign_id, record_id, f"pbxd-{campaign_id}-{at}", at - 60),
        )
        await conn.execute(
            "INSERT INTO transfers (attempt_id, campaign_id, kind, at, transferred_by, target) "
            "VALUES (?, ?, 'blind', ?, 'Agent 7001', '6001@sim-agents')",
            (cursor.lastrowid, campaign_id, at),
        )


# -- pure parts ------------------------------------------------------------------------


def test_transfer_icon_states() -> None:
    def summary(recent: int, today: int) -> dict[str, Any]:
        return {"transfers_last_15_min": recent, "transfers_today": today}

    assert transfer_state(summary(2, 5)) == "recent"
    assert transfer_state(summary(0, 3)) == "today"
    assert transfer_state(summary(0, 0)) == "none"


def test_controls_follow_the_allowed_transitions() -> None:
    assert controls_for(CampaignStatus.DRAFT) == ["play", "stop"]
    assert controls_for(CampaignStatus.ACTIVE) == ["pause", "stop"]
    assert controls_for(CampaignStatus.PAUSED) == ["play", "stop"]
    assert controls_for(CampaignStatus.STOPPED) == []
    assert controls_for(CampaignStatus.COMPLETED) == []


def test_progress_is_whole_percent_and_100_only_when_all_are_done() -> None:
    assert progress_pct({"completed": 0}, 0) == 0
    assert progress_pct({"completed": 1}, 3) == 33
    assert progress_pct({"completed": 999}, 1000) == 99
    assert progress_pct({"completed": 7}, 7) == 100


# -- the service, over a real SQLite file -------------------------------------------------


async def test_bands_of_many_campaigns_match_each_campaigns_own_inventory(db: Database) -> None:
    layouts: dict[str, list[tuple[str, float]]] = {
        "Gray half": [("handled", 0)] * 5 + [("ready", NOW - MIN)] * 5,
        "All done": [("handled", 0), ("max_calls", 0), ("filtered", 0), ("cancelled", 0)],
        "Spread": [
            ("ready", NOW),  # due exactly now: ready now
            ("ready", NOW + 10 * MIN),
            ("ready", NOW + 15 * MIN),  # the edge belongs to 0-15
            ("ready", NOW + 20 * MIN),
            ("ready", NOW + 31 * MIN),
            ("ready", NOW + 90 * MIN),
            ("in_progress", NOW - MIN),
        ],
        "Empty": [],
    }
    ids = {}
    for name, rows in layouts.items():
        ids[name] = await new_campaign(db, name)
        await put_records(db, ids[name], rows)
    page = await service(db).page(PageRequest())
    by_name = {p["name"]: p for p in page["campaigns"]}
    assert page["total"] == 4
    assert [p["name"] for p in page["campaigns"]] == list(layouts)
    for name, campaign_id in ids.items():
        own = fold(await record_rows.inventory_counts(db, campaign_id, NOW))
        panel = by_name[name]
        assert panel["records"] == own["total"] == len(layouts[name])
        assert panel["bands"] == {k: own["bands"][k] for k in panel["bands"]}
    assert by_name["Gray half"]["bands"]["completed"] == 5
    assert by_name["Gray half"]["bands"]["ready_now"] == 5
    assert by_name["Gray half"]["progress_pct"] == 50
    assert by_name["All done"]["bands"]["completed"] == 4
    assert by_name["All done"]["progress_pct"] == 100
    assert by_name["All done"]["waiting"] == 0
    spread = by_name["Spread"]["bands"]
    assert (spread["ready_now"], spread["due_0_15"], spread["due_15_30"]) == (1, 2, 1)
    assert spread["due_30_plus"] == 2
    assert by_name["Spread"]["in_progress"] == 1
    assert by_name["Spread"]["waiting"] == 6
    assert by_name["Empty"]["records"] == 0


async def test_transfer_icons_by_time_and_zone(db: Database) -> None:
    recent = await new_campaign(db, "Recent")
    today = await new_campaign(db, "Earlier today")
    yesterday = await new_campaign(db, "Yesterday")
    await new_campaign(db, "Quiet")
    await put_transfer(db, recent, NOW - 14 * MIN)
    await put_transfer(db, recent, NOW - 2 * 3600)
    await put_transfer(db, today, NOW - 16 * MIN)
    await put_transfer(db, yesterday, NOW - 13 * 3600)  # 23:00 UTC the day before
    page = await service(db).page(PageRequest())
    got = {p["name"]: p["transfers"] for p in page["campaigns"]}
    assert got["Recent"]["state"] == "recent"
    assert got["Recent"]["transfers_last_15_min"] == 1
    assert got["Recent"]["transfers_today"] == 2
    assert got["Recent"]["last_transfer_at"] == NOW - 14 * MIN
    assert got["Earlier today"]["state"] == "today"
    assert got["Yesterday"]["state"] == "none"
    assert got["Quiet"] == {
        "state": "none",
        "last_transfer_at": None,
        "transfers_last_15_min": 0,
        "transfers_today": 0,
    }
    # 23:00 UTC yesterday was 08:00 today in Tokyo: the call centre's zone decides
    # what today is.
    tokyo = await service(db, zone="Asia/Tokyo").page(PageRequest())
    assert {p["name"]: p["transfers"]["state"] for p in tokyo["campaigns"]}["Yesterday"] == "today"


async def test_the_call_centre_hour_codes_zone_decides_today(db: Database) -> None:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO hour_codes (name, timezone, created_at, updated_at) "
            "VALUES ('Tokyo desk', 'Asia/Tokyo', 0, 0)"
        )
        code_id = cursor.lastrowid
    tokyo = await new_campaign(db, "Tokyo", cc_hour_code_id=code_id)
    utc = await new_campaign(db, "UTC")
    for campaign_id in (tokyo, utc):
        await put_transfer(db, campaign_id, NOW - 13 * 3600)
    page = await service(db).page(PageRequest())
    states = {p["name"]: p["transfers"]["state"] for p in page["campaigns"]}
    assert states == {"Tokyo": "today", "UTC": "none"}


async def test_suspension_agents_and_controls_on_the_panel(db: Database) -> None:
    campaign_id = await new_campaign(db, "Held", queue="sales")
    await campaign_rows.set_status(
        db,
        campaign_id,
        CampaignStatus.DRAFT,
        CampaignStatus.ACTIVE,
        action="play",
        actor="t",
        now=NOW,
    )
    await campaign_rows.set_status(
        db,
        campaign_id,
        CampaignStatus.ACTIVE,
        CampaignStatus.PAUSED,
        action="suspend",
        actor="t",
        now=NOW,
        suspension=Suspension(until=NOW + 3600),
    )
    seen: list[str] = []

    def agents(campaign: Campaign) -> int:
        seen.append(campaign.settings.queue)
        return 3

    (panel,) = (await service(db, agents=agents).page(PageRequest()))["campaigns"]
    assert panel["suspended"] is True
    assert panel["resume_at"] == NOW + 3600
    assert panel["status"] == "paused"
    assert panel["controls"] == ["play", "stop"]
    assert panel["agents_logged_in"] == 3
    assert seen == ["sales"]


async def test_pages_sorting_and_ids(db: Database) -> None:
    names = [f"Campaign {n:03d}" for n in range(120)]
    for n, name in enumerate(names):
        # Created in an order unlike the ids' and the names': every 7th a day earlier.
        await new_campaign(db, name, created=NOW - (86400 if n % 7 == 0 else n))
    svc = service(db)
    first = await svc.page(PageRequest(0, 50))
    second = await svc.page(PageRequest(50, 50))
    third = await svc.page(PageRequest(100, 50))
    assert first["total"] == second["total"] == third["total"] == 120
    shown = [p["name"] for p in first["campaigns"] + second["campaigns"] + third["campaigns"]]
    assert shown == names
    by_name_desc = await svc.page(PageRequest(0, 500, sort="name", descending=True))
    assert [p["name"] for p in by_name_desc["campaigns"]] == sorted(names, reverse=True)
    by_created = await svc.page(PageRequest(0, 500, sort="created_at"))
    created = [p["created_at"] for p in by_created["campaigns"]]
    assert created == sorted(created)
    chosen = await svc.page(PageRequest(0, 50, ids=[3, 5, 999]))
    assert [p["id"] for p in chosen["campaigns"]] == [3, 5]
    assert chosen["total"] == 2


async def test_status_sort_both_directions(db: Database) -> None:
    statuses = {"B draft": None, "A active": "play", "C stopped": "stop"}
    for name, control in statuses.items():
        campaign_id = await new_campaign(db, name)
        if control:
            target = CampaignStatus.ACTIVE if control == "play" else CampaignStatus.STOPPED
            await campaign_rows.set_status(
                db, campaign_id, CampaignStatus.DRAFT, target, action=control, actor="t", now=NOW
            )
    up = await service(db).page(PageRequest(sort="status"))
    down = await service(db).page(PageRequest(sort="status", descending=True))
    assert [p["status"] for p in up["campaigns"]] == ["active", "draft", "stopped"]
    assert [p["status"] for p in down["campaigns"]] == ["stopped", "draft", "active"]


async def test_a_page_costs_the_same_queries_for_5_or_50_campaigns(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(50):
        campaign_id = await new_campaign(db, f"C{n}")
        await put_records(db, campaign_id, [("ready", NOW), ("handled", 0)])
        await put_transfer(db, campaign_id, NOW - MIN)
    queries: list[str] = []
    fetchall, fetchone = db.fetchall, db.fetchone

    async def counted_all(sql: str, params: Any = ()) -> Any:
        queries.append(sql)
        return await fetchall(sql, params)

    async def counted_one(sql: str, params: Any = ()) -> Any:
        queries.append(sql)
        return await fetchone(sql, params)

    monkeypatch.setattr(db, "fetchall", counted_all)
    monkeypatch.setattr(db, "fetchone", counted_one)
    small = await service(db).page(PageRequest(0, 5))
    few = len(queries)
    queries.clear()
    big = await service(db).page(PageRequest(0, 50))
    assert len(small["campaigns"]) == 5 and len(big["campaigns"]) == 50
    assert len(queries) == few <= 5
    assert all(p["transfers"]["state"] == "recent" for p in big["campaigns"])


# -- the API and the websocket, served on loopback ---------------------------------------


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    settings = offline_settings(tmp_path / "api.sqlite3")
    client = await start_client(app_client(create_app(settings, clock=lambda: NOW)))
    try:
        yield client
    finally:
        await client.close()


async def test_api_pages_and_answers(api: Client) -> None:
    db = api.app[keys.db_key]
    for n in range(3):
        campaign_id = await new_campaign(db, f"Api {n}")
        await put_records(db, campaign_id, [("ready", NOW + 20 * MIN)] * (n + 1))
    response = await api.get("/api/dashboard?offset=1&limit=1&sort=name&order=desc")
    assert response.status == 200
    body = await response.json()
    assert body["total"] == 3
    assert [c["name"] for c in body["campaigns"]] == ["Api 1"]
    assert body["campaigns"][0]["bands"]["due_15_30"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("sort=phone", "sort"),
        ("order=up", "order"),
        ("ids=1,,2", "ids"),
        ("ids=" + ",".join(["1"] * 501), "ids"),
    ],
)
async def test_api_names_each_bad_parameter(api: Client, query: str, field: str) -> None:
    response = await api.get(f"/api/dashboard?{query}")
    assert response.status == 422
    body = await response.json()
    assert body["error"] == "invalid dashboard query"
    assert set(body["fields"]) == {field}


async def next_change(ws: Any, ticks: list[float]) -> dict[str, Any]:
    """The next message that is not a tick (ticks are counted in `ticks`)."""
    loop = asyncio.get_running_loop()
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=5)
        if message != {"type": "tick"}:
            return message
        ticks.append(loop.time())


async def test_websocket_names_the_changed_campaign_and_ticks(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_http, "TICK_S", 0.3)
    ticks: list[float] = []
    async with api.ws_connect("/ws/dashboard") as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello == {"type": "hello", "tick_s": 0.3}
        created = await api.post("/api/campaigns", json={"name": "Pushed"})
        campaign_id = (await created.json())["id"]
        message = await next_change(ws, ticks)
        assert message == {"type": "changed", "cause": "campaign", "campaign_id": campaign_id}
        api.app[keys.notifier_key].publish("call", {"attempt_id": 1, "campaign_id": campaign_id})
        api.app[keys.notifier_key].publish(
            "transfer", {"attempt_id": 1, "campaign_id": campaign_id}
        )
        # The call message is not the dashboard's business; the transfer is.
        message = await next_change(ws, ticks)
        assert message == {"type": "changed", "cause": "transfer", "campaign_id": campaign_id}
        # With nothing else happening, the ticks keep coming.
        while len(ticks) < 2:
            assert await ws.receive_json(timeout=5) == {"type": "tick"}
            ticks.append(asyncio.get_running_loop().time())


async def token_for(client: Client, user: User) -> str:
    """An API token of a new user with this role and Campaigns profile."""
    db = client.app[keys.db_key]
    user_id = await user_rows.create(db, user, "not used", NOW)
    _, token = await client.app[keys.auth_key].new_token(user_id, "test")
    return token


async def test_a_user_sees_only_the_campaigns_of_their_profile(api: Client) -> None:
    db = api.app[keys.db_key]
    mine = await new_campaign(db, "Mine")
    theirs = await new_campaign(db, "Theirs")
    token = await token_for(
        api,
        User(
            id=0,
            username="vic",
            role=Role.VIEWER,
            all_campaigns=False,
            campaign_ids=frozenset({mine}),
        ),
    )
    bearer = {"Authorization": f"Bearer {token}"}
    response = await api.get("/api/dashboard", headers=bearer)
    assert response.status == 200
    body = await response.json()
    assert [c["id"] for c in body["campaigns"]] == [mine]
    assert body["total"] == 1
    # A viewer gets no steering controls, even where the status allows them.
    assert body["may_steer"] is False
    assert body["campaigns"][0]["controls"] == []
    asked = await api.get(f"/api/dashboard?ids={mine},{theirs}", headers=bearer)
    assert [c["id"] for c in (await asked.json())["campaigns"]] == [mine]

    admin = await (await api.get("/api/dashboard")).json()
    assert admin["may_steer"] is True
    assert {c["id"] for c in admin["campaigns"]} == {mine, theirs}
    assert admin["campaigns"][0]["controls"] == ["play", "stop"]

    async with api.ws_connect("/ws/dashboard", headers=bearer) as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        notifier = api.app[keys.notifier_key]
        notifier.publish("transfer", {"attempt_id": 1, "campaign_id": theirs})
        notifier.publish("transfer", {"attempt_id": 2, "campaign_id": mine})
        # Only the campaign of the profile is named; the other never reaches this page.
        message = await ws.receive_json(timeout=5)
        assert message == {"type": "changed", "cause": "transfer", "campaign_id": mine}


async def test_without_the_campaigns_privilege_the_list_is_refused(api: Client) -> None:
    token = await token_for(
        api, User(id=0, username="nolist", role=Role.SUPERVISOR, may_list_campaigns=False)
    )
    response = await api.get("/api/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 403
    assert "Campaigns privilege" in (await response.json())["error"]
