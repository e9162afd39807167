"""Customer search: `?` one character, `*` one or more, over name, phone and external
id; `%`, `_` and `\\` match themselves; paginated with a total."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.records.search import BadPattern, like_prefix, to_like
from tests.unit.test_lists import add, new_campaign

Client = TestClient[web.Request, web.Application]


def test_to_like_translates_wildcards_and_escapes_like_characters() -> None:
    assert to_like("Sm?th") == "Sm_th"
    assert to_like("Sm*") == "Sm_%"
    assert to_like("100%") == "100\\%"
    assert to_like("a_b") == "a\\_b"
    assert to_like("a\\b") == "a\\\\b"


def test_like_prefix_is_the_literal_start() -> None:
    assert like_prefix(to_like("+1202*")) == "+1202"
    assert like_prefix(to_like("+1?02")) == "+1"
    assert like_prefix(to_like("a_b%c\\d")) == "a_b%c\\d"
    assert like_prefix(to_like("*1")) == ""


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "must not be empty"),
        ("x" * 101, "must be at most 100 characters"),
        ("a\tb", "must not hold control characters"),
    ],
)
def test_to_like_refuses(pattern: str, reason: str) -> None:
    with pytest.raises(BadPattern, match=reason):
        to_like(pattern)


CUSTOMERS = [
    {"phone": "+12025550101", "name": "Anne Smith", "external_id": "CRM-1"},
    {"phone": "+12025550102", "name": "Ann_Smith", "external_id": "CRM-2"},
    {"phone": "+12025550103", "name": "AnnXSmith", "external_id": "CRM_3"},
    {"phone": "+12025550104", "name": "100% Ann", "external_id": "CRMX3"},
    {"phone": "+12025550115", "name": "1000 Ann", "external_id": "X-10"},
    {"phone": "+33612345678", "name": "Bob", "external_id": "a\\b"},
]


async def names(api: Client, cid: int, query: str) -> list[str]:
    response = await api.get(f"/api/campaigns/{cid}/records?{query}")
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["total"] == len(body["records"])
    return [r["name"] for r in body["records"]]


async def test_search_wildcards_and_literals(api: Client) -> None:
    cid = await new_campaign(api)
    await add(api, cid, CUSTOMERS)
    other = await new_campaign(api, "Other")
    await add(api, other, [{"phone": "+12025550101", "name": "Anne Smith"}])

    assert await names(api, cid, "q=Ann*") == ["Anne Smith", "Ann_Smith", "AnnXSmith"]
    assert await names(api, cid, "q=ann%3Fsmith") == ["Ann_Smith", "AnnXSmith"]  # ? = one
    assert await names(api, cid, "q=Ann*Smith") == ["Anne Smith", "Ann_Smith", "AnnXSmith"]
    assert await names(api, cid, "q=Ann") == []  # whole-field match
    # `*` is one or more: "Ann*" does not match "Ann" itself.
    assert await names(api, cid, "name=Bob*") == []
    # Literal _ and %: they do not act as LIKE wildcards.
    assert await names(api, cid, "name=Ann_Smith") == ["Ann_Smith"]
    assert await names(api, cid, "name=100%25 Ann") == ["100% Ann"]
    assert await names(api, cid, "name=100%25*") == ["100% Ann"]
    assert await names(api, cid, "q=CRM_3") == ["AnnXSmith"]
    assert await names(api, cid, "q=a%5Cb") == ["Bob"]  # a backslash
    # Over phone and external id, and on separate fields.
    assert await names(api, cid, "q=%2B120255501?%3F") == [
        "Anne Smith",
        "Ann_Smith",
        "AnnXSmith",
        "100% Ann",
        "1000 Ann",
    ]
    assert await names(api, cid, "phone=*0?") == [
        "Anne Smith",
        "Ann_Smith",
        "AnnXSmith",
        "100% Ann",
    ]
    assert await names(api, cid, "q=%2B33*") == ["Bob"]
    assert await names(api, cid, "external_id=CRM-?") == ["Anne Smith", "Ann_Smith"]
    assert await names(api, cid, "name=A*&external_id=CRM?3") == ["AnnXSmith"]


async def test_search_is_paginated_with_a_total(api: Client) -> None:
    cid = await new_campaign(api)
    await add(api, cid, [{"phone": f"+1202555{n:04d}", "name": f"N{n}"} for n in range(25)])
    page = await (await api.get(f"/api/campaigns/{cid}/records?q=N*&limit=10&offset=20")).json()
    assert (page["total"], page["limit"], page["offset"]) == (25, 10, 20)
    assert [r["name"] for r in page["records"]] == [f"N{n}" for n in range(20, 25)]
    everything = await (await api.get(f"/api/campaigns/{cid}/records")).json()
    assert (everything["total"], len(everything["records"]), everything["limit"]) == (25, 25, 100)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("limit=ten", "limit"),
        ("state=sleeping", "state"),
        ("list_id=x", "list_id"),
        ("q=", "q"),
        ("name=" + "x" * 101, "name"),
        ("phone=%0A", "phone"),
    ],
)
async def test_bad_search_names_the_parameter(api: Client, query: str, field: str) -> None:
    cid = await new_campaign(api)
    response = await api.get(f"/api/campaigns/{cid}/records?{query}")
    assert response.status == 422
    assert list((await response.json())["fields"]) == [field]


async def test_search_of_a_missing_campaign_is_404(api: Client) -> None:
    response = await api.get("/api/campaigns/404/records?q=x")
    assert response.status == 404
    assert (await response.json())["error"] == "no campaign 404"
