"""Live feeds: a campaign's CRM endpoint, its cursor and state, and the records taken
from it. A page's records and the cursor after them are stored in one transaction, so
a record is never taken twice, even across a restart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from pbx_dialer.crm.parse import FeedRecord, Skip
from pbx_dialer.storage.db import Database

LIST_NAME = "CRM feed"
_KEEP_SKIPS = 20


@dataclass(frozen=True, slots=True)
class LiveFeed:
    campaign_id: int
    url: str
    poll_s: float
    timeout_s: float
    cursor: str
    state: str  # "new" (never polled), "ok", "failing"
    last_error: str
    failures: int
    last_poll_at: float | None
    last_ok_at: float | None
    next_poll_at: float | None
    auto_paused: str
    list_id: int | None
    taken: int
    skipped: int
    duplicates: int
    last_skips: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "url": self.url,
            "poll_s": self.poll_s,
            "timeout_s": self.timeout_s,
            "cursor": self.cursor,
            "state": self.state,
            "last_error": self.last_error,
            "failures": self.failures,
            "last_poll_at": self.last_poll_at,
            "last_ok_at": self.last_ok_at,
            "next_poll_at": self.next_poll_at,
            "auto_paused": self.auto_paused,
            "list_id": self.list_id,
            "taken": self.taken,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "last_skips": self.last_skips,
            # A live campaign has no fixed size: its contact count is unbounded.
            "contacts": None,
            "unbounded": True,
        }


def _feed(row: aiosqlite.Row) -> LiveFeed:
    return LiveFeed(
        campaign_id=row["campaign_id"],
        url=row["url"],
        poll_s=row["poll_s"],
        timeout_s=row["timeout_s"],
        cursor=row["cursor"],
        state=row["state"],
        last_error=row["last_error"],
        failures=row["failures"],
        last_poll_at=row["last_poll_at"],
        last_ok_at=row["last_ok_at"],
        next_poll_at=row["next_poll_at"],
        auto_paused=row["auto_paused"],
        list_id=row["list_id"],
        taken=row["taken"],
        skipped=row["skipped"],
        duplicates=row["duplicates"],
        last_skips=json.loads(row["last_skips"]),
    )


async def get(db: Database, campaign_id: int) -> LiveFeed | None:
    row = await db.fetchone("SELECT * FROM live_feeds WHERE campaign_id = ?", (campaign_id,))
    return _feed(row) if row is not None else None


async def list_all(db: Database) -> list[LiveFeed]:
    return [_feed(r) for r in await db.fetchall("SELECT * FROM live_feeds ORDER BY campaign_id")]


async def put(
    db: Database,
    campaign_id: int,
    *,
    url: str,
    poll_s: float,
    timeout_s: float,
    cursor: str | None,
    now: float,
) -> tuple[LiveFeed, bool]:
    """Create or edit the feed of a campaign; True when it was created. A new URL is
    another CRM: its cursor starts again from empty (external ids still guard against
    taking a record twice) and its failures are forgotten."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT url, list_id FROM live_feeds WHERE campaign_id = ?", (campaign_id,)
        ) as found:
            row = await found.fetchone()
        if row is None:
            list_id = await _crm_list(conn, campaign_id, now)
            await conn.execute(
                "INSERT INTO live_feeds (campaign_id, url, poll_s, timeout_s, cursor, state, "
                "list_id, created_at) VALUES (?, ?, ?, ?, ?, 'new', ?, ?)",
                (campaign_id, url, poll_s, timeout_s, cursor or "", list_id, now),
            )
        else:
            if row["url"] != url:
                await conn.execute(
                    "UPDATE live_feeds SET cursor = '', state = 'new', last_error = '', "
                    "failures = 0, next_poll_at = NULL WHERE campaign_id = ?",
                    (campaign_id,),
                )
            await conn.execute(
                "UPDATE live_feeds SET url = ?, poll_s = ?, timeout_s = ?, "
                "next_poll_at = NULL WHERE campaign_id = ?",
                (url, poll_s, timeout_s, campaign_id),
            )
            if cursor is not None:
                await conn.execute(
                    "UPDATE live_feeds SET cursor = ? WHERE campaign_id = ?", (cursor, campaign_id)
                )
        await conn.execute("UPDATE campaigns SET live = 1 WHERE id = ?", (campaign_id,))
    feed = await get(db, campaign_id)
    assert feed is not None
    return feed, row is None


async def _crm_list(conn: aiosqlite.Connection, campaign_id: int, now: float) -> int:
    """The campaign's CRM contact list, made on first use (kept when the feed goes)."""
    async with conn.execute(
        "SELECT id FROM contact_lists WHERE campaign_id = ? AND source = 'crm' ORDER BY id LIMIT 1",
        (campaign_id,),
    ) as found:
        row = await found.fetchone()
    if row is not None:
        return int(row["id"])
    cursor = await conn.execute(
        "INSERT INTO contact_lists (campaign_id, name, source, created_at) VALUES (?, ?, 'crm', ?)",
        (campaign_id, LIST_NAME, now),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def delete(db: Database, campaign_id: int) -> bool:
    """Stop feeding the campaign; its records and its CRM list stay."""
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM live_feeds WHERE campaign_id = ?", (campaign_id,))
        await conn.execute("UPDATE campaigns SET live = 0 WHERE id = ?", (campaign_id,))
    return cursor.rowcount == 1


async def is_live(db: Database, campaign_id: int) -> bool:
    row = await db.fetchone("SELECT 1 FROM live_feeds WHERE campaign_id = ?", (campaign_id,))
    return row is not None


@dataclass(frozen=True, slots=True)
class Taken:
    added: int
    duplicates: int
    stored: bool  # False: the feed changed meanwhile (edited or deleted); nothing stored


async def _take_page(
    db: Database,
    feed: LiveFeed,
    records: Sequence[FeedRecord],
    skipped: Sequence[Skip],
    next_cursor: str | None,
    now: float,
) -> Taken:
    cursor_after = feed.cursor if next_cursor is None else next_cursor
    async with db.transaction() as conn:
        # Compare-and-set on the cursor: a feed edited, rewound or deleted meanwhile
        # keeps what it has now, and this page is fetched again if still wanted.
        moved = await conn.execute(
            "UPDATE live_feeds SET cursor = ?, state = 'ok', last_error = '', failures = 0, "
            "last_poll_at = ?, last_ok_at = ? WHERE campaign_id = ? AND cursor = ? AND url = ?",
            (cursor_after, now, now, feed.campaign_id, feed.cursor, feed.url),
        )
        if moved.rowcount != 1:
            raise _Changed
        held = await _held_external_ids(conn, feed.campaign_id, records)
        dnc = await _dnc_numbers(conn, feed.campaign_id, records)
        rows = []
        duplicates = 0
        for r in records:
            if r.external_id is not None and r.external_id in held:
                duplicates += 1
                continue
            filtered = r.phone in dnc
            rows.append(
                (
                    feed.campaign_id,
                    feed.list_id,
                    r.phone,
                    r.name,
                    "filtered" if filtered else "ready",
                    "DNC" if filtered else "",
                    r.external_id,
                    r.timezone,
                    r.tz_source,
                    r.notes,
                    json.dumps(list(r.phones)),
                    json.dumps(r.custom),
                    now,
                )
            )
        await conn.executemany(
            "INSERT INTO records (campaign_id, list_id, phone, name, state, reason, "
            "external_id, timezone, tz_source, notes, phones, custom, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        skips = [{"index": s.index, "reason": s.reason} for s in skipped]
        await conn.execute(
            "UPDATE live_feeds SET taken = taken + ?, skipped = skipped + ?, "
            "duplicates = duplicates + ?, "
            "last_skips = CASE WHEN ? THEN ? ELSE last_skips END WHERE campaign_id = ?",
            (
                len(rows),
                len(skipped),
                duplicates,
                bool(skips),
                json.dumps(skips[-_KEEP_SKIPS:]),
                feed.campaign_id,
            ),
        )
    return Taken(len(rows), duplicates, True)


class _Changed(Exception):
    pass


async def take_page(
    db: Database,
    feed: LiveFeed,
    records: Sequence[FeedRecord],
    skipped: Sequence[Skip],
    next_cursor: str | None,
    now: float,
) -> Taken:
    """Store a page's new records and the cursor after them, all or nothing. A record
    whose external_id the campaign already holds is ignored; a number on a DNC list
    lands Filtered. Stores nothing if the feed was edited or deleted meanwhile."""
    try:
        return await _take_page(db, feed, records, skipped, next_cursor, now)
    except _Changed:
        return Taken(0, 0, False)


async def _present(
    conn: aiosqlite.Connection, select: str, campaign_id: int, values: set[str]
) -> set[str]:
    """Which of `values` the query `select` (ending in `IN`) finds, 500 at a time."""
    wanted = sorted(values)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        async with conn.execute(f"{select} ({marks})", (campaign_id, *chunk)) as cursor:
            found.update(row[0] for row in await cursor.fetchall())
    return found


async def _held_external_ids(
    conn: aiosqlite.Connection, campaign_id: int, records: Sequence[FeedRecord]
) -> set[str]:
    return await _present(
        conn,
        "SELECT external_id FROM records WHERE campaign_id = ? AND external_id IN",
        campaign_id,
        {r.external_id for r in records if r.external_id is not None},
    )


async def _dnc_numbers(
    conn: aiosqlite.Connection, campaign_id: int, records: Sequence[FeedRecord]
) -> set[str]:
    return await _present(
        conn,
        "SELECT phone FROM dnc WHERE campaign_id IN (0, ?) AND phone IN",
        campaign_id,
        {r.phone for r in records},
    )


async def record_failure(db: Database, feed: LiveFeed, error: str, now: float) -> int:
    """Note a failed poll; the cursor and the records stay as they are. Returns the
    number of failures in a row."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE live_feeds SET state = 'failing', last_error = ?, failures = failures + 1, "
            "last_poll_at = ? WHERE campaign_id = ? AND url = ?",
            (error[:500], now, feed.campaign_id, feed.url),
        )
    return feed.failures + 1


async def set_next_poll(db: Database, campaign_id: int, at: float) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE live_feeds SET next_poll_at = ? WHERE campaign_id = ?", (at, campaign_id)
        )


async def set_auto_paused(db: Database, campaign_id: int, reason: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE live_feeds SET auto_paused = ? WHERE campaign_id = ?", (reason, campaign_id)
        )


async def dialable_now(db: Database, campaign_id: int, now: float) -> bool:
    """A record the dialer could take now: ready, due, and in an enabled list."""
    row = await db.fetchone(
        "SELECT 1 FROM records r LEFT JOIN contact_lists l ON l.id = r.list_id "
        "WHERE r.campaign_id = ? AND r.state = 'ready' AND r.next_attempt_at <= ? "
        "AND (l.id IS NULL OR l.enabled = 1) LIMIT 1",
        (campaign_id, now),
    )
    return row is not None


async def last_action(db: Database, campaign_id: int) -> tuple[str, str] | None:
    """The campaign's latest control action and who did it."""
    row = await db.fetchone(
        "SELECT action, actor FROM campaign_actions WHERE campaign_id = ? ORDER BY id DESC LIMIT 1",
        (campaign_id,),
    )
    return (row["action"], row["actor"]) if row is not None else None
