"""The campaigns dashboard in a real Chromium: the indicator bar against known
inventories, the icons, Load More, the refresh controls, the per-campaign actions, and a
call answered on a real Asterisk showing up without a reload."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Locator, Page, expect

from pbx_dialer.auth.model import Role, User
from pbx_dialer.campaigns.model import CampaignSettings, CampaignStatus, Suspension
from pbx_dialer.http import dashboard as dashboard_http
from pbx_dialer.http import keys
from pbx_dialer.http.auth import COOKIE
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import users as user_rows
from pbx_dialer.storage.db import Database
from pbx_dialer.testing.sim import Simulator
from tests.browser.conftest import WatchedPage, screenshot
from tests.pbx.test_campaign_run import add_records as add_records_of
from tests.pbx.test_campaign_run import attempts_of, create_campaign
from tests.unit.test_dashboard import put_records, put_transfer

pytestmark = pytest.mark.browser
Client = TestClient[web.Request, web.Application]
MIN = 60.0
COLOURS = {
    "completed": "rgb(141, 152, 157)",
    "ready_now": "rgb(22, 105, 47)",
    "due_0_15": "rgb(47, 165, 82)",
    "due_15_30": "rgb(121, 212, 147)",
    "due_30_plus": "rgb(201, 241, 212)",
}
# Sets a marker on the document: still there after the change means no reload.
MARK = "() => { window.__marker = 1; }"
MARKED = "() => window.__marker === 1"


def db_of(client: Client) -> Database:
    return client.app[keys.db_key]


async def new_campaign(client: Client, name: str, **settings: Any) -> int:
    campaign = await campaign_rows.create(
        db_of(client),
        CampaignSettings(name=name, **{"calling_rules": "none", **settings}),
        time.time(),
    )
    return campaign.id


async def set_status(client: Client, campaign_id: int, *path: CampaignStatus, **kw: Any) -> None:
    for before, after in itertools.pairwise(path):
        await campaign_rows.set_status(
            db_of(client),
            campaign_id,
            before,
            after,
            action="t",
            actor="test",
            now=time.time(),
            **kw,
        )


def panel(page: Page, campaign_id: int) -> Locator:
    return page.locator(f'#dash-panels [data-campaign="{campaign_id}"]')


async def open_dashboard(page: Page, client: Client) -> None:
    await page.goto(str(client.make_url("/campaigns")))
    await expect(page.locator("#link-state")).to_have_text("live")
    await page.evaluate(MARK)


async def band_widths(card: Locator) -> dict[str, float]:
    """Each band's share of the bar, from the layout the browser computed."""
    widths: dict[str, float] = await card.locator(".ibar").evaluate(
        """(bar) => {
          const whole = bar.clientWidth;
          const out = {};
          for (const band of bar.querySelectorAll('.band')) {
            out[band.dataset.band] = band.getBoundingClientRect().width / whole;
          }
          return out;
        }"""
    )
    return widths


async def test_bar_bands_widths_colours_and_hover_counts(
    api: Client, watched_page: WatchedPage
) -> None:
    now = time.time()
    mixed = await new_campaign(api, "Winter renewals", queue="sales")
    await put_records(
        db_of(api),
        mixed,
        [("handled", 0)] * 4
        + [("max_calls", 0)]
        + [("ready", now - MIN)] * 2
        + [("ready", now + 5 * MIN)]
        + [("ready", now + 20 * MIN)]
        + [("ready", now + 60 * MIN)],
    )
    done = await new_campaign(api, "All done")
    await put_records(db_of(api), done, [("handled", 0)] * 3 + [("cancelled", 0)])
    fresh = await new_campaign(api, "Fresh list")
    await put_records(db_of(api), fresh, [("ready", now - MIN)] * 7)
    page = watched_page.page
    await open_dashboard(page, api)

    card = panel(page, mixed)
    widths = await band_widths(card)
    expected = {
        "completed": 0.5,
        "ready_now": 0.2,
        "due_0_15": 0.1,
        "due_15_30": 0.1,
        "due_30_plus": 0.1,
    }
    assert widths == pytest.approx(expected, abs=0.01)
    for band, colour in COLOURS.items():
        shown = card.locator(f'.band[data-band="{band}"]')
        await expect(shown).to_have_css("background-color", colour)
    counts = {"completed": 5, "ready_now": 2, "due_0_15": 1, "due_15_30": 1, "due_30_plus": 1}
    for band, n in counts.items():
        shown = card.locator(f'.band[data-band="{band}"]')
        await shown.hover()
        title = await shown.get_attribute("title")
        assert title is not None and title.endswith(f": {n} record{'s' if n > 1 else ''}")
    await expect(card.locator(".m-progress")).to_have_text("50% done")
    await expect(card.locator(".m-waiting")).to_have_text("5 waiting")

    assert await band_widths(panel(page, done)) == pytest.approx(
        {"completed": 1.0, "ready_now": 0, "due_0_15": 0, "due_15_30": 0, "due_30_plus": 0},
        abs=0.01,
    )
    assert (await band_widths(panel(page, fresh)))["ready_now"] == pytest.approx(1.0, abs=0.01)
    assert watched_page.problems.errors == []
    await screenshot(page, "dashboard")


async def noon_hour_code(client: Client, now: float) -> int:
    """An hour code in the fixed-offset zone where it is 12:00 to 12:59 at `now`."""
    hours_ahead = 12 - int(now % 86400 // 3600)  # from -11 to +12
    # Etc/GMT-5 is five hours ahead of UTC: the sign of the IANA name is reversed.
    zone = f"Etc/GMT{-hours_ahead:+d}" if hours_ahead else "Etc/GMT"
    async with db_of(client).transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO hour_codes (name, timezone, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (f"Desk in {zone}", zone, now, now),
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def test_icons_for_each_transfer_state_and_suspension(
    api: Client, watched_page: WatchedPage
) -> None:
    now = time.time()
    # A call centre where it is about noon now: 20 minutes ago was surely today there.
    code_id = await noon_hour_code(api, now)
    recent = await new_campaign(api, "Transferred just now", cc_hour_code_id=code_id)
    today = await new_campaign(api, "Transferred earlier", cc_hour_code_id=code_id)
    quiet = await new_campaign(api, "No transfers", cc_hour_code_id=code_id)
    held = await new_campaign(api, "Suspended", queue="sales")
    await put_transfer(db_of(api), recent, now - 2 * MIN)
    await put_transfer(db_of(api), today, now - 20 * MIN)
    await set_status(
        api,
        held,
        CampaignStatus.DRAFT,
        CampaignStatus.ACTIVE,
    )
    await set_status(
        api,
        held,
        CampaignStatus.ACTIVE,
        CampaignStatus.PAUSED,
        suspension=Suspension(until=now + 3600),
    )
    page = watched_page.page
    await open_dashboard(page, api)

    black = panel(page, recent).locator(".icon-transfer-recent")
    await expect(black).to_have_attribute(
        "aria-label", re.compile(r"^1 transfer in the last 15 minutes \(last at \d\d:\d\d\)$")
    )
    await expect(black).to_have_css("color", "rgb(0, 0, 0)")
    gray = panel(page, today).locator(".icon-transfer-today")
    await expect(gray).to_have_css("color", "rgb(138, 143, 146)")
    label = await gray.get_attribute("aria-label")
    assert label is not None and label.startswith("No transfer in the last 15 minutes; 1 transfer")
    minus = panel(page, quiet).locator(".icon-transfer-none")
    await expect(minus).to_have_attribute("aria-label", "No transfers today")
    await expect(panel(page, quiet).locator(".icon-suspended")).to_have_count(0)
    pause = panel(page, held).locator(".icon-suspended")
    await expect(pause).to_be_visible()
    assert (await pause.get_attribute("aria-label") or "").startswith("Suspended until")
    for campaign_id in (recent, today, quiet):
        await expect(panel(page, campaign_id).locator(".icon-suspended")).to_have_count(0)
    assert watched_page.problems.errors == []
    await screenshot(page, "dashboard-icons")


async def test_load_more_past_50_and_100_campaigns(api: Client, watched_page: WatchedPage) -> None:
    for n in range(120):
        await new_campaign(api, f"Campaign {n:03d}")
    page = watched_page.page
    await open_dashboard(page, api)
    panels = page.locator("#dash-panels .cpanel")
    more = page.locator("#dash-more")
    await expect(panels).to_have_count(50)
    await expect(page.locator("#dash-count")).to_have_text("Showing 50 of 120")
    await more.click()
    await expect(panels).to_have_count(100)
    await expect(panels.nth(99)).to_have_attribute("aria-label", "Campaign 099")
    await more.click()
    await expect(panels).to_have_count(120)
    await expect(more).to_be_hidden()
    await expect(page.locator("#dash-count")).to_have_text("Showing 120 of 120")
    names = await panels.evaluate_all("(cards) => cards.map((c) => c.getAttribute('aria-label'))")
    assert names == [f"Campaign {n:03d}" for n in range(120)]
    # A refresh keeps everything that was loaded.
    await page.click("#dash-force")
    await expect(panels).to_have_count(120)
    assert await page.evaluate(MARKED)
    assert watched_page.problems.errors == []
    await screenshot(page, "dashboard-120")


async def add_records(client: Client, campaign_id: int, n: int, first: int = 0) -> None:
    records = [{"phone": f"+1212555{first + i:04d}"} for i in range(n)]
    response = await client.post(f"/api/campaigns/{campaign_id}/records", json={"records": records})
    assert response.status == 201, await response.text()


async def test_refresh_controls(api: Client, watched_page: WatchedPage) -> None:
    campaign_id = await new_campaign(api, "Pushed", queue="sales")
    page = watched_page.page
    await open_dashboard(page, api)
    card = panel(page, campaign_id)
    records = card.locator(".m-records")
    await expect(records).to_have_text("0 records")

    await add_records(api, campaign_id, 3)
    await expect(records).to_have_text("3 records")
    await expect(card.locator('.band[data-band="ready_now"]')).to_have_attribute("data-count", "3")

    toggle = page.locator("#dash-auto")
    await toggle.click()
    await expect(toggle).to_have_text("Enable Auto-Refresh")
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await add_records(api, campaign_id, 2, first=3)
    await expect(page.locator("#dash-pending")).to_have_text("1 update waiting")
    # The change was pushed but is not applied while auto-refresh is off.
    await page.wait_for_timeout(800)
    await expect(card.locator(".m-records")).to_have_text("3 records")

    await page.click("#dash-force")
    await expect(panel(page, campaign_id).locator(".m-records")).to_have_text("5 records")
    await expect(page.locator("#dash-pending")).to_be_hidden()
    await expect(toggle).to_have_text("Enable Auto-Refresh")

    await toggle.click()
    await expect(toggle).to_have_text("Disable Auto-Refresh")
    await add_records(api, campaign_id, 1, first=5)
    await expect(panel(page, campaign_id).locator(".m-records")).to_have_text("6 records")
    assert await page.evaluate(MARKED)
    assert watched_page.problems.errors == []


async def test_periodic_push_applies_changes_no_message_announced(
    api: Client, watched_page: WatchedPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transfer stored behind the notifier's back (or a band moving with the clock)
    shows at the next tick of the websocket."""
    monkeypatch.setattr(dashboard_http, "TICK_S", 0.5)
    campaign_id = await new_campaign(api, "Ticking")
    page = watched_page.page
    await open_dashboard(page, api)
    await expect(panel(page, campaign_id).locator(".icon-transfer-none")).to_be_visible()
    await put_transfer(db_of(api), campaign_id, time.time() - MIN)
    await expect(panel(page, campaign_id).locator(".icon-transfer-recent")).to_be_visible()
    assert await page.evaluate(MARKED)


async def test_suspend_resume_and_cancel_records(api: Client, watched_page: WatchedPage) -> None:
    campaign_id = await new_campaign(api, "Steered", queue="sales")
    await add_records(api, campaign_id, 4)
    played = await api.post(f"/api/campaigns/{campaign_id}/play")
    assert played.status == 200, await played.text()
    page = watched_page.page
    await open_dashboard(page, api)
    card = panel(page, campaign_id)
    await expect(card).to_have_attribute("data-status", "active")

    await card.locator(".a-suspend").click()
    dialog = page.locator("#suspend-dialog")
    await expect(dialog).to_be_visible()
    # An email without a reminder time: the API's reason shows next to the field.
    await page.fill("#suspend-remind-to", "lead@example.com")
    await page.click("#suspend-ok")
    await expect(dialog.locator('[data-error-for="reminder_to"]')).to_have_text(
        "reminder_at and reminder_to go together"
    )
    await expect(dialog).to_be_visible()
    await page.fill("#suspend-remind-to", "")
    await page.fill("#suspend-resume", "2099-01-02T09:30")
    await page.click("#suspend-ok")
    await expect(dialog).to_be_hidden()
    card = panel(page, campaign_id)
    await expect(card).to_have_attribute("data-suspended", "true")
    await expect(card.locator(".icon-suspended")).to_be_visible()
    await expect(card.locator(".badge")).to_have_text("Paused")
    body = await (await api.get(f"/api/campaigns/{campaign_id}")).json()
    assert body["suspended"] is True and body["suspension"]["resume_at"] > time.time() + 86400

    await card.locator(".a-resume").click()
    card = panel(page, campaign_id)
    await expect(card).to_have_attribute("data-status", "active")
    await expect(card.locator(".icon-suspended")).to_have_count(0)

    await card.locator(".a-cancel").click()
    await expect(page.locator("#cancel-count")).to_have_text("4")
    await page.click("#cancel-ok")
    card = panel(page, campaign_id)
    await expect(card.locator(".m-progress")).to_have_text("100% done")
    assert (await band_widths(card))["completed"] == pytest.approx(1.0, abs=0.01)
    records = await (await api.get(f"/api/campaigns/{campaign_id}/records")).json()
    assert {r["state"] for r in records["records"]} == {"cancelled"}
    assert await page.evaluate(MARKED)
    # Chromium logs the refused suspend (422) itself; nothing else went wrong.
    unexpected = [e for e in watched_page.problems.errors if "status of 422" not in e]
    assert unexpected == [] and len(watched_page.problems.errors) == 1


@pytest.mark.pbx
async def test_a_call_answered_on_asterisk_changes_the_open_dashboard(
    dialer: Client, sim: Simulator, watched_page: WatchedPage
) -> None:
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(dialer, name="Live on Asterisk")
    await add_records_of(dialer, campaign_id, ["+12125550101"])  # answers, talks 4 s
    page = watched_page.page
    await open_dashboard(page, dialer)
    card = panel(page, campaign_id)
    await expect(card.locator('.band[data-band="ready_now"]')).to_have_attribute("data-count", "1")
    await expect(card.locator(".m-agents")).to_have_text("1 agent")
    played = await dialer.post(f"/api/campaigns/{campaign_id}/play")
    assert played.status == 200, await played.text()
    done = panel(page, campaign_id).locator('.band[data-band="completed"]')
    await expect(done).to_have_attribute("data-count", "1", timeout=30_000)
    await expect(panel(page, campaign_id).locator(".m-progress")).to_have_text("100% done")
    attempts = await attempts_of(dialer, campaign_id)
    assert attempts["+12125550101"]["result"] == "SUCCESS"
    assert await page.evaluate(MARKED)
    assert watched_page.problems.errors == []


async def test_a_viewer_sees_the_campaigns_of_their_profile_and_no_steering(
    api: Client, browser: Browser
) -> None:
    mine = await new_campaign(api, "Visible to the viewer", queue="sales")
    hidden = await new_campaign(api, "Not in the profile", queue="sales")
    for campaign_id in (mine, hidden):
        await set_status(api, campaign_id, CampaignStatus.DRAFT, CampaignStatus.ACTIVE)
    viewer = User(
        id=0, username="viv", role=Role.VIEWER, all_campaigns=False, campaign_ids=frozenset({mine})
    )
    user_id = await user_rows.create(db_of(api), viewer, "not used", time.time())
    session = await api.app[keys.auth_key].open_session(replace(viewer, id=user_id))
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_cookies(
        [{"name": COOKIE, "value": session.token, "domain": "127.0.0.1", "path": "/"}]
    )
    try:
        page = await context.new_page()
        await open_dashboard(page, api)
        await expect(page.locator("#dash-panels .cpanel")).to_have_count(1)
        card = panel(page, mine)
        await expect(card.locator(".a-details")).to_be_visible()
        for steering in (".a-suspend", ".a-resume", ".a-cancel", ".a-edit", ".a-import"):
            await expect(card.locator(steering)).to_have_count(0)
        await page.goto(str(api.make_url("/campaigns/table")))
        await expect(page.locator("#campaign-table tbody tr")).to_have_count(1)
        await expect(page.locator(".c-controls button, .ctl-clone, #table-new")).to_have_count(0)
    finally:
        await context.close()


async def test_a_new_campaign_appears_when_all_are_shown(
    api: Client, watched_page: WatchedPage
) -> None:
    first = await new_campaign(api, "First")
    page = watched_page.page
    await open_dashboard(page, api)
    await expect(page.locator("#dash-panels .cpanel")).to_have_count(1)
    created = await api.post("/api/campaigns", json={"name": "Second"})
    second = (await created.json())["id"]
    await expect(panel(page, second)).to_be_visible()
    await expect(page.locator("#dash-panels .cpanel")).to_have_count(2)
    await expect(page.locator("#dash-panels .cpanel").first).to_have_attribute(
        "data-campaign", str(first)
    )
    assert await page.evaluate(MARKED)


async def test_navigation_shows_only_pages_the_user_may_open(
    api: Client, watched_page: WatchedPage, anonymous_page: WatchedPage
) -> None:
    page = watched_page.page
    await open_dashboard(page, api)
    nav = page.locator('nav[aria-label="Main"] a')
    await expect(nav).to_have_text(["Dashboard", "Campaigns", "Status"])
    # An admin also has the users page, in the user menu.
    await expect(page.locator('nav[aria-label="Administration"] a')).to_have_text(["Users"])
    await expect(page.locator('nav.nav a[aria-current="page"]')).to_have_text("Dashboard")
    await nav.nth(1).click()
    await expect(page).to_have_url(str(api.make_url("/campaigns/table")))
    await expect(page.locator('nav.nav a[aria-current="page"]')).to_have_text("Campaigns")
    # Before log-in there is nothing to navigate to.
    await anonymous_page.page.goto(str(api.make_url("/campaigns")))
    await expect(anonymous_page.page).to_have_url(re.compile(r"/login\?next=/campaigns$"))
    await expect(anonymous_page.page.locator("nav.nav")).to_have_count(0)


async def test_a_refused_resume_says_why(api: Client, watched_page: WatchedPage) -> None:
    campaign_id = await new_campaign(api, "Paused without a queue")
    # A paused campaign with no queue (set up directly in SQLite): Resume is refused.
    await set_status(api, campaign_id, CampaignStatus.DRAFT, CampaignStatus.ACTIVE)
    await set_status(api, campaign_id, CampaignStatus.ACTIVE, CampaignStatus.PAUSED)
    page = watched_page.page
    await open_dashboard(page, api)
    await panel(page, campaign_id).locator(".a-resume").click()
    await expect(page.locator("#dash-error")).to_have_text("cannot start: missing queue")
    await expect(panel(page, campaign_id)).to_have_attribute("data-status", "paused")
    assert [e for e in watched_page.problems.errors if "status of 409" not in e] == []
