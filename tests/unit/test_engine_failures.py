"""The dial loop pauses a campaign whose calls all fail the same way: a fake PBX that
ends every call at once with a scripted result, a real database and campaign service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest_asyncio

from pbx_dialer.ami.pbx import CallRequest, Pbx
from pbx_dialer.calls import AgentState, CallEnded, TechResult
from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus, Control
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing.rate import CallRate
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database
from tests.conftest import eventually

EXPECTED = (
    "paused: the last 10 calls all failed the same way (CONGESTION, cause 34) "
    "within 5 minutes — check the trunk and dialplan"
)


class _FailingPbx:
    """Ends every call it is asked to place at once: CONGESTION with cause 34, unless
    `results` says otherwise for its number."""

    name = "main"
    ready = True

    def __init__(self, results: dict[str, TechResult]) -> None:
        self.results = results
        self.call_rate = CallRate(1000.0)
        self.dialed: list[str] = []
        self.dialer: Dialer | None = None

    def agents(self, queue: str) -> list[AgentState]:
        return []

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[Exception | None]:
        loop = asyncio.get_running_loop()
        for request in requests:
            self.dialed.append(request.number)
            result = self.results.get(request.number, TechResult.CONGESTION)
            cause = 17 if result is TechResult.BUSY else 34
            ended = CallEnded(request.attempt_id, result, at=time.time(), cause_code=cause)
            loop.call_soon(cast(Dialer, self.dialer).on_pbx_event, cast(Pbx, self), ended)
        return [None] * len(requests)


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "failures.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


PHONES = [f"+1212555{400 + n:04d}" for n in range(12)]


async def _started(
    db: Database, results: dict[str, TechResult], notifier: Notifier
) -> tuple[Dialer, _FailingPbx, CampaignService, Campaign]:
    """An agentless campaign of 12 records, one line, one attempt per record, playing."""
    pbx = _FailingPbx(results)
    service = CampaignService(db, notifier, time.time)
    dialer = Dialer(db, {"main": cast(Pbx, pbx)}, service, notifier, time.time, tick_seconds=0.05)
    pbx.dialer = dialer
    service.on_change = dialer.wake
    campaign = await service.create(
        CampaignSettings(
            name="Trunk check",
            queue="sales",
            dial_mode="agentless",
            max_lines=1,
            retry_rules={},
            calling_rules="none",  # dialed at any hour the suite runs
        )
    )
    await record_rows.add_many(
        db, campaign.id, [record_rows.NewRecord(phone=p) for p in PHONES], time.time()
    )
    await service.control(campaign.id, Control.PLAY, actor="supervisor")
    await dialer.start()
    return dialer, pbx, service, campaign


async def _ended(db: Database, campaign_id: int) -> int:
    row = await db.fetchone(
        "SELECT count(*) AS n FROM attempts WHERE campaign_id = ? AND state = 'ended'",
        (campaign_id,),
    )
    return int(row["n"]) if row is not None else 0


async def test_ten_congestions_pause_the_campaign_with_the_alert_until_played(
    db: Database,
) -> None:
    notifier = Notifier()
    pages = notifier.subscribe()
    dialer, pbx, service, campaign = await _started(db, {}, notifier)
    try:

        async def paused() -> bool:
            return (await service.get(campaign.id)).status is CampaignStatus.PAUSED

        await eventually(paused)
        # Held from the tenth ending on: the remaining two records were not dialed.
        assert pbx.dialed == PHONES[:10]
        assert await _ended(db, campaign.id) == 10
        found = await service.get(campaign.id)
        assert found.alert is not None and found.alert.text == EXPECTED
        assert found.to_json()["alert"] == {"text": EXPECTED, "at": found.alert.at}
        last = (await service.history(campaign.id))[-1]
        assert (last["action"], last["actor"], last["detail"]) == ("pause", "dialer", EXPECTED)
        # The pages were told, with the alert.
        told: list[dict[str, Any]] = []
        while not pages.queue.empty():
            message = pages.queue.get_nowait()
            if message is not None and message["type"] == "campaign":
                told.append(message["campaign"])
        assert told[-1]["status"] == "paused" and told[-1]["alert"]["text"] == EXPECTED

        # A supervisor plays it again: the alert is gone and the last two are dialed.
        played = await service.control(campaign.id, Control.PLAY, actor="supervisor")
        assert played.alert is None and played.to_json()["alert"] is None

        async def all_dialed() -> bool:
            return await _ended(db, campaign.id) == 12

        await eventually(all_dialed)
        assert pbx.dialed == PHONES
    finally:
        pages.close()
        await dialer.close()


async def test_a_busy_in_between_keeps_the_campaign_dialing(db: Database) -> None:
    """Twelve calls, the fifth BUSY: never ten alike in a row, so all twelve are dialed."""
    dialer, pbx, service, campaign = await _started(db, {PHONES[4]: TechResult.BUSY}, Notifier())
    try:

        async def all_ended() -> bool:
            return await _ended(db, campaign.id) == 12

        await eventually(all_ended)
        assert pbx.dialed == PHONES
        found = await service.get(campaign.id)
        assert found.status is not CampaignStatus.PAUSED and found.alert is None
        assert all(
            entry["actor"] != "dialer" or entry["action"] != "pause"
            for entry in await service.history(campaign.id)
        )
    finally:
        await dialer.close()
