"""Records held for one agent (preview mode), records an agent skipped, and the attempts
the agent desk places itself (an accepted preview, a callback promised by one agent).

A held record is 'in_progress', like a record the dial loop picked, so no pick (of the
loop or of another agent) can take it; the reservation row says for whom. Giving it
back makes it 'ready' again without counting an attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from pbx_dialer.storage.attempts import PlacedAttempt, channel_id_for
from pbx_dialer.storage.db import Database


@dataclass(frozen=True)
class Reservation:
    record_id: int
    campaign_id: int
    agent: str
    pbx: str
    reserved_at: float
    autodial_at: float | None


_COLUMNS = "record_id, campaign_id, agent, pbx, reserved_at, autodial_at"


async def for_agent(db: Database, agent: str) -> Reservation | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM reservations WHERE agent = ?", (agent,))
    return Reservation(**dict(row)) if row is not None else None


async def every(db: Database) -> list[Reservation]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM reservations ORDER BY reserved_at")
    return [Reservation(**dict(r)) for r in rows]


async def count_for(db: Database, campaign_id: int) -> int:
    row = await db.fetchone(
        "SELECT count(*) AS n FROM reservations WHERE campaign_id = ?", (campaign_id,)
    )
    return int(row["n"]) if row is not None else 0


async def hold(
    db: Database,
    record_id: int,
    campaign_id: int,
    agent: str,
    pbx: str,
    now: float,
    autodial_at: float | None,
) -> bool:
    """Reserve a ready record for the agent; False if it is no longer ready or the agent
    holds one already."""
    async with db.transaction() as conn:
        async with conn.execute("SELECT 1 FROM reservations WHERE agent = ?", (agent,)) as cur:
            if await cur.fetchone() is not None:
                return False
        cursor = await conn.execute(
            "UPDATE records SET state = 'in_progress' WHERE id = ? AND state = 'ready'",
            (record_id,),
        )
        if cursor.rowcount != 1:
            return False
        await conn.execute(
            f"INSERT INTO reservations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (record_id, campaign_id, agent, pbx, now, autodial_at),
        )
    return True


async def release(
    db: Database,
    record_id: int,
    refusal: str = "later",
    retry_at: float | None = None,
    next_phone: str | None = None,
) -> None:
    """Give a reserved record back: to the inventory untouched ("later", no sooner than
    `retry_at` when the check before the dial named one; on `next_phone` when it named
    the customer's next number), or, when that check refused it, filtered as DNC or out
    of attempts."""
    async with db.transaction() as conn:
        await _release_in(conn, record_id, refusal, retry_at, next_phone)


async def _release_in(
    conn: aiosqlite.Connection,
    record_id: int,
    refusal: str,
    retry_at: float | None = None,
    next_phone: str | None = None,
) -> None:
    await conn.execute("DELETE FROM reservations WHERE record_id = ?", (record_id,))
    if next_phone is not None:
        await conn.execute(
            "UPDATE records SET state = 'ready', phone = ? WHERE id = ? AND state = 'in_progress'",
            (next_phone, record_id),
        )
    elif refusal == "later":
        await conn.execute(
            "UPDATE records SET state = 'ready', next_attempt_at = max(next_attempt_at, ?) "
            "WHERE id = ? AND state = 'in_progress'",
            (retry_at or 0.0, record_id),
        )
    else:
        state = "max_calls" if refusal == "max_calls" else "filtered"
        await conn.execute(
            "UPDATE records SET state = ?, reason = ? WHERE id = ? AND state = 'in_progress'",
            (state, "" if state == "max_calls" else refusal, record_id),
        )


async def release_every(db: Database) -> int:
    """At start: reservations of a previous run go back (their pages ask again)."""
    async with db.transaction() as conn:
        async with conn.execute("SELECT record_id FROM reservations") as cursor:
            ids = [int(r["record_id"]) for r in await cursor.fetchall()]
        for record_id in ids:
            await _release_in(conn, record_id, "later")
    return len(ids)


async def skip(db: Database, reservation: Reservation, until: float) -> None:
    """The agent passed on it: back to the inventory (no attempt counted), and not
    offered to this agent again before `until`."""
    async with db.transaction() as conn:
        await _release_in(conn, reservation.record_id, "later")
        await conn.execute(
            "INSERT OR REPLACE INTO skips (agent, record_id, until) VALUES (?, ?, ?)",
            (reservation.agent, reservation.record_id, until),
        )


async def skipped_by(db: Database, agent: str, now: float) -> set[int]:
    rows = await db.fetchall(
        "SELECT record_id FROM skips WHERE agent = ? AND until > ?", (agent, now)
    )
    return {int(r["record_id"]) for r in rows}


async def forget_old_skips(db: Database, now: float) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM skips WHERE until <= ?", (now,))


async def own_callbacks(
    db: Database, campaign_id: int, agent: str, now: float, limit: int
) -> list[tuple[int, str]]:
    """Due callbacks of the campaign promised by this agent: theirs before anything else."""
    rows = await db.fetchall(
        "SELECT id, phone FROM records WHERE campaign_id = ? AND state = 'ready' "
        "AND list_enabled = 1 AND callback_agent = ? AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT ?",
        (campaign_id, agent, now, limit),
    )
    return [(int(r["id"]), str(r["phone"])) for r in rows]


async def due_agent_callbacks(db: Database, now: float) -> list[dict[str, Any]]:
    """Every due callback still promised to one agent, oldest first."""
    rows = await db.fetchall(
        "SELECT id, campaign_id, phone, callback_agent, next_attempt_at FROM records "
        "WHERE callback_agent IS NOT NULL AND state = 'ready' AND list_enabled = 1 "
        "AND next_attempt_at <= ? ORDER BY next_attempt_at, id",
        (now,),
    )
    return [dict(r) for r in rows]


async def give_to_anyone(db: Database, record_id: int) -> None:
    """A callback that waited too long for its agent: any agent may take it now."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET callback_agent = NULL WHERE id = ? AND state = 'ready'",
            (record_id,),
        )


async def place(
    db: Database,
    record_id: int,
    campaign_id: int,
    pbx: str,
    phone: str,
    now: float,
    compliance: dict[str, Any],
) -> PlacedAttempt | None:
    """Create the attempt of a reserved record (accepted, or its timer ran out) or of a
    ready one (a callback dialed for its agent), with why it was allowed; the record is
    'in_progress' until the call ends. None if the record was taken meanwhile."""
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM reservations WHERE record_id = ?", (record_id,))
        reserved = cursor.rowcount == 1
        cursor = await conn.execute(
            "UPDATE records SET state = 'in_progress', attempts = attempts + 1 WHERE id = ? "
            "AND state = ?",
            (record_id, "in_progress" if reserved else "ready"),
        )
        if cursor.rowcount != 1:
            return None
        cursor = await conn.execute(
            "INSERT INTO attempts (campaign_id, record_id, pbx, channel_id, phone, placed_at, "
            "compliance, rules_pack) VALUES (?, ?, ?, '', ?, ?, ?, ?)",
            (
                campaign_id,
                record_id,
                pbx,
                phone,
                now,
                json.dumps(compliance),
                str(compliance.get("rules_pack", "")),
            ),
        )
        attempt_id = cursor.lastrowid
        assert attempt_id is not None
        channel_id = channel_id_for(attempt_id)
        await conn.execute(
            "UPDATE attempts SET channel_id = ? WHERE id = ?", (channel_id, attempt_id)
        )
    return PlacedAttempt(attempt_id, campaign_id, record_id, channel_id, phone)


async def record_card(db: Database, record_id: int) -> dict[str, Any] | None:
    """What the agent sees of a record."""
    row = await db.fetchone(
        "SELECT id, campaign_id, phone, name, external_id, notes, custom, timezone, attempts, "
        "callback_agent, classification FROM records WHERE id = ?",
        (record_id,),
    )
    if row is None:
        return None
    card = dict(row)
    try:
        card["fields"] = json.loads(card.pop("custom") or "{}")
    except ValueError:
        card["fields"] = {}
    return card


async def name_agent(db: Database, attempt_id: int, name: str, states: tuple[str, ...]) -> bool:
    """Store the agent's name on an attempt the desk connected by Dial() once the stored
    attempt has reached one of `states`; False while it has not yet."""
    marks = ", ".join("?" for _ in states)
    async with db.transaction() as conn:
        cursor = await conn.execute(
            f"UPDATE attempts SET agent = ? WHERE id = ? AND state IN ({marks})",
            (name, attempt_id, *states),
        )
        return cursor.rowcount == 1
