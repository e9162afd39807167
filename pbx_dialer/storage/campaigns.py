"""Campaign rows and their audit trail of control actions."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import aiosqlite

from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus
from pbx_dialer.storage.db import Database

_SETTING_COLUMNS = [f.name for f in fields(CampaignSettings)]


def _campaign(row: aiosqlite.Row) -> Campaign:
    return Campaign(
        id=row["id"],
        status=CampaignStatus(row["status"]),
        settings=CampaignSettings(**{c: row[c] for c in _SETTING_COLUMNS}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class NameTaken(ValueError):
    pass


async def create(db: Database, settings: CampaignSettings, now: float) -> Campaign:
    cols = ", ".join(_SETTING_COLUMNS)
    marks = ", ".join("?" for _ in _SETTING_COLUMNS)
    values = [getattr(settings, c) for c in _SETTING_COLUMNS]
    async with db.transaction() as conn:
        if await _name_used(conn, settings.name, None):
            raise NameTaken(settings.name)
        cursor = await conn.execute(
            f"INSERT INTO campaigns ({cols}, created_at, updated_at) VALUES ({marks}, ?, ?)",
            [*values, now, now],
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


async def update_settings(
    db: Database, campaign_id: int, settings: CampaignSettings, now: float
) -> None:
    sets = ", ".join(f"{c} = ?" for c in _SETTING_COLUMNS)
    async with db.transaction() as conn:
        if await _name_used(conn, settings.name, campaign_id):
            raise NameTaken(settings.name)
        await conn.execute(
            f"UPDATE campaigns SET {sets}, updated_at = ? WHERE id = ?",
            [*(getattr(settings, c) for c in _SETTING_COLUMNS), now, campaign_id],
        )


async def get(db: Database, campaign_id: int) -> Campaign | None:
    row = await db.fetchone("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
    return _campaign(row) if row is not None else None


async def list_all(db: Database) -> list[Campaign]:
    return [_campaign(r) for r in await db.fetchall("SELECT * FROM campaigns ORDER BY id")]


async def list_with_status(db: Database, status: CampaignStatus) -> list[Campaign]:
    rows = await db.fetchall("SELECT * FROM campaigns WHERE status = ? ORDER BY id", (status,))
    return [_campaign(r) for r in rows]


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
) -> bool:
    """Compare-and-set the status and record who did it, in one transaction."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE campaigns SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
            (status, now, campaign_id, expected),
        )
        if cursor.rowcount != 1:
            return False
        await conn.execute(
            "INSERT INTO campaign_actions (campaign_id, action, actor, at, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (campaign_id, action, actor, now, detail),
        )
    return True


async def actions(db: Database, campaign_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT action, actor, at, detail FROM campaign_actions WHERE campaign_id = ? ORDER BY id",
        (campaign_id,),
    )
    return [dict(r) for r in rows]
