"""The campaign details page in a real Chromium: the nested pie against a known set of
records, wildcard search, the tabs, a recording download, steering, and changes that
arrive without a reload (one made through the API, one a call on the real Asterisk)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from pbx_dialer.auth.model import Role, User
from pbx_dialer.calls import CallEnded, CallRecording, CallTransferred, TechResult, TransferKind
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.http.auth import COOKIE
from pbx_dialer.http.details import recordings_key
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage import transfers as transfer_rows
from pbx_dialer.storage import users as user_rows
from pbx_dialer.storage.records import NewRecord
from pbx_dialer.testing.sim import Simulator
from tests.browser.conftest import WatchedPage, screenshot
from tests.conftest import app_client, offline_settings, start_client
from tests.unit.test_details import AGENT, HELD, PEOPLE, SETTINGS, settle

pytestmark = pytest.mark.browser
Client = TestClient[web.Request, web.Application]
SOUND = b"RIFF" + bytes(range(256)) * 64

# Every sector of the pie as drawn: ring, segment, part, count and its angles.
SECTORS = """(ring) => [...document.querySelectorAll(`#pie-${ring} path`)].map((p) => ({
  segment: p.dataset.segment, part: p.dataset.part || null, count: Number(p.dataset.count),
  start: Number(p.dataset.start), end: Number(p.dataset.end)}))"""
NAMES = """() => [...document.querySelectorAll('#customers tbody tr:not(.drawer)')]
  .map((tr) => tr.querySelector('.c-name').textContent)"""


@pytest_asyncio.fixture
async def served(tmp_path: Path) -> AsyncIterator[Client]:
    """The app without Asterisk (its AMI link retries a closed port), recordings in
    tmp_path/monitor."""
    app = create_app(offline_settings(tmp_path / "details.sqlite3"))
    app[recordings_key] = {"main": tmp_path / "monitor"}
    client = await start_client(app_client(app))
    try:
        yield client
    finally:
        await client.close()


async def json_of(client: Client, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, path, json=body)
    assert response.status < 300, f"{method} {path}: {response.status} {await response.text()}"
    return await response.json()


async def settled_campaign(client: Client, monitor: Path) -> tuple[int, dict[str, int]]:
    """The unit tests' known records, settled a minute ago; Smyth's sale recorded and
    transferred."""
    campaign = await json_of(client, "POST", "/api/campaigns", SETTINGS)
    db = client.app[keys.db_key]
    t0 = time.time() - 60
    ids, _ = await settle(db, campaign["id"], t0)
    monitor.mkdir(exist_ok=True)
    name = f"pbxd-{ids['Smyth']}-test.wav"
    (monitor / name).write_bytes(SOUND)
    await transfer_rows.set_recording(db, CallRecording(ids["Smyth"], name, t0 + 6))
    transfer = CallTransferred(
        ids["Smyth"], TransferKind.BLIND, t0 + 15, AGENT, None, "8001@sim-transfer"
    )
    assert await transfer_rows.add(db, transfer) == campaign["id"]
    return int(campaign["id"]), ids


async def check_pie(page: Page, pie: dict[str, Any]) -> None:
    """The drawn sectors match the API's counts: each outer angle is its share of 360°,
    they follow each other from 0° to 360°, and the inner parts fill their segment."""
    outer = await page.evaluate(SECTORS, "outer")
    inner = await page.evaluate(SECTORS, "inner")
    drawn = [s for s in pie["segments"] if s["count"]]
    assert [(s["segment"], s["count"]) for s in outer] == [(s["key"], s["count"]) for s in drawn]
    angle = 0.0
    for sector in outer:
        assert sector["start"] == pytest.approx(angle, abs=0.01)
        assert sector["end"] - sector["start"] == pytest.approx(
            360 * sector["count"] / pie["total"], abs=0.01
        )
        parts = [p for p in inner if p["segment"] == sector["segment"]]
        assert parts[0]["start"] == pytest.approx(sector["start"], abs=0.01)
        assert parts[-1]["end"] == pytest.approx(sector["end"], abs=0.01)
        assert sum(p["count"] for p in parts) == sector["count"]
        angle = sector["end"]
    assert angle == pytest.approx(360, abs=0.01)


async def test_pie_search_tabs_recording_and_a_change_pushed_live(
    served: Client, watched_page: WatchedPage, tmp_path: Path
) -> None:
    campaign_id, ids = await settled_campaign(served, tmp_path / "monitor")
    page = watched_page.page
    await page.goto(str(served.make_url(f"/campaigns/{campaign_id}")))
    await expect(page.locator("#details")).to_have_attribute("data-ready", "yes")
    await expect(page.locator("#link-state")).to_have_text("live")
    await page.evaluate("window.__marker = 1")

    # The pie: 11 records, as the unit tests settle them.
    pie = await json_of(served, "GET", f"/api/campaigns/{campaign_id}/pie")
    assert pie["total"] == len(PEOPLE) + 1
    counts = {s["key"]: s["count"] for s in pie["segments"]}
    assert counts == {"handled": 2, "max_calls": 1, "filtered": 2, "not_handled": 6}
    await check_pie(page, pie)
    inner = await page.evaluate(SECTORS, "inner")
    assert {(p["segment"], p["part"]): p["count"] for p in inner} == {
        ("handled", "CONTACTED"): 1,
        ("handled", "SALE"): 1,
        ("max_calls", "NOANSWER"): 1,
        ("filtered", "DNC"): 1,
        ("filtered", "CANCELLED"): 1,
        ("not_handled", "NEW"): 2,
        ("not_handled", "DIALING"): 1,
        ("not_handled", "CALLBACK"): 1,
        ("not_handled", "ON CALL"): 1,
        ("not_handled", "HELD"): 1,
    }
    legend = page.locator('#pie-legend li[data-segment="not_handled"]')
    await expect(legend.locator("> .legend-count")).to_have_text("6")
    await expect(legend.locator("> .legend-pct")).to_have_text(f"{100 * 6 / 11:.1f}%")
    await expect(legend.locator('.legend-part[data-part="NEW"] .legend-count')).to_have_text("2")
    await page.hover('#pie-outer path[data-segment="handled"]')
    await expect(page.locator("#pie-tip")).to_have_text(f"Handled: 2 records ({100 * 2 / 11:.1f}%)")
    await page.hover('#pie-inner path[data-part="SALE"]')
    await expect(page.locator("#pie-tip")).to_contain_text("Handled · Sale: 1 record (")

    # Customers: every record, then wildcard searches.
    assert await page.evaluate(NAMES) == [HELD[0], *[p[0] for p in PEOPLE]]
    smithers = page.locator('#customers tr[data-record]:has-text("Smithers")')
    await expect(smithers.locator(".c-result")).to_have_text("DIALING")
    await expect(smithers.locator(".c-call-result")).to_have_text("BUSY")
    await expect(smithers.locator(".c-class")).to_have_text("RETRY")
    await expect(smithers.locator(".c-ext")).to_have_text("EXT-103")
    await expect(smithers.locator(".c-time")).to_contain_text("next 20")
    black = page.locator('#customers tr[data-record]:has-text("Black")')
    await expect(black.locator(".c-time")).to_have_text("due now")
    held = page.locator(f'#customers tr[data-record]:has-text("{HELD[0]}")')
    await expect(held.locator(".c-time")).to_have_text("list disabled")
    await expect(page.locator("#customers th.col-mode")).to_be_hidden()
    await screenshot(page, "campaign-details")
    for pattern, expected in (
        ("Sm?th", ["Smith", "Smyth"]),
        ("Sm*th", ["Smith", "Smyth", "Smooth"]),
        ("sm*", ["Smith", "Smyth", "Smithers", "Smooth"]),
    ):
        await page.fill("#customer-search input[name=name]", pattern)
        await page.click("#customer-search button[type=submit]")
        await expect(page.locator("#customers-range")).to_have_text(
            f"1–{len(expected)} of {len(expected)}"
        )
        assert await page.evaluate(NAMES) == expected
    await page.fill("#customer-search input[name=name]", "")
    await page.fill("#customer-search input[name=external_id]", "ALT-1?7")
    await page.click("#customer-search button[type=submit]")
    await expect(page.locator("#customers-range")).to_have_text("1–1 of 1")
    assert await page.evaluate(NAMES) == ["Green"]
    await page.fill("#customer-search input[name=external_id]", "")
    await page.fill("#customer-search input[name=phone]", "+1202555010?")
    await page.click("#customer-search button[type=submit]")
    await expect(page.locator("#customers-range")).to_have_text("1–9 of 9")

    # Smyth's number: its attempt, with the recording, downloads the file.
    smyth = page.locator('#customers tr[data-record]:has-text("Smyth")')
    await smyth.locator(".phone-link").click()
    attempt = page.locator(f'#customers .drawer tr[data-attempt="{ids["Smyth"]}"]')
    await expect(attempt).to_contain_text("SALE")
    async with page.expect_download() as downloading:
        await attempt.locator("a.recording").click()
    download = await downloading.value
    saved = tmp_path / "downloaded.wav"
    await download.save_as(saved)
    assert saved.read_bytes() == SOUND
    assert download.suggested_filename == f"pbxd-{ids['Smyth']}-test.wav"
    await smyth.locator(".why-button").click()
    await expect(page.locator("#customers .drawer .why-record")).to_contain_text("handled")

    # Delivery results: the six attempts, none of them an agentless message.
    await page.click("#tab-delivery")
    await expect(page.locator("#pane-delivery")).to_be_visible()
    await expect(page.locator("#delivery-total")).to_have_text("6")
    await expect(page.locator("#delivery tbody tr")).to_have_count(6)
    await expect(page.locator('#delivery-results [data-result="SUCCESS"]')).to_have_text(
        "SUCCESS 3"
    )
    await page.select_option(".period-form[data-for=delivery] select[name=media]", "message")
    await expect(page.locator("#delivery-total")).to_have_text("0")
    await page.select_option(".period-form[data-for=delivery] select[name=media]", "all")
    await page.select_option(".period-form[data-for=delivery] select[name=period]", "7d")
    await expect(page.locator("#delivery-total")).to_have_text("6")
    await screenshot(page, "campaign-details-delivery")

    # Transfers today, and the records loaded per list.
    await page.click("#tab-transfers")
    await expect(page.locator("#transfers tbody tr")).to_have_count(1)
    await expect(page.locator("#transfers tbody tr")).to_contain_text("8001@sim-transfer")
    await expect(page.locator("#transfers tbody a.recording")).to_have_count(1)
    await page.click("#tab-records")
    await page.select_option(".period-form[data-for=records] select[name=period]", "24h")
    await expect(page.locator("#loaded tbody tr")).to_have_count(1)
    await expect(page.locator("#loaded-total")).to_have_text(str(len(PEOPLE)))
    await page.select_option(".period-form[data-for=records] select[name=period]", "7d")
    await expect(page.locator("#loaded tbody tr")).to_have_count(2)
    await expect(page.locator("#inventory-total")).to_have_text(str(len(PEOPLE) + 1))
    await expect(page.locator('#inventory-bar [data-band="completed"]')).to_have_attribute(
        "data-count", "5"
    )
    await screenshot(page, "campaign-details-records")

    # A change made through the API reaches the open page: Black and Grey cancelled.
    await json_of(
        served, "POST", f"/api/campaigns/{campaign_id}/records/cancel", {"external_id": "ALT-1?0"}
    )
    filtered = page.locator('#pie-outer path[data-segment="filtered"]')
    await expect(filtered).to_have_attribute("data-count", "3")
    # The record status tab is read again at most every 10 s.
    await expect(page.locator('#inventory-bar [data-band="completed"]')).to_have_attribute(
        "data-count", "6", timeout=15_000
    )
    await check_pie(page, await json_of(served, "GET", f"/api/campaigns/{campaign_id}/pie"))

    # Active / passive: Play, then Pause, from the page.
    await page.click(".toggle")
    await expect(page.locator("#campaign-status")).to_have_text("Active")
    await expect(page.locator("#active-label")).to_have_text("Active")
    await page.click(".toggle")
    await expect(page.locator("#campaign-status")).to_have_text("Paused")
    await expect(page.locator("#active-label")).to_have_text("Passive")
    stored = await json_of(served, "GET", f"/api/campaigns/{campaign_id}")
    assert stored["status"] == "paused"

    assert await page.evaluate("window.__marker") == 1
    assert len(watched_page.main_frame_navigations) == 1
    assert watched_page.problems.errors == []


async def test_bad_custom_period_is_shown_with_its_field(
    served: Client, watched_page: WatchedPage
) -> None:
    campaign = await json_of(served, "POST", "/api/campaigns", {"name": "Empty", "queue": "q"})
    page = watched_page.page
    await page.goto(str(served.make_url(f"/campaigns/{campaign['id']}")))
    await expect(page.locator("#details")).to_have_attribute("data-ready", "yes")
    await expect(page.locator("#pie-total")).to_have_text("0")
    await expect(page.locator("#pie-outer path")).to_have_count(0)
    await page.click("#tab-delivery")
    form = ".period-form[data-for=delivery]"
    await page.select_option(f"{form} select[name=period]", "custom")
    await page.fill(f"{form} input[name=since]", "2026-01-02T10:00")
    await page.fill(f"{form} input[name=until]", "2026-01-01T10:00")
    await page.dispatch_event(f"{form} input[name=until]", "change")
    error = page.locator("#pane-delivery .error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("until: must be after since")
    await page.fill(f"{form} input[name=until]", "2026-01-03T10:00")
    await page.dispatch_event(f"{form} input[name=until]", "change")
    await expect(error).to_be_hidden()
    await expect(page.locator("#delivery-total")).to_have_text("0")
    # Chromium logs the refused request itself; nothing else went wrong.
    others = [e for e in watched_page.problems.errors if "status of 400" not in e]
    assert others == [] and watched_page.problems.errors


async def test_delivery_shows_what_the_network_said_and_unknown_talk_times(
    served: Client, watched_page: WatchedPage
) -> None:
    """A busy line (SIP 486, Q.850 17), a wrong number (404, 1) and a call that ended while
    the dialer was not listening (its talk time unknown, not guessed)."""
    campaign = await json_of(
        served, "POST", "/api/campaigns", {"name": "Network", "queue": "q", "calling_rules": "none"}
    )
    db = served.app[keys.db_key]
    t0 = time.time() - 60
    phones = ["+12125550201", "+12125550202", "+12125550203"]
    await record_rows.add_many(db, campaign["id"], [NewRecord(p) for p in phones], t0)
    taken = {
        a.phone: a.id for a in await attempt_rows.take_records(db, campaign["id"], "main", 3, t0)
    }
    await attempt_rows.finish_many(
        db,
        [
            CallEnded(
                taken[phones[0]], TechResult.BUSY, t0 + 2, ring_s=2.0, cause_code=17,
                sip_status=486,
            ),
            CallEnded(
                taken[phones[1]], TechResult.INVALID, t0 + 1, ring_s=0.5, cause_code=1,
                sip_status=404,
            ),
            CallEnded(
                taken[phones[2]], TechResult.SUCCESS, t0 + 30, agent="Agent 1", ring_s=1.0,
                times_known=False,
            ),
        ],
    )  # fmt: skip
    page = watched_page.page
    await page.goto(str(served.make_url(f"/campaigns/{campaign['id']}")))
    await expect(page.locator("#details")).to_have_attribute("data-ready", "yes")
    await page.click("#tab-delivery")
    await expect(page.locator("#delivery-total")).to_have_text("3")
    rows = page.locator("#delivery tbody tr")
    busy = rows.filter(has_text=phones[0])
    await expect(busy.locator(".c-network")).to_have_text("SIP 486 · Q.850 17")
    await expect(rows.filter(has_text=phones[1]).locator(".c-network")).to_have_text(
        "SIP 404 · Q.850 1"
    )
    await expect(rows.filter(has_text=phones[2]).locator(".c-talk")).to_have_text("unknown")
    await expect(page.locator("#delivery-network")).to_contain_text("BUSY SIP 486 · Q.850 17: 1")
    await expect(page.locator("#delivery-network")).to_contain_text("INVALID SIP 404 · Q.850 1: 1")
    await screenshot(page, "campaign-details-network")


@pytest.mark.pbx
async def test_an_answered_call_shows_live_in_metrics_and_pie(
    dialer: Client, sim: Simulator, watched_page: WatchedPage
) -> None:
    """Agent 7001 takes the call to 5550101 (answers after 1 s, talks 4 s); the open
    page follows it: agent on a call, call talking, then the record Handled and the
    agent in wrap-up (the call is not classified)."""
    await sim.add_agent("sales", 7001)
    campaign = await json_of(
        dialer,
        "POST",
        "/api/campaigns",
        {"name": "Live", "queue": "sales", "max_attempts": 1, "calling_rules": "none"},
    )
    cid = campaign["id"]
    await json_of(
        dialer,
        "POST",
        f"/api/campaigns/{cid}/records",
        {"records": [{"phone": "+12125550101", "name": "Live customer"}]},
    )
    page = watched_page.page
    await page.goto(str(dialer.make_url(f"/campaigns/{cid}")))
    await expect(page.locator("#details")).to_have_attribute("data-ready", "yes")
    await expect(page.locator("#link-state")).to_have_text("live")
    await page.evaluate("window.__marker = 1")
    await expect(page.locator("#m-logged_in")).to_have_text("1", timeout=10_000)
    await expect(page.locator("#m-idle")).to_have_text("1")
    await expect(page.locator('#pie-inner path[data-part="NEW"]')).to_have_attribute(
        "data-count", "1"
    )

    await json_of(dialer, "POST", f"/api/campaigns/{cid}/play")
    await expect(page.locator("#m-talking")).to_have_text("1", timeout=20_000)
    await expect(page.locator("#m-on_call")).to_have_text("1")
    await expect(page.locator("#customers tr[data-record] .c-result")).to_have_text("ON CALL")
    await screenshot(page, "campaign-details-live-call")

    handled = page.locator('#pie-inner path[data-segment="handled"][data-part="CONTACTED"]')
    await expect(handled).to_have_attribute("data-count", "1", timeout=20_000)
    await expect(page.locator("#m-talking")).to_have_text("0")
    await expect(page.locator("#m-wrapup")).to_have_text("1")
    await expect(page.locator("#m-idle")).to_have_text("0")
    await expect(page.locator("#customers tr[data-record] .c-result")).to_have_text("CALL")
    await expect(page.locator("#m-abandon_today")).to_have_text("0.0%")
    await expect(page.locator("#m-abandon_today_n")).to_have_text("0/1")
    await check_pie(page, await json_of(dialer, "GET", f"/api/campaigns/{cid}/pie"))
    assert await page.evaluate("window.__marker") == 1
    assert watched_page.problems.errors == []


async def test_a_viewer_sees_no_switch_and_no_hidden_campaign(
    served: Client, browser: Browser, tmp_path: Path
) -> None:
    """A viewer whose Campaigns profile lists one campaign: its page without the
    Active/Passive switch; the other campaign's page and recordings are not found."""
    mine, _ = await settled_campaign(served, tmp_path / "monitor")
    other = await json_of(served, "POST", "/api/campaigns", {**SETTINGS, "name": "Other"})
    hidden = await json_of(served, "POST", f"/api/campaigns/{mine}/clone", {"name": "Hidden"})
    viewer = User(
        id=0, username="vic", role=Role.VIEWER, all_campaigns=False, campaign_ids=frozenset({mine})
    )
    user_id = await user_rows.create(served.app[keys.db_key], viewer, "not used", time.time())
    session = await served.app[keys.auth_key].open_session(replace(viewer, id=user_id))
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_cookies(
        [{"name": COOKIE, "value": session.token, "domain": "127.0.0.1", "path": "/"}]
    )
    try:
        page = await context.new_page()
        await page.goto(str(served.make_url(f"/campaigns/{mine}")))
        await expect(page.locator("#details")).to_have_attribute("data-ready", "yes")
        await expect(page.locator("#pie-total")).to_have_text(str(len(PEOPLE) + 1))
        await expect(page.locator("#active-toggle")).to_have_count(0)
        await expect(page.locator("#details")).to_have_attribute("data-may-steer", "no")
        for campaign_id in (other["id"], hidden["id"]):
            response = await page.goto(str(served.make_url(f"/campaigns/{campaign_id}")))
            assert response is not None and response.status == 404
            api = await page.request.get(str(served.make_url(f"/api/campaigns/{campaign_id}/pie")))
            assert api.status == 404
    finally:
        await context.close()


async def test_the_customers_tab_shows_each_numbers_attempts_and_the_next_one(
    served: Client, watched_page: WatchedPage
) -> None:
    """A record of three numbers: busy on the first, so its next attempt dials the second."""
    campaign = await json_of(served, "POST", "/api/campaigns", {"name": "Alt", "queue": "sales"})
    cid = campaign["id"]
    first, second, third = "+12125550201", "+12125550101", "+12125550301"
    record = {"phone": first, "name": "Ann", "phones": [second, third]}
    await json_of(served, "POST", f"/api/campaigns/{cid}/records", {"records": [record]})
    db = served.app[keys.db_key]
    (attempt,) = await attempt_rows.take_records(db, cid, "main", 1, time.time())
    await attempt_rows.finish(db, CallEnded(attempt.id, TechResult.BUSY, at=time.time()))
    page = watched_page.page
    await page.goto(str(served.make_url(f"/campaigns/{cid}")))
    await expect(page.locator("#details")).to_have_attribute("data-ready", "yes")
    phones = page.locator('#customers tr[data-record]:has-text("Ann") .c-phone')
    await expect(phones).to_have_text(f"{first} (1 · BUSY){second} (0 · next){third} (0)")
    await expect(phones.locator(".next-number")).to_have_text(second)
    await screenshot(page, "customers-alternate-numbers")
