"""What a campaign's pacing learned, kept per campaign and per queue (JSON rows)."""

from __future__ import annotations

import json
from typing import Any

from pbx_dialer.storage.db import Database


def _queue_name(pbx: str, queue: str) -> str:
    return f"{pbx}/{queue}"


async def save_learned(
    db: Database, campaign_id: int, pbx: str, queue: str, stats: dict[str, Any], now: float
) -> None:
    """Store the statistics as the campaign's and as its queue's latest, together."""
    text = json.dumps(stats, separators=(",", ":"))
    async with db.transaction() as conn:
        for scope, name in (("campaign", str(campaign_id)), ("queue", _queue_name(pbx, queue))):
            await conn.execute(
                "INSERT INTO pacing_learned (scope, name, stats, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (scope, name) "
                "DO UPDATE SET stats = excluded.stats, updated_at = excluded.updated_at",
                (scope, name, text, now),
            )


async def learned_for(
    db: Database, campaign_id: int, pbx: str, queue: str
) -> dict[str, Any] | None:
    """The campaign's own statistics, else its queue's latest, else None."""
    for scope, name in (("campaign", str(campaign_id)), ("queue", _queue_name(pbx, queue))):
        row = await db.fetchone(
            "SELECT stats FROM pacing_learned WHERE scope = ? AND name = ?", (scope, name)
        )
        if row is not None:
            try:
                found = json.loads(row["stats"])
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    return None
