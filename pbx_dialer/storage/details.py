"""The queries behind the campaign details page: the pie's grouped counts, the customers
with their attempts, delivery results, records loaded, agents in wrap-up, recordings.

Each returns plain rows; what they mean (segments, customer results, periods) is decided
in pbx_dialer.campaigns.details.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from pbx_dialer.storage.db import Database
from pbx_dialer.storage.records import RecordFilter

# What the called person got (attempts.media): an agent, or a recorded message.
MEDIA_TYPES = ("agent", "message")


_PIE_GROUPS = (
    "SELECT state, list_enabled, attempts > 0 AS dialed, classification, last_result, "
    "reason, count(*) AS n FROM records WHERE campaign_id = ? "
    "GROUP BY state, list_enabled, dialed, classification, last_result, reason"
)


def _read_only_uri(path: str) -> str:
    return Path(os.path.abspath(path)).as_uri() + "?mode=ro"


async def pie_groups(
    db: Database, campaign_id: int, own_reader: bool = False
) -> list[dict[str, Any]]:
    """Records grouped by everything the pie tells apart: state, list flag, whether
    dialed before, classification, last technical result and filtering reason.

    It reads every record of the campaign (about 2 s at 1M). With `own_reader` it runs
    on a read-only connection of its own: WAL readers do not block the writer, and the
    dial loop's statements on the shared connection do not queue behind it."""
    if not own_reader:
        return [dict(r) for r in await db.fetchall(_PIE_GROUPS, (campaign_id,))]
    async with aiosqlite.connect(_read_only_uri(db.path), uri=True) as conn:
        conn.row_factory = aiosqlite.Row
        async with conn.execute(_PIE_GROUPS, (campaign_id,)) as cursor:
            return [dict(r) for r in await cursor.fetchall()]


_CUSTOMER_COLUMNS = (
    "id, name, phone, phones, state, attempts, next_attempt_at, handled_at, cancelled_at, "
    "last_result, classification, external_id, reason, list_enabled, callback_agent"
)


async def customers(
    db: Database, campaign_id: int, where: RecordFilter, now: float, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a campaign's records (id order) with what the Customers tab shows,
    and how many match in all."""
    sql, params = where.where(campaign_id, now)
    rows = await db.fetchall(
        f"SELECT {_CUSTOMER_COLUMNS} FROM records WHERE {sql} ORDER BY id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    total = await db.fetchone(f"SELECT count(*) AS n FROM records WHERE {sql}", params)
    found = []
    for row in rows:
        item = dict(row)
        phones = json.loads(item["phones"] or "[]")
        item["phones"] = phones if phones else [item["phone"]]
        found.append(item)
    return found, int(total["n"]) if total is not None else 0


async def live_attempts(db: Database, record_ids: Sequence[int]) -> dict[int, float]:
    """When the call now on each of these records was placed."""
    if not record_ids:
        return {}
    marks = ", ".join("?" for _ in record_ids)
    rows = await db.fetchall(
        f"SELECT record_id, max(placed_at) AS at FROM attempts WHERE record_id IN ({marks}) "
        "AND state != 'ended' GROUP BY record_id",
        list(record_ids),
    )
    return {int(r["record_id"]): float(r["at"]) for r in rows}


async def attempt_counts(db: Database, record_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """Attempts per (record, number) with how many have a recording."""
    if not record_ids:
        return {}
    marks = ", ".join("?" for _ in record_ids)
    rows = await db.fetchall(
        f"SELECT record_id, phone, count(*) AS n FROM attempts WHERE record_id IN ({marks}) "
        "GROUP BY record_id, phone",
        list(record_ids),
    )
    return {(int(r["record_id"]), str(r["phone"])): int(r["n"]) for r in rows}


async def record_attempts(
    db: Database, campaign_id: int, record_id: int
) -> list[dict[str, Any]] | None:
    """Every attempt made to a record, newest first; None if the campaign has no such
    record."""
    found = await db.fetchone(
        "SELECT 1 FROM records WHERE id = ? AND campaign_id = ?", (record_id, campaign_id)
    )
    if found is None:
        return None
    rows = await db.fetchall(
        "SELECT id, phone, state, result, cause, agent, classification, placed_at, "
        "answered_at, ended_at, talk_s, recording, cause_code, sip_status, times_known "
        "FROM attempts WHERE record_id = ? ORDER BY id DESC",
        (record_id,),
    )
    return [{**dict(r), "times_known": bool(r["times_known"])} for r in rows]


async def delivery(
    db: Database,
    campaign_id: int,
    since: float,
    until: float,
    media: str | None,
    limit: int,
) -> dict[str, Any]:
    """Attempts placed in [since, until), of one media type or all: counts per technical
    result and per classification, and the latest `limit` of them."""
    where = "a.campaign_id = ? AND a.placed_at >= ? AND a.placed_at < ?"
    params: list[Any] = [campaign_id, since, until]
    if media is not None:
        where += " AND a.media = ?"
        params.append(media)
    results = await db.fetchall(
        f"SELECT coalesce(a.result, 'IN_PROGRESS') AS result, count(*) AS n FROM attempts a "
        f"WHERE {where} GROUP BY 1 ORDER BY n DESC, 1",
        params,
    )
    classes = await db.fetchall(
        f"SELECT coalesce(a.classification, '') AS classification, count(*) AS n "
        f"FROM attempts a WHERE {where} GROUP BY 1 ORDER BY n DESC, 1",
        params,
    )
    # What the network said, per result: a wrong number (SIP 404) apart from a trunk
    # that refuses every call (503), both far from a busy line.
    network = await db.fetchall(
        f"SELECT a.result, a.sip_status, a.cause_code, count(*) AS n FROM attempts a "
        f"WHERE {where} AND a.result IS NOT NULL GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3",
        params,
    )
    latest = await db.fetchall(
        f"SELECT a.id, a.record_id, a.phone, a.state, a.result, a.classification, a.agent, "
        f"a.placed_at, a.ended_at, a.talk_s, a.recording, a.media, a.cause_code, "
        f"a.sip_status, a.times_known, "
        f"r.name AS record_name FROM attempts a JOIN records r ON r.id = a.record_id "
        f"WHERE {where} ORDER BY a.id DESC LIMIT ?",
        [*params, limit],
    )
    return {
        "total": sum(int(r["n"]) for r in results),
        "results": {str(r["result"]): int(r["n"]) for r in results},
        "classifications": {str(r["classification"]): int(r["n"]) for r in classes},
        "network": [dict(r) for r in network],
        "attempts": [{**dict(r), "times_known": bool(r["times_known"])} for r in latest],
    }


async def records_loaded(
    db: Database, campaign_id: int, since: float, until: float
) -> list[dict[str, Any]]:
    """Records created in [since, until), per contact list (an import, the API, a CRM)."""
    rows = await db.fetchall(
        "SELECT l.id AS list_id, coalesce(l.name, '') AS list_name, "
        "coalesce(l.source, 'api') AS source, l.enabled AS enabled, l.import_id AS import_id, "
        "count(*) AS n, min(r.created_at) AS first_at, max(r.created_at) AS last_at "
        "FROM records r LEFT JOIN contact_lists l ON l.id = r.list_id "
        "WHERE r.campaign_id = ? AND r.created_at >= ? AND r.created_at < ? "
        "GROUP BY r.list_id ORDER BY first_at, l.id",
        (campaign_id, since, until),
    )
    return [{**dict(r), "enabled": r["enabled"] is None or bool(r["enabled"])} for r in rows]


# Wrap-up looks at this many of the campaign's latest attempts (read backwards on its
# index): a call that ended seconds ago is among them unless thousands were placed since.
RECENT_ATTEMPTS = 2000


async def unclassified_since(db: Database, campaign_id: int, since: float) -> dict[str, float]:
    """Agents whose latest connected call of the campaign ended after `since` and has no
    classification by an agent yet: agent -> when that call ended."""
    rows = await db.fetchall(
        "SELECT id, agent, ended_at, classified_by FROM attempts WHERE campaign_id = ? "
        "AND id IN (SELECT id FROM attempts WHERE campaign_id = ? ORDER BY id DESC LIMIT ?) "
        "AND state = 'ended' AND connected_at IS NOT NULL AND agent IS NOT NULL",
        (campaign_id, campaign_id, RECENT_ATTEMPTS),
    )
    latest: dict[str, tuple[float, int, bool]] = {}
    for r in rows:
        agent, order = str(r["agent"]), (float(r["ended_at"]), int(r["id"]))
        if agent not in latest or order > latest[agent][:2]:
            latest[agent] = (*order, r["classified_by"] is not None)
    return {
        agent: ended
        for agent, (ended, _, classified) in latest.items()
        if ended > since and not classified
    }


async def abandonment_since(db: Database, campaign_id: int, since: float) -> dict[str, Any]:
    """Abandoned over live-answered calls (SUCCESS or ABANDONED) ended after `since`;
    the same rule as storage.attempts.abandonment, for a window of our own."""
    row = await db.fetchone(
        "SELECT coalesce(sum(result IN ('SUCCESS', 'ABANDONED')), 0) AS answered, "
        "coalesce(sum(result = 'ABANDONED'), 0) AS abandoned FROM attempts "
        "WHERE campaign_id = ? AND state = 'ended' AND ended_at >= ?",
        (campaign_id, since),
    )
    answered = int(row["answered"]) if row is not None else 0
    abandoned = int(row["abandoned"]) if row is not None else 0
    pct = round(100.0 * abandoned / answered, 2) if answered else 0.0
    return {"answered": answered, "abandoned": abandoned, "pct": pct}


async def recording_of(db: Database, attempt_id: int) -> dict[str, Any] | None:
    """The attempt's campaign, PBX and recording file (None: no such attempt)."""
    row = await db.fetchone(
        "SELECT id, campaign_id, pbx, recording FROM attempts WHERE id = ?", (attempt_id,)
    )
    return dict(row) if row is not None else None
