"""When a campaign starts, stops and resumes by itself. Pure: the caller brings the clock.

The scheduler looks at the stretch of time since it last looked, `(last, now]`:

* the daily automatic stop pauses an Active campaign at `auto_stop`, however it was
  started (started by hand at 13:30, it still stops at 18:00);
* the daily automatic start plays a Draft or Paused campaign at `auto_start`, on days
  between `start_date` and `end_date`, unless it is suspended;
* a suspension with a resume time resumes at that time;
* past its `end_date` a campaign is stopped for good.

Times are wall-clock times in the call centre's zone. A start or stop time that does
not exist on a spring-forward day happens at the same offset as before the change
(02:30 becomes 03:30); one that occurs twice on a fall-back day happens the first time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pbx_dialer.campaigns.model import Campaign, CampaignStatus, Control


@dataclass(frozen=True, slots=True)
class Due:
    control: Control
    action: str  # what the audit trail calls it
    detail: str


def _at(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)
    # Normalise a wall time that does not exist through UTC and back.
    return local.astimezone(UTC)


def _days(last: datetime, now: datetime, zone: ZoneInfo) -> list[date]:
    first = last.astimezone(zone).date() - timedelta(days=1)
    final = now.astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((final - first).days + 1)]


def local_date(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat()


def within_dates(campaign: Campaign, moment: datetime, zone: ZoneInfo) -> bool:
    today = local_date(moment, zone)
    settings = campaign.settings
    if settings.start_date and today < settings.start_date:
        return False
    return not (settings.end_date and today > settings.end_date)


def due(campaign: Campaign, zone: ZoneInfo, last: datetime, now: datetime) -> Due | None:
    """The one control the scheduler should apply now, if any."""
    settings = campaign.settings
    status = campaign.status
    if status in (CampaignStatus.STOPPED, CampaignStatus.COMPLETED):
        return None
    if settings.end_date and local_date(now, zone) > settings.end_date:
        return Due(Control.STOP, "stop", f"end date {settings.end_date} passed")
    suspension = campaign.suspension
    if status is CampaignStatus.PAUSED and suspension is not None:
        if suspension.until is not None and suspension.until <= now.timestamp():
            return Due(Control.PLAY, "resume", "suspension over")
        return None
    if status is CampaignStatus.PAUSED and campaign.alert is not None:
        # The dialer paused it because its calls all failed: only a person resumes it,
        # not the daily automatic start (the trunk would still be wrong).
        return None
    edges: list[tuple[datetime, Due]] = []
    for day in _days(last, now, zone):
        if settings.auto_stop and status is CampaignStatus.ACTIVE:
            edge = _at(day, settings.auto_stop, zone)
            if last < edge <= now:
                edges.append(
                    (edge, Due(Control.PAUSE, "pause", f"automatic stop at {settings.auto_stop}"))
                )
        if settings.auto_start and status in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
            edge = _at(day, settings.auto_start, zone)
            if last < edge <= now and within_dates(campaign, edge, zone):
                edges.append(
                    (edge, Due(Control.PLAY, "play", f"automatic start at {settings.auto_start}"))
                )
    if not edges:
        return None
    # The latest edge wins: after a long gap, the state it leaves is the one to apply.
    return max(edges, key=lambda e: e[0])[1]
