"""Campaign services: create, edit, control. The one place a campaign's status changes."""

from __future__ import annotations

from collections.abc import Callable

from pbx_dialer.campaigns.model import (
    Campaign,
    CampaignSettings,
    CampaignStatus,
    Control,
    TransitionRefused,
    next_status,
)
from pbx_dialer.notifier import Notifier
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database


class CampaignNotFound(LookupError):
    pass


class CampaignService:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Callable[[], float],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        # Wakes the dial loop so a Play or Pause takes effect at once.
        self.on_change = on_change

    async def get(self, campaign_id: int) -> Campaign:
        campaign = await campaign_rows.get(self.db, campaign_id)
        if campaign is None:
            raise CampaignNotFound(f"no campaign {campaign_id}")
        return campaign

    async def create(self, settings: CampaignSettings) -> Campaign:
        campaign = await campaign_rows.create(self.db, settings, self.clock())
        await self.publish(campaign.id)
        return campaign

    async def edit(self, campaign_id: int, settings: CampaignSettings) -> Campaign:
        """Edits take effect at once, even while the campaign dials."""
        await self.get(campaign_id)
        await campaign_rows.update_settings(self.db, campaign_id, settings, self.clock())
        campaign = await self.get(campaign_id)
        await self.publish(campaign_id)
        self.on_change()
        return campaign

    async def control(
        self, campaign_id: int, control: Control, actor: str, detail: str = ""
    ) -> Campaign:
        campaign = await self.get(campaign_id)
        target = next_status(campaign.status, control)
        if campaign.status is CampaignStatus.DRAFT and control is Control.PLAY:
            missing = campaign.settings.missing_to_start()
            if missing:
                raise TransitionRefused(f"cannot start: missing {', '.join(missing)}")
        changed = await campaign_rows.set_status(
            self.db,
            campaign_id,
            campaign.status,
            target,
            action=control.value,
            actor=actor,
            now=self.clock(),
            detail=detail,
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

    async def publish(self, campaign_id: int) -> None:
        """Tell live pages the campaign as it is now, with its record counts."""
        self.notifier.publish("campaign", {"campaign": await self.summary(campaign_id)})

    async def summary(self, campaign_id: int) -> dict[str, object]:
        campaign = await self.get(campaign_id)
        return {**campaign.to_json(), "records": await record_rows.counts(self.db, campaign_id)}
