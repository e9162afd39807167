"""Log-in over HTTP: the middleware, the log-in form, cookies, CSRF and API tokens."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.auth.model import Role
from pbx_dialer.config import DatabaseSettings, PbxSettings, ServerSettings, Settings
from pbx_dialer.http import keys, websockets
from pbx_dialer.http.agents import desk_key
from pbx_dialer.http.app import create_app
from pbx_dialer.http.auth import COOKIE, CSRF_HEADER, safe_next
from tests.conftest import (
    TEST_ADMIN,
    TEST_PASSWORD,
    add_user,
    app_client,
    bearer_headers,
    start_client,
)

Client = TestClient[web.Request, web.Application]
CAMPAIGN = {"name": "Spring", "queue": "sales"}


def _settings(tmp_path: Path, secure_cookies: bool) -> Settings:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    return Settings(
        server=ServerSettings(secure_cookies=secure_cookies),
        database=DatabaseSettings(path=str(tmp_path / "auth.sqlite3")),
        pbx=(PbxSettings(port=closed_port, secret="unused", connect_timeout=0.5),),
    )


@pytest_asyncio.fixture
async def plain(tmp_path: Path) -> AsyncIterator[Client]:
    """A server whose operator runs plain HTTP (secure_cookies = false): this client's
    cookie jar would not send a Secure cookie back over http."""
    client = await start_client(app_client(create_app(_settings(tmp_path, False))))
    try:
        yield client
    finally:
        await client.close()


async def _anonymous(client: Client) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )


@pytest_asyncio.fixture
async def anonymous(api: Client) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of the same server with no cookie and no token; keeps cookies from IPs."""
    async with await _anonymous(api) as session:
        yield session


@pytest_asyncio.fixture
async def browser_like(plain: Client) -> AsyncIterator[aiohttp.ClientSession]:
    """Like a browser on the plain-HTTP server: keeps and sends its session cookie."""
    async with await _anonymous(plain) as session:
        yield session


async def test_without_log_in_api_answers_401_and_pages_redirect(
    anonymous: aiohttp.ClientSession,
) -> None:
    async with anonymous.get("/api/campaigns") as response:
        assert response.status == 401
        assert "log in" in (await response.json())["error"]
    async with anonymous.post("/api/campaigns", json=CAMPAIGN) as response:
        assert response.status == 401
    async with anonymous.get("/ws") as response:
        assert response.status == 401
    async with anonymous.get("/api/no-such-route") as response:
        assert response.status == 401, "no hint whether a route exists"
    async with anonymous.get("/", allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/login"
    async with anonymous.get("/campaigns/7/import?x=1", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/login?next=/campaigns/7/import%3Fx%3D1"


async def test_public_routes_need_no_log_in(anonymous: aiohttp.ClientSession) -> None:
    async with anonymous.get("/login") as response:
        assert response.status == 200
        page = await response.text()
        assert 'name="password"' in page and 'action="/login"' in page
    async with anonymous.get("/healthz") as response:
        assert response.status in (200, 503)  # no Asterisk behind this server
    async with anonymous.get("/static/api.js") as response:
        assert response.status == 200
    async with anonymous.get("/api/openapi.json") as response:
        assert response.status == 200


async def test_the_log_in_form_sets_a_secure_cookie_and_goes_to_next(
    anonymous: aiohttp.ClientSession,
) -> None:
    form = {"username": TEST_ADMIN, "password": TEST_PASSWORD, "next": "/campaigns/3/import"}
    async with anonymous.post("/login", data=form, allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/campaigns/3/import"
        cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil", "/login"]
)
async def test_next_goes_only_to_a_local_path(
    anonymous: aiohttp.ClientSession, target: str
) -> None:
    form = {"username": TEST_ADMIN, "password": TEST_PASSWORD, "next": target}
    async with anonymous.post("/login", data=form, allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/"
    assert safe_next(target) == "/"
    assert safe_next("/campaigns?sort=name") == "/campaigns?sort=name"


async def test_a_wrong_password_shows_the_form_again_with_one_message(
    anonymous: aiohttp.ClientSession,
) -> None:
    for username in (TEST_ADMIN, "nobody"):
        form = {"username": username, "password": "not the password", "next": "/x"}
        async with anonymous.post("/login", data=form, allow_redirects=False) as response:
            assert response.status == 401
            assert COOKIE not in response.cookies
            page = await response.text()
        assert "wrong username or password" in page
        assert 'value="/x"' in page, "next is kept for the next try"
    async with anonymous.post("/login", json={"username": TEST_ADMIN}) as response:
        assert response.status == 422
        assert (await response.json())["fields"] == {"password": "is required"}


async def test_a_cookie_session_needs_the_csrf_token_for_changes(
    browser_like: aiohttp.ClientSession,
) -> None:
    anonymous = browser_like
    credentials = {"username": TEST_ADMIN, "password": TEST_PASSWORD}
    async with anonymous.post("/login", json=credentials) as response:
        assert response.status == 200
        csrf = (await response.json())["csrf_token"]
    async with anonymous.get("/api/campaigns") as response:
        assert response.status == 200, "reading needs no token"
    async with anonymous.post("/api/campaigns", json=CAMPAIGN) as response:
        assert response.status == 403
        assert CSRF_HEADER in (await response.json())["error"]
    async with anonymous.post(
        "/api/campaigns", json=CAMPAIGN, headers={CSRF_HEADER: "forged"}
    ) as response:
        assert response.status == 403
    async with anonymous.post(
        "/api/campaigns", json=CAMPAIGN, headers={CSRF_HEADER: csrf}
    ) as response:
        assert response.status == 201, await response.text()
    # Pages carry the token for their scripts.
    async with anonymous.get("/") as response:
        assert f'<meta name="csrf-token" content="{csrf}">' in await response.text()


async def test_log_out_needs_the_token_and_ends_the_session(
    browser_like: aiohttp.ClientSession,
) -> None:
    anonymous = browser_like
    credentials = {"username": TEST_ADMIN, "password": TEST_PASSWORD}
    async with anonymous.post("/login", json=credentials) as response:
        csrf = (await response.json())["csrf_token"]
    async with anonymous.post("/logout", data={}, allow_redirects=False) as response:
        assert response.status == 403
    async with anonymous.post(
        "/logout", data={"csrf_token": csrf}, allow_redirects=False
    ) as response:
        assert response.status == 303 and response.headers["Location"] == "/login"
    async with anonymous.get("/api/me") as response:
        assert response.status == 401


async def test_an_api_token_needs_no_csrf_token(api: Client) -> None:
    user = await add_user(api.app, "script-sup", Role.SUPERVISOR)
    headers = await bearer_headers(api.app, user)
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(api.make_url("/api/campaigns"), json=CAMPAIGN) as response:
            assert response.status == 201, await response.text()
        async with session.get(api.make_url("/api/me")) as response:
            me = await response.json()
    assert me["username"] == "script-sup" and me["role"] == "supervisor"
    forged = {"Authorization": "Bearer pbxt_forged"}
    async with (
        aiohttp.ClientSession(headers=forged) as session,
        session.get(api.make_url("/api/me")) as response,
    ):
        assert response.status == 401


async def test_a_route_without_an_access_rule_is_refused(tmp_path: Path) -> None:
    async def unlisted(request: web.Request) -> web.Response:
        return web.json_response({"leak": True})

    app = create_app(_settings(tmp_path, True))
    app.router.add_get("/api/unlisted", unlisted)
    client = await start_client(app_client(app))
    try:
        response = await client.get("/api/unlisted")
        assert response.status == 403, "even the admin: default deny"
        assert "no access rule" in (await response.json())["error"]
        assert (await client.get("/api/me")).status == 200
    finally:
        await client.close()


async def test_plain_http_operators_get_cookies_without_secure(
    browser_like: aiohttp.ClientSession,
) -> None:
    credentials = {"username": TEST_ADMIN, "password": TEST_PASSWORD}
    async with browser_like.post("/login", json=credentials) as response:
        cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and not cookie["secure"]
    async with browser_like.get("/api/me") as response:
        assert (await response.json())["username"] == TEST_ADMIN


@pytest.mark.parametrize(("path", "first"), [("/ws", "snapshot"), ("/ws/dashboard", "hello")])
async def test_an_open_websocket_closes_when_its_session_ends(
    browser_like: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, path: str, first: str
) -> None:
    """The status page's and the dashboard's websockets both end with the session."""
    monkeypatch.setattr(websockets, "RECHECK_S", 0.1)
    credentials = {"username": TEST_ADMIN, "password": TEST_PASSWORD}
    async with browser_like.post("/login", json=credentials) as response:
        csrf = (await response.json())["csrf_token"]
    ws = await browser_like.ws_connect(path)
    assert (await ws.receive_json(timeout=5))["type"] == first
    async with browser_like.post("/logout", headers={CSRF_HEADER: csrf}) as response:
        assert response.status == 200
    while True:
        message = await ws.receive(timeout=5)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            break
    assert ws.close_code == 4401


async def test_an_agent_classifies_only_calls_that_reached_them(api: Client) -> None:
    created = await api.post("/api/campaigns", json=CAMPAIGN)
    campaign_id = (await created.json())["id"]
    added = await api.post(
        f"/api/campaigns/{campaign_id}/records", json={"records": [{"phone": "+12125550111"}]}
    )
    assert added.status == 201
    records = (await (await api.get(f"/api/campaigns/{campaign_id}/records")).json())["records"]
    db = api.app[keys.db_key]
    async with db.transaction() as conn:
        # The tracker stores the queue member's name when it has one.
        cursor = await conn.execute(
            "INSERT INTO attempts (campaign_id, record_id, pbx, channel_id, phone, state, "
            "result, agent, placed_at, ended_at) VALUES "
            "(?, ?, 'main', 'chan-1', '+12125550111', 'ended', 'SUCCESS', 'Agent 7001', 1, 2)",
            (campaign_id, records[0]["id"]),
        )
    attempt_id = cursor.lastrowid
    assert attempt_id is not None
    agent = await add_user(api.app, "ann", Role.AGENT, agent_interface="PJSIP/7001")
    async with aiohttp.ClientSession(headers=await bearer_headers(api.app, agent)) as http:
        url = api.make_url(f"/api/attempts/{attempt_id}/classify")
        async with http.post(url, json={"code": "SALE"}) as response:
            assert response.status == 404
            assert (await response.json())["error"] == f"no attempt {attempt_id}"
        # The agent desk connected this call to the agent's interface.
        api.app[desk_key].last_call["PJSIP/7001"] = attempt_id
        async with http.post(url, json={"code": "SALE"}) as response:
            assert response.status not in (401, 403, 404), await response.text()
        # A queue call stores the interface that took it (AgentConnect's Interface).
        del api.app[desk_key].last_call["PJSIP/7001"]
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE attempts SET agent_interface = 'PJSIP/7001', classification = NULL, "
                "classified_by = NULL WHERE id = ?",
                (attempt_id,),
            )
        async with http.post(url, json={"code": "SALE"}) as response:
            assert response.status not in (401, 403, 404), await response.text()
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE attempts SET agent_interface = 'PJSIP/7002' WHERE id = ?", (attempt_id,)
            )
        async with http.post(url, json={"code": "SALE"}) as response:
            assert response.status == 404


async def test_a_log_in_posted_from_another_site_is_refused(
    api: Client, anonymous: aiohttp.ClientSession
) -> None:
    form = {"username": TEST_ADMIN, "password": TEST_PASSWORD}
    for origin in ("http://evil.example", "null"):
        async with anonymous.post(
            "/login", data=form, headers={"Origin": origin}, allow_redirects=False
        ) as response:
            assert response.status == 403, origin
            assert "another site" in (await response.json())["error"]
            assert COOKIE not in response.cookies
    here = str(api.make_url("/")).rstrip("/")
    async with anonymous.post(
        "/login", data=form, headers={"Origin": here}, allow_redirects=False
    ) as response:
        assert response.status == 303
