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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pbx_dialer.imports.reader import Rule, StoredRow, Target

if TYPE_CHECKING:  # the worker processes never load the server's async layer
    from pbx_dialer.storage.db import Database

# A Completed campaign takes records too: the import reopens it (imports/service.py).
_USABLE = ("draft", "active", "paused", "completed")

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


async def campaigns_fed(db: Database, import_id: int) -> list[int]:
    """The campaigns this import stored records in."""
    rows = await db.fetchall(
        "SELECT DISTINCT l.campaign_id FROM contact_lists l WHERE l.import_id = ? "
        "AND EXISTS (SELECT 1 FROM records r WHERE r.list_id = l.id) ORDER BY l.campaign_id",
        (import_id,),
    )
    return [int(r["campaign_id"]) for r in rows]


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


async def running_or_after(db: Database, after_id: int) -> list[int]:
    """Imports running now, and every import newer than `after_id` whatever its state
    (a small file can start and finish between two looks)."""
    rows = await db.fetchall(
        "SELECT id FROM imports WHERE state = 'running' OR id > ? ORDER BY id", (after_id,)
    )
    return [int(r["id"]) for r in rows]


# --- worker side ------------------------------------------------------------------------


def connect(path: str, *, foreign_keys: bool = True) -> sqlite3.Connection:
    """The worker's own connection. WAL with synchronous=NORMAL, as the server: a crash
    or power cut can lose the last commits but never corrupts the database (and an
    import cut short is undone as a whole at the next start)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    conn.execute("PRAGMA synchronous=NORMAL")
    # Index pages of a million records stay in memory while the batches go in.
    conn.execute("PRAGMA cache_size=-16384")
    # Each batch dirties many pages of the phone index: checkpointing after every
    # commit would copy them twice. The writer checkpoints every few batches instead.
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


class ImportAborted(Exception):
    pass


Row = StoredRow  # a record as the parser hands it over, in the INSERT's column order
_PHONE: Final = 0
_EXTERNAL: Final = 3


@dataclass(slots=True)
class Group:
    """One campaign's records of a batch: line numbers, raw rows (for a duplicate's
    reject) and the records themselves, in file order."""

    lines: list[int] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


@dataclass(slots=True)
class Batch:
    rejects: list[tuple[int, str, str]]  # line, reason, raw
    groups: dict[int, Group]  # campaign id -> its records
    bytes_done: int


def _repeated(values: Sequence[str | None]) -> set[str]:
    """Values found more than once (None ignored); empty at C speed in the usual case."""
    if len(set(values)) == len(values):
        return set()
    seen: set[str] = set()
    twice: set[str] = set()
    for value in values:
        if value is not None:
            (twice if value in seen else seen).add(value)
    return twice


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

    def write(self, batch: Batch) -> None:
        """One batch in one transaction: its records, rejects and the progress."""
        conn = self.conn
        rejects = [(self.import_id, line, reason, raw) for line, reason, raw in batch.rejects]
        self.counts["rejected"] += len(rejects)
        self.counts["rows_read"] += len(rejects) + sum(len(g.lines) for g in batch.groups.values())
        conn.execute("BEGIN IMMEDIATE")
        try:
            for campaign_id, group in batch.groups.items():
                self._store(campaign_id, group, rejects)
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
                    batch.bytes_done,
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
        self, campaign_id: int, group: Group, rejects: list[tuple[int, int, str, str]]
    ) -> None:
        conn = self.conn
        # Checked inside this transaction: the writer's connection runs without foreign
        # keys (they cost a look-up per record), so the campaign and the list it points
        # to must exist now, and nobody can remove them before the commit.
        status = self._status(campaign_id)
        if status not in _USABLE:
            if campaign_id == self.direct_campaign:
                raise ImportAborted(f"campaign {campaign_id} is {status or 'gone'}")
            for line, raw in zip(group.lines, group.raws, strict=True):
                reason = f"routed to campaign {campaign_id}, which is {status or 'gone'}"
                rejects.append((self.import_id, line, reason, raw))
            self.counts["rejected"] += len(group.lines)
            return
        list_id = self.lists.get(campaign_id)
        if (
            list_id is not None
            and not conn.execute("SELECT 1 FROM contact_lists WHERE id = ?", (list_id,)).fetchone()
        ):
            raise ImportAborted(f"the import's list {list_id} is gone")
        if list_id is None:
            list_id = self._create_list(campaign_id)
        rows = group.rows
        # Duplicates: earlier in this batch, earlier batches of this import and the
        # campaign's other records (the (campaign_id, phone/external_id) indexes).
        phones = [r[_PHONE] for r in rows]
        externals = [r[_EXTERNAL] for r in rows if r[_EXTERNAL] is not None]
        seen_phone = self._existing(
            "SELECT j.value, r.list_id FROM json_each(?) j CROSS JOIN records r "
            "ON r.campaign_id = ? AND r.phone = j.value",
            campaign_id,
            phones,
        )
        seen_external = (
            self._existing(
                "SELECT j.value, r.list_id FROM json_each(?) j CROSS JOIN records r "
                "ON r.campaign_id = ? AND r.external_id = j.value",
                campaign_id,
                externals,
            )
            if externals
            else {}
        )
        dnc = self._dnc(campaign_id, phones)
        # Only rows holding a value seen elsewhere need the row-by-row rules below;
        # the others (nearly all) go in as the parser made them.
        odd_phones = set(seen_phone) | dnc | _repeated(phones)
        odd_externals = set(seen_external) | _repeated(externals)
        count = len(rows)
        if not odd_phones and not odd_externals:
            self.counts["accepted"] += count
            self._insert(campaign_id, list_id, rows)
            return
        in_batch_phone: dict[str, int] = {}
        in_batch_external: dict[str, int] = {}
        kept: list[Row] = []
        for line, raw, row in zip(group.lines, group.raws, rows, strict=True):
            phone = row[_PHONE]
            external = row[_EXTERNAL]
            if phone not in odd_phones and (external is None or external not in odd_externals):
                kept.append(row)
                self.counts["accepted"] += 1
                continue
            why = self._duplicate("phone", phone, seen_phone, in_batch_phone, list_id, campaign_id)
            if why is None and external is not None:
                why = self._duplicate(
                    "external id", external, seen_external, in_batch_external, list_id, campaign_id
                )
            if why is not None:
                rejects.append((self.import_id, line, why, raw))
                self.counts["duplicates"] += 1
                continue
            in_batch_phone[phone] = line
            if external is not None:
                in_batch_external[external] = line
            if phone in dnc:
                self.counts["filtered"] += 1
                phone, name, _, external, zone, source, notes, numbers, custom, _ = row
                row = (
                    phone,
                    name,
                    "filtered",
                    external,
                    zone,
                    source,
                    notes,
                    numbers,
                    custom,
                    "DNC",
                )
            else:
                self.counts["accepted"] += 1
            kept.append(row)
        self._insert(campaign_id, list_id, kept)

    def _insert(self, campaign_id: int, list_id: int, rows: Sequence[Row]) -> None:
        # The same campaign, list and time for the whole batch: written into the
        # statement (integers and a float's exact repr), not bound per row.
        self.conn.executemany(
            "INSERT INTO records (campaign_id, list_id, created_at, phone, name, state, "
            "external_id, timezone, tz_source, notes, phones, custom, reason) "
            f"VALUES ({int(campaign_id)}, {int(list_id)}, {float(self.now)!r}, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    def _existing(
        self, sql: str, campaign_id: int, values: Sequence[str | None]
    ) -> dict[str, int | None]:
        found: dict[str, int | None] = {}
        # One statement per batch: the values go in as one JSON array.
        for value, list_id in self.conn.execute(sql, (json.dumps(values), campaign_id)):
            # An earlier line of this file wins over a record of another list.
            if found.get(value) != self.lists.get(campaign_id):
                found[value] = list_id
        return found

    def _dnc(self, campaign_id: int, phones: Sequence[str]) -> set[str]:
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT j.value FROM json_each(?) j CROSS JOIN dnc d "
                "ON d.campaign_id IN (0, ?) AND d.phone = j.value",
                (json.dumps(phones), campaign_id),
            )
        }

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
