"""Records (contacts) of a campaign: adding, searching, cancelling, the inventory count.

Every record belongs to a contact list (records added through the API go to the
campaign's 'API' list). `list_enabled` mirrors its list's flag so the dial pick skips
disabled lists through the pick index: the pick adds PICK_CONDITION to its WHERE.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from pbx_dialer.records.inventory import StateCount
from pbx_dialer.records.search import like_prefix
from pbx_dialer.storage import lists as list_rows
from pbx_dialer.storage.db import Database

# What the dialer's pick (attempts.take_records) must add to its WHERE clause, after
# `campaign_id = ? AND state = 'ready'`, for the records_pick index to serve it.
PICK_CONDITION = "list_enabled = 1"

# States a filter may name: stored ones, 'ready' (any waiting record), and the three
# kinds of waiting record the inventory tells apart.
STORED_STATES = ("ready", "in_progress", "handled", "max_calls", "filtered", "cancelled")
DERIVED_STATES = ("not_handled", "retry_due", "scheduled")
FILTER_STATES = (*STORED_STATES, *DERIVED_STATES)


@dataclass(frozen=True)
class NewRecord:
    phone: str  # E.164 (pbx_dialer.phones)
    name: str = ""
    external_id: str | None = None
    timezone: str | None = None
    tz_source: str = "fallback"
    phones: tuple[str, ...] = ()  # every number of the customer, `phone` first


@dataclass(frozen=True)
class Record:
    id: int
    campaign_id: int
    phone: str
    name: str
    state: str
    attempts: int
    last_result: str | None
    list_id: int | None = None
    external_id: str | None = None
    next_attempt_at: float = 0.0
    reason: str = ""
    cancelled_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign_id": self.campaign_id,
            "phone": self.phone,
            "name": self.name,
            "state": self.state,
            "attempts": self.attempts,
            "last_result": self.last_result,
            "list_id": self.list_id,
            "external_id": self.external_id,
            "next_attempt_at": self.next_attempt_at,
            "reason": self.reason,
            "cancelled_at": self.cancelled_at,
        }


_RECORD_COLUMNS = (
    "id, campaign_id, phone, name, state, attempts, last_result, list_id, external_id, "
    "next_attempt_at, reason, cancelled_at"
)


async def add_many(
    db: Database,
    campaign_id: int,
    records: Sequence[NewRecord],
    now: float,
    list_id: int | None = None,
) -> int:
    """Add records to a list of the campaign (default: its 'API' list, created when
    needed). Numbers on a DNC list are stored filtered, with reason DNC."""
    async with db.transaction() as conn:
        if list_id is None:
            list_id, enabled = await list_rows.api_list(conn, campaign_id, now)
        else:
            async with conn.execute(
                "SELECT enabled FROM contact_lists WHERE id = ? AND campaign_id = ?",
                (list_id, campaign_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise LookupError(f"campaign {campaign_id} has no list {list_id}")
            enabled = bool(row["enabled"])
        async with conn.execute("SELECT coalesce(max(id), 0) FROM records") as cursor:
            last = await cursor.fetchone()
        first_id = int(last[0]) + 1 if last is not None else 1
        await conn.executemany(
            "INSERT INTO records (campaign_id, phone, name, external_id, list_id, list_enabled, "
            "phones, timezone, tz_source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    campaign_id,
                    r.phone,
                    r.name,
                    r.external_id,
                    list_id,
                    int(enabled),
                    json.dumps(list(r.phones or (r.phone,))),
                    r.timezone,
                    r.tz_source,
                    now,
                )
                for r in records
            ],
        )
        await conn.execute(
            "UPDATE records SET state = 'filtered', reason = 'DNC' "
            "WHERE id >= ? AND campaign_id = ? AND state = 'ready' AND EXISTS "
            "(SELECT 1 FROM dnc WHERE dnc.campaign_id IN (0, records.campaign_id) "
            "AND dnc.phone = records.phone)",
            (first_id, campaign_id),
        )
    return len(records)


async def list_for(db: Database, campaign_id: int) -> list[Record]:
    rows = await db.fetchall(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE campaign_id = ? ORDER BY id",
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
    """Any record still waiting, disabled lists included: a campaign whose only
    records are in a disabled list is not complete."""
    row = await db.fetchone(
        "SELECT 1 FROM records WHERE campaign_id = ? AND state = 'ready' LIMIT 1", (campaign_id,)
    )
    return row is not None


async def any_left_to_dial(db: Database, campaign_id: int) -> bool:
    """Whether a record of the campaign may still be dialed: one waiting (due or not: a
    retry, a callback; disabled lists included), one picked or on a call (its ended
    call may not be stored yet and send it back for a retry), or one an agent holds."""
    row = await db.fetchone(
        "SELECT EXISTS (SELECT 1 FROM records WHERE campaign_id = ?1 "
        "AND state IN ('ready', 'in_progress')) "
        "OR EXISTS (SELECT 1 FROM reservations WHERE campaign_id = ?1) AS left_to_dial",
        (campaign_id,),
    )
    return row is not None and bool(row["left_to_dial"])


async def release(db: Database, record_id: int) -> None:
    """Give back a record that was picked but never dialed."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET state = 'ready', attempts = attempts - 1 "
            "WHERE id = ? AND state = 'in_progress'",
            (record_id,),
        )


async def mark_filtered(db: Database, record_id: int, reason: str) -> bool:
    """Filter a waiting or picked record (the dialer found its number blocked right
    before dialing). False if it was in another state."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE records SET state = 'filtered', reason = ? "
            "WHERE id = ? AND state IN ('ready', 'in_progress')",
            (reason, record_id),
        )
    return cursor.rowcount == 1


# The inventory's grouped counts per (state, list_enabled), with the due-time bands; ?1..?3
# are band_edges(now). Shared by this campaign's inventory and the dashboard's many.
STATE_COUNT_COLUMNS = (
    "state, list_enabled, count(*) AS total, "
    "sum(attempts = 0 AND next_attempt_at <= ?1) AS fresh_due, "
    "sum(next_attempt_at <= ?1) AS due_now, "
    "sum(next_attempt_at > ?1 AND next_attempt_at <= ?2) AS due_0_15, "
    "sum(next_attempt_at > ?2 AND next_attempt_at <= ?3) AS due_15_30 "
)


def band_edges(now: float) -> tuple[float, float, float]:
    """The parameters ?1..?3 of STATE_COUNT_COLUMNS: now, in 15 and in 30 minutes."""
    return now, now + 15 * 60, now + 30 * 60


def state_count_from_row(r: aiosqlite.Row) -> StateCount:
    return StateCount(
        state=r["state"],
        list_enabled=bool(r["list_enabled"]),
        total=r["total"],
        fresh_due=r["fresh_due"],
        due_now=r["due_now"],
        due_0_15=r["due_0_15"],
        due_15_30=r["due_15_30"],
    )


async def inventory_counts(db: Database, campaign_id: int, now: float) -> list[StateCount]:
    """One grouped pass over the campaign's records, index-only on records_pick: groups
    follow the index order (state, list_enabled), so no sort is needed."""
    rows = await db.fetchall(
        f"SELECT {STATE_COUNT_COLUMNS}"
        "FROM records WHERE campaign_id = ?4 GROUP BY state, list_enabled",
        (*band_edges(now), campaign_id),
    )
    return [state_count_from_row(r) for r in rows]


@dataclass(frozen=True)
class RecordFilter:
    """Which records of a campaign a search or a cancel applies to. Patterns are LIKE
    patterns (escape '\\'), built by pbx_dialer.records.search.to_like."""

    state: str | None = None
    list_id: int | None = None
    q: str | None = None  # over name, phone and external id
    name: str | None = None
    phone: str | None = None
    external_id: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)

    def where(self, campaign_id: int, now: float) -> tuple[str, list[Any]]:
        parts: list[str] = ["campaign_id = ?"]
        params: list[Any] = [campaign_id]
        if self.state in STORED_STATES:
            parts.append("state = ?")
            params.append(self.state)
        elif self.state == "not_handled":
            parts.append("state = 'ready' AND attempts = 0 AND next_attempt_at <= ?")
            params.append(now)
        elif self.state == "retry_due":
            parts.append("state = 'ready' AND attempts > 0 AND next_attempt_at <= ?")
            params.append(now)
        elif self.state == "scheduled":
            parts.append("state = 'ready' AND next_attempt_at > ?")
            params.append(now)
        if self.list_id is not None:
            parts.append("list_id = ?")
            params.append(self.list_id)
        if self.phone is not None and like_prefix(self.phone):
            # Numbers are digits: the case-blind LIKE and a byte range agree, and the
            # range reads only records_phone's matching part.
            prefix = like_prefix(self.phone)
            parts.append("phone >= ? AND phone < ?")
            params.extend([prefix, prefix + "\U0010ffff"])
        for column in ("name", "phone", "external_id"):
            pattern = getattr(self, column)
            if pattern is not None:
                parts.append(f"{column} LIKE ? ESCAPE '\\'")
                params.append(pattern)
        if self.q is not None:
            parts.append(
                "(name LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\' "
                "OR external_id LIKE ? ESCAPE '\\')"
            )
            params.extend([self.q] * 3)
        return " AND ".join(parts), params


async def search(
    db: Database, campaign_id: int, where: RecordFilter, now: float, limit: int, offset: int
) -> tuple[list[Record], int]:
    """One page of matching records, in id order, and how many match in all."""
    sql, params = where.where(campaign_id, now)
    rows = await db.fetchall(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE {sql} ORDER BY id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    total = await db.fetchone(f"SELECT count(*) AS n FROM records WHERE {sql}", params)
    return [Record(**dict(r)) for r in rows], int(total["n"]) if total is not None else 0


async def cancel(
    db: Database, campaign_id: int, where: RecordFilter, reason: str, now: float
) -> tuple[int, int]:
    """Cancel the matching records that are waiting (state 'ready'); they stay stored
    with cancelled_at and the reason. Records on a call are skipped: their call ends as
    it would, and a later cancel catches them if they come back to 'ready'. Records
    already settled (handled, max calls, filtered, cancelled) keep their outcome.
    Returns (cancelled, skipped because in progress)."""
    sql, params = where.where(campaign_id, now)
    async with db.transaction() as conn:
        async with conn.execute(
            f"SELECT count(*) FROM records WHERE {sql} AND state = 'in_progress'", params
        ) as cursor:
            row = await cursor.fetchone()
        busy = int(row[0]) if row is not None else 0
        cursor = await conn.execute(
            "UPDATE records SET state = 'cancelled', cancelled_at = ?, reason = ? "
            f"WHERE {sql} AND state = 'ready'",
            [now, reason, *params],
        )
        cancelled = cursor.rowcount
    return cancelled, busy


async def upgrade_pending(db: Database, name: str) -> bool:
    row = await db.fetchone("SELECT done_at FROM data_upgrades WHERE name = ?", (name,))
    return row is not None and row["done_at"] is None


async def upgrade_done(db: Database, name: str, now: float) -> None:
    async with db.transaction() as conn:
        await conn.execute("UPDATE data_upgrades SET done_at = ? WHERE name = ?", (now, name))


@dataclass(frozen=True)
class StoredNumbers:
    id: int
    region: str  # the campaign's default region
    state: str
    phone: str
    phones: list[str]


async def numbers_after(db: Database, after_id: int, limit: int) -> list[StoredNumbers]:
    """Records' numbers in id order, with their campaign's default region."""
    rows = await db.fetchall(
        "SELECT r.id, c.default_region, r.state, r.phone, r.phones FROM records r "
        "JOIN campaigns c ON c.id = r.campaign_id WHERE r.id > ? ORDER BY r.id LIMIT ?",
        (after_id, limit),
    )
    return [
        StoredNumbers(
            int(r["id"]), str(r["default_region"]), r["state"], r["phone"], json.loads(r["phones"])
        )
        for r in rows
    ]


async def rewrite_numbers(
    db: Database,
    renumbered: Sequence[tuple[int, str, list[str]]],
    unusable: Sequence[tuple[int, str]],
) -> None:
    """Store records' numbers in their new form; filter waiting records whose number no
    door would take now (the number stays as it was typed: nothing is lost)."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE records SET phone = ?, phones = ? WHERE id = ?",
            [(phone, json.dumps(phones), rid) for rid, phone, phones in renumbered],
        )
        await conn.executemany(
            "UPDATE records SET state = 'filtered', reason = ? "
            "WHERE id = ? AND state IN ('ready', 'in_progress')",
            [(reason, rid) for rid, reason in unusable],
        )
        # A number renumbered onto a DNC entry is blocked like any other.
        await conn.executemany(
            "UPDATE records SET state = 'filtered', reason = 'DNC' WHERE id = ? AND "
            "state = 'ready' AND EXISTS (SELECT 1 FROM dnc WHERE dnc.campaign_id IN "
            "(0, records.campaign_id) AND dnc.phone = records.phone)",
            [(rid,) for rid, _, _ in renumbered],
        )


async def dial_facts(db: Database, record_ids: Sequence[int]) -> dict[int, aiosqlite.Row]:
    """What the dial gate reads of each record: zone, attempts so far, its numbers, and
    the callback its last ended attempt promised (if any)."""
    found: dict[int, aiosqlite.Row] = {}
    for start in range(0, len(record_ids), 500):
        chunk = list(record_ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        for row in await db.fetchall(
            "SELECT r.id, r.timezone, r.attempts, r.phones, (SELECT callback_at FROM "
            "attempts a WHERE a.record_id = r.id AND a.state = 'ended' ORDER BY a.id DESC "
            f"LIMIT 1) AS callback_at FROM records r WHERE r.id IN ({marks})",
            chunk,
        ):
            found[int(row["id"])] = row
    return found
