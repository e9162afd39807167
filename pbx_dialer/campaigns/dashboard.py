"""What the campaigns dashboard and the campaign table show for each campaign: its
inventory bands, transfer icon, suspension, logged-in agents, progress and the controls
its status allows.

`panel` and friends are pure; `DashboardService` reads one page of campaigns with a
fixed number of queries (see storage/dashboard.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pbx_dialer.campaigns.model import TRANSITIONS, Campaign, CampaignStatus, Control
from pbx_dialer.records.inventory import fold
from pbx_dialer.storage import dashboard as dashboard_rows
from pbx_dialer.storage.db import Database
from pbx_dialer.storage.transfers import day_start

PAGE_SIZE = 50
MAX_PAGE = 500
# The bar's bands, left to right: what is done, then what comes due soonest.
BAR_BANDS = ("completed", "ready_now", "due_0_15", "due_15_30", "due_30_plus")
# Controls a supervisor presses; COMPLETE is the dial loop's own.
STEERING = (Control.PLAY, Control.PAUSE, Control.STOP)


def transfer_state(summary: dict[str, Any]) -> str:
    """The headset icon: 'recent' (a transfer in the last 15 minutes), 'today' (none in
    the last 15 minutes but some today) or 'none' (no transfer today)."""
    if summary["transfers_last_15_min"] > 0:
        return "recent"
    if summary["transfers_today"] > 0:
        return "today"
    return "none"


def controls_for(status: CampaignStatus) -> list[str]:
    """Play, Pause and Stop where the status allows them, in that order."""
    return [c.value for c in STEERING if c in TRANSITIONS[status]]


def progress_pct(bands: dict[str, int], total: int) -> int:
    """Share of the loaded records nothing more will be dialed for, in whole percent
    (rounded down: 100 only when all are done)."""
    return 100 * bands["completed"] // total if total else 0


def panel(
    campaign: Campaign, inventory: dict[str, Any], transfers: dict[str, Any], agents: int
) -> dict[str, Any]:
    bands: dict[str, int] = inventory["bands"]
    total: int = inventory["total"]
    settings = campaign.settings
    return {
        "id": campaign.id,
        "name": settings.name,
        "status": campaign.status.value,
        "created_at": campaign.created_at,
        "queue": settings.queue,
        "dial_mode": settings.dial_mode,
        "live": campaign.live,
        "suspended": campaign.suspension is not None,
        "resume_at": campaign.suspension.until if campaign.suspension else None,
        "alert": campaign.alert.to_json() if campaign.alert else None,
        "records": total,
        # The bar's bands; records on a call or in a disabled list are in the total too.
        "bands": {name: bands[name] for name in BAR_BANDS},
        "in_progress": bands["in_progress"],
        "list_disabled": bands["list_disabled"],
        "waiting": total - bands["completed"] - bands["in_progress"],
        "progress_pct": progress_pct(bands, total),
        "transfers": {**transfers, "state": transfer_state(transfers)},
        "agents_logged_in": agents,
        "controls": controls_for(campaign.status),
    }


@dataclass(frozen=True)
class PageRequest:
    offset: int = 0
    limit: int = PAGE_SIZE
    sort: str = "id"
    descending: bool = False
    ids: Sequence[int] | None = None
    # The user's Campaigns profile: None for all campaigns.
    visible: frozenset[int] | None = None


class DashboardService:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], float],
        default_zone: str,
        agents: Callable[[Campaign], int],
    ) -> None:
        self.db = db
        self.clock = clock
        self.default_zone = default_zone
        # Logged-in agents of a campaign's queue, from its PBX's queue tracker.
        self.agents = agents

    async def page(self, request: PageRequest) -> dict[str, Any]:
        now = self.clock()
        campaigns, total = await dashboard_rows.campaign_page(
            self.db,
            request.offset,
            request.limit,
            request.sort,
            request.descending,
            request.ids,
            request.visible,
        )
        ids = [c.id for c in campaigns]
        inventories = await dashboard_rows.inventory_counts(self.db, ids, now)
        zones = await dashboard_rows.hour_code_zones(
            self.db, [c.settings.cc_hour_code_id for c in campaigns if c.settings.cc_hour_code_id]
        )
        starts: dict[int, float] = {}
        zone_cache: dict[str, float] = {}
        for c in campaigns:
            name = zones.get(c.settings.cc_hour_code_id or 0, self.default_zone)
            if name not in zone_cache:
                zone_cache[name] = day_start(now, ZoneInfo(name))
            starts[c.id] = zone_cache[name]
        transfers = await dashboard_rows.transfer_summaries(self.db, starts, now)
        return {
            "at": now,
            "total": total,
            "offset": request.offset,
            "limit": request.limit,
            "campaigns": [
                panel(c, fold(inventories[c.id]), transfers[c.id], self.agents(c))
                for c in campaigns
            ],
        }
