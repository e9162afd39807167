"""The dialer's abandonment cap: started from the campaign's stored life (so a restart
keeps it), and told on the "why not dialing" page while it holds the campaign back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

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
AT_CAP = (
    "at the abandonment cap (TCPA, last 30 days): 2 of 21 answered abandoned "
    "(9.5% of 3% allowed): one call per idle agent, no extra calls, until the rate is "
    "under the cap"
)


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "cap.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def _campaign(
    db: Database,
    ended: list[tuple[TechResult, float]],
    ready: int,
    name: str = "Power",
    **settings_: Any,
) -> Campaign:
    """An active power campaign whose attempts ended as `ended` says (result, when),
    with `ready` records still to dial."""
    settings = CampaignSettings(
        name=name, queue="sales", dial_mode="power", retry_rules={}, **settings_
    )
    campaign = await campaign_rows.create(db, settings, NOW - 60 * DAY)
    await campaign_rows.set_status(
        db, campaign.id, CampaignStatus.DRAFT, CampaignStatus.ACTIVE,
        action="play", actor="test", now=NOW - 60 * DAY,
    )  # fmt: skip
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
    return await _stored(db, campaign.id)


async def _stored(db: Database, campaign_id: int) -> Campaign:
    found = await campaign_rows.get(db, campaign_id)
    assert found is not None
    return found


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
    assert await attempt_rows.abandon_counts(db, campaign.id) == (61, 2, 1)
    month = (await attempt_rows.abandonment(db, campaign.id, NOW))["30d"]
    assert (month["answered"], month["abandoned"]) == (21, 2)
    buckets = await attempt_rows.abandon_buckets(db, campaign.id, NOW - 30 * DAY, 3600.0)
    assert buckets == [(NOW - DAY, 19 + 2, 2, 1)]


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
    assert (policy.answered, policy.abandoned, policy.machines) == (61, 2, 1)
    assert (policy.window.answered, policy.window.abandoned) == (21, 2)
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


async def test_at_the_cap_the_campaign_alerts_and_why_not_dialing_says_so(db: Database) -> None:
    campaign = await _campaign(db, LIFE, ready=5)
    dialer = _dialer(db)
    # Over its life 2 of 61 (3.3%); over the last 30 days 2 of 21: at the cap.
    policy = await dialer._seeded_policy(campaign)
    reasons = await why.campaign_reasons(db, dialer, campaign, NOW)
    assert reasons == [{"code": "abandon_cap", "text": AT_CAP}]
    # It slows the campaign down; it still places calls (one per idle agent).
    assert why.as_json(reasons, 0)["placing_calls"] is True
    # The campaign's alert, on its page and its dashboard panel (published with it).
    campaign = await _stored(db, campaign.id)
    assert campaign.status is CampaignStatus.ACTIVE and campaign.alert is not None
    assert campaign.alert.text.startswith(
        "at the abandonment cap (TCPA, last 30 days): 2 of 21 answered abandoned (9.5% of 3%"
    )
    assert campaign.alert.at == NOW and campaign.id in dialer._counts_due
    # Under 3% now (2 of 68), but not yet room for one more abandonment: held, no alert.
    for _ in range(47):
        policy.on_ended(NOW, "SUCCESS")
    assert await dialer._seeded_policy(campaign) is policy
    held = await why.campaign_reasons(db, dialer, campaign, NOW)
    assert len(held) == 1 and held[0]["text"].startswith(
        "abandonment cap (TCPA, last 30 days): 2 of 68 answered abandoned (2.9% of 3% "
    )
    campaign = await _stored(db, campaign.id)
    assert campaign.alert is None
    # 100 answered in the window: 3% of them is 3, room for one extra call at a time.
    for _ in range(32):
        policy.on_ended(NOW, "SUCCESS")
    assert await why.campaign_reasons(db, dialer, campaign, NOW) == []


async def test_the_cap_alert_never_replaces_another_alert(db: Database) -> None:
    campaign = await _campaign(db, LIFE, ready=5)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE campaigns SET alert = 'the trunk fails', alert_at = 1 WHERE id = ?",
            (campaign.id,),
        )
    dialer = _dialer(db)
    policy = await dialer._seeded_policy(await _stored(db, campaign.id))
    assert isinstance(policy, AbandonmentCap) and policy.at_cap() is not None
    for _ in range(200):
        policy.on_ended(NOW, "SUCCESS")
    await dialer._seeded_policy(await _stored(db, campaign.id))  # under the cap again
    stored = await _stored(db, campaign.id)
    assert stored.alert is not None and stored.alert.text == "the trunk fails"


async def test_ofcom_counts_24_hours_and_amd_false_positives(db: Database) -> None:
    # 2 days ago: 10 persons (gone from the window); last hours: 60 persons, 1
    # abandoned, 50 machine verdicts, 4% of which were persons: (1 + 2) / (60 + 2).
    ended = (
        [(TechResult.SUCCESS, NOW - 2 * DAY)] * 10
        + [(TechResult.SUCCESS, NOW - 3600)] * 59
        + [(TechResult.ABANDONED, NOW - 3600)]
        + [(TechResult.MACHINE, NOW - 3600)] * 50
    )
    campaign = await _campaign(db, ended, ready=5, abandon_rule="ofcom", amd_false_positive_pct=4.0)
    dialer = _dialer(db)
    policy = await dialer._seeded_policy(campaign)
    assert isinstance(policy, AbandonmentCap)
    assert (policy.window.answered, policy.window.abandoned, policy.window.machines) == (
        60, 1, 50,
    )  # fmt: skip
    state = policy.at_cap()
    assert state is not None and state.span == "24 hours"
    assert state.live == pytest.approx(62.0) and state.counted == pytest.approx(3.0)
    found = why.cap_reason(policy)
    assert found is not None
    assert found["text"].startswith(
        "at the abandonment cap (Ofcom, last 24 hours): 1 abandoned + 2 AMD false positives"
        " of 62 live calls (4.8% of 3% allowed)"
    )
    # Over its life (1 + 2) / (70 + 2): 4.2%, less than the window's 4.8%.
    # The same counts under TCPA: 1 of 70 persons over 30 days and the life (1.4%),
    # room for one extra call in flight there; but in the last hour (its answers an hour
    # ago, in the bucket the hour begins in) 1 of 60, short of room.
    tcpa = await _campaign(db, ended, ready=5, name="TCPA")
    free = await dialer._seeded_policy(tcpa)
    assert isinstance(free, AbandonmentCap) and free.at_cap() is None
    assert [state.room for state in free.states()] == pytest.approx([1.1, 1.1])
    found = why.cap_reason(free)
    assert found is not None and found["text"].startswith(
        "abandonment cap (TCPA, last hour): 1 of 60 answered abandoned (1.7% of 3%"
    )
    # The hour's room counts only the answers still in it 10 minutes on (not those 60)
    # and keeps one abandonment back: 100 more give 0.03 x 100 - 1 - 1 = 1.
    for _ in range(99):
        free.on_ended(NOW, "SUCCESS")
    assert free.extra_allowed() == 0
    free.on_ended(NOW, "SUCCESS")
    assert free.extra_allowed() == 1 and why.cap_reason(free) is None


@pytest.mark.parametrize(
    ("answered", "abandoned", "text"),
    [
        (0, 0, "(TCPA, campaign life): 0 of 0 answered abandoned (0.0% of 2.5% allowed)"),
        (100, 2, "(TCPA, campaign life): 2 of 100 answered abandoned (2.0% of 2.5% allowed)"),
    ],
)
def test_the_cap_reason_names_the_counts_and_the_cap(
    answered: int, abandoned: int, text: str
) -> None:
    # The life alone (the hour, held too by default, would name itself: see above).
    cap = AbandonmentCap(Power(), 2.5, answered=answered, abandoned=abandoned, hourly=False)
    found = why.cap_reason(cap)
    assert found is not None and found["text"].startswith(f"abandonment cap {text}: ")
    assert why.cap_reason(AbandonmentCap(Power(), 2.5, answered=120)) is None
    assert why.cap_reason(Power()) is None and why.cap_reason(None) is None
