"""Transfers of campaign calls and the recordings of attempts, as the PBX reported them.

`summary` gives what the dashboard shows: the last transfer, how many in the last 15
minutes, how many today (in the call centre's zone: the caller passes the start of
its day, see `day_start`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pbx_dialer.calls import CallRecording, CallTransferred
from pbx_dialer.storage.db import Database

RECENT_S = 15 * 60


async def add(db: Database, transfer: CallTransferred) -> int | None:
    """Store a transfer with its attempt. Returns the campaign id, or None when the
    attempt is unknown or the same transfer was already stored."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO transfers (attempt_id, campaign_id, kind, at, "
            "transferred_by, agent_interface, target) "
            "SELECT id, campaign_id, ?, ?, ?, ?, ? FROM attempts WHERE id = ?",
            (
                transfer.kind.value,
                transfer.at,
                transfer.by,
                transfer.by_interface,
                transfer.target,
                transfer.attempt_id,
            ),
        )
        if cursor.rowcount != 1:
            return None
        async with conn.execute(
            "SELECT campaign_id FROM attempts WHERE id = ?", (transfer.attempt_id,)
        ) as rows:
            row = await rows.fetchone()
    return int(row["campaign_id"]) if row is not None else None


async def set_recording(db: Database, recording: CallRecording) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE attempts SET recording = ? WHERE id = ?",
            (recording.file, recording.attempt_id),
        )


async def list_for(
    db: Database, campaign_id: int, since: float | None, until: float | None, limit: int
) -> list[dict[str, Any]]:
    """The campaign's transfers in [since, until), newest first."""
    rows = await db.fetchall(
        "SELECT t.id, t.attempt_id, t.kind, t.at, t.transferred_by, t.agent_interface, "
        "t.target, a.phone, a.agent, a.recording FROM transfers t "
        "JOIN attempts a ON a.id = t.attempt_id "
        "WHERE t.campaign_id = ? AND t.at >= ? AND t.at < ? ORDER BY t.at DESC, t.id DESC "
        "LIMIT ?",
        (
            campaign_id,
            since if since is not None else float("-inf"),
            until if until is not None else float("inf"),
            limit,
        ),
    )
    return [dict(r) for r in rows]


def day_start(now: float, zone: ZoneInfo) -> float:
    """When `now`'s day began in `zone`. Where a DST jump skips midnight, the wall
    time 00:00 read with the offset before the jump is the jump itself: the day's start."""
    local = datetime.fromtimestamp(now, zone)
    return datetime(local.year, local.month, local.day, tzinfo=zone).timestamp()


async def summary(db: Database, campaign_id: int, now: float, today: float) -> dict[str, Any]:
    """The last transfer's time, transfers in the last 15 minutes and since `today`."""
    row = await db.fetchone(
        "SELECT max(at) AS last, "
        "coalesce(sum(at >= ? AND at <= ?), 0) AS recent, "
        "coalesce(sum(at >= ? AND at <= ?), 0) AS today FROM transfers WHERE campaign_id = ?",
        (now - RECENT_S, now, today, now, campaign_id),
    )
    assert row is not None
    return {
        "last_transfer_at": row["last"],
        "transfers_last_15_min": int(row["recent"]),
        "transfers_today": int(row["today"]),
    }
