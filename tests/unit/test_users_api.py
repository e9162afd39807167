"""/api/users: admins create users, set role, Campaigns profile, privilege, agent
interface, reset passwords, disable, and hand out API tokens. Every mistake is named."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.auth.model import Role
from tests.conftest import add_user, bearer_headers
from tests.unit.test_lists import new_campaign

Client = TestClient[web.Request, web.Application]
PASSWORD = "a good long password"


async def create(api: Client, **fields: Any) -> aiohttp.ClientResponse:
    return await api.post("/api/users", json={"password": PASSWORD, **fields})


async def test_create_get_list_and_log_in_as_the_new_user(api: Client) -> None:
    a = await new_campaign(api, "A")
    response = await create(
        api, username="sue", role="supervisor", display_name="Sue", campaign_ids=[a]
    )
    assert response.status == 201, await response.text()
    sue = await response.json()
    assert sue["role"] == "supervisor" and sue["display_name"] == "Sue"
    assert sue["all_campaigns"] is False and sue["campaign_ids"] == [a]
    assert sue["may_list_campaigns"] is True and sue["disabled"] is False
    assert "password" not in str(sue)
    assert await (await api.get(f"/api/users/{sue['id']}")).json() == sue
    listed = (await (await api.get("/api/users")).json())["users"]
    assert [u["username"] for u in listed] == ["admin", "sue"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = await http.post(
            api.make_url("/login"), json={"username": "sue", "password": PASSWORD}
        )
        assert login.status == 200
        assert (await login.json())["user"]["campaign_ids"] == [a]


async def test_every_mistake_is_named_and_nothing_is_stored(api: Client) -> None:
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"username": "", "role": "viewer"}, {"username": "is required"}),
        ({"username": "bad name", "role": "viewer"}, {"username": "1-64 letters"}),
        ({"username": "x", "role": "boss"}, {"role": "must be one of"}),
        ({"username": "x", "role": "viewer", "password": "short"}, {"password": "at least 10"}),
        ({"username": "x", "role": "agent"}, {"agent_interface": "is required"}),
        (
            {"username": "x", "role": "agent", "agent_interface": "7001"},
            {"agent_interface": "like PJSIP/7001"},
        ),
        ({"username": "x", "role": "viewer", "campaign_ids": [999]}, {"campaign_ids": "999"}),
        ({"username": "x", "role": "viewer", "campaign_ids": "1"}, {"campaign_ids": "list"}),
        ({"username": "x", "role": "viewer", "disabled": "no"}, {"disabled": "true or false"}),
        ({"username": "x", "role": "viewer", "colour": "red"}, {"colour": "unknown field"}),
    ]
    for body, named in cases:
        response = await create(api, **body)
        assert response.status == 422, (body, await response.text())
        fields = (await response.json())["fields"]
        for key, words in named.items():
            assert words in fields.get(key, ""), (body, fields)
    response = await api.post("/api/users", data=b"[", headers={"Content-Type": "application/json"})
    assert response.status == 400
    response = await api.post("/api/users", data=b"x", headers={"Content-Type": "text/plain"})
    assert response.status == 415
    users = (await (await api.get("/api/users")).json())["users"]
    assert [u["username"] for u in users] == ["admin"]
    await create(api, username="dup", role="viewer")
    response = await create(api, username="DUP", role="viewer")
    assert response.status == 409 and (await response.json())["fields"] == {"username": "taken"}


async def test_edit_profile_role_interface_and_disable(api: Client) -> None:
    a = await new_campaign(api, "A")
    b = await new_campaign(api, "B")
    user = await (await create(api, username="ann", role="viewer")).json()
    url = f"/api/users/{user['id']}"
    changed = await (await api.patch(url, json={"campaign_ids": [a, b]})).json()
    assert changed["all_campaigns"] is False and changed["campaign_ids"] == [a, b]
    changed = await (
        await api.patch(
            url,
            json={"role": "agent", "agent_interface": "PJSIP/7005", "may_list_campaigns": False},
        )
    ).json()
    assert changed["role"] == "agent" and changed["agent_interface"] == "PJSIP/7005"
    assert changed["may_list_campaigns"] is False
    response = await api.patch(url, json={"campaign_ids": [a, 12345]})
    assert response.status == 422
    assert (await (await api.get(url)).json())["campaign_ids"] == [a, b], "nothing half-written"
    response = await api.patch(url, json={"username": "other"})
    assert response.status == 422 and "username" in (await response.json())["fields"]
    disabled = await (await api.patch(url, json={"disabled": True})).json()
    assert disabled["disabled"] is True
    assert (await api.patch("/api/users/999", json={})).status == 404


async def test_admins_keep_their_power(api: Client) -> None:
    me = (await (await api.get("/api/me")).json())["id"]
    for change in ({"disabled": True}, {"role": "viewer"}):
        response = await api.patch(f"/api/users/{me}", json=change)
        assert response.status == 409, change
        assert "your own" in (await response.json())["error"]
    # A profile or a missing privilege would not hold for an admin: they are not stored.
    response = await api.patch(
        f"/api/users/{me}", json={"campaign_ids": [], "may_list_campaigns": False}
    )
    changed = await response.json()
    assert changed["all_campaigns"] is True and changed["may_list_campaigns"] is True
    other = await (await create(api, username="root2", role="admin", campaign_ids=[])).json()
    assert other["all_campaigns"] is True
    # Another admin may be demoted; then the test admin is the last one.
    assert (await api.patch(f"/api/users/{other['id']}", json={"role": "viewer"})).status == 200


async def test_password_reset_ends_sessions_and_tokens_work_until_revoked(api: Client) -> None:
    user = await add_user(api.app, "bob", Role.SUPERVISOR, password=PASSWORD)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = await http.post(
            api.make_url("/login"), json={"username": "bob", "password": PASSWORD}
        )
        assert login.status == 200
        # The cookie is Secure (the default): send it back by hand over this plain HTTP.
        cookie = {"pbx_session": login.cookies["pbx_session"].value}
        assert (await http.get(api.make_url("/api/me"), cookies=cookie)).status == 200
        short = await api.post(f"/api/users/{user.id}/password", json={"password": "short"})
        assert short.status == 422
        reset = await api.post(
            f"/api/users/{user.id}/password", json={"password": "brand new password"}
        )
        assert reset.status == 200
        assert (await http.get(api.make_url("/api/me"), cookies=cookie)).status == 401
    made = await api.post(f"/api/users/{user.id}/tokens", json={"name": "export"})
    assert made.status == 201
    token = await made.json()
    listed = (await (await api.get(f"/api/users/{user.id}/tokens")).json())["tokens"]
    assert [t["name"] for t in listed] == ["export"] and "token" not in listed[0]
    headers = {"Authorization": f"Bearer {token['token']}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        assert (await http.get(api.make_url("/api/me"))).status == 200
        gone = await api.delete(f"/api/users/{user.id}/tokens/{token['id']}")
        assert gone.status == 204
        assert (await http.get(api.make_url("/api/me"))).status == 401
    assert (await api.delete(f"/api/users/{user.id}/tokens/{token['id']}")).status == 404


async def test_only_admins_manage_users(api: Client) -> None:
    supervisor = await add_user(api.app, "sup", Role.SUPERVISOR)
    headers = await bearer_headers(api.app, supervisor)
    async with aiohttp.ClientSession(headers=headers) as http:
        response = await http.get(api.make_url("/api/users"))
        assert response.status == 403
        response = await http.post(
            api.make_url("/api/users"),
            json={"username": "evil", "password": PASSWORD, "role": "admin"},
        )
        assert response.status == 403
        assert (await http.get(api.make_url("/admin/users"))).status == 403
    assert [u["username"] for u in (await (await api.get("/api/users")).json())["users"]] == [
        "admin",
        "sup",
    ]
