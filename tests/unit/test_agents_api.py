"""The agent desk API's answers that need no call: a bad interface, an agent logged in
nowhere, and actions with nothing reserved."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.auth.model import Role
from tests.conftest import add_user, bearer_headers

Client = TestClient[web.Request, web.Application]


async def test_a_bad_interface_is_named_in_the_error(api: Client) -> None:
    for method, url in [
        ("GET", "/api/agents/7001/desk"),
        ("POST", "/api/agents/PJSIP~70%2001/next"),
        ("POST", "/api/agents/~7001/accept"),
        ("POST", "/api/agents/PJSIP~a~b/skip"),
    ]:
        response = await api.request(method, url)
        assert response.status == 422, url
        body = await response.json()
        assert body["error"] == "invalid agent interface"
        assert "PJSIP~7001" in body["fields"]["agent"]


async def test_an_agent_logged_in_nowhere_is_away_and_gets_no_record(api: Client) -> None:
    response = await api.get("/api/agents/PJSIP~7001/desk")
    assert response.status == 200
    desk = await response.json()
    assert desk["agent"] == "PJSIP/7001" and desk["agent_url"] == "PJSIP~7001"
    assert (desk["state"], desk["logged_in"], desk["reservation"], desk["call"]) == (
        "away",
        False,
        None,
        None,
    )
    refused = await api.post("/api/agents/PJSIP~7001/next")
    assert refused.status == 409
    assert (
        "not logged in to the queue of any active preview campaign"
        in (await refused.json())["error"]
    )
    for action in ("accept", "skip"):
        response = await api.post(f"/api/agents/PJSIP~7001/{action}")
        assert response.status == 409
        assert "no record is reserved for PJSIP/7001" in (await response.json())["error"]


async def test_an_agent_user_has_only_their_own_desk(api: Client) -> None:
    """Logged in as an agent: the page opens their own phone's desk whatever the query
    says, and another agent's desk is refused."""
    agent = await add_user(api.app, "jane", Role.AGENT, agent_interface="PJSIP/7001")
    headers = await bearer_headers(api.app, agent)
    own = await api.get("/api/agents/PJSIP~7001/desk", headers=headers)
    assert own.status == 200 and (await own.json())["agent"] == "PJSIP/7001"
    other = await api.post("/api/agents/PJSIP~7002/next", headers=headers)
    assert other.status == 403
    page = await api.get("/agent?interface=PJSIP/7002", headers=headers)
    assert page.status == 200
    assert 'data-agent="PJSIP/7001"' in await page.text()
    # The test admin (a supervisor could too) may open any agent's desk.
    admin_page = await api.get("/agent?interface=PJSIP/7002")
    assert 'data-agent="PJSIP/7002"' in await admin_page.text()
