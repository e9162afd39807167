"""Campaign services: create, edit, clone, control, suspend. The one place a campaign's
status changes: the API, the scheduler, the dial loop and the live feed all come here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pbx_dialer.campaigns.model import (
    EDITABLE,
    TAKES_RECORDS,
    Campaign,
    CampaignSettings,
    CampaignStatus,
    Control,
    Suspension,
    TransitionRefused,
    ValidationError,
    next_status,
)
from pbx_dialer.campaigns.schedule import local_date
from pbx_dialer.mail import valid_address
from pbx_dialer.notifier import Notifier
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database

# Counting records slower than this is worth reusing, for at most COUNTS_REUSE_S.
SLOW_COUNT_S = 0.02
COUNTS_REUSE_S = 1.0


class CampaignNotFound(LookupError):
    pass


class CampaignService:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Callable[[], float],
        on_change: Callable[[], None] = lambda: None,
        pbx_names: frozenset[str] = frozenset(),
        default_zone: str = "UTC",
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        # Wakes the dial loop so a Play or Pause takes effect at once.
        self.on_change = on_change
        self.pbx_names = pbx_names
        self.default_zone = default_zone
        self._counts: dict[int, tuple[float, dict[str, int]]] = {}

    async def get(self, campaign_id: int) -> Campaign:
        campaign = await campaign_rows.get(self.db, campaign_id)
        if campaign is None:
            raise CampaignNotFound(f"no campaign {campaign_id}")
        return campaign

    async def zone(self, campaign: Campaign) -> ZoneInfo:
        """The call centre's zone: its hour code's, else the configured default."""
        name = self.default_zone
        if campaign.settings.cc_hour_code_id is not None:
            row = await self.db.fetchone(
                "SELECT timezone FROM hour_codes WHERE id = ?",
                (campaign.settings.cc_hour_code_id,),
            )
            if row is not None:
                name = row["timezone"]
        return ZoneInfo(name)

    async def _check_references(self, settings: CampaignSettings) -> None:
        errors: dict[str, str] = {}
        if settings.pbx and self.pbx_names and settings.pbx not in self.pbx_names:
            errors["pbx"] = f"no PBX named {settings.pbx!r} is configured"
        for key in ("cc_hour_code_id", "consumer_hour_code_id"):
            code_id = getattr(settings, key)
            if code_id is not None and (
                await self.db.fetchone("SELECT 1 FROM hour_codes WHERE id = ?", (code_id,)) is None
            ):
                errors[key] = f"no hour code {code_id}"
        if errors:
            raise ValidationError(errors)

    async def create(self, settings: CampaignSettings) -> Campaign:
        await self._check_references(settings)
        campaign = await campaign_rows.create(self.db, settings, self.clock())
        await self.publish(campaign.id)
        return campaign

    async def edit(
        self, campaign_id: int, settings: CampaignSettings, actor: str = "api"
    ) -> Campaign:
        """Edits take effect at once, even while the campaign dials. A Completed campaign
        may be edited (for the records it may still get); it stays Completed."""
        current = await self.get(campaign_id)
        if current.status not in EDITABLE:
            raise TransitionRefused(f"a {current.status.value} campaign cannot be edited")
        await self._check_references(settings)
        await campaign_rows.update_settings(self.db, campaign_id, settings, self.clock(), actor)
        campaign = await self.get(campaign_id)
        await self.publish(campaign_id)
        self.on_change()
        return campaign

    async def clone(self, campaign_id: int, name: str | None, actor: str = "api") -> Campaign:
        """A new Draft with the same settings, to run with a new list."""
        source = await self.get(campaign_id)
        if name is None:
            name = await self._copy_name(source.settings.name)
        settings = replace(source.settings, name=name)
        settings.validate()
        campaign = await campaign_rows.create(
            self.db, settings, self.clock(), cloned_from=source.id
        )
        await campaign_rows.record_action(
            self.db, campaign.id, "clone", actor, self.clock(), f"cloned from campaign {source.id}"
        )
        await self.publish(campaign.id)
        return campaign

    async def _copy_name(self, name: str) -> str:
        for n in range(1, 1000):
            suffix = " (copy)" if n == 1 else f" (copy {n})"
            candidate = name[: 120 - len(suffix)] + suffix
            if not await campaign_rows.name_used(self.db, candidate):
                return candidate
        raise ValidationError({"name": "give the copy a name"})

    async def control(
        self,
        campaign_id: int,
        control: Control,
        actor: str,
        detail: str = "",
        *,
        action: str | None = None,
        suspension: Suspension | None = None,
        alert: str | None = None,
    ) -> Campaign:
        """Apply one control. `alert`: why the dialer paused it by itself, shown until
        the next change of status (any other change clears an alert)."""
        campaign = await self.get(campaign_id)
        target = next_status(campaign.status, control)
        if control is Control.PLAY:
            await self._check_can_play(campaign)
        changed = await campaign_rows.set_status(
            self.db,
            campaign_id,
            campaign.status,
            target,
            action=action or control.value,
            actor=actor,
            now=self.clock(),
            detail=detail,
            suspension=suspension,
            alert=alert,
        )
        if not changed:
            # Someone else changed it meanwhile: report against the status it has now.
            current = await self.get(campaign_id)
            next_status(current.status, control)
            raise TransitionRefused(f"campaign {campaign_id} changed meanwhile; try again")
        campaign = await self.get(campaign_id)
        await self.publish(campaign_id)
        self.on_change()
        return campaign

    async def check_takes_work(self, campaign_id: int) -> Campaign:
        """Before adding records or a callback: a Stopped campaign takes none (409)."""
        campaign = await self.get(campaign_id)
        if campaign.status not in TAKES_RECORDS:
            raise TransitionRefused(
                f"campaign {campaign_id} is {campaign.status.value}: it takes no new records "
                "or callbacks (clone it to dial again)"
            )
        return campaign

    async def reopen_for(self, campaign_id: int, actor: str, why: str) -> Campaign:
        """Records or a callback were added: a Completed campaign has something to dial
        again and reopens to Paused (a supervisor resumes it), `why` in its history. Any
        other status that takes work is left as it is; a Stopped one is refused."""
        campaign = await self.check_takes_work(campaign_id)
        if campaign.status is not CampaignStatus.COMPLETED:
            return campaign
        try:
            return await self.control(campaign_id, Control.REOPEN, actor, why)
        except TransitionRefused:
            # Reopened (or stopped) by someone else meanwhile: say how it is now.
            return await self.check_takes_work(campaign_id)

    async def _check_can_play(self, campaign: Campaign) -> None:
        missing = campaign.settings.missing_to_start()
        if missing:
            raise TransitionRefused(f"cannot start: missing {', '.join(missing)}")
        zone = await self.zone(campaign)
        today = local_date(datetime.fromtimestamp(self.clock(), UTC), zone)
        settings = campaign.settings
        if settings.start_date and today < settings.start_date:
            raise TransitionRefused(f"cannot start before its start date {settings.start_date}")
        if settings.end_date and today > settings.end_date:
            raise TransitionRefused(f"cannot start after its end date {settings.end_date}")

    async def suspend(
        self,
        campaign_id: int,
        actor: str,
        resume_at: float | None = None,
        reminder_at: float | None = None,
        reminder_to: str | None = None,
    ) -> Campaign:
        """Pause with a resume time (it resumes by itself) and/or an email reminder."""
        now = self.clock()
        errors: dict[str, str] = {}
        if resume_at is not None and resume_at <= now:
            errors["resume_at"] = "must be in the future"
        if reminder_at is not None and reminder_at <= now:
            errors["reminder_at"] = "must be in the future"
        if reminder_to is not None and not valid_address(reminder_to):
            errors["reminder_to"] = "must be one email address"
        elif (reminder_at is None) != (reminder_to is None):
            errors["reminder_to"] = "reminder_at and reminder_to go together"
        if errors:
            raise ValidationError(errors)
        campaign = await self.get(campaign_id)
        if campaign.status is not CampaignStatus.ACTIVE:
            raise TransitionRefused(
                f"only an active campaign can be suspended, not a {campaign.status.value} one"
            )
        detail = "until " + _iso(resume_at) if resume_at else "until resumed by hand"
        if reminder_to:
            detail += f"; reminder to {reminder_to} at {_iso(reminder_at)}"
        return await self.control(
            campaign_id,
            Control.PAUSE,
            actor,
            detail,
            action="suspend",
            suspension=Suspension(
                until=resume_at, reminder_at=reminder_at, reminder_to=reminder_to
            ),
        )

    async def publish(self, campaign_id: int) -> None:
        """Tell live pages the campaign as it is now, with its record counts."""
        self.notifier.publish("campaign", {"campaign": await self.summary(campaign_id)})

    async def summary(self, campaign_id: int) -> dict[str, object]:
        campaign = await self.get(campaign_id)
        return {**campaign.to_json(), "records": await self.record_counts(campaign_id)}

    async def record_counts(self, campaign_id: int) -> dict[str, int]:
        """Records per state. Counting a big campaign reads its whole index (65 ms at
        1M records), so when counting took long the answer is reused for up to a second:
        many pages and API clients asking together then cost one count."""
        now = time.monotonic()
        cached = self._counts.get(campaign_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        counts = await record_rows.counts(self.db, campaign_id)
        took = time.monotonic() - now
        if took > SLOW_COUNT_S:
            self._counts[campaign_id] = (time.monotonic() + COUNTS_REUSE_S, counts)
        else:
            self._counts.pop(campaign_id, None)
        return counts

    async def history(self, campaign_id: int) -> list[dict[str, object]]:
        await self.get(campaign_id)
        return await campaign_rows.actions(self.db, campaign_id)


def _iso(moment: float | None) -> str:
    return "" if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()
