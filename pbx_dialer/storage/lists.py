"""A campaign's contact lists. Disabling a list keeps its records; the flag is copied
onto them (records.list_enabled) so the dialer's pick can skip them through its index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from pbx_dialer.storage.db import Database

API_LIST = "API"


class ListNameTaken(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ContactList:
    id: int
    campaign_id: int
    name: str
    source: str
    enabled: bool
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign_id": self.campaign_id,
            "name": self.name,
            "source": self.source,
            "enabled": self.enabled,
            "created_at": self.created_at,
        }


def _row(row: aiosqlite.Row) -> ContactList:
    return ContactList(
        id=row["id"],
        campaign_id=row["campaign_id"],
        name=row["name"],
        source=row["source"],
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
    )


_COLUMNS = "id, campaign_id, name, source, enabled, created_at"


async def get(db: Database, campaign_id: int, list_id: int) -> ContactList | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM contact_lists WHERE id = ? AND campaign_id = ?",
        (list_id, campaign_id),
    )
    return _row(row) if row is not None else None


async def list_for(db: Database, campaign_id: int) -> list[ContactList]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM contact_lists WHERE campaign_id = ? ORDER BY id", (campaign_id,)
    )
    return [_row(r) for r in rows]


async def record_counts(db: Database, campaign_id: int) -> dict[int | None, dict[str, int]]:
    """Records per list and state (list None: records added before lists existed)."""
    rows = await db.fetchall(
        "SELECT list_id, state, count(*) AS n FROM records WHERE campaign_id = ? "
        "GROUP BY list_id, state",
        (campaign_id,),
    )
    counts: dict[int | None, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["list_id"], {})[r["state"]] = r["n"]
    return counts


async def _name_used(
    conn: aiosqlite.Connection, campaign_id: int, name: str, except_id: int | None
) -> bool:
    async with conn.execute(
        "SELECT 1 FROM contact_lists WHERE campaign_id = ? AND name = ? AND id IS NOT ?",
        (campaign_id, name, except_id),
    ) as cursor:
        return await cursor.fetchone() is not None


async def insert(
    conn: aiosqlite.Connection, campaign_id: int, name: str, source: str, now: float
) -> int:
    """Create a list inside the caller's transaction. Names are unique per campaign."""
    if await _name_used(conn, campaign_id, name, None):
        raise ListNameTaken(name)
    cursor = await conn.execute(
        "INSERT INTO contact_lists (campaign_id, name, source, created_at) VALUES (?, ?, ?, ?)",
        (campaign_id, name, source, now),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def create(db: Database, campaign_id: int, name: str, source: str, now: float) -> ContactList:
    async with db.transaction() as conn:
        list_id = await insert(conn, campaign_id, name, source, now)
    found = await get(db, campaign_id, list_id)
    assert found is not None
    return found


async def api_list(conn: aiosqlite.Connection, campaign_id: int, now: float) -> tuple[int, bool]:
    """The campaign's 'API' list (id, enabled), created on first use, inside the
    caller's transaction."""
    async with conn.execute(
        "SELECT id, enabled FROM contact_lists WHERE campaign_id = ? AND name = ? "
        "ORDER BY id LIMIT 1",
        (campaign_id, API_LIST),
    ) as cursor:
        row = await cursor.fetchone()
    if row is not None:
        return int(row["id"]), bool(row["enabled"])
    return await insert(conn, campaign_id, API_LIST, "api", now), True


async def update(
    db: Database,
    campaign_id: int,
    list_id: int,
    *,
    name: str | None = None,
    enabled: bool | None = None,
) -> ContactList | None:
    """Rename and/or enable or disable a list. None when the campaign has no such list.

    The list's flag is the truth and is written first; its records follow in batches
    of their own transactions, so the dial loop is never held for seconds (500k
    records: about 12 s in all, in batches of about 0.5 s). Setting the flag again,
    even to the same value, finishes a copy a crash interrupted."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT enabled FROM contact_lists WHERE id = ? AND campaign_id = ?",
            (list_id, campaign_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        if name is not None:
            if await _name_used(conn, campaign_id, name, list_id):
                raise ListNameTaken(name)
            await conn.execute("UPDATE contact_lists SET name = ? WHERE id = ?", (name, list_id))
        if enabled is not None:
            await conn.execute(
                "UPDATE contact_lists SET enabled = ? WHERE id = ?", (int(enabled), list_id)
            )
    if enabled is not None:
        await _copy_flag(db, list_id, enabled)
    return await get(db, campaign_id, list_id)


async def _copy_flag(db: Database, list_id: int, enabled: bool, batch: int = 20_000) -> None:
    after = 0
    while True:
        # Walks records_list (list_id, id) in id order: each batch is one index range.
        row = await db.fetchone(
            "SELECT max(id) AS last FROM (SELECT id FROM records WHERE list_id = ? AND id > ? "
            "ORDER BY id LIMIT ?)",
            (list_id, after, batch),
        )
        if row is None or row["last"] is None:
            return
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE records SET list_enabled = ? "
                "WHERE list_id = ? AND id > ? AND id <= ? AND list_enabled != ?",
                (int(enabled), list_id, after, row["last"], int(enabled)),
            )
        after = int(row["last"])
