"""The SQLite connection: WAL mode, foreign keys, numbered migrations, one writer at a time."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Iterable
from importlib import resources
from typing import Any

import aiosqlite

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql\Z")


class StorageError(Exception):
    pass


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        # aiosqlite runs every statement on one thread; the lock keeps one
        # transaction from interleaving with another coroutine's statements.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> Database:
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except Exception as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from None
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await db.migrate()
        except Exception as exc:
            await conn.close()
            raise StorageError(f"cannot prepare database {path}: {exc}") from None
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def migrate(self) -> list[int]:
        """Apply the numbered migrations not applied yet, each in its own transaction."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        done = {row[0] for row in await self.fetchall("SELECT version FROM schema_migrations")}
        applied: list[int] = []
        files = resources.files("pbx_dialer.storage").joinpath("migrations")
        for entry in sorted(files.iterdir(), key=lambda e: e.name):
            match = _MIGRATION_RE.match(entry.name)
            if match is None or int(match.group(1)) in done:
                continue
            version = int(match.group(1))
            script = entry.read_text(encoding="utf-8")
            async with self.transaction():
                for statement in _split_sql(script):
                    await self.conn.execute(statement)
                await self.conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, time.time()),
                )
            applied.append(version)
        return applied

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def healthy(self) -> bool:
        try:
            row = await self.fetchone("SELECT 1")
        except Exception:
            return False
        return row is not None


def _split_sql(script: str) -> list[str]:
    """Split a migration on semicolons at line ends (our migrations hold no triggers)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().strip(";")]
