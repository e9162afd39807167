"""Attempts: one row per call placed, written before the Originate is sent.

Writing the row (and taking the record) first is what makes "dial at most once" hold
across crashes: a record that is in progress is never picked again, and an attempt
row that exists is reconciled with Asterisk, never re-sent.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from pbx_dialer.calls import CallEnded
from pbx_dialer.storage.db import Database


@dataclass(frozen=True)
class PlacedAttempt:
    id: int
    campaign_id: int
    record_id: int
    channel_id: str
    phone: str


def channel_id_for(attempt_id: int) -> str:
    """The Uniqueid the attempt's customer leg gets in Asterisk. The random tail keeps two
    dialers (or two test databases) on one Asterisk from ever sharing an id."""
    return f"pbxd-{attempt_id}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class ZoneFilter:
    """Which records' local time lets them be called now (the consumer hours): those in
    `open_zones`, and those of unknown zone for which `unknown_ok(phone)` says yes."""

    open_zones: frozenset[str]
    unknown_ok: Callable[[str], bool] | None = None


_PICK = (
    "SELECT id, phone, next_attempt_at FROM records WHERE campaign_id = ? AND state = 'ready' "
    "AND list_enabled = 1"
)


async def _candidates(
    conn: aiosqlite.Connection, campaign_id: int, limit: int, now: float, zones: ZoneFilter | None
) -> list[tuple[int, str]]:
    if zones is None:
        sql = f"{_PICK} AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
        async with conn.execute(sql, (campaign_id, now, limit)) as cursor:
            return [(r["id"], r["phone"]) for r in await cursor.fetchall()]
    found: list[tuple[float, int, str]] = []
    for zone in sorted(zones.open_zones):
        sql = (
            f"{_PICK} AND timezone = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?"
        )
        async with conn.execute(sql, (campaign_id, zone, now, limit)) as cursor:
            found.extend(
                (r["next_attempt_at"], r["id"], r["phone"]) for r in await cursor.fetchall()
            )
    if zones.unknown_ok is not None:
        # Unknown zone: the fallback is per number, so look at a few more than needed.
        sql = (
            f"{_PICK} AND timezone IS NULL AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?"
        )
        async with conn.execute(sql, (campaign_id, now, limit * 4)) as cursor:
            found.extend(
                (r["next_attempt_at"], r["id"], r["phone"])
                for r in await cursor.fetchall()
                if zones.unknown_ok(r["phone"])
            )
    found.sort()
    return [(record_id, phone) for _, record_id, phone in found[:limit]]


async def take_records(
    db: Database,
    campaign_id: int,
    pbx: str,
    limit: int,
    now: float,
    zones: ZoneFilter | None = None,
) -> list[PlacedAttempt]:
    """Pick up to `limit` records that are due, in enabled lists and (with `zones`) inside
    their consumer hours; mark them in progress and create their attempts, all in one
    transaction."""
    if limit <= 0:
        return []
    placed: list[PlacedAttempt] = []
    async with db.transaction() as conn:
        for record_id, phone in await _candidates(conn, campaign_id, limit, now, zones):
            await conn.execute(
                "UPDATE records SET state = 'in_progress', attempts = attempts + 1 WHERE id = ?",
                (record_id,),
            )
            cursor = await conn.execute(
                "INSERT INTO attempts (campaign_id, record_id, pbx, channel_id, phone, placed_at) "
                "VALUES (?, ?, ?, '', ?, ?)",
                (campaign_id, record_id, pbx, phone, now),
            )
            attempt_id = cursor.lastrowid
            assert attempt_id is not None
            channel_id = channel_id_for(attempt_id)
            await conn.execute(
                "UPDATE attempts SET channel_id = ? WHERE id = ?", (channel_id, attempt_id)
            )
            placed.append(PlacedAttempt(attempt_id, campaign_id, record_id, channel_id, phone))
    return placed


async def any_callable(
    db: Database, campaign_id: int, now: float, zones: ZoneFilter | None
) -> bool:
    """Whether at least one record could be picked now (due, list enabled, in hours)."""
    return bool(await _candidates(db.conn, campaign_id, 1, now, zones))


async def ready_zones(db: Database, campaign_id: int) -> list[str | None]:
    """The time zones of a campaign's ready records (None: unknown zone)."""
    rows = await db.fetchall(
        "SELECT DISTINCT timezone FROM records WHERE campaign_id = ? AND state = 'ready' "
        "AND list_enabled = 1",
        (campaign_id,),
    )
    return [r["timezone"] for r in rows]


async def filter_unsent(db: Database, attempt: PlacedAttempt, reason: str) -> None:
    """Right before the dial the record turned out not callable (DNC): no call is made,
    the attempt is undone and the record is filtered with the reason."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM attempts WHERE id = ?", (attempt.id,))
        await conn.execute(
            "UPDATE records SET state = 'filtered', reason = ?, attempts = attempts - 1 "
            "WHERE id = ?",
            (reason, attempt.record_id),
        )


async def forget_unsent(db: Database, attempt: PlacedAttempt) -> None:
    """The Originate was never sent (PBX not connected): undo the attempt and the pick."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM attempts WHERE id = ?", (attempt.id,))
        await conn.execute(
            "UPDATE records SET state = 'ready', attempts = attempts - 1 WHERE id = ?",
            (attempt.record_id,),
        )


async def mark(db: Database, attempt_id: int, state: str, **values: Any) -> None:
    allowed = {"answered_at", "connected_at", "queue", "agent"}
    assert set(values) <= allowed
    sets = "".join(f", {k} = ?" for k in values)
    async with db.transaction() as conn:
        await conn.execute(
            f"UPDATE attempts SET state = ?{sets} WHERE id = ? AND state != 'ended'",
            (state, *values.values(), attempt_id),
        )


async def finish(db: Database, ended: CallEnded) -> tuple[int, str] | None:
    """Store the attempt's outcome and settle its record. Returns the campaign id and the
    number, or None if the attempt was already ended (a second report is ignored)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT campaign_id, record_id, phone FROM attempts WHERE id = ? AND state != 'ended'",
            (ended.attempt_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        await conn.execute(
            "UPDATE attempts SET state = 'ended', result = ?, cause = ?, "
            "queue = coalesce(?, queue), agent = coalesce(?, agent), ended_at = ?, "
            "ring_s = ?, wait_s = ?, talk_s = ? "
            "WHERE id = ?",
            (
                ended.result,
                ended.cause,
                ended.queue,
                ended.agent,
                ended.at,
                ended.ring_s,
                ended.wait_s,
                ended.talk_s,
                ended.attempt_id,
            ),
        )
        async with conn.execute(
            "SELECT r.attempts, c.max_attempts, c.retry_rules FROM records r "
            "JOIN campaigns c ON c.id = r.campaign_id WHERE r.id = ?",
            (row["record_id"],),
        ) as cursor:
            rules_row = await cursor.fetchone()
        state, due = _next_for_record(ended, rules_row)
        await conn.execute(
            "UPDATE records SET state = ?, last_result = ?, next_attempt_at = ?, "
            "handled_at = CASE WHEN ? = 'ready' THEN NULL ELSE ? END WHERE id = ?",
            (state, ended.result, due, state, ended.at, row["record_id"]),
        )
        return int(row["campaign_id"]), str(row["phone"])


def _next_for_record(ended: CallEnded, row: Any) -> tuple[str, float]:
    """Handled, tried again after the result's retry delay, or out of attempts.
    (The agent's classification, when there is one, overrides this: issue of the engine.)"""
    if ended.result == "SUCCESS" or row is None:
        return "handled", 0.0
    rule = json.loads(row["retry_rules"]).get(ended.result)
    if rule is None:
        return "max_calls", 0.0
    allowed = min(int(rule.get("max_attempts", 1)), int(row["max_attempts"]))
    if int(row["attempts"]) >= allowed:
        return "max_calls", 0.0
    return "ready", ended.at + float(rule.get("delay_s", 0))


async def unfinished(db: Database, pbx: str) -> list[PlacedAttempt]:
    rows = await db.fetchall(
        "SELECT id, campaign_id, record_id, channel_id, phone FROM attempts "
        "WHERE state != 'ended' AND pbx = ? ORDER BY id",
        (pbx,),
    )
    return [PlacedAttempt(**dict(r)) for r in rows]


async def placed_at(db: Database, attempt_id: int) -> float:
    row = await db.fetchone("SELECT placed_at FROM attempts WHERE id = ?", (attempt_id,))
    return float(row["placed_at"]) if row is not None else 0.0


async def list_for(db: Database, campaign_id: int, limit: int = 200) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT a.*, r.name AS record_name FROM attempts a JOIN records r ON r.id = a.record_id "
        "WHERE a.campaign_id = ? ORDER BY a.id DESC LIMIT ?",
        (campaign_id, limit),
    )
    return [dict(r) for r in rows]


async def recent(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT a.*, c.name AS campaign_name FROM attempts a "
        "JOIN campaigns c ON c.id = a.campaign_id ORDER BY a.id DESC LIMIT ?",
        (limit,),
    )
    return [dict(r) for r in rows]
