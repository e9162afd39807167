"""Applies campaign schedules and suspensions as time passes, and sends the reminders.

The decisions are `schedule.due`'s (pure); this only brings the clock, applies them
through the campaign service (so each one is in the audit trail with actor
"schedule") and talks to the SMTP server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pbx_dialer.campaigns.model import Campaign, CampaignStatus, TransitionRefused
from pbx_dialer.campaigns.schedule import Due, due
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.config import SmtpSettings
from pbx_dialer.mail import MailError, send_mail
from pbx_dialer.storage import campaigns as campaign_rows

log = logging.getLogger(__name__)
MAIL_RETRY_S = 60.0


class CampaignScheduler:
    def __init__(
        self, service: CampaignService, smtp: SmtpSettings, clock: Callable[[], float]
    ) -> None:
        self.service = service
        self.smtp = smtp
        self.clock = clock
        # Since the dialer runs: a schedule edge passed while it was down is not replayed.
        self._last = datetime.fromtimestamp(clock(), UTC)
        self._mail_retry_at: dict[int, float] = {}
        self.mail_errors: dict[int, str] = {}

    async def tick(self) -> list[tuple[int, Due]]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        last, self._last = self._last, now
        applied: list[tuple[int, Due]] = []
        for campaign in await campaign_rows.list_scheduled(self.service.db):
            decision = due(campaign, await self.service.zone(campaign), last, now)
            if decision is not None:
                try:
                    await self.service.control(
                        campaign.id,
                        decision.control,
                        actor="schedule",
                        detail=decision.detail,
                        action=decision.action,
                    )
                    applied.append((campaign.id, decision))
                except TransitionRefused as exc:
                    # e.g. an automatic start of a Draft whose settings are incomplete.
                    log.warning(
                        "campaign %s: %s not applied: %s", campaign.id, decision.action, exc
                    )
                    await campaign_rows.record_action(
                        self.service.db, campaign.id, f"{decision.action} refused", "schedule",
                        now.timestamp(), str(exc),
                    )  # fmt: skip
            elif self._reminder_due(campaign, now.timestamp()):
                await self._remind(campaign)
        return applied

    def _reminder_due(self, campaign: Campaign, now: float) -> bool:
        s = campaign.suspension
        return (
            campaign.status is CampaignStatus.PAUSED
            and s is not None
            and s.reminder_at is not None
            and s.reminder_to is not None
            and s.reminder_sent_at is None
            and s.reminder_at <= now
            and self._mail_retry_at.get(campaign.id, 0.0) <= now
        )

    async def _remind(self, campaign: Campaign) -> None:
        suspension = campaign.suspension
        assert suspension is not None and suspension.reminder_to is not None
        if suspension.until is not None:
            when = datetime.fromtimestamp(suspension.until, UTC)
            until = f"It resumes by itself at {when:%Y-%m-%d %H:%M} UTC."
        else:
            until = "It will not resume until someone resumes it."
        body = (
            f'Campaign "{campaign.settings.name}" (id {campaign.id}) is suspended: '
            f"nothing is being dialed.\n{until}\n\nResume it from the campaign dashboard "
            f"or with POST /api/campaigns/{campaign.id}/resume.\n"
        )
        try:
            await send_mail(
                self.smtp,
                suspension.reminder_to,
                f'Reminder: campaign "{campaign.settings.name}" is suspended',
                body,
            )
        except MailError as exc:
            self._mail_retry_at[campaign.id] = self.clock() + MAIL_RETRY_S
            self.mail_errors[campaign.id] = str(exc)
            log.warning("campaign %s: reminder not sent: %s", campaign.id, exc)
            return
        self.mail_errors.pop(campaign.id, None)
        await campaign_rows.reminder_sent(
            self.service.db, campaign.id, self.clock(), suspension.reminder_to
        )
        await self.service.publish(campaign.id)

    async def run(self, interval: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler pass failed")
