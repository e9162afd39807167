"""Users with their Campaigns profile, log-in sessions and API tokens.

Only digests of session and API tokens are stored (see auth.passwords.token_digest).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import aiosqlite

from pbx_dialer.auth.model import Role, User
from pbx_dialer.storage.db import Database


class UsernameTaken(ValueError):
    pass


class UnknownCampaigns(ValueError):
    """A profile lists campaigns that do not exist."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = sorted(ids)
        super().__init__(", ".join(str(i) for i in self.ids))


@dataclass(frozen=True)
class UserRecord:
    """A user as an admin manages it: the model plus what only storage knows."""

    user: User
    disabled: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class SessionRecord:
    user: User
    csrf_token: str
    created_at: float
    last_seen: float
    expires_at: float


_USER_COLUMNS = (
    "u.id, u.username, u.display_name, u.role, u.all_campaigns, u.may_list_campaigns, "
    "u.agent_interface, u.disabled, u.created_at, u.updated_at"
)


def _user(row: aiosqlite.Row, campaign_ids: frozenset[int]) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        all_campaigns=bool(row["all_campaigns"]),
        campaign_ids=campaign_ids,
        may_list_campaigns=bool(row["may_list_campaigns"]),
        agent_interface=row["agent_interface"],
        display_name=row["display_name"],
    )


async def _campaign_ids(db: Database, user_id: int) -> frozenset[int]:
    rows = await db.fetchall("SELECT campaign_id FROM user_campaigns WHERE user_id = ?", (user_id,))
    return frozenset(r[0] for r in rows)


async def _check_campaigns(conn: aiosqlite.Connection, ids: frozenset[int]) -> None:
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    async with conn.execute(f"SELECT id FROM campaigns WHERE id IN ({marks})", tuple(ids)) as cur:
        found = {row[0] for row in await cur.fetchall()}
    if ids - found:
        raise UnknownCampaigns(ids - found)


async def _set_campaigns(conn: aiosqlite.Connection, user_id: int, ids: frozenset[int]) -> None:
    await _check_campaigns(conn, ids)
    await conn.execute("DELETE FROM user_campaigns WHERE user_id = ?", (user_id,))
    await conn.executemany(
        "INSERT INTO user_campaigns (user_id, campaign_id) VALUES (?, ?)",
        [(user_id, c) for c in sorted(ids)],
    )


async def create(db: Database, user: User, password_hash: str, now: float) -> int:
    """Stores a new user (user.id is ignored) and returns its id."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT 1 FROM users WHERE username = ?", (user.username,)
        ) as cursor:
            if await cursor.fetchone() is not None:
                raise UsernameTaken(user.username)
        cursor = await conn.execute(
            "INSERT INTO users (username, display_name, password_hash, role, all_campaigns, "
            "may_list_campaigns, agent_interface, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user.username,
                user.display_name,
                password_hash,
                user.role.value,
                int(user.all_campaigns),
                int(user.may_list_campaigns),
                user.agent_interface,
                now,
                now,
            ),
        )
        user_id = cursor.lastrowid
        assert user_id is not None
        await _set_campaigns(conn, user_id, user.campaign_ids)
    return user_id


async def get(db: Database, user_id: int) -> UserRecord | None:
    row = await db.fetchone(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = ?", (user_id,))
    if row is None:
        return None
    return _record(row, await _campaign_ids(db, user_id))


def _record(row: aiosqlite.Row, campaign_ids: frozenset[int]) -> UserRecord:
    return UserRecord(
        user=_user(row, campaign_ids),
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_all(db: Database) -> list[UserRecord]:
    rows = await db.fetchall(f"SELECT {_USER_COLUMNS} FROM users u ORDER BY u.username")
    links = await db.fetchall("SELECT user_id, campaign_id FROM user_campaigns")
    by_user: dict[int, set[int]] = {}
    for link in links:
        by_user.setdefault(link[0], set()).add(link[1])
    return [_record(r, frozenset(by_user.get(r["id"], ()))) for r in rows]


async def for_login(db: Database, username: str) -> tuple[UserRecord, str] | None:
    """The user and its password hash, by username (case-insensitive)."""
    row = await db.fetchone(
        f"SELECT {_USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = ?",
        (username,),
    )
    if row is None:
        return None
    return _record(row, await _campaign_ids(db, row["id"])), row["password_hash"]


async def update(
    db: Database, user_id: int, changes: dict[str, Any], campaign_ids: frozenset[int] | None,
    now: float,
) -> bool:  # fmt: skip
    """Changes columns (names checked by the caller) and, if given, the listed campaigns.
    False when there is no such user."""
    allowed = {"display_name", "role", "all_campaigns", "may_list_campaigns", "agent_interface"}
    assert set(changes) <= allowed, set(changes) - allowed
    async with db.transaction() as conn:
        sets = ", ".join(f"{name} = ?" for name in sorted(changes))
        values = [changes[name] for name in sorted(changes)]
        cursor = await conn.execute(
            f"UPDATE users SET {sets + ', ' if sets else ''}updated_at = ? WHERE id = ?",
            (*values, now, user_id),
        )
        if cursor.rowcount == 0:
            return False
        if campaign_ids is not None:
            await _set_campaigns(conn, user_id, campaign_ids)
    return True


async def set_password(db: Database, user_id: int, password_hash: str, now: float) -> bool:
    """A new password ends every session of the user (tokens stay)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
            (password_hash, now, user_id),
        )
        await conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    return cursor.rowcount > 0


async def set_disabled(db: Database, user_id: int, disabled: bool, now: float) -> bool:
    """Disabling ends the user's sessions at once; its API tokens stop working too."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?",
            (int(disabled), now, user_id),
        )
        if disabled:
            await conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    return cursor.rowcount > 0


async def count_active_admins(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
    assert row is not None
    return int(row[0])


# Sessions


async def add_session(
    db: Database, token_hash: str, user_id: int, csrf_token: str, now: float, expires_at: float
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT OR REPLACE INTO sessions "
            "(token_hash, user_id, csrf_token, created_at, last_seen, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash, user_id, csrf_token, now, now, expires_at),
        )
        # Expired sessions of everyone are swept at each log-in: no background task.
        await conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))


async def session(db: Database, token_hash: str) -> SessionRecord | None:
    """The session's user when the user is enabled (expiry is the caller's decision)."""
    row = await db.fetchone(
        f"SELECT {_USER_COLUMNS}, s.csrf_token, s.created_at AS s_created, s.last_seen, "
        "s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = ? AND u.disabled = 0",
        (token_hash,),
    )
    if row is None:
        return None
    return SessionRecord(
        user=_user(row, await _campaign_ids(db, row["id"])),
        csrf_token=row["csrf_token"],
        created_at=row["s_created"],
        last_seen=row["last_seen"],
        expires_at=row["expires_at"],
    )


async def touch_session(db: Database, token_hash: str, now: float) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now, token_hash)
        )


async def delete_session(db: Database, token_hash: str) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


# API tokens


async def add_token(db: Database, token_hash: str, user_id: int, name: str, now: float) -> int:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES (?, ?, ?, ?)",
            (token_hash, user_id, name, now),
        )
        token_id = cursor.lastrowid
    assert token_id is not None
    return token_id


async def token_user(db: Database, token_hash: str) -> User | None:
    row = await db.fetchone(
        f"SELECT {_USER_COLUMNS}, t.name AS token_name FROM api_tokens t "
        "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND u.disabled = 0",
        (token_hash,),
    )
    if row is None:
        return None
    user = _user(row, await _campaign_ids(db, row["id"]))
    return replace(user, token_name=row["token_name"])


async def list_tokens(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT id, name, created_at, last_used FROM api_tokens WHERE user_id = ? ORDER BY id",
        (user_id,),
    )
    return [dict(r) for r in rows]


async def delete_token(db: Database, user_id: int, token_id: int) -> bool:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", (token_id, user_id)
        )
    return cursor.rowcount > 0
