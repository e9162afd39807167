"""The last check before a dial: each refusal, and the record kept when allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from pbx_dialer.campaigns.hours import HourCode
from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing import compliance
from pbx_dialer.notifier import Notifier
from pbx_dialer.storage import hour_codes as hour_code_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database

NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC).timestamp()  # 12:00 in New York
EVENING_NY = datetime(2026, 11, 24, 2, 0, tzinfo=UTC).timestamp()  # 21:00 in New York


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "compliance.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def setup(db: Database, phone: str = "+12125550101") -> tuple[CampaignService, int, int]:
    code = HourCode.from_json(
        {
            "name": "8-20",
            "timezone": "UTC",
            "weekly": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
    )
    stored = await hour_code_rows.create(db, code, 0.0)
    service = CampaignService(db, Notifier(), lambda: NOON_NY)
    campaign = await service.create(
        CampaignSettings(name="c", queue="s", max_attempts=2, consumer_hour_code_id=stored.id)
    )
    await record_rows.add_many(db, campaign.id, [record_rows.NewRecord(phone=phone)], 0.0)
    async with db.transaction() as conn:
        await conn.execute("UPDATE records SET timezone = 'America/New_York', attempts = 1")
    row = await db.fetchone("SELECT id FROM records")
    assert row is not None
    return service, campaign.id, int(row["id"])


async def test_allowed_with_its_reasons(db: Database) -> None:
    service, campaign_id, record_id = await setup(db)
    campaign = await service.get(campaign_id)
    verdict = await compliance.check(db, campaign, record_id, "+12125550101", NOON_NY)
    assert verdict.allowed
    assert verdict.record["attempt"] == "1 of 2"
    assert verdict.record["consumer_hours"].startswith(
        "inside consumer hours in America/New_York (local time Mon 12:00)"
    )
    assert verdict.record["call_centre"] == "the campaign has no call-centre hour code"


async def test_refused_after_hours_dnc_and_over_the_allowance(db: Database) -> None:
    service, campaign_id, record_id = await setup(db)
    campaign = await service.get(campaign_id)
    late = await compliance.check(db, campaign, record_id, "+12125550101", EVENING_NY)
    assert (late.allowed, late.refusal) == (False, "later")
    assert late.record["consumer_hours"].startswith("outside consumer hours in America/New_York")
    async with db.transaction() as conn:
        await conn.execute("UPDATE records SET attempts = 3")
    spent = await compliance.check(db, campaign, record_id, "+12125550101", NOON_NY)
    assert (spent.allowed, spent.refusal) == (False, "max_calls")
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO dnc (campaign_id, phone, added_at) VALUES (0, '+12125550101', 0)"
        )
    listed = await compliance.check(db, campaign, record_id, "+12125550101", NOON_NY)
    assert (listed.allowed, listed.refusal) == (False, "DNC")


async def test_a_batch_gets_the_verdicts_each_record_would_get_alone(db: Database) -> None:
    """The dial loop checks a whole pick at once: a DNC'd number, one over its allowance,
    an allowed one and a record that vanished each get the verdict of a lone check."""
    service, campaign_id, first = await setup(db)
    others = ["+12125550102", "+12125550103"]
    await record_rows.add_many(
        db, campaign_id, [record_rows.NewRecord(phone=p) for p in others], 0.0
    )
    async with db.transaction() as conn:
        await conn.execute("UPDATE records SET timezone = 'America/New_York', attempts = 1")
        await conn.execute("UPDATE records SET attempts = 3 WHERE phone = '+12125550103'")
        await conn.execute(
            "INSERT INTO dnc (campaign_id, phone, added_at) VALUES (?, '+12125550102', 0)",
            (campaign_id,),
        )
    ids = {r["phone"]: int(r["id"]) for r in await db.fetchall("SELECT id, phone FROM records")}
    campaign = await service.get(campaign_id)
    picked = [(first, "+12125550101"), *((ids[p], p) for p in others), (999_999, "+1555")]
    batch = await compliance.check_many(db, campaign, picked, NOON_NY)
    alone = [await compliance.check(db, campaign, r, p, NOON_NY) for r, p in picked]
    assert [v.refusal for v in batch] == ["", "DNC", "max_calls", "later"]
    assert [(v.allowed, v.refusal) for v in batch] == [(v.allowed, v.refusal) for v in alone]
