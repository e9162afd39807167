"""Predictive pacing starts from stored statistics: after a restart, or for a new
campaign on a queue already dialed, it needs no warm-up of 100 dials."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
import pytest_asyncio

from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing.engine import LEARNED_SAVE_S, Dialer
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing import AbandonmentCap, Predictive, learned_of, policy_for
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import pacing as pacing_rows
from pbx_dialer.storage.db import Database
from tests.unit.test_pacing_policies import experienced_predictive, snapshot

# 10 agents, 3 idle, 7 on calls, nothing ringing.
TEAM = snapshot()


def test_a_policy_started_from_stored_statistics_dials_ahead_at_once() -> None:
    stored = json.loads(json.dumps(experienced_predictive().learned()))  # as from storage
    fresh = Predictive()
    assert fresh.calls_to_place(TEAM) == 3 and fresh.mode == "progressive"
    started = Predictive()
    started.start_from(stored)
    assert started.calls_to_place(TEAM) > 3 and started.mode == "predictive"
    # It learned the same: the same decision as the policy the statistics came from.
    assert started.calls_to_place(TEAM) == experienced_predictive().calls_to_place(TEAM)
    assert started.learned() == stored


def test_policy_for_a_known_queue_starts_from_its_statistics() -> None:
    stored = experienced_predictive().learned()
    # A restarted campaign: its cap has room from its stored life.
    policy = policy_for("predictive", answered=400, abandoned=2, learned=stored)
    assert isinstance(policy, AbandonmentCap) and policy.calls_to_place(TEAM) > 3
    assert learned_of(policy) == stored
    assert learned_of(policy_for("power")) is None


@pytest.mark.parametrize(
    "bad",
    [{"version": 99}, {"version": 1, "rings": "x"}, {"version": 1, "rings": [[1, 0, 3]]}],
)
def test_statistics_of_another_shape_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="learned"):
        Predictive().start_from(bad)


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "learned.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


class _NoPbx:
    name = "main"
    ready = True


async def _predictive(db: Database, name: str) -> Campaign:
    settings = CampaignSettings(name=name, queue="sales", dial_mode="predictive")
    created = await campaign_rows.create(db, settings, 0.0)
    return Campaign(created.id, CampaignStatus.ACTIVE, settings, 0.0, 0.0)


async def test_the_dialer_stores_what_it_learned_and_a_restart_starts_from_it(
    db: Database,
) -> None:
    now = [1000.0]
    dialers = [
        Dialer(db, {"main": cast(Pbx, _NoPbx())}, cast(CampaignService, None), Notifier(),
               lambda: now[0])
        for _ in range(3)
    ]  # fmt: skip
    first, after_restart, other = dialers
    campaign = await _predictive(db, "Spring")
    policy = await first._seeded_policy(campaign)
    assert isinstance(policy, AbandonmentCap) and isinstance(policy.policy, Predictive)
    assert await pacing_rows.learned_for(db, campaign.id, "main", "sales") is None
    learned = experienced_predictive().learned()
    policy.policy.start_from(learned)  # as if it had dialed 400 calls
    await first._seeded_policy(campaign)  # the dial loop's next pass stores it
    assert await pacing_rows.learned_for(db, campaign.id, "main", "sales") == learned
    # At most every LEARNED_SAVE_S: a change right after waits for the next turn.
    policy.policy.z = 1.5
    await first._seeded_policy(campaign)
    stored = await pacing_rows.learned_for(db, campaign.id, "main", "sales")
    assert stored is not None and stored["z"] == learned["z"]
    now[0] += LEARNED_SAVE_S
    await first._seeded_policy(campaign)
    stored = await pacing_rows.learned_for(db, campaign.id, "main", "sales")
    assert stored is not None and stored["z"] == 1.5
    # After a restart the campaign's policy starts from them...
    again = await after_restart._seeded_policy(campaign)
    assert isinstance(again, AbandonmentCap) and isinstance(again.policy, Predictive)
    assert again.policy.learned() == stored
    # ...and so does a new campaign on the same queue (its cap still starts at 0).
    newcomer = await other._seeded_policy(await _predictive(db, "Summer"))
    assert isinstance(newcomer, AbandonmentCap) and isinstance(newcomer.policy, Predictive)
    assert newcomer.policy.learned() == stored
    assert newcomer.policy.calls_to_place(TEAM) > 3
    assert newcomer.calls_to_place(TEAM) == 3  # no room for an abandonment yet


async def test_unreadable_statistics_mean_a_fresh_start(db: Database) -> None:
    campaign = await _predictive(db, "Spring")
    await pacing_rows.save_learned(db, campaign.id, "main", "sales", {"version": 99}, 1.0)
    dialer = Dialer(
        db, {"main": cast(Pbx, _NoPbx())}, cast(CampaignService, None), Notifier(), lambda: 5.0
    )
    policy = await dialer._seeded_policy(campaign)
    assert isinstance(policy, AbandonmentCap) and isinstance(policy.policy, Predictive)
    assert len(policy.policy.rings) == 0
