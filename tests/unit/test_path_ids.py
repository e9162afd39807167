"""Every route with a numeric id in its path, over real HTTP on loopback, as the logged-in
admin: an id beyond SQLite's 64-bit integers (just beyond, and thousands of digits,
more than Python turns into an int) is not found (404 with a JSON error), never a 500."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from pbx_dialer.http.campaigns import SQLITE_MAX_ID, path_id

Client = TestClient[web.Request, web.Application]

_NUMERIC = re.compile(r"\{(\w+):\\d\+\}")
# Python's int() refuses more than 4300 digits; aiohttp reads request lines up to 8190.
# Bodies that pass validation, so that the id is what gets refused.
BODIES = {
    "/api/attempts/{id}/classify": {"code": "SALE"},
    "/api/campaigns/{id}/feed": {"url": "https://crm.example/records", "poll_s": 60},
}
BEYOND = [str(SQLITE_MAX_ID + 1), "9" * 20, "9" * 4400]


def numeric_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of each route whose path has a {name:\\d+} part."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        template = str(info.get("formatter", ""))
        pattern = info.get("pattern")
        raw = pattern.pattern if isinstance(pattern, re.Pattern) else ""
        if "{" in template and route.method != "HEAD" and r"\d+" in raw:
            found.append((route.method, template))
    return sorted(set(found))


async def test_every_numeric_path_refuses_ids_beyond_sqlite(api: Client) -> None:
    routes = numeric_routes(api.app)
    assert len(routes) > 20, routes  # the campaign, attempt, import, user... routes
    bad = []
    for method, template in routes:
        names = re.findall(r"\{(\w+)\}", template)
        for name in names:
            # The others are ordinary ids (a phone number for the DNC routes).
            others = {n: "15555550123" if n == "phone" else "1" for n in names if n != name}
            for value in BEYOND:
                path = template.format(**others, **{name: value})
                response = await api.request(method, path, json=BODIES.get(template, {}))
                body = await response.text()
                # Pages answer their own 404 page; the API a JSON error.
                json_error = '"error"' in body or not template.startswith("/api/")
                if response.status != 404 or not json_error:
                    bad.append((method, template, name, len(value), response.status, body[:80]))
    assert bad == [], "\n".join(map(str, bad))


async def test_user_routes_refuse_ids_of_thousands_of_digits(api: Client) -> None:
    response = await api.get(f"/api/users/{'9' * 4400}")
    assert response.status == 404
    assert "error" in await response.json()


async def test_the_largest_sqlite_id_is_a_normal_unknown_id(api: Client) -> None:
    for path in (f"/api/campaigns/{SQLITE_MAX_ID}", f"/api/hour-codes/{SQLITE_MAX_ID}"):
        response = await api.get(path)
        assert response.status == 404, path
        assert "error" in await response.json()


def test_path_id_parses_the_url_digits_and_refuses_what_sqlite_cannot_hold() -> None:
    def request(value: str) -> web.Request:
        req = make_mocked_request("GET", f"/api/campaigns/{value}")
        req.match_info.update({"id": value})
        return req

    assert path_id(request("42")) == 42
    assert path_id(request(str(SQLITE_MAX_ID))) == SQLITE_MAX_ID
    for value in BEYOND:
        try:
            path_id(request(value))
        except web.HTTPNotFound as exc:
            assert "no such id" in str(exc.reason)
        else:
            raise AssertionError(f"{len(value)} digits accepted")
