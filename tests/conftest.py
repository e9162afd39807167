"""Shared fixtures: a real Asterisk per test (it boots in well under a second), the
simulator that plays agents and inbound callers, and the dialer served on loopback."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pbx_dialer.auth.model import Role, User
from pbx_dialer.auth.passwords import hash_password, token_digest
from pbx_dialer.config import DatabaseSettings, DialerSettings, PbxSettings, Settings
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.http.auth import COOKIE, CSRF_HEADER
from pbx_dialer.storage import users as user_rows
from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sim import Simulator

IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
Client = TestClient[web.Request, web.Application]

# Every app a fixture serves has this admin, logged in with this session (cookie and
# CSRF token) and this API token: test clients and browser pages use them. The values
# are random per run; the password is hashed once per run (scrypt is slow on purpose).
TEST_ADMIN = "admin"
TEST_PASSWORD = secrets.token_urlsafe(12)
TEST_SESSION = secrets.token_urlsafe(32)
TEST_CSRF = secrets.token_urlsafe(32)
TEST_TOKEN = "pbxt_" + secrets.token_urlsafe(32)
_TEST_HASH = hash_password(TEST_PASSWORD)
_FOREVER_S = 10 * 365 * 86400.0


async def seed_admin(app: web.Application) -> int:
    """The test admin, its session and its API token in the app's database (again
    after a restart on the same database: nothing is duplicated). Returns its id."""
    db = app[keys.db_key]
    now = app[keys.clock_key]()
    found = await user_rows.for_login(db, TEST_ADMIN)
    if found is None:
        admin = User(id=0, username=TEST_ADMIN, role=Role.ADMIN, display_name="Test Admin")
        user_id = await user_rows.create(db, admin, _TEST_HASH, now)
    else:
        user_id = found[0].user.id
    await user_rows.add_session(
        db, token_digest(TEST_SESSION), user_id, TEST_CSRF, now, now + _FOREVER_S
    )
    if await user_rows.token_user(db, token_digest(TEST_TOKEN)) is None:
        await user_rows.add_token(db, token_digest(TEST_TOKEN), user_id, "tests", now)
    return user_id


def app_client(app: web.Application, **kwargs: Any) -> Client:
    """A client of `app` on loopback, logged in as the test admin once started with
    `start_client`: the session cookie, and the CSRF header on every request."""
    client = TestClient(
        TestServer(app, host="127.0.0.1"), headers={CSRF_HEADER: TEST_CSRF}, **kwargs
    )
    client.session.cookie_jar.update_cookies({COOKIE: TEST_SESSION})
    return client


async def start_client(client: Client) -> Client:
    await client.start_server()
    await seed_admin(client.app)
    return client


@pytest_asyncio.fixture
async def asterisk() -> AsyncIterator[AsteriskInstance]:
    """A fresh Asterisk on free ports. No skip: if it cannot start, the test fails."""
    instance = AsteriskInstance()
    await instance.start()
    try:
        yield instance
    finally:
        await instance.stop()


def pbx_settings(asterisk: AsteriskInstance, **overrides: Any) -> PbxSettings:
    base = PbxSettings(
        name="main",
        host=asterisk.ami_host,
        port=asterisk.ami_port,
        username=asterisk.dialer_user,
        secret=asterisk.dialer_secret,
        dial_template="Local/{number}@sim-pstn",
        recordings_dir=str(asterisk.instance_dir / "spool" / "monitor"),
        ping_interval=1.0,
        ping_timeout=1.0,
        reconnect_min=0.2,
        reconnect_max=1.0,
    )
    return replace(base, **overrides)


@pytest_asyncio.fixture
async def sim(asterisk: AsteriskInstance) -> AsyncIterator[Simulator]:
    simulator = Simulator(
        pbx_settings(
            asterisk,
            name="sim",
            username=asterisk.simulator_user,
            secret=asterisk.simulator_secret,
        )
    )
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.close()


@pytest.fixture
def settings(asterisk: AsteriskInstance, tmp_path: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(path=str(tmp_path / "dialer.sqlite3")),
        pbx=(pbx_settings(asterisk),),
        dialer=DialerSettings(tick_seconds=0.2),
    )


@pytest_asyncio.fixture
async def dialer(settings: Settings) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The whole dialer, served over real HTTP on loopback."""
    client = await start_client(app_client(create_app(settings)))
    try:
        yield client
    finally:
        await client.close()


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.1
) -> None:
    """Wait until `check` holds; fail with a clear message if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check.__name__}")
        await asyncio.sleep(interval)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def offline_settings(database: Path, **pbx: Any) -> Settings:
    """Settings for the dialer with no Asterisk behind it (its AMI link keeps retrying a
    closed port; `pbx` overrides more of its PbxSettings), its dial loop every 0.2 s."""
    return Settings(
        database=DatabaseSettings(path=str(database)),
        pbx=(PbxSettings(port=closed_port(), secret="unused", connect_timeout=0.5, **pbx),),
        dialer=DialerSettings(tick_seconds=0.2),
    )


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The dialer served on loopback with no Asterisk behind it: for API tests that
    place no call."""
    settings = offline_settings(tmp_path / "api.sqlite3", reconnect_max=5.0)
    client = await start_client(app_client(create_app(settings)))
    try:
        yield client
    finally:
        await client.close()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which real Asterisk and browser this run uses (and fail early without them)."""
    from pbx_dialer.testing.asterisk import AsteriskUnavailable, ensure_asterisk

    try:
        installation = ensure_asterisk()
    except AsteriskUnavailable as exc:
        return [f"asterisk: UNAVAILABLE ({exc}); every test that needs it will fail"]
    where = "system" if installation.root is None else f"chroot {installation.root}"
    chromium = shutil.which("chromium") or "NOT FOUND"
    return [f"asterisk: {installation.version} ({where})", f"chromium: {chromium}", f"CI: {IN_CI}"]


async def add_user(
    app: web.Application, username: str, role: Role, password: str = TEST_PASSWORD, **profile: Any
) -> User:
    """A user of the app (profile: all_campaigns, campaign_ids, may_list_campaigns,
    agent_interface), created through the auth service."""
    record = await app[keys.auth_key].add_user(
        {"username": username, "password": password, "role": role, **profile}
    )
    return record.user


async def bearer_headers(app: web.Application, user: User) -> dict[str, str]:
    """Headers that authenticate as `user` with a new API token."""
    _, token = await app[keys.auth_key].new_token(user.id, "test")
    return {"Authorization": f"Bearer {token}"}
