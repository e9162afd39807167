"""Automatic start and stop, suspensions and end dates, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pbx_dialer.campaigns.model import (
    Campaign,
    CampaignAlert,
    CampaignSettings,
    CampaignStatus,
    Control,
    Suspension,
)
from pbx_dialer.campaigns.schedule import due

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def campaign(status: CampaignStatus, **settings: object) -> Campaign:
    base = CampaignSettings(name="c", queue="sales", **settings)  # type: ignore[arg-type]
    return Campaign(1, status, base, 0.0, 0.0)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type, misc]


def test_manual_start_keeps_the_automatic_stop() -> None:
    """Started by hand at 13:30, it still stops by itself at 18:00."""
    c = campaign(CampaignStatus.ACTIVE, auto_start="09:00", auto_stop="18:00")
    before = local(PARIS, 2026, 11, 23, 17, 59)
    after = local(PARIS, 2026, 11, 23, 18, 0, 1)
    assert due(c, PARIS, local(PARIS, 2026, 11, 23, 13, 30), before) is None
    decision = due(c, PARIS, before, after)
    assert decision is not None and decision.control is Control.PAUSE
    assert decision.detail == "automatic stop at 18:00"


def test_automatic_start_plays_a_paused_or_draft_campaign_each_day() -> None:
    for status in (CampaignStatus.PAUSED, CampaignStatus.DRAFT):
        c = campaign(status, auto_start="09:00", auto_stop="18:00")
        decision = due(
            c, PARIS, local(PARIS, 2026, 11, 24, 8, 59), local(PARIS, 2026, 11, 24, 9, 0)
        )
        assert decision is not None and decision.control is Control.PLAY
    # Active already: nothing to do at 09:00.
    active = campaign(CampaignStatus.ACTIVE, auto_start="09:00")
    assert (
        due(active, PARIS, local(PARIS, 2026, 11, 24, 8, 59), local(PARIS, 2026, 11, 24, 9, 1))
        is None
    )


def test_schedule_runs_in_the_call_centre_zone() -> None:
    c = campaign(CampaignStatus.ACTIVE, auto_stop="18:00")
    # 18:00 in New York is 23:00 UTC in November.
    assert (
        due(
            c,
            NEW_YORK,
            datetime(2026, 11, 23, 22, 59, tzinfo=UTC),
            datetime(2026, 11, 23, 22, 59, 59, tzinfo=UTC),
        )
        is None
    )
    decision = due(
        c,
        NEW_YORK,
        datetime(2026, 11, 23, 22, 59, tzinfo=UTC),
        datetime(2026, 11, 23, 23, 0, tzinfo=UTC),
    )
    assert decision is not None and decision.control is Control.PAUSE


def test_automatic_start_respects_start_and_end_dates() -> None:
    c = campaign(CampaignStatus.DRAFT, auto_start="09:00", start_date="2026-12-01")
    assert (
        due(c, PARIS, local(PARIS, 2026, 11, 30, 8, 0), local(PARIS, 2026, 11, 30, 10, 0)) is None
    )
    decision = due(c, PARIS, local(PARIS, 2026, 12, 1, 8, 0), local(PARIS, 2026, 12, 1, 10, 0))
    assert decision is not None and decision.control is Control.PLAY


def test_past_its_end_date_a_campaign_stops() -> None:
    c = campaign(CampaignStatus.PAUSED, end_date="2026-11-30")
    assert (
        due(c, PARIS, local(PARIS, 2026, 11, 30, 23, 0), local(PARIS, 2026, 11, 30, 23, 59)) is None
    )
    decision = due(c, PARIS, local(PARIS, 2026, 11, 30, 23, 59), local(PARIS, 2026, 12, 1, 0, 0, 1))
    assert decision is not None and decision.control is Control.STOP
    stopped = campaign(CampaignStatus.STOPPED, end_date="2026-11-30")
    assert (
        due(stopped, PARIS, local(PARIS, 2026, 12, 1, 0, 0), local(PARIS, 2026, 12, 2, 0, 0))
        is None
    )


def test_suspension_resumes_at_its_time_and_blocks_the_automatic_start() -> None:
    resume = local(PARIS, 2026, 11, 24, 14, 0)
    c = Campaign(
        1,
        CampaignStatus.PAUSED,
        CampaignSettings(name="c", queue="sales", auto_start="09:00"),
        0.0,
        0.0,
        suspension=Suspension(until=resume.timestamp()),
    )
    # 09:00 passes: suspended, so no automatic start.
    assert (
        due(c, PARIS, local(PARIS, 2026, 11, 24, 8, 0), local(PARIS, 2026, 11, 24, 9, 30)) is None
    )
    decision = due(c, PARIS, resume - timedelta(seconds=1), resume)
    assert decision is not None and decision.control is Control.PLAY and decision.action == "resume"
    indefinitely = Campaign(
        1, CampaignStatus.PAUSED, c.settings, 0.0, 0.0, suspension=Suspension(until=None)
    )
    assert due(indefinitely, PARIS, resume - timedelta(days=3), resume) is None


def test_a_campaign_paused_for_failing_calls_waits_for_a_person() -> None:
    """The dialer paused it because its calls all failed: the daily start leaves it
    paused (the trunk would still be wrong), its end date still stops it."""
    paused = Campaign(
        1,
        CampaignStatus.PAUSED,
        CampaignSettings(name="c", queue="sales", auto_start="09:00", end_date="2026-11-30"),
        0.0,
        0.0,
        alert=CampaignAlert("paused: the last 10 calls all failed the same way", 1.0),
    )
    assert (
        due(paused, PARIS, local(PARIS, 2026, 11, 24, 8, 59), local(PARIS, 2026, 11, 24, 9, 0))
        is None
    )
    stop = due(paused, PARIS, local(PARIS, 2026, 12, 1, 0, 0), local(PARIS, 2026, 12, 1, 0, 1))
    assert stop is not None and stop.control is Control.STOP


def test_a_long_gap_applies_only_the_latest_edge() -> None:
    """The dialer was busy for two days: the last edge passed (a stop) is what counts."""
    c = campaign(CampaignStatus.ACTIVE, auto_start="09:00", auto_stop="18:00")
    decision = due(c, PARIS, local(PARIS, 2026, 11, 23, 10, 0), local(PARIS, 2026, 11, 25, 19, 0))
    assert decision is not None and decision.control is Control.PAUSE


def test_spring_forward_start_time_that_does_not_exist() -> None:
    """02:30 does not exist in Paris on 2026-03-29: the start happens at 03:30 local."""
    c = campaign(CampaignStatus.PAUSED, auto_start="02:30")
    three_fifteen = local(PARIS, 2026, 3, 29, 3, 15)
    three_forty = local(PARIS, 2026, 3, 29, 3, 40)
    assert due(c, PARIS, local(PARIS, 2026, 3, 29, 1, 0), three_fifteen) is None
    decision = due(c, PARIS, three_fifteen, three_forty)
    assert decision is not None and decision.control is Control.PLAY


def test_fall_back_stop_time_happens_once() -> None:
    """01:30 happens twice in New York on 2026-11-01: the stop fires the first time only."""
    c = campaign(CampaignStatus.ACTIVE, auto_stop="01:30")
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    decision = due(c, NEW_YORK, first - timedelta(minutes=1), first)
    assert decision is not None and decision.control is Control.PAUSE
    assert due(c, NEW_YORK, first, second + timedelta(minutes=1)) is None
