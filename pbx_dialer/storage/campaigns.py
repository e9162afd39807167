"""Campaign rows and their audit trail of control actions."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import aiosqlite

from pbx_dialer.campaigns.model import (
    Campaign,
    CampaignAlert,
    CampaignSettings,
    CampaignStatus,
    Suspension,
)
from pbx_dialer.storage.db import Database

_SETTING_COLUMNS = [f.name for f in fields(CampaignSettings)]
_JSON_COLUMNS = {
    "retry_rules",
    "classifications",
    "result_classifications",
    "number_caps",
    "next_number_on",
}
_TUPLE_COLUMNS = ("classifications", "number_caps", "next_number_on")


def _to_column(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        return json.dumps(list(value) if name in _TUPLE_COLUMNS else value)
    if name in ("recording", "amd"):
        return int(value)
    return value


def _from_column(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        loaded = json.loads(value)
        return tuple(loaded) if name in _TUPLE_COLUMNS else loaded
    if name in ("recording", "amd"):
        return bool(value)
    return value


def campaign_from_row(row: aiosqlite.Row) -> Campaign:
    suspension = None
    if row["suspended"]:
        suspension = Suspension(
            until=row["suspended_until"],
            reminder_at=row["reminder_at"],
            reminder_to=row["reminder_to"],
            reminder_sent_at=row["reminder_sent_at"],
        )
    return Campaign(
        id=row["id"],
        status=CampaignStatus(row["status"]),
        settings=CampaignSettings(**{c: _from_column(c, row[c]) for c in _SETTING_COLUMNS}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        suspension=suspension,
        cloned_from=row["cloned_from"],
        live=bool(row["live"]),
        alert=CampaignAlert(row["alert"], row["alert_at"]) if row["alert"] else None,
    )


class NameTaken(ValueError):
    pass


async def create(
    db: Database, settings: CampaignSettings, now: float, cloned_from: int | None = None
) -> Campaign:
    cols = ", ".join(_SETTING_COLUMNS)
    marks = ", ".join("?" for _ in _SETTING_COLUMNS)
    values = [_to_column(c, getattr(settings, c)) for c in _SETTING_COLUMNS]
    async with db.transaction() as conn:
        if await _name_used(conn, settings.name, None):
            raise NameTaken(settings.name)
        cursor = await conn.execute(
            f"INSERT INTO campaigns ({cols}, created_at, updated_at, cloned_from) "
            f"VALUES ({marks}, ?, ?, ?)",
            [*values, now, now, cloned_from],
        )
        campaign_id = cursor.lastrowid
    assert campaign_id is not None
    found = await get(db, campaign_id)
    assert found is not None
    return found


async def _name_used(conn: aiosqlite.Connection, name: str, except_id: int | None) -> bool:
    async with conn.execute(
        "SELECT 1 FROM campaigns WHERE name = ? AND id IS NOT ?", (name, except_id)
    ) as cursor:
        return await cursor.fetchone() is not None


async def name_used(db: Database, name: str) -> bool:
    return await db.fetchone("SELECT 1 FROM campaigns WHERE name = ?", (name,)) is not None


async def update_settings(
    db: Database, campaign_id: int, settings: CampaignSettings, now: float, actor: str = ""
) -> None:
    """Store new settings and, in the same transaction, which ones changed and who did it."""
    sets = ", ".join(f"{c} = ?" for c in _SETTING_COLUMNS)
    async with db.transaction() as conn:
        if await _name_used(conn, settings.name, campaign_id):
            raise NameTaken(settings.name)
        async with conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)) as cur:
            row = await cur.fetchone()
        changed = (
            []
            if row is None
            else [c for c in _SETTING_COLUMNS if row[c] != _to_column(c, getattr(settings, c))]
        )
        await conn.execute(
            f"UPDATE campaigns SET {sets}, updated_at = ? WHERE id = ?",
            [*(_to_column(c, getattr(settings, c)) for c in _SETTING_COLUMNS), now, campaign_id],
        )
        if changed and actor:
            await conn.execute(
                "INSERT INTO campaign_actions (campaign_id, action, actor, at, detail) "
                "VALUES (?, 'edit', ?, ?, ?)",
                (campaign_id, actor, now, ", ".join(changed)),
            )


async def get(db: Database, campaign_id: int) -> Campaign | None:
    row = await db.fetchone("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
    return campaign_from_row(row) if row is not None else None


async def list_all(db: Database) -> list[Campaign]:
    return [campaign_from_row(r) for r in await db.fetchall("SELECT * FROM campaigns ORDER BY id")]


async def list_with_status(db: Database, status: CampaignStatus) -> list[Campaign]:
    rows = await db.fetchall("SELECT * FROM campaigns WHERE status = ? ORDER BY id", (status,))
    return [campaign_from_row(r) for r in rows]


async def list_scheduled(db: Database) -> list[Campaign]:
    """Campaigns the scheduler looks after: with a schedule, or suspended."""
    rows = await db.fetchall(
        "SELECT * FROM campaigns WHERE status IN ('draft', 'active', 'paused') AND ("
        "auto_start IS NOT NULL OR auto_stop IS NOT NULL OR end_date IS NOT NULL "
        "OR suspended = 1) ORDER BY id"
    )
    return [campaign_from_row(r) for r in rows]


async def set_status(
    db: Database,
    campaign_id: int,
    expected: CampaignStatus,
    status: CampaignStatus,
    *,
    action: str,
    actor: str,
    now: float,
    detail: str = "",
    suspension: Suspension | None = None,
    alert: str | None = None,
) -> bool:
    """Compare-and-set the status (and the suspension and alert that go with it) and
    record who did it, in one transaction. Every change of status clears any suspension
    and alert it does not bring."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE campaigns SET status = ?, updated_at = ?, suspended = ?, "
            "suspended_until = ?, reminder_at = ?, reminder_to = ?, reminder_sent_at = NULL, "
            "alert = ?, alert_at = ? WHERE id = ? AND status = ?",
            (
                status,
                now,
                int(suspension is not None),
                suspension.until if suspension else None,
                suspension.reminder_at if suspension else None,
                suspension.reminder_to if suspension else None,
                alert,
                now if alert else None,
                campaign_id,
                expected,
            ),
        )
        if cursor.rowcount != 1:
            return False
        await conn.execute(
            "INSERT INTO campaign_actions (campaign_id, action, actor, at, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (campaign_id, action, actor, now, detail),
        )
    return True


async def raise_alert(
    db: Database, campaign_id: int, status: CampaignStatus, alert: str, now: float
) -> bool:
    """Show `alert` on a campaign that keeps its status (and has no alert yet): the
    dialer's word about a campaign still dialing. False when it changed meanwhile."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE campaigns SET alert = ?, alert_at = ? "
            "WHERE id = ? AND status = ? AND alert IS NULL",
            (alert, now, campaign_id, status),
        )
        return cursor.rowcount == 1


async def clear_alert(db: Database, campaign_id: int, starting: str) -> bool:
    """Take away the campaign's alert if it starts with `starting` (only the alert the
    caller raised, never another one)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE campaigns SET alert = NULL, alert_at = NULL "
            "WHERE id = ? AND substr(alert, 1, ?) = ?",
            (campaign_id, len(starting), starting),
        )
        return cursor.rowcount == 1


async def reminder_sent(db: Database, campaign_id: int, now: float, to: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE campaigns SET reminder_sent_at = ? WHERE id = ?", (now, campaign_id)
        )
        await conn.execute(
            "INSERT INTO campaign_actions (campaign_id, action, actor, at, detail) "
            "VALUES (?, 'reminder', 'schedule', ?, ?)",
            (campaign_id, now, f"emailed {to}"),
        )


async def record_action(
    db: Database, campaign_id: int, action: str, actor: str, now: float, detail: str = ""
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO campaign_actions (campaign_id, action, actor, at, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (campaign_id, action, actor, now, detail),
        )


async def actions(db: Database, campaign_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT action, actor, at, detail FROM campaign_actions WHERE campaign_id = ? ORDER BY id",
        (campaign_id,),
    )
    return [dict(r) for r in rows]
