"""Hour-code rows: named weekly calling schedules shared by campaigns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from pbx_dialer.campaigns.hours import HourCode
from pbx_dialer.storage.db import Database


class HourCodeNameTaken(ValueError):
    pass


class HourCodeInUse(ValueError):
    """The code is a campaign's call-centre or consumer code; `campaign_ids` name them."""

    def __init__(self, hour_code_id: int, campaign_ids: list[int]) -> None:
        super().__init__(f"hour code {hour_code_id} is used by campaigns {campaign_ids}")
        self.campaign_ids = campaign_ids


@dataclass(frozen=True, slots=True)
class StoredHourCode:
    id: int
    code: HourCode
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.code.to_json(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _row(row: aiosqlite.Row) -> StoredHourCode:
    code = HourCode.from_json(
        {
            "name": row["name"],
            "timezone": row["timezone"],
            "weekly": json.loads(row["weekly"]),
            "holidays": json.loads(row["holidays"]),
            "fallback_zones": json.loads(row["fallback_zones"]),
        }
    )
    return StoredHourCode(row["id"], code, row["created_at"], row["updated_at"])


def _columns(code: HourCode) -> list[Any]:
    data = code.to_json()
    return [
        data["name"],
        data["timezone"],
        json.dumps(data["weekly"]),
        json.dumps(data["holidays"]),
        json.dumps(data["fallback_zones"]),
    ]


async def _name_used(conn: aiosqlite.Connection, name: str, except_id: int | None) -> bool:
    async with conn.execute(
        "SELECT 1 FROM hour_codes WHERE name = ? AND id IS NOT ?", (name, except_id)
    ) as cursor:
        return await cursor.fetchone() is not None


async def create(db: Database, code: HourCode, now: float) -> StoredHourCode:
    async with db.transaction() as conn:
        if await _name_used(conn, code.name, None):
            raise HourCodeNameTaken(code.name)
        cursor = await conn.execute(
            "INSERT INTO hour_codes (name, timezone, weekly, holidays, fallback_zones, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [*_columns(code), now, now],
        )
        hour_code_id = cursor.lastrowid
    assert hour_code_id is not None
    return StoredHourCode(hour_code_id, code, now, now)


async def get(db: Database, hour_code_id: int) -> StoredHourCode | None:
    row = await db.fetchone("SELECT * FROM hour_codes WHERE id = ?", (hour_code_id,))
    return _row(row) if row is not None else None


async def get_many(db: Database, ids: set[int]) -> dict[int, HourCode]:
    """The codes with these ids (for the dialer: a campaign's two codes at once)."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await db.fetchall(f"SELECT * FROM hour_codes WHERE id IN ({marks})", sorted(ids))
    return {r["id"]: _row(r).code for r in rows}


async def list_all(db: Database) -> list[StoredHourCode]:
    return [_row(r) for r in await db.fetchall("SELECT * FROM hour_codes ORDER BY id")]


async def update(db: Database, hour_code_id: int, code: HourCode, now: float) -> bool:
    """Replace the code's fields; False when there is no such code."""
    async with db.transaction() as conn:
        if await _name_used(conn, code.name, hour_code_id):
            raise HourCodeNameTaken(code.name)
        cursor = await conn.execute(
            "UPDATE hour_codes SET name = ?, timezone = ?, weekly = ?, holidays = ?, "
            "fallback_zones = ?, updated_at = ? WHERE id = ?",
            [*_columns(code), now, hour_code_id],
        )
        return cursor.rowcount == 1


async def delete(db: Database, hour_code_id: int) -> bool:
    """Delete an unused code; HourCodeInUse when a campaign refers to it (checked in the
    same transaction, so no campaign can pick it up in between). False: no such code."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT id FROM campaigns WHERE cc_hour_code_id = ? OR consumer_hour_code_id = ? "
            "ORDER BY id",
            (hour_code_id, hour_code_id),
        ) as cursor:
            users = [row[0] for row in await cursor.fetchall()]
        if users:
            raise HourCodeInUse(hour_code_id, users)
        cursor = await conn.execute("DELETE FROM hour_codes WHERE id = ?", (hour_code_id,))
        return cursor.rowcount == 1
