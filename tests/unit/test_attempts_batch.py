"""Picking records and storing ended calls a batch at a time (a few statements per
batch): each attempt is stored exactly as one at a time would store it, and a second
report of an end changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from pbx_dialer.calls import CallEnded, TechResult
from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.dialing import outcomes
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database

NOW = 1_800_000_000.0


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "batch.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def _campaign(db: Database, phones: list[str]) -> tuple[int, CampaignSettings]:
    settings = CampaignSettings(name="Batch", queue="sales", max_attempts=3)
    campaign = await campaign_rows.create(db, settings, NOW)
    records = [record_rows.NewRecord(phone=p) for p in phones]
    await record_rows.add_many(db, campaign.id, records, NOW)
    return campaign.id, campaign.settings


async def test_a_pick_creates_one_attempt_per_record_with_its_own_channel_id(
    db: Database,
) -> None:
    phones = [f"+1212555{n:04d}" for n in range(5)]
    campaign_id, _ = await _campaign(db, phones)
    taken = await attempt_rows.take_records(db, campaign_id, "main", 4, NOW)
    assert len(taken) == 4
    assert sorted(a.phone for a in taken) == phones[:4]  # due first, then by id
    for attempt in taken:
        assert attempt.channel_id.startswith(f"pbxd-{attempt.id}-")
    stored = await db.fetchall("SELECT id, record_id, channel_id, phone, state FROM attempts")
    assert {(r["id"], r["record_id"], r["channel_id"], r["phone"]) for r in stored} == {
        (a.id, a.record_id, a.channel_id, a.phone) for a in taken
    }
    states = await db.fetchall("SELECT phone, state, attempts FROM records ORDER BY phone")
    assert [(r["state"], r["attempts"]) for r in states] == [("in_progress", 1)] * 4 + [
        ("ready", 0)
    ]
    # Nothing left to take twice: the next pick gets the one record still ready.
    again = await attempt_rows.take_records(db, campaign_id, "main", 4, NOW)
    assert [a.phone for a in again] == [phones[4]]


async def test_ended_calls_stored_together_as_each_alone_and_a_repeat_ignored(
    db: Database,
) -> None:
    campaign_id, settings = await _campaign(db, ["+12125550001", "+12125550002"])
    busy, noanswer = await attempt_rows.take_records(db, campaign_id, "main", 2, NOW)
    ends = [
        CallEnded(busy.id, TechResult.BUSY, at=NOW + 5, ring_s=2.0, cause="hangup cause 17"),
        CallEnded(noanswer.id, TechResult.NOANSWER, at=NOW + 30, ring_s=30.0),
        CallEnded(busy.id, TechResult.FAILED, at=NOW + 60),  # the same call reported again
        CallEnded(999_999, TechResult.FAILED, at=NOW + 60),  # not ours
    ]
    results = await attempt_rows.finish_many(db, ends)
    expected = [
        outcomes.at_call_end(settings, 1, TechResult.BUSY, NOW + 5),
        outcomes.at_call_end(settings, 1, TechResult.NOANSWER, NOW + 30),
    ]
    assert results == [
        (campaign_id, busy.phone, expected[0].state),
        (campaign_id, noanswer.phone, expected[1].state),
        None,
        None,
    ]
    rows = await db.fetchall(
        "SELECT a.id, a.state, a.result, a.cause, a.ended_at, a.ring_s, a.classification, "
        "r.state AS record_state, r.next_attempt_at, r.last_result, r.classification AS rc "
        "FROM attempts a JOIN records r ON r.id = a.record_id ORDER BY a.id"
    )
    got = {r["id"]: dict(r) for r in rows}
    for attempt, end, outcome in ((busy, ends[0], expected[0]), (noanswer, ends[1], expected[1])):
        row = got[attempt.id]
        # The first report stands: the repeat (FAILED at +60 s) changed nothing.
        assert (row["state"], row["result"], row["ended_at"]) == ("ended", end.result, end.at)
        assert (row["cause"], row["ring_s"]) == (end.cause, end.ring_s)
        assert row["classification"] == outcome.classification
        assert (row["record_state"], row["next_attempt_at"]) == (
            outcome.state,
            outcome.next_attempt_at,
        )
        assert (row["last_result"], row["rc"]) == (end.result, outcome.classification)
    # A later batch with the same end again: still ignored.
    assert await attempt_rows.finish_many(db, ends[:1]) == [None]
