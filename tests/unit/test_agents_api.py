"""The agent desk API's answers that need no call: a bad interface, an agent logged in
nowhere, and actions with nothing reserved."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

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
