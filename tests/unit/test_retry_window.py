"""Retries and callbacks land inside the record's calling window (fixed clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from pbx_dialer.calls import CallEnded, TechResult
from pbx_dialer.campaigns.hours import HourCode
from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.notifier import Notifier
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import hour_codes as hour_code_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database

EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "retry.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def test_a_busy_retry_that_would_fall_after_hours_waits_for_the_next_opening(
    db: Database,
) -> None:
    """Consumer hours 09:00-18:00 in New York. A busy call at 17:55 local would be
    tried again at 18:05 (10 min): it moves to 09:00 local the next morning."""
    now = datetime(2026, 11, 23, 22, 55, tzinfo=UTC).timestamp()  # 17:55 in New York
    clock = lambda: now  # noqa: E731
    code = HourCode.from_json(
        {"name": "9-18", "timezone": "UTC", "weekly": {d: [["09:00", "18:00"]] for d in EVERY_DAY}}
    )
    stored = await hour_code_rows.create(db, code, now)
    service = CampaignService(db, Notifier(), clock)
    campaign = await service.create(
        CampaignSettings(name="c", queue="sales", consumer_hour_code_id=stored.id)
    )
    await record_rows.add_many(db, campaign.id, [record_rows.NewRecord(phone="+12125550201")], now)
    async with db.transaction() as conn:
        await conn.execute("UPDATE records SET timezone = 'America/New_York'")
    [attempt] = await attempt_rows.take_records(db, campaign.id, "main", 1, now)
    dialer = Dialer(db, {}, service, Notifier(), clock)
    ended = CallEnded(attempt.id, TechResult.BUSY, at=now, ring_s=1.0)
    assert await attempt_rows.finish(db, ended) is not None
    row = await db.fetchone("SELECT state, next_attempt_at FROM records")
    assert row is not None and row["state"] == "ready"
    assert row["next_attempt_at"] == now + 600
    await dialer.align_next_attempt(attempt.id)
    row = await db.fetchone("SELECT next_attempt_at FROM records")
    assert row is not None
    expected = datetime(2026, 11, 24, 14, 0, tzinfo=UTC).timestamp()  # 09:00 New York
    assert row["next_attempt_at"] == expected
