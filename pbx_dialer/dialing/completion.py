"""When a campaign is done: the one rule the dial loop and the agent desk both apply
before they complete a campaign (Completed is final until new work reopens it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pbx_dialer.campaigns.model import Campaign
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database


class OnCall(Protocol):
    """A call the dialer follows (engine.LiveCall)."""

    @property
    def campaign_id(self) -> int: ...


async def may_dial_again(db: Database, campaign: Campaign, calls: Iterable[OnCall]) -> bool:
    """Whether any record of the campaign can ever be dialed again: a live campaign (its
    CRM may send more records at any time), a call of it still followed, a record
    waiting (a retry or callback due later, a disabled list), picked or on a call (a call
    that ended at once leaves the live table before its record is written back for
    the retry), or held by an agent. Only when none is left is the campaign complete."""
    if campaign.live or any(call.campaign_id == campaign.id for call in calls):
        return True
    return await record_rows.any_left_to_dial(db, campaign.id)
