"""Projects: routing rules that send each imported record to a campaign by its fields."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from pbx_dialer.storage.db import Database


class ProjectNameTaken(ValueError):
    pass


def _row(row: aiosqlite.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "rules": json.loads(row["rules"]),
        "default_campaign_id": row["default_campaign_id"],
        "created_at": row["created_at"],
    }


async def create(
    db: Database, name: str, rules: list[dict[str, Any]], default: int | None, now: float
) -> dict[str, Any]:
    async with db.transaction() as conn:
        async with conn.execute("SELECT 1 FROM projects WHERE name = ?", (name,)) as cursor:
            if await cursor.fetchone() is not None:
                raise ProjectNameTaken(name)
        cursor = await conn.execute(
            "INSERT INTO projects (name, rules, default_campaign_id, created_at) "
            "VALUES (?, ?, ?, ?)",
            (name, json.dumps(rules), default, now),
        )
        project_id = cursor.lastrowid
    assert project_id is not None
    found = await get(db, project_id)
    assert found is not None
    return found


async def update(
    db: Database, project_id: int, name: str, rules: list[dict[str, Any]], default: int | None
) -> None:
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT 1 FROM projects WHERE name = ? AND id != ?", (name, project_id)
        ) as cursor:
            if await cursor.fetchone() is not None:
                raise ProjectNameTaken(name)
        await conn.execute(
            "UPDATE projects SET name = ?, rules = ?, default_campaign_id = ? WHERE id = ?",
            (name, json.dumps(rules), default, project_id),
        )


async def get(db: Database, project_id: int) -> dict[str, Any] | None:
    row = await db.fetchone("SELECT * FROM projects WHERE id = ?", (project_id,))
    return _row(row) if row is not None else None


async def list_all(db: Database) -> list[dict[str, Any]]:
    return [_row(r) for r in await db.fetchall("SELECT * FROM projects ORDER BY id")]


async def missing_campaigns(db: Database, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    marks = ",".join("?" for _ in ids)
    rows = await db.fetchall(f"SELECT id FROM campaigns WHERE id IN ({marks})", sorted(ids))
    return ids - {r["id"] for r in rows}
