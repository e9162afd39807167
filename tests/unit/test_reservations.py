"""Reservations, skips and the desk's own attempts, on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage import reservations
from pbx_dialer.storage.db import Database

A, B = "PJSIP/7001", "PJSIP/7002"


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "desk.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def campaign_with(db: Database, *phones: str) -> tuple[int, list[int]]:
    campaign = await campaign_rows.create(
        db, CampaignSettings(name="Preview", queue="sales", dial_mode="preview"), 0.0
    )
    await record_rows.add_many(db, campaign.id, [record_rows.NewRecord(p) for p in phones], 0.0)
    rows = await db.fetchall(
        "SELECT id FROM records WHERE campaign_id = ? ORDER BY id", (campaign.id,)
    )
    return campaign.id, [int(r["id"]) for r in rows]


async def state(db: Database, record_id: int) -> tuple[str, int, str]:
    row = await db.fetchone(
        "SELECT state, attempts, reason FROM records WHERE id = ?", (record_id,)
    )
    assert row is not None
    return str(row["state"]), int(row["attempts"]), str(row["reason"])


async def test_one_reservation_per_agent_and_per_record(db: Database) -> None:
    campaign_id, (first, second) = await campaign_with(db, "5550101", "5550102")
    assert await reservations.hold(db, first, campaign_id, A, "main", 10.0, 25.0)
    assert await state(db, first) == ("in_progress", 0, "")
    # The record is taken, and A holds one already.
    assert not await reservations.hold(db, first, campaign_id, B, "main", 10.0, None)
    assert not await reservations.hold(db, second, campaign_id, A, "main", 10.0, None)
    # Nothing else picks a held record.
    assert [r for r, _ in await attempt_rows.peek(db, campaign_id, 10, 11.0)] == [second]
    held = await reservations.for_agent(db, A)
    assert held == reservations.Reservation(first, campaign_id, A, "main", 10.0, 25.0)
    assert await reservations.count_for(db, campaign_id) == 1


async def test_skip_release_and_refusals(db: Database) -> None:
    campaign_id, (first, second, third) = await campaign_with(db, "5550101", "5550102", "5550103")
    await reservations.hold(db, first, campaign_id, A, "main", 10.0, None)
    held = await reservations.for_agent(db, A)
    assert held is not None
    await reservations.skip(db, held, until=310.0)
    assert await state(db, first) == ("ready", 0, "")
    assert await reservations.skipped_by(db, A, 300.0) == {first}
    assert await reservations.skipped_by(db, A, 310.0) == set()
    assert await reservations.skipped_by(db, B, 300.0) == set()
    await reservations.forget_old_skips(db, 400.0)
    assert await db.fetchone("SELECT 1 FROM skips") is None
    # Refused by the check before the dial: filtered as DNC, or out of attempts.
    await reservations.hold(db, second, campaign_id, A, "main", 10.0, None)
    await reservations.release(db, second, "DNC")
    assert await state(db, second) == ("filtered", 0, "DNC")
    await reservations.hold(db, third, campaign_id, A, "main", 10.0, None)
    await reservations.release(db, third, "max_calls")
    assert await state(db, third) == ("max_calls", 0, "")
    assert await reservations.every(db) == []


async def test_a_restart_gives_every_reservation_back(db: Database) -> None:
    campaign_id, (first, second) = await campaign_with(db, "5550101", "5550102")
    await reservations.hold(db, first, campaign_id, A, "main", 10.0, None)
    await reservations.hold(db, second, campaign_id, B, "main", 10.0, None)
    assert await reservations.release_every(db) == 2
    assert [await state(db, r) for r in (first, second)] == [("ready", 0, "")] * 2


async def test_place_turns_a_reservation_or_a_ready_record_into_an_attempt(db: Database) -> None:
    campaign_id, (first, second) = await campaign_with(db, "5550101", "5550102")
    await reservations.hold(db, first, campaign_id, A, "main", 10.0, None)
    placed = await reservations.place(
        db, first, campaign_id, "main", "5550101", 12.0, {"dnc": "ok"}
    )
    assert placed is not None and placed.channel_id.startswith(f"pbxd-{placed.id}-")
    assert await state(db, first) == ("in_progress", 1, "")
    assert await reservations.for_agent(db, A) is None
    row = await db.fetchone("SELECT compliance, placed_at FROM attempts WHERE id = ?", (placed.id,))
    assert row is not None and (row["compliance"], row["placed_at"]) == ('{"dnc": "ok"}', 12.0)
    # A callback dialed for its agent: the ready record is taken once, never twice.
    again = await reservations.place(db, second, campaign_id, "main", "5550102", 13.0, {})
    assert again is not None
    assert await reservations.place(db, second, campaign_id, "main", "5550102", 13.0, {}) is None
    assert await state(db, second) == ("in_progress", 1, "")


async def test_callbacks_promised_by_one_agent(db: Database) -> None:
    campaign_id, (first, second) = await campaign_with(db, "5550101", "5550102")
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET callback_agent = ?, next_attempt_at = 100 WHERE id = ?", (A, first)
        )
    # Not for the general pick, for A only once due.
    assert [r for r, _ in await attempt_rows.peek(db, campaign_id, 10, 200.0)] == [second]
    assert await reservations.own_callbacks(db, campaign_id, A, 99.0, 5) == []
    assert await reservations.own_callbacks(db, campaign_id, A, 100.0, 5) == [(first, "5550101")]
    assert await reservations.own_callbacks(db, campaign_id, B, 100.0, 5) == []
    due = await reservations.due_agent_callbacks(db, 100.0)
    assert [(d["id"], d["callback_agent"]) for d in due] == [(first, A)]
    await reservations.give_to_anyone(db, first)
    assert await reservations.due_agent_callbacks(db, 100.0) == []
    picked = [r for r, _ in await attempt_rows.peek(db, campaign_id, 10, 200.0)]
    assert picked == [second, first]  # anyone's now, in the order they were due
