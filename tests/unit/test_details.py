"""The campaign details service and its queries on a real SQLite file: the pie's
segments for records settled through the real attempt flow, wildcard search of the
customers, time periods, delivery results, records loaded, wrap-up and dial level."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.calls import AgentState, CallEnded, CallRecording, TechResult
from pbx_dialer.campaigns import details
from pbx_dialer.campaigns.model import Campaign, CampaignSettings
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.config import DatabaseSettings, DialerSettings, PbxSettings, Settings
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.http.details import recordings_key
from pbx_dialer.notifier import Notifier
from pbx_dialer.records.search import to_like
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import details as detail_rows
from pbx_dialer.storage import dnc as dnc_rows
from pbx_dialer.storage import lists as list_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage import transfers as transfer_rows
from pbx_dialer.storage.db import Database
from pbx_dialer.storage.records import NewRecord, RecordFilter
from tests.conftest import app_client, start_client

Client = TestClient[web.Request, web.Application]
T0 = 1_800_000_000.0
DAY = 86_400.0

# name, phone, external id, and what happens to the record (see `settled`).
PEOPLE = [
    ("Smith", "+12025550101", "EXT-101", "handled by default"),
    ("Smyth", "+12025550102", "EXT-102", "sold"),
    ("Smithers", "+12025550103", "EXT-103", "busy once"),
    ("Smooth", "+12025550104", "EXT-104", "callback"),
    ("Jones", "+12025550105", "EXT-105", "on a call"),
    ("Brown", "+12025550106", "EXT-106", "no answer, out of attempts"),
    ("Green", "+12025550107", "ALT-107", "on the DNC list"),
    ("White", "+12025550108", "ALT-108", "cancelled"),
    ("Black", "+12025550109", "ALT-109", "never dialed"),
    ("Grey", "+12025550110", "ALT-110", "never dialed"),
]
HELD = ("Held", "+12025550111", "HLD-111")
AGENT = "Agent 7001"


@dataclass
class Settled:
    db: Database
    campaign: Campaign
    attempts: dict[str, int]  # name -> latest attempt id
    held_list: int


def ended(attempt_id: int, result: TechResult, at: float, agent: str | None = None) -> CallEnded:
    return CallEnded(attempt_id=attempt_id, result=result, at=at, agent=agent)


# The campaign the records above belong to: two attempts at most, a busy line is tried
# again, an unanswered one is not.
SETTINGS: dict[str, Any] = {
    "name": "Winter",
    "queue": "sales",
    "max_attempts": 2,
    "retry_rules": {
        "BUSY": {"delay_s": 600, "max_attempts": 3},
        "NOANSWER": {"delay_s": 600, "max_attempts": 1},
    },
}


async def settle(db: Database, campaign_id: int, t0: float) -> tuple[dict[str, int], int]:
    """Load PEOPLE at t0 and settle them through take_records / classify / finish as
    their descriptions say; plus HELD, loaded two days earlier into a list then disabled.
    Returns the attempt id per name and the disabled list's id."""
    held = await list_rows.create(db, campaign_id, "Old list", "csv", t0 - 2 * DAY)
    await record_rows.add_many(
        db, campaign_id, [NewRecord(HELD[1], HELD[0], HELD[2])], t0 - 2 * DAY, list_id=held.id
    )
    await list_rows.update(db, campaign_id, held.id, enabled=False)
    await record_rows.add_many(
        db, campaign_id, [NewRecord(phone, name, ext) for name, phone, ext, _ in PEOPLE], t0
    )
    taken = await attempt_rows.take_records(db, campaign_id, "main", 6, t0)
    ids = {PEOPLE[i][0]: a.id for i, a in enumerate(taken)}
    assert [a.phone for a in taken] == [p[1] for p in PEOPLE[:6]]
    for name in ("Smith", "Smyth", "Smooth"):
        await attempt_rows.mark(db, ids[name], "connected", connected_at=t0 + 5, agent=AGENT)
    await attempt_rows.classify(db, ids["Smyth"], "SALE", AGENT, t0 + 10)
    await attempt_rows.classify(
        db, ids["Smooth"], "CALLBACK", AGENT, t0 + 10, callback_at=t0 + 3600
    )
    await attempt_rows.finish_many(
        db,
        [
            ended(ids["Smith"], TechResult.SUCCESS, t0 + 25, AGENT),
            ended(ids["Smyth"], TechResult.SUCCESS, t0 + 20, AGENT),
            ended(ids["Smithers"], TechResult.BUSY, t0 + 2),
            ended(ids["Smooth"], TechResult.SUCCESS, t0 + 20, AGENT),
            ended(ids["Brown"], TechResult.NOANSWER, t0 + 30),
        ],
    )
    await dnc_rows.add_many(db, 0, ["+12025550107"], "api", t0 + 40)
    await record_rows.cancel(
        db, campaign_id, RecordFilter(name=to_like("White")), "supervisor", t0 + 50
    )
    return ids, held.id


@pytest_asyncio.fixture
async def settled(tmp_path: Path) -> AsyncIterator[Settled]:
    db = await Database.open(str(tmp_path / "details.sqlite3"))
    campaign = await campaign_rows.create(db, CampaignSettings(**SETTINGS), T0 - 3 * DAY)
    ids, held = await settle(db, campaign.id, T0)
    try:
        yield Settled(db, campaign, ids, held)
    finally:
        await db.close()


def segment(pie: dict[str, Any], key: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in pie["segments"] if s["key"] == key]
    assert len(found) == 1
    return found[0]


def parts(pie: dict[str, Any], key: str) -> dict[str, int]:
    return {p["key"]: p["count"] for p in segment(pie, key)["parts"]}


async def test_pie_segments_follow_the_record_states(settled: Settled) -> None:
    groups = await detail_rows.pie_groups(settled.db, settled.campaign.id)
    pie = details.pie(groups, settled.campaign.settings)
    assert pie["total"] == len(PEOPLE) + 1
    assert [s["key"] for s in pie["segments"]] == [
        "handled",
        "max_calls",
        "filtered",
        "not_handled",
    ]
    assert parts(pie, "handled") == {"CONTACTED": 1, "SALE": 1}
    assert parts(pie, "max_calls") == {"NOANSWER": 1}
    assert parts(pie, "filtered") == {"DNC": 1, "CANCELLED": 1}
    assert parts(pie, "not_handled") == {
        "NEW": 2,
        "DIALING": 1,
        "CALLBACK": 1,
        "ON CALL": 1,
        "HELD": 1,
    }
    for s in pie["segments"]:
        assert s["count"] == sum(p["count"] for p in s["parts"])
        assert s["pct"] == round(100 * s["count"] / pie["total"], 2)
    # Labels are the campaign's own words for its classifications.
    assert {p["key"]: p["label"] for p in segment(pie, "handled")["parts"]}["SALE"] == "Sale"
    assert {p["key"]: p["label"] for p in segment(pie, "not_handled")["parts"]} == {
        "NEW": "New",
        "DIALING": "Dialing",
        "CALLBACK": "Callback",
        "ON CALL": "On call",
        "HELD": "Held (list disabled)",
    }
    assert {p["key"]: p["label"] for p in segment(pie, "max_calls")["parts"]} == {
        "NOANSWER": "NOANSWER"
    }
    # The biggest part of a segment comes first.
    assert segment(pie, "not_handled")["parts"][0]["key"] == "NEW"


async def test_an_empty_campaign_has_an_empty_pie() -> None:
    pie = details.pie([], CampaignSettings(name="Empty"))
    assert pie["total"] == 0
    assert all(s["count"] == 0 and s["pct"] == 0 and s["parts"] == [] for s in pie["segments"])


async def customers(settled: Settled, **patterns: str) -> list[dict[str, Any]]:
    like = {k: to_like(v) for k, v in patterns.items()}
    where = RecordFilter(
        q=like.get("q"),
        name=like.get("name"),
        phone=like.get("phone"),
        external_id=like.get("external_id"),
    )
    rows, total = await detail_rows.customers(
        settled.db, settled.campaign.id, where, T0 + 60, 100, 0
    )
    assert total == len(rows)
    return rows


@pytest.mark.parametrize(
    ("patterns", "names"),
    [
        ({"name": "Sm?th"}, ["Smith", "Smyth"]),
        ({"name": "Sm*th"}, ["Smith", "Smyth", "Smooth"]),
        ({"name": "sm*"}, ["Smith", "Smyth", "Smithers", "Smooth"]),
        ({"name": "Smith"}, ["Smith"]),
        ({"phone": "+1202555010?"}, [p[0] for p in PEOPLE[:9]]),
        ({"phone": "*11?"}, ["Grey", "Held"]),
        ({"external_id": "ALT-*"}, ["Green", "White", "Black", "Grey"]),
        ({"name": "G*", "external_id": "*7"}, ["Green"]),
        ({"q": "*10?"}, [p[0] for p in PEOPLE[:9]]),
        ({"q": "*-11?"}, ["Grey", "Held"]),
        ({"name": "Nobody*"}, []),
    ],
)
async def test_wildcard_search(
    settled: Settled, patterns: dict[str, str], names: list[str]
) -> None:
    found = await customers(settled, **patterns)
    # Held was added first: id order puts it first.
    expected = sorted(names, key=lambda n: -1 if n == "Held" else [p[0] for p in PEOPLE].index(n))
    assert [r["name"] for r in found] == expected


async def test_customer_results_and_times(settled: Settled) -> None:
    settings = settled.campaign.settings
    rows = {r["name"]: r for r in await customers(settled)}
    live = await detail_rows.live_attempts(settled.db, [rows["Jones"]["id"]])
    results = {
        name: details.customer_result(
            r["state"], r["attempts"], bool(r["list_enabled"]), r["classification"], settings
        )
        for name, r in rows.items()
    }
    assert results == {
        "Held": "HELD",
        "Smith": "CALL",
        "Smyth": "CALL",
        "Smithers": "DIALING",
        "Smooth": "CALLBACK",
        "Jones": "ON CALL",
        "Brown": "MAX CALLS",
        "Green": "FILTERED",
        "White": "CANCELLED",
        "Black": "NEW",
        "Grey": "NEW",
    }

    def when(name: str) -> dict[str, Any]:
        return details.customer_time(rows[name], results[name], live.get(rows[name]["id"]))

    assert when("Smith") == {"time": T0 + 25, "time_kind": "handled"}
    assert when("Held") == {"time": None, "time_kind": "held"}
    assert when("Smithers") == {"time": T0 + 2 + 600, "time_kind": "next"}
    assert when("Smooth") == {"time": T0 + 3600, "time_kind": "next"}
    assert when("Jones") == {"time": T0, "time_kind": "since"}
    assert when("Brown") == {"time": T0 + 30, "time_kind": "handled"}
    assert when("White") == {"time": T0 + 50, "time_kind": "handled"}
    assert rows["Smithers"]["last_result"] == "BUSY"
    assert rows["Smyth"]["classification"] == "SALE"
    assert rows["Green"]["reason"] == "DNC"
    assert rows["Smith"]["phones"] == ["+12025550101"]
    tried = await detail_rows.attempt_counts(settled.db, [r["id"] for r in rows.values()])
    assert tried == {(rows[p[0]]["id"], p[1]): 1 for p in PEOPLE[:6]}


async def test_attempts_of_a_record_and_of_another_campaign(settled: Settled) -> None:
    rows = {r["name"]: r for r in await customers(settled)}
    found = await detail_rows.record_attempts(settled.db, settled.campaign.id, rows["Smyth"]["id"])
    assert found is not None
    [attempt] = found
    assert attempt["id"] == settled.attempts["Smyth"]
    assert (attempt["result"], attempt["classification"], attempt["agent"]) == (
        "SUCCESS",
        "SALE",
        AGENT,
    )
    assert await detail_rows.record_attempts(settled.db, settled.campaign.id + 1, 1) is None


def test_periods() -> None:
    now, midnight = T0, T0 - 5000
    assert details.period(None, None, None, now, midnight) == details.Period(
        "today", midnight, now + 1
    )
    assert details.period("24h", None, None, now, midnight).since == now - DAY
    assert details.period("7d", "", "", now, midnight).since == now - 7 * DAY
    custom = details.period("custom", "2027-01-15T08:00:00+01:00", str(T0), now, midnight)
    assert custom.since == datetime(2027, 1, 15, 7, tzinfo=UTC).timestamp()
    assert custom.until == T0
    assert details.period("custom", str(T0 - 100), None, now, midnight).until == now + 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("yesterday", None, None), "period"),
        (("24h", str(T0), None), "since"),
        (("today", None, str(T0)), "until"),
        (("custom", None, None), "since"),
        (("custom", "2026-11-23T10:00:00", None), "since"),
        (("custom", "soon", None), "since"),
        (("custom", str(T0), str(T0 - 1)), "until"),
        (("custom", "nan", None), "since"),
        (("custom", str(T0), "1e300"), "until"),
    ],
)
def test_bad_periods_name_the_field(args: tuple[str, str | None, str | None], field: str) -> None:
    with pytest.raises(details.BadQuery) as raised:
        details.period(*args, T0, T0 - 5000)
    assert raised.value.field == field


def test_media_filter() -> None:
    assert details.media_filter(None) is None
    assert details.media_filter("all") is None
    assert details.media_filter("agent") == "agent"
    with pytest.raises(details.BadQuery) as raised:
        details.media_filter("fax")
    assert raised.value.field == "media"


async def test_delivery_results_by_period_and_media(settled: Settled) -> None:
    db, cid = settled.db, settled.campaign.id
    # Brown's attempt was placed three days earlier.
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE attempts SET placed_at = ? WHERE id = ?",
            (T0 - 3 * DAY, settled.attempts["Brown"]),
        )
    day = await detail_rows.delivery(db, cid, T0 - DAY, T0 + 100, None, 100)
    assert day["total"] == 5
    assert day["results"] == {"SUCCESS": 3, "BUSY": 1, "IN_PROGRESS": 1}
    assert day["classifications"] == {"CONTACTED": 1, "SALE": 1, "CALLBACK": 1, "RETRY": 1, "": 1}
    assert [a["id"] for a in day["attempts"]] == sorted(
        (v for k, v in settled.attempts.items() if k != "Brown"), reverse=True
    )
    assert {a["media"] for a in day["attempts"]} == {"agent"}
    week = await detail_rows.delivery(db, cid, T0 - 7 * DAY, T0 + 100, "agent", 2)
    assert week["total"] == 6 and week["results"]["NOANSWER"] == 1 and len(week["attempts"]) == 2
    # Smithers got a recorded message (an agentless campaign's call).
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE attempts SET media = 'message' WHERE id = ?", (settled.attempts["Smithers"],)
        )
    messages = await detail_rows.delivery(db, cid, 0, T0 + 100, "message", 100)
    assert messages["results"] == {"BUSY": 1}
    assert [(a["id"], a["media"]) for a in messages["attempts"]] == [
        (settled.attempts["Smithers"], "message")
    ]
    agents = await detail_rows.delivery(db, cid, 0, T0 + 100, "agent", 100)
    assert agents["total"] == 5 and "BUSY" not in agents["results"]


async def test_records_loaded_by_period(settled: Settled) -> None:
    db, cid = settled.db, settled.campaign.id
    today = await detail_rows.records_loaded(db, cid, T0 - DAY, T0 + 1)
    assert [(r["list_name"], r["source"], r["n"], r["enabled"]) for r in today] == [
        ("API", "api", len(PEOPLE), True)
    ]
    week = await detail_rows.records_loaded(db, cid, T0 - 7 * DAY, T0 + 1)
    assert [(r["list_name"], r["n"], r["enabled"]) for r in week] == [
        ("Old list", 1, False),
        ("API", len(PEOPLE), True),
    ]


async def test_wrapup_is_an_unclassified_call_that_just_ended(settled: Settled) -> None:
    db, cid = settled.db, settled.campaign.id
    # The agent's latest call, Smith's (ended T0 + 25), is not classified yet: the
    # agent is in wrap-up for WRAPUP_S after it.
    assert await detail_rows.unclassified_since(db, cid, T0 + 25 - details.WRAPUP_S) == {
        AGENT: T0 + 25
    }
    assert await detail_rows.unclassified_since(db, cid, T0 + 25) == {}
    # Once classified, the agent is out of wrap-up at once.
    await attempt_rows.classify(db, settled.attempts["Smith"], "SALE", AGENT, T0 + 30)
    assert await detail_rows.unclassified_since(db, cid, T0) == {}
    assert await detail_rows.abandonment_since(db, cid, T0) == {
        "answered": 3,
        "abandoned": 0,
        "pct": 0.0,
    }


def agent(name: str, status: int, *, paused: bool = False, in_call: bool = False) -> AgentState:
    return AgentState("sales", f"Local/{name}@sim", name, status, paused, in_call)


def test_agent_counts_and_dial_level() -> None:
    agents = [
        agent("a1", 1),
        agent("a2", 1),
        agent("a3", 2),
        agent("a4", 1, in_call=True),
        agent("a5", 1, paused=True),
        agent("a6", 5),
        agent("a7", 6),
    ]
    counts = details.agent_counts(agents, {"a2", "Local/a3@sim"})
    assert counts == {"logged_in": 6, "idle": 1, "on_call": 3, "wrapup": 1, "paused": 1}
    assert details.dial_level(5, counts["logged_in"] - counts["paused"]) == 1.0
    assert details.dial_level(3, 2) == 1.5
    assert details.dial_level(2, 0) is None


def app_with_recordings(tmp_path: Path, monitor: Path, pbx: PbxSettings) -> web.Application:
    settings = Settings(
        database=DatabaseSettings(path=str(tmp_path / "served.sqlite3")),
        pbx=(pbx,),
        dialer=DialerSettings(tick_seconds=0.2),
    )
    app = create_app(settings)
    app[recordings_key] = {pbx.name: monitor}
    return app


@pytest_asyncio.fixture
async def served(tmp_path: Path) -> AsyncIterator[Client]:
    """The app without Asterisk, its recordings in tmp_path/monitor, logged in as the
    test admin."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    pbx = PbxSettings(port=closed_port, secret="unused", connect_timeout=0.5)
    client = await start_client(
        app_client(app_with_recordings(tmp_path, tmp_path / "monitor", pbx))
    )
    try:
        yield client
    finally:
        await client.close()


async def recorded_attempts(api: Client, files: list[str]) -> list[int]:
    """A campaign with one dialed record per file name, each attempt recorded into it."""
    created = await api.post("/api/campaigns", json={"name": "Recorded", "queue": "sales"})
    cid = (await created.json())["id"]
    records = [{"phone": f"+1202555{n:04d}", "name": f"R{n}"} for n in range(len(files))]
    response = await api.post(f"/api/campaigns/{cid}/records", json={"records": records})
    assert response.status == 201
    db = api.app[keys.db_key]
    taken = await attempt_rows.take_records(db, cid, "main", len(files), T0)
    for attempt, name in zip(taken, files, strict=True):
        await transfer_rows.set_recording(db, CallRecording(attempt.id, name, T0))
    return [a.id for a in taken]


async def test_recording_download_and_refusals(served: Client, tmp_path: Path) -> None:
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    sound = b"RIFF" + bytes(range(256)) * 40
    (monitor / "pbxd-1-aa.wav").write_bytes(sound)
    (tmp_path / "secret.wav").write_bytes(b"not yours")
    good, outside, absolute, gone = await recorded_attempts(
        served, ["pbxd-1-aa.wav", "../secret.wav", str(tmp_path / "secret.wav"), "gone.wav"]
    )
    response = await served.get(f"/api/attempts/{good}/recording")
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/wav"
    assert "attachment" in response.headers["Content-Disposition"]
    assert await response.read() == sound
    for attempt in (outside, absolute):
        response = await served.get(f"/api/attempts/{attempt}/recording")
        assert response.status == 403
        assert "outside the recordings directory" in (await response.json())["error"]
    assert (await served.get(f"/api/attempts/{gone}/recording")).status == 404
    assert (await served.get(f"/api/attempts/{gone + 100}/recording")).status == 404


async def test_queries_are_checked_and_name_the_bad_field(served: Client) -> None:
    created = await served.post("/api/campaigns", json={"name": "Checked", "queue": "sales"})
    cid = (await created.json())["id"]
    for path, field in [
        ("delivery?period=yesterday", "period"),
        ("delivery?media=fax", "media"),
        ("delivery?period=custom", "since"),
        ("delivery?period=custom&since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("delivery?limit=0", "limit"),
        ("record-status?period=today&since=5", "since"),
        ("customers?name=", "name"),
        ("customers?limit=100000", "limit"),
    ]:
        response = await served.get(f"/api/campaigns/{cid}/{path}")
        assert response.status == 400, path
        assert field in (await response.json())["fields"], path
    for path in ("pie", "customers", "delivery", "record-status", "realtime"):
        assert (await served.get(f"/api/campaigns/{cid + 1}/{path}")).status == 404
    assert (await served.get(f"/api/campaigns/{cid}/records/999/attempts")).status == 404
    assert (await served.get(f"/campaigns/{cid + 1}")).status == 404


async def test_realtime_without_agents(served: Client) -> None:
    created = await served.post("/api/campaigns", json={"name": "Quiet", "queue": "sales"})
    cid = (await created.json())["id"]
    body = await (await served.get(f"/api/campaigns/{cid}/realtime")).json()
    assert body["agents"] == {"logged_in": 0, "idle": 0, "on_call": 0, "wrapup": 0, "paused": 0}
    assert body["calls"] == {"ringing": 0, "waiting": 0, "talking": 0, "queue_waiting": 0}
    assert body["dial_level"] is None
    assert body["abandonment"]["today"] == {"answered": 0, "abandoned": 0, "pct": 0.0}
    assert body["day_start"] <= body["at"] < body["day_start"] + DAY


async def test_own_reader_gives_the_same_groups(settled: Settled) -> None:
    shared_conn = await detail_rows.pie_groups(settled.db, settled.campaign.id)
    own = await detail_rows.pie_groups(settled.db, settled.campaign.id, own_reader=True)
    assert own == shared_conn and sum(g["n"] for g in own) == len(PEOPLE) + 1


async def test_a_big_campaigns_pie_is_read_once_and_reused(
    settled: Settled, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above BIG_CAMPAIGN records, pages asking together share one read, and the
    result is reused for a while: a change shows once the reuse ends."""
    monkeypatch.setattr(details, "BIG_CAMPAIGN", 5)
    monkeypatch.setattr(details, "PIE_REUSE_FACTOR", 1000.0)
    reads: list[bool] = []
    real = detail_rows.pie_groups

    async def counted(db: Database, campaign_id: int, own_reader: bool = False) -> Any:
        reads.append(own_reader)
        return await real(db, campaign_id, own_reader)

    monkeypatch.setattr(detail_rows, "pie_groups", counted)
    service = CampaignService(settled.db, Notifier(), lambda: T0 + 60)
    reader = details.CampaignDetails(
        service, Dialer(settled.db, {}, service, Notifier(), time.time)
    )
    first, second = await asyncio.gather(reader.pie(settled.campaign), reader.pie(settled.campaign))
    assert first == second and reads == [True]
    await record_rows.cancel(
        settled.db, settled.campaign.id, RecordFilter(name=to_like("Black")), "x", T0 + 70
    )
    assert await reader.pie(settled.campaign) == first and reads == [True]
    details._PIES.clear()
    fresh = await reader.pie(settled.campaign)
    assert segment(fresh, "filtered")["count"] == segment(first, "filtered")["count"] + 1
    assert reads == [True, True]
