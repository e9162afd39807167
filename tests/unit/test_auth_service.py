"""Log-in, sessions and API tokens against a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from pbx_dialer.auth.model import Role, User
from pbx_dialer.auth.passwords import token_digest
from pbx_dialer.auth.service import WRONG, AuthService, LastAdmin, LoginRefused, UserRefused
from pbx_dialer.auth.throttle import USER_FAILURES
from pbx_dialer.storage import users as user_rows
from pbx_dialer.storage.db import Database

PASSWORD = "a good long password"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "auth.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(db: Database, clock: Clock) -> AuthService:
    return AuthService(db, clock, lifetime_s=8 * 3600, idle_s=1800)


async def add(auth: AuthService, username: str, role: Role = Role.SUPERVISOR) -> int:
    return await auth.create_user(User(id=0, username=username, role=role), PASSWORD)


async def test_log_in_gives_a_session_whose_token_is_stored_hashed(
    auth: AuthService, db: Database
) -> None:
    user_id = await add(auth, "alice")
    session = await auth.log_in("ALICE", PASSWORD, "127.0.0.1")
    assert session.user.id == user_id and session.user.username == "alice"
    rows = await db.fetchall("SELECT token_hash, csrf_token FROM sessions")
    assert [r["token_hash"] for r in rows] == [token_digest(session.token)]
    assert rows[0]["csrf_token"] == session.csrf_token
    found = await auth.session(session.token)
    assert found is not None and found.user.id == user_id
    stored = await db.fetchone("SELECT password_hash FROM users")
    assert stored is not None and PASSWORD not in stored[0]


async def test_unknown_user_wrong_password_and_disabled_get_the_same_answer(
    auth: AuthService, db: Database, clock: Clock
) -> None:
    user_id = await add(auth, "bob")
    await add(auth, "off")
    off = await user_rows.for_login(db, "off")
    assert off is not None
    await user_rows.set_disabled(db, off[0].user.id, True, clock())
    answers = []
    for username, password in (("nobody", PASSWORD), ("bob", "wrong password!"), ("off", PASSWORD)):
        with pytest.raises(LoginRefused) as refused:
            await auth.log_in(username, password, "127.0.0.1")
        answers.append(str(refused.value))
    assert answers == [WRONG, WRONG, WRONG]
    assert (await auth.log_in("bob", PASSWORD, "127.0.0.1")).user.id == user_id


async def test_repeated_failures_lock_the_account_even_with_the_right_password(
    auth: AuthService, clock: Clock
) -> None:
    await add(auth, "carol")
    for _ in range(USER_FAILURES):
        with pytest.raises(LoginRefused):
            await auth.log_in("carol", "not the password", "10.1.1.1")
    with pytest.raises(LoginRefused, match="too many failed log-ins") as locked:
        await auth.log_in("carol", PASSWORD, "10.1.1.2")
    assert locked.value.retry_after > 0
    clock.now += locked.value.retry_after + 1
    assert (await auth.log_in("carol", PASSWORD, "10.1.1.2")).user.username == "carol"


async def test_log_in_rotates_the_session_and_log_out_ends_it(auth: AuthService) -> None:
    await add(auth, "dave")
    first = await auth.log_in("dave", PASSWORD, "127.0.0.1")
    second = await auth.log_in("dave", PASSWORD, "127.0.0.1", old_token=first.token)
    assert second.token != first.token and second.csrf_token != first.csrf_token
    assert await auth.session(first.token) is None, "the session before log-in is gone"
    assert await auth.session(second.token) is not None
    await auth.log_out(second.token)
    assert await auth.session(second.token) is None


async def test_sessions_end_when_idle_or_too_old(auth: AuthService, clock: Clock) -> None:
    await add(auth, "erin")
    idle = await auth.log_in("erin", PASSWORD, "127.0.0.1")
    clock.now += 1800
    assert await auth.session(idle.token) is None, "30 min without a request"

    busy = await auth.log_in("erin", PASSWORD, "127.0.0.1")
    for _ in range(16):  # a request every 29 min keeps it alive, up to 8 h
        clock.now += 29 * 60
        assert await auth.session(busy.token) is not None
    clock.now += 29 * 60  # 8 h 13 min after log-in
    assert await auth.session(busy.token) is None


async def test_a_new_password_or_disabling_ends_the_sessions(
    auth: AuthService, db: Database, clock: Clock
) -> None:
    user_id = await add(auth, "frank")
    session = await auth.log_in("frank", PASSWORD, "127.0.0.1")
    assert await auth.set_password(user_id, "another long password")
    assert await auth.session(session.token) is None
    with pytest.raises(LoginRefused):
        await auth.log_in("frank", PASSWORD, "127.0.0.1")
    session = await auth.log_in("frank", "another long password", "127.0.0.1")
    await user_rows.set_disabled(db, user_id, True, clock())
    assert await auth.session(session.token) is None


async def test_api_tokens_are_stored_hashed_and_stop_with_the_user(
    auth: AuthService, db: Database, clock: Clock
) -> None:
    user_id = await add(auth, "script")
    token_id, token = await auth.new_token(user_id, "nightly export")
    assert token.startswith("pbxt_")
    found = await auth.token_user(token)
    assert found is not None and found.id == user_id
    assert await auth.token_user(token + "x") is None
    assert await auth.token_user("not-a-token") is None
    stored = await db.fetchone("SELECT token_hash FROM api_tokens WHERE id = ?", (token_id,))
    assert stored is not None and stored[0] == token_digest(token)
    await user_rows.set_disabled(db, user_id, True, clock())
    assert await auth.token_user(token) is None


async def test_the_profile_is_loaded_with_the_user(auth: AuthService, db: Database) -> None:
    now = 1.0
    async with db.transaction() as conn:
        for name in ("A", "B"):
            await conn.execute(
                "INSERT INTO campaigns (name, created_at, updated_at) VALUES (?, ?, ?)",
                (name, now, now),
            )
    record = await auth.add_user(
        {"username": "vera", "password": PASSWORD, "role": Role.VIEWER, "campaign_ids": {1}}
    )
    assert not record.user.all_campaigns and record.user.campaign_ids == {1}
    assert record.user.may_see(1) and not record.user.may_see(2)
    session = await auth.log_in("vera", PASSWORD, "127.0.0.1")
    assert session.user.campaign_ids == {1}
    with pytest.raises(user_rows.UnknownCampaigns):
        await auth.update_user(record.user.id, {"campaign_ids": frozenset({1, 99})})
    unchanged = await user_rows.get(db, record.user.id)
    assert unchanged is not None and unchanged.user.campaign_ids == {1}


async def test_the_last_enabled_admin_stays_an_admin(auth: AuthService) -> None:
    first = await add(auth, "root", Role.ADMIN)
    with pytest.raises(LastAdmin):
        await auth.update_user(first, {"disabled": True})
    with pytest.raises(LastAdmin):
        await auth.update_user(first, {"role": Role.VIEWER})
    second = await add(auth, "root2", Role.ADMIN)
    record = await auth.update_user(first, {"role": Role.VIEWER})
    assert record.user.role is Role.VIEWER
    with pytest.raises(LastAdmin):
        await auth.update_user(second, {"disabled": True})


async def test_an_agent_needs_an_interface(auth: AuthService) -> None:
    with pytest.raises(UserRefused) as refused:
        await auth.add_user({"username": "ann", "password": PASSWORD, "role": Role.AGENT})
    assert refused.value.fields == {"agent_interface": "is required for the agent role"}
    record = await auth.add_user(
        {
            "username": "ann",
            "password": PASSWORD,
            "role": Role.AGENT,
            "agent_interface": "PJSIP/7001",
        }
    )
    assert record.user.agent_interface == "PJSIP/7001"
    with pytest.raises(UserRefused):
        await auth.update_user(record.user.id, {"agent_interface": None})
