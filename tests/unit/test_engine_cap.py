"""The dialer's abandonment cap: started from the campaign's stored life (so a restart
keeps it), and told on the "why not dialing" page while it holds the campaign back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
import pytest_asyncio

from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.calls import AgentState, CallEnded, TechResult
from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing import why
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing import AbandonmentCap, Power, Predictive
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database

NOW = 1_800_000_000.0
DAY = 86_400.0
HELD = (
    "abandonment cap: 2 of 61 answered abandoned (3.3% of 3% allowed): "
    "one call per idle agent until more answers come"
)


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "cap.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def _campaign(db: Database, ended: list[tuple[TechResult, float]], ready: int) -> Campaign:
    """A power campaign whose attempts ended as `ended` says (result, when), with `ready`
    records still to dial."""
    settings = CampaignSettings(name="Power", queue="sales", dial_mode="power", retry_rules={})
    campaign = await campaign_rows.create(db, settings, NOW - 60 * DAY)
    phones = [f"+1212555{n:04d}" for n in range(len(ended) + ready)]
    await record_rows.add_many(
        db, campaign.id, [record_rows.NewRecord(phone=p) for p in phones], NOW - 60 * DAY
    )
    taken = await attempt_rows.take_records(db, campaign.id, "main", len(ended), NOW - 60 * DAY)
    await attempt_rows.finish_many(
        db,
        [
            CallEnded(attempt.id, result, at=at)
            for attempt, (result, at) in zip(taken, ended, strict=True)
        ],
    )
    return Campaign(campaign.id, CampaignStatus.ACTIVE, settings, NOW, NOW)


# 61 persons answered, 2 of them abandoned; 40 of the answers are over 30 days old.
LIFE = (
    [(TechResult.SUCCESS, NOW - 40 * DAY)] * 40
    + [(TechResult.SUCCESS, NOW - DAY)] * 19
    + [(TechResult.ABANDONED, NOW - DAY)] * 2
    + [(TechResult.MACHINE, NOW - DAY), (TechResult.BUSY, NOW - DAY)]
)


async def test_the_life_counts_every_answered_person_since_the_first_attempt(
    db: Database,
) -> None:
    campaign = await _campaign(db, LIFE, ready=0)
    assert await attempt_rows.life_abandonment(db, campaign.id) == (61, 2)
    month = (await attempt_rows.abandonment(db, campaign.id, NOW))["30d"]
    assert (month["answered"], month["abandoned"]) == (21, 2)


class _OneAgentPbx:
    """A PBX with one idle agent in queue sales, for the why-not-dialing checks."""

    name = "main"
    ready = True

    def agents(self, queue: str) -> list[AgentState]:
        return [AgentState(queue, "PJSIP/7001", "alice", 1, paused=False, in_call=False)]

    def describe(self) -> str:
        return "up"


def _dialer(db: Database) -> Dialer:
    pbx = cast(Pbx, _OneAgentPbx())
    return Dialer(db, {"main": pbx}, cast(CampaignService, None), Notifier(), lambda: NOW)


async def test_a_new_policy_starts_from_the_stored_life_and_again_after_a_change(
    db: Database,
) -> None:
    campaign = await _campaign(db, LIFE, ready=0)
    dialer = _dialer(db)  # as after a restart: nothing heard yet
    policy = await dialer._seeded_policy(campaign)
    assert isinstance(policy, AbandonmentCap) and isinstance(policy.policy, Power)
    assert (policy.answered, policy.abandoned) == (61, 2)
    policy.on_ended(NOW, "SUCCESS")
    assert await dialer._seeded_policy(campaign) is policy  # kept while nothing changes
    assert dialer.policy_of(campaign.id) is policy
    # A new mode gets a new policy, seeded again from what is stored.
    predictive = Campaign(
        campaign.id,
        CampaignStatus.ACTIVE,
        CampaignSettings(name="Power", queue="sales", dial_mode="predictive", retry_rules={}),
        NOW,
        NOW,
    )
    again = await dialer._seeded_policy(predictive)
    assert isinstance(again, AbandonmentCap) and isinstance(again.policy, Predictive)
    assert (again.answered, again.abandoned) == (61, 2)


async def test_why_not_dialing_says_when_the_cap_holds_the_campaign(db: Database) -> None:
    campaign = await _campaign(db, LIFE, ready=5)
    dialer = _dialer(db)
    policy = await dialer._seeded_policy(campaign)
    reasons = await why.campaign_reasons(db, dialer, campaign, NOW)
    assert reasons == [{"code": "abandon_cap", "text": HELD}]
    # It slows the campaign down; it still places calls (one per idle agent).
    assert why.as_json(reasons, 0)["placing_calls"] is True
    # Under 3% now, but not yet room for one more abandonment: still held.
    for _ in range(8):
        policy.on_ended(NOW, "SUCCESS")
    held = await why.campaign_reasons(db, dialer, campaign, NOW)
    assert [r["text"][:50] for r in held] == ["abandonment cap: 2 of 69 answered abandoned (2.9% "]
    # 100 answered: 3% of them is 3, room for one extra call at a time.
    for _ in range(31):
        policy.on_ended(NOW, "SUCCESS")
    assert await why.campaign_reasons(db, dialer, campaign, NOW) == []


@pytest.mark.parametrize(
    ("answered", "abandoned", "text"),
    [
        (0, 0, "0 of 0 answered abandoned (0.0% of 2.5% allowed)"),
        (100, 2, "2 of 100 answered abandoned (2.0% of 2.5% allowed)"),
    ],
)
def test_the_cap_reason_names_the_counts_and_the_cap(
    answered: int, abandoned: int, text: str
) -> None:
    cap = AbandonmentCap(Power(), 2.5, answered=answered, abandoned=abandoned)
    found = why.cap_reason(cap)
    assert found is not None and found["text"].startswith(f"abandonment cap: {text}: ")
    assert why.cap_reason(AbandonmentCap(Power(), 2.5, answered=120)) is None
    assert why.cap_reason(Power()) is None and why.cap_reason(None) is None
