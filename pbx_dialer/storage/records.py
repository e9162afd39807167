"""Records (contacts) of a campaign and the pick of the next one to dial."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pbx_dialer.storage.db import Database


@dataclass(frozen=True)
class NewRecord:
    phone: str
    name: str = ""


@dataclass(frozen=True)
class Record:
    id: int
    campaign_id: int
    phone: str
    name: str
    state: str
    attempts: int
    last_result: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign_id": self.campaign_id,
            "phone": self.phone,
            "name": self.name,
            "state": self.state,
            "attempts": self.attempts,
            "last_result": self.last_result,
        }


async def add_many(db: Database, campaign_id: int, records: Sequence[NewRecord], now: float) -> int:
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO records (campaign_id, phone, name, created_at) VALUES (?, ?, ?, ?)",
            [(campaign_id, r.phone, r.name, now) for r in records],
        )
    return len(records)


async def list_for(db: Database, campaign_id: int) -> list[Record]:
    rows = await db.fetchall(
        "SELECT id, campaign_id, phone, name, state, attempts, last_result FROM records "
        "WHERE campaign_id = ? ORDER BY id",
        (campaign_id,),
    )
    return [Record(**dict(r)) for r in rows]


async def counts(db: Database, campaign_id: int) -> dict[str, int]:
    rows = await db.fetchall(
        "SELECT state, count(*) AS n FROM records WHERE campaign_id = ? GROUP BY state",
        (campaign_id,),
    )
    return {r["state"]: r["n"] for r in rows}


async def has_ready(db: Database, campaign_id: int, now: float) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM records WHERE campaign_id = ? AND state = 'ready' LIMIT 1", (campaign_id,)
    )
    return row is not None


async def release(db: Database, record_id: int) -> None:
    """Give back a record that was picked but never dialed."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET state = 'ready', attempts = attempts - 1 "
            "WHERE id = ? AND state = 'in_progress'",
            (record_id,),
        )
