"""CSV import rows: the job and its progress, its rejected rows, and the batches of
records it stores.

Two sides: async functions for the server (aiosqlite), and `ImportWriter`, which the
import worker process drives over its own sqlite3 connection to the same WAL database.
Each batch is one short transaction (records, rejects and progress together), so the
server's own writers never wait long and a crash loses at most the batch in flight.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from pbx_dialer.imports.reader import Prepared, Rejected, Rule, Target
from pbx_dialer.storage.db import Database

_IN_CHUNK = 500  # bound parameters per IN (...) query
_USABLE = ("draft", "active", "paused")

IMPORT_COLUMNS = (
    "id, campaign_id, project_id, filename, state, encoding, delimiter, bytes_total, "
    "bytes_done, rows_read, accepted, rejected, duplicates, filtered, error, started_at, "
    "finished_at"
)


# --- server side ------------------------------------------------------------------------


async def create(
    db: Database,
    *,
    campaign_id: int | None,
    project_id: int | None,
    filename: str,
    bytes_total: int,
    now: float,
) -> int:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO imports (campaign_id, project_id, filename, bytes_total, started_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (campaign_id, project_id, filename, bytes_total, now),
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def get(db: Database, import_id: int) -> dict[str, Any] | None:
    row = await db.fetchone(f"SELECT {IMPORT_COLUMNS} FROM imports WHERE id = ?", (import_id,))
    if row is None:
        return None
    found = dict(row)
    lists = await db.fetchall(
        "SELECT id, campaign_id FROM contact_lists WHERE import_id = ? ORDER BY id", (import_id,)
    )
    found["lists"] = [dict(r) for r in lists]
    return found


async def rejects_page(
    db: Database, import_id: int, after_line: int, limit: int
) -> list[tuple[int, str, str]]:
    rows = await db.fetchall(
        "SELECT line, reason, raw FROM import_rejects WHERE import_id = ? AND line > ? "
        "ORDER BY line LIMIT ?",
        (import_id, after_line, limit),
    )
    return [(r["line"], r["reason"], r["raw"]) for r in rows]


async def campaign_status(db: Database, campaign_id: int) -> str | None:
    row = await db.fetchone("SELECT status FROM campaigns WHERE id = ?", (campaign_id,))
    return str(row["status"]) if row is not None else None


async def project(db: Database, project_id: int) -> dict[str, Any] | None:
    row = await db.fetchone(
        "SELECT id, rules, default_campaign_id FROM projects WHERE id = ?", (project_id,)
    )
    return dict(row) if row is not None else None


async def running(db: Database) -> list[int]:
    rows = await db.fetchall("SELECT id FROM imports WHERE state = 'running' ORDER BY id")
    return [int(r["id"]) for r in rows]


# --- worker side ------------------------------------------------------------------------


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    # Index pages of a million records stay in memory while the batches go in.
    conn.execute("PRAGMA cache_size=-32768")
    # Each batch dirties many pages of the phone index: checkpointing after every
    # commit would copy them twice. The writer checkpoints every few batches instead.
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


class ImportAborted(Exception):
    pass


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class ImportWriter:
    """Stores an import's batches. Lists are created with the first record of each
    campaign; `undo` removes what the import stored."""

    def __init__(self, conn: sqlite3.Connection, import_id: int, list_name: str, now: float):
        self.conn = conn
        self.import_id = import_id
        self.list_name = list_name
        self.now = now
        self.lists: dict[int, int] = {}  # campaign id -> list id
        self.counts = {"rows_read": 0, "accepted": 0, "rejected": 0, "duplicates": 0, "filtered": 0}
        self.has_external = False
        self.direct_campaign: int | None = None
        self.delimiter = ","
        self.batches = 0

    # targets

    def campaign_targets(self, campaign_ids: Iterable[int]) -> dict[int, Target]:
        ids = sorted(set(campaign_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT id, status, default_region FROM campaigns WHERE id IN ({marks})", ids
        ).fetchall()
        found: dict[int, Target] = {}
        for campaign_id, status, region in rows:
            refused = None if status in _USABLE else f"which is {status}"
            found[campaign_id] = Target(campaign_id, region or "US", refused)
        return found

    def project(self, project_id: int) -> tuple[object, int | None]:
        row = self.conn.execute(
            "SELECT rules, default_campaign_id FROM projects WHERE id = ?", (project_id,)
        ).fetchone()
        if row is None:
            raise ImportAborted(f"no project {project_id}")
        try:
            rules = json.loads(row[0])
        except (TypeError, ValueError):
            raise ImportAborted(f"project {project_id} has rules that are not JSON") from None
        return rules, row[1]

    @staticmethod
    def rule_campaigns(rules: Sequence[Rule], default: int | None) -> set[int]:
        found = {r.campaign_id for r in rules}
        if default is not None:
            found.add(default)
        return found

    def set_format(self, encoding: str, delimiter: str) -> None:
        self.delimiter = delimiter
        self.conn.execute(
            "UPDATE imports SET encoding = ?, delimiter = ? WHERE id = ?",
            (encoding, delimiter, self.import_id),
        )

    # batches

    def write(self, batch: Sequence[Prepared | Rejected], bytes_done: int) -> None:
        conn = self.conn
        rejects: list[tuple[int, int, str, str]] = []
        by_campaign: dict[int, list[Prepared]] = {}
        for item in batch:
            if isinstance(item, Rejected):
                rejects.append((self.import_id, item.line, item.reason, item.raw))
                self.counts["rejected"] += 1
            else:
                by_campaign.setdefault(item.campaign_id, []).append(item)
        self.counts["rows_read"] += len(batch)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for campaign_id, items in by_campaign.items():
                self._store(campaign_id, items, rejects)
            if rejects:
                conn.executemany(
                    "INSERT INTO import_rejects (import_id, line, reason, raw) VALUES (?, ?, ?, ?)",
                    rejects,
                )
            c = self.counts
            conn.execute(
                "UPDATE imports SET bytes_done = ?, rows_read = ?, accepted = ?, rejected = ?, "
                "duplicates = ?, filtered = ? WHERE id = ?",
                (
                    bytes_done,
                    c["rows_read"],
                    c["accepted"],
                    c["rejected"],
                    c["duplicates"],
                    c["filtered"],
                    self.import_id,
                ),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self.batches += 1
        if self.batches % 8 == 0:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _status(self, campaign_id: int) -> str | None:
        row = self.conn.execute(
            "SELECT status FROM campaigns WHERE id = ?", (campaign_id,)
        ).fetchone()
        return str(row[0]) if row is not None else None

    def _store(
        self, campaign_id: int, items: list[Prepared], rejects: list[tuple[int, int, str, str]]
    ) -> None:
        conn = self.conn
        status = self._status(campaign_id)
        if status not in _USABLE:
            if campaign_id == self.direct_campaign:
                raise ImportAborted(f"campaign {campaign_id} is {status or 'gone'}")
            for item in items:
                reason = f"routed to campaign {campaign_id}, which is {status or 'gone'}"
                rejects.append((self.import_id, item.line, reason, item.raw))
            self.counts["rejected"] += len(items)
            return
        list_id = self.lists.get(campaign_id)
        if list_id is None:
            list_id = self._create_list(campaign_id)
        # Duplicates: earlier in this batch (a dict), earlier batches of this import and
        # the campaign's other records (the (campaign_id, phone/external_id) indexes).
        phones = [p.phone for p in items]
        seen_phone = self._existing(
            "SELECT phone, list_id FROM records WHERE campaign_id = ? AND phone IN ({})",
            campaign_id,
            phones,
        )
        externals = [p.external_id for p in items if p.external_id is not None]
        seen_external = (
            self._existing(
                "SELECT external_id, list_id FROM records WHERE campaign_id = ? "
                "AND external_id IN ({})",
                campaign_id,
                externals,
            )
            if externals
            else {}
        )
        dnc = self._dnc(campaign_id, phones)
        in_batch_phone: dict[str, int] = {}
        in_batch_external: dict[str, int] = {}
        rows: list[tuple[Any, ...]] = []
        now = self.now
        for item in items:
            why = self._duplicate(
                "phone", item.phone, seen_phone, in_batch_phone, list_id, campaign_id
            )
            if why is None and item.external_id is not None:
                why = self._duplicate(
                    "external id",
                    item.external_id,
                    seen_external,
                    in_batch_external,
                    list_id,
                    campaign_id,
                )
            if why is not None:
                rejects.append((self.import_id, item.line, why, item.raw))
                self.counts["duplicates"] += 1
                continue
            in_batch_phone[item.phone] = item.line
            if item.external_id is not None:
                in_batch_external[item.external_id] = item.line
            filtered = item.phone in dnc
            if filtered:
                self.counts["filtered"] += 1
            else:
                self.counts["accepted"] += 1
            rows.append(
                (
                    campaign_id,
                    list_id,
                    item.phone,
                    item.name,
                    "filtered" if filtered else "ready",
                    item.external_id,
                    item.timezone,
                    item.tz_source,
                    item.notes,
                    item.phones,
                    item.custom,
                    "DNC" if filtered else "",
                    now,
                )
            )
        conn.executemany(
            "INSERT INTO records (campaign_id, list_id, phone, name, state, external_id, "
            "timezone, tz_source, notes, phones, custom, reason, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def _duplicate(
        self,
        what: str,
        value: str,
        stored: dict[str, int | None],
        in_batch: dict[str, int],
        list_id: int,
        campaign_id: int,
    ) -> str | None:
        line = in_batch.get(value)
        if line is not None:
            return f"duplicate {what} {value}: line {line} of this file"
        if value in stored:
            if stored[value] == list_id:
                return f"duplicate {what} {value}: earlier in this file"
            return f"duplicate {what} {value}: already in campaign {campaign_id}"
        return None

    def _existing(self, sql: str, campaign_id: int, values: Sequence[str]) -> dict[str, int | None]:
        found: dict[str, int | None] = {}
        for chunk in _chunks(values):
            query = sql.format(",".join("?" * len(chunk)))
            for value, list_id in self.conn.execute(query, (campaign_id, *chunk)):
                # An earlier line of this file wins over a record of another list.
                if found.get(value) != self.lists.get(campaign_id):
                    found[value] = list_id
        return found

    def _dnc(self, campaign_id: int, phones: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(phones):
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT phone FROM dnc WHERE campaign_id IN (0, ?) AND phone IN ({marks})",
                    (campaign_id, *chunk),
                )
            )
        return found

    def _create_list(self, campaign_id: int) -> int:
        cursor = self.conn.execute(
            "INSERT INTO contact_lists (campaign_id, name, source, created_at, import_id) "
            "VALUES (?, ?, 'csv', ?, ?)",
            (campaign_id, self.list_name, self.now, self.import_id),
        )
        assert cursor.lastrowid is not None
        self.lists[campaign_id] = cursor.lastrowid
        return cursor.lastrowid

    def finish(self, now: float) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.conn.execute(
            "UPDATE imports SET state = 'done', finished_at = ?, bytes_done = bytes_total "
            "WHERE id = ?",
            (now, self.import_id),
        )


def fail(
    conn: sqlite3.Connection, import_id: int, error: str, now: float, batch: int = 20_000
) -> None:
    """Mark an import failed and take back what it stored: its lists and their records.

    Records already dialed (attempts > 0) cannot be un-dialed: they are cancelled and
    kept, with their list, for the audit trail. The rest is deleted in short batches."""
    conn.execute(
        "UPDATE imports SET state = 'failed', error = ?, finished_at = ? WHERE id = ?",
        (error[:500], now, import_id),
    )
    lists = [
        r[0] for r in conn.execute("SELECT id FROM contact_lists WHERE import_id = ?", (import_id,))
    ]
    for list_id in lists:
        while True:
            conn.execute("BEGIN IMMEDIATE")
            deleted = conn.execute(
                "DELETE FROM records WHERE id IN (SELECT id FROM records WHERE list_id = ? "
                "AND attempts = 0 AND state IN ('ready', 'filtered') LIMIT ?)",
                (list_id, batch),
            ).rowcount
            conn.execute("COMMIT")
            if deleted < batch:
                break
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE records SET state = 'cancelled', cancelled_at = ? WHERE list_id = ? "
            "AND state IN ('ready', 'filtered')",
            (now, list_id),
        )
        left = conn.execute(
            "SELECT 1 FROM records WHERE list_id = ? LIMIT 1", (list_id,)
        ).fetchone()
        if left is None:
            conn.execute("DELETE FROM contact_lists WHERE id = ?", (list_id,))
        else:
            conn.execute("UPDATE contact_lists SET enabled = 0 WHERE id = ?", (list_id,))
            conn.execute("UPDATE records SET list_enabled = 0 WHERE list_id = ?", (list_id,))
        conn.execute("COMMIT")
