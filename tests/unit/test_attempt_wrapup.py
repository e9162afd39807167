"""The agent's wrap-up of an attempt, stored at classification (a real SQLite file):
seconds from the call's end to the classification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from pbx_dialer.calls import CallEnded, TechResult
from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database
from pbx_dialer.storage.records import NewRecord

T0 = 1_800_000_000.0
AGENT = "Agent 7001"


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "wrapup.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def three_talks(db: Database) -> tuple[int, list[int]]:
    """Three calls that reached the agent at T0 + 5; the first two end at T0 + 20."""
    campaign = await campaign_rows.create(db, CampaignSettings(name="Wrap", queue="sales"), T0)
    phones = ["+12025550101", "+12025550102", "+12025550103"]
    await record_rows.add_many(db, campaign.id, [NewRecord(p, p, p) for p in phones], T0)
    taken = await attempt_rows.take_records(db, campaign.id, "main", 3, T0)
    ids = [a.id for a in taken]
    for attempt_id in ids:
        await attempt_rows.mark(db, attempt_id, "connected", connected_at=T0 + 5, agent=AGENT)
    await attempt_rows.finish_many(
        db,
        [
            CallEnded(ids[0], TechResult.SUCCESS, T0 + 20, agent=AGENT),
            CallEnded(ids[1], TechResult.SUCCESS, T0 + 20, agent=AGENT),
        ],
    )
    return campaign.id, ids


async def wrapups(db: Database, campaign_id: int) -> dict[int, float | None]:
    return {a["id"]: a["wrapup_s"] for a in await attempt_rows.list_for(db, campaign_id)}


async def test_wrap_up_is_the_time_from_the_calls_end_to_the_classification(
    db: Database,
) -> None:
    campaign_id, (after, unclassified, during) = await three_talks(db)
    await attempt_rows.classify(db, after, "SALE", AGENT, T0 + 27.5)
    # Classified while still talking: no after-call work, and the end changes nothing.
    await attempt_rows.classify(db, during, "SALE", AGENT, T0 + 15)
    await attempt_rows.finish_many(db, [CallEnded(during, TechResult.SUCCESS, T0 + 30, AGENT)])
    assert await wrapups(db, campaign_id) == {after: 7.5, unclassified: None, during: 0.0}


async def test_a_new_classification_measures_the_wrap_up_again(db: Database) -> None:
    campaign_id, (first, _, _) = await three_talks(db)
    await attempt_rows.classify(db, first, "CALLBACK", AGENT, T0 + 22, callback_at=T0 + 3600)
    await attempt_rows.classify(db, first, "SALE", AGENT, T0 + 31)
    assert (await wrapups(db, campaign_id))[first] == 11.0
