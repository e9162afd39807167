"""A campaign completes only when none of its records can ever be dialed again: a fake
PBX that ends every call at once (CONGESTION), a real database, campaign service and dial
loop, and a clock the test moves past the retry delay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import cast

import pytest_asyncio

from pbx_dialer.ami.pbx import CallRequest, Pbx
from pbx_dialer.calls import AgentState, CallEnded, TechResult
from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus, Control
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing import completion
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing.rate import CallRate
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database
from tests.conftest import eventually

RETRY_S = 300
PHONES = ["+12125550401", "+12125550402"]


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class _CongestedPbx:
    """Every call it is asked to place ends at once, CONGESTION (cause 34), heard by the
    dialer on the next turn of the loop: as a trunk that refuses every call does."""

    name = "main"
    ready = True

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.call_rate = CallRate(1000.0)
        self.dialed: list[str] = []
        self.ended: list[CallEnded] = []
        self.dialer: Dialer | None = None

    def agents(self, queue: str) -> list[AgentState]:
        return []

    def _hang_up(self, ended: CallEnded) -> None:
        self.ended.append(ended)
        cast(Dialer, self.dialer).on_pbx_event(cast(Pbx, self), ended)

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[Exception | None]:
        loop = asyncio.get_running_loop()
        for request in requests:
            self.dialed.append(request.number)
            ended = CallEnded(
                request.attempt_id, TechResult.CONGESTION, at=self.clock(), cause_code=34
            )
            loop.call_soon(self._hang_up, ended)
        return [None] * len(requests)


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "completion.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def _playing(db: Database) -> tuple[Dialer, _CongestedPbx, CampaignService, Campaign, Clock]:
    """Two records, two lines (no more records than lines), CONGESTION retried after
    5 minutes up to 3 attempts; played, the dial loop not started."""
    clock = Clock()
    notifier = Notifier()
    pbx = _CongestedPbx(clock)
    service = CampaignService(db, notifier, clock)
    dialer = Dialer(db, {"main": cast(Pbx, pbx)}, service, notifier, clock, tick_seconds=0.05)
    pbx.dialer = dialer
    service.on_change = dialer.wake
    campaign = await service.create(
        CampaignSettings(
            name="Congested",
            queue="sales",
            dial_mode="agentless",
            max_lines=2,
            max_attempts=3,
            retry_rules={"CONGESTION": {"delay_s": RETRY_S, "max_attempts": 3}},
            calling_rules="none",  # dialed at any hour the suite runs
        )
    )
    await record_rows.add_many(
        db, campaign.id, [record_rows.NewRecord(phone=p) for p in PHONES], clock()
    )
    await service.control(campaign.id, Control.PLAY, actor="supervisor")
    return dialer, pbx, service, campaign, clock


async def _status(service: CampaignService, campaign_id: int) -> CampaignStatus:
    return (await service.get(campaign_id)).status


async def test_calls_that_fail_at_once_do_not_complete_the_campaign_before_their_retry(
    db: Database,
) -> None:
    """The race: both calls end before the dial loop looks again, so they have left its
    live table while their records are still in progress (the endings not stored yet).
    The loop must not see "nothing live, nothing ready" and complete the campaign."""
    dialer, pbx, service, campaign, clock = await _playing(db)
    try:
        await dialer.dial_once()

        async def both_ended() -> bool:
            return len(pbx.ended) == 2

        await eventually(both_ended, timeout=5)
        assert pbx.dialed == PHONES and not dialer.live
        assert await completion.may_dial_again(db, campaign, dialer.live.values())
        await dialer.dial_once()
        assert await _status(service, campaign.id) is CampaignStatus.ACTIVE

        # The endings are stored (as the event loop does): both records wait for their
        # retry in 5 minutes, and the campaign is still not complete.
        await attempt_rows.finish_many(db, pbx.ended)
        records = await record_rows.list_for(db, campaign.id)
        assert [r.state for r in records] == ["ready", "ready"]
        assert all(r.next_attempt_at > clock() + RETRY_S - 60 for r in records)
        await dialer.dial_once()
        assert await _status(service, campaign.id) is CampaignStatus.ACTIVE
        assert len(pbx.dialed) == 2  # not due yet
    finally:
        await dialer.close()


async def test_the_campaign_completes_once_every_retry_is_spent(db: Database) -> None:
    """With the loops running: the campaign stays Active while retries are due later,
    dials them when due and completes only after the last attempt is stored."""
    dialer, pbx, service, campaign, clock = await _playing(db)
    await dialer.start()
    try:
        for attempts in (1, 2, 3):

            async def stored(n: int = attempts) -> bool:
                records = await record_rows.list_for(db, campaign.id)
                return all(r.attempts == n and r.state != "in_progress" for r in records)

            await eventually(stored, timeout=10)
            if attempts < 3:
                # Several passes of the loop with nothing due: still Active.
                await asyncio.sleep(0.3)
                assert await _status(service, campaign.id) is CampaignStatus.ACTIVE
                assert len(pbx.dialed) == 2 * attempts
                clock.offset += RETRY_S + 1
                dialer.wake()

        async def completed() -> bool:
            return await _status(service, campaign.id) is CampaignStatus.COMPLETED

        await eventually(completed, timeout=5)
        assert pbx.dialed == PHONES * 3
        records = await record_rows.list_for(db, campaign.id)
        assert [r.state for r in records] == ["max_calls", "max_calls"]
        last = (await service.history(campaign.id))[-1]
        assert (last["action"], last["actor"]) == ("complete", "dialer")
    finally:
        await dialer.close()
