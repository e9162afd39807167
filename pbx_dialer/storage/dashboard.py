"""The dashboard's reads: a page of campaigns, then their inventories, transfers and
call-centre zones for the whole page at once (a fixed number of queries per page,
never one per campaign)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pbx_dialer.campaigns.model import Campaign
from pbx_dialer.records.inventory import StateCount
from pbx_dialer.storage.campaigns import campaign_from_row
from pbx_dialer.storage.db import Database
from pbx_dialer.storage.records import STATE_COUNT_COLUMNS, band_edges, state_count_from_row
from pbx_dialer.storage.transfers import RECENT_S

# Sort key -> ORDER BY expression. The id breaks ties so pages never overlap.
SORTS = {
    "id": "id",
    "created_at": "created_at",
    "name": "name COLLATE NOCASE",
    "status": "status",
}


async def campaign_page(
    db: Database,
    offset: int,
    limit: int,
    sort: str = "id",
    descending: bool = False,
    ids: Sequence[int] | None = None,
    visible: Iterable[int] | None = None,
) -> tuple[list[Campaign], int]:
    """One page of campaigns in the chosen order (only `ids` if given, only `visible`
    ones if given: a user's Campaigns profile), and how many there are in all."""
    direction = "DESC" if descending else "ASC"
    conditions, params = [], []
    for chosen in (ids, visible):
        if chosen is not None:
            conditions.append("id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(sorted(chosen)))
    where = "WHERE " + " AND ".join(conditions) if conditions else ""
    rows = await db.fetchall(
        f"SELECT * FROM campaigns {where} ORDER BY {SORTS[sort]} {direction}, id {direction} "
        "LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    total = await db.fetchone(f"SELECT count(*) AS n FROM campaigns {where}", params)
    return [campaign_from_row(r) for r in rows], int(total["n"]) if total is not None else 0


async def inventory_counts(
    db: Database, campaign_ids: Sequence[int], now: float
) -> dict[int, list[StateCount]]:
    """The grouped counts of `storage.records.inventory_counts`, for many campaigns in
    one pass over the records_pick index."""
    found: dict[int, list[StateCount]] = {cid: [] for cid in campaign_ids}
    if not campaign_ids:
        return found
    rows = await db.fetchall(
        f"SELECT campaign_id, {STATE_COUNT_COLUMNS}"
        "FROM records WHERE campaign_id IN (SELECT value FROM json_each(?4)) "
        "GROUP BY campaign_id, state, list_enabled",
        (*band_edges(now), json.dumps(list(campaign_ids))),
    )
    for r in rows:
        found.setdefault(r["campaign_id"], []).append(state_count_from_row(r))
    return found


async def transfer_summaries(
    db: Database, day_starts: dict[int, float], now: float
) -> dict[int, dict[str, Any]]:
    """Per campaign (keyed like `day_starts`, which gives when its day began): its last
    transfer today, and how many in the last 15 minutes and today. Reads only the
    transfers since the earlier of those two starts, through transfers_campaign_at."""
    empty = {"last_transfer_at": None, "transfers_last_15_min": 0, "transfers_today": 0}
    found = {cid: dict(empty) for cid in day_starts}
    if not day_starts:
        return found
    rows = await db.fetchall(
        "WITH days AS (SELECT json_extract(value, '$[0]') AS cid, "
        "json_extract(value, '$[1]') AS start FROM json_each(?1)) "
        "SELECT days.cid AS cid, max(t.at) AS last, "
        "sum(t.at >= ?2) AS recent, sum(t.at >= days.start) AS today "
        "FROM days JOIN transfers t ON t.campaign_id = days.cid "
        "AND t.at >= min(days.start, ?2) AND t.at <= ?3 GROUP BY days.cid",
        (json.dumps([[cid, start] for cid, start in day_starts.items()]), now - RECENT_S, now),
    )
    for r in rows:
        found[int(r["cid"])] = {
            "last_transfer_at": r["last"],
            "transfers_last_15_min": int(r["recent"] or 0),
            "transfers_today": int(r["today"] or 0),
        }
    return found


async def hour_code_zones(db: Database, hour_code_ids: Sequence[int]) -> dict[int, str]:
    """The time zone of each hour code named."""
    if not hour_code_ids:
        return {}
    rows = await db.fetchall(
        "SELECT id, timezone FROM hour_codes WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(set(hour_code_ids))),),
    )
    return {r["id"]: r["timezone"] for r in rows}
