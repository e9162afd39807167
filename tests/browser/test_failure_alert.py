"""The dialer's alert on a campaign whose calls all fail the same way, in a real
Chromium: a banner on the dashboard panel and on the details page, arriving without a
reload, gone once a supervisor plays the campaign again."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from pbx_dialer.campaigns.model import Control
from pbx_dialer.http import keys
from tests.browser.conftest import WatchedPage, screenshot
from tests.browser.test_dashboard import MARK, MARKED, open_dashboard, panel

pytestmark = pytest.mark.browser
Client = TestClient[web.Request, web.Application]
ALERT = (
    "paused: the last 10 calls all failed the same way (CONGESTION, cause 34) "
    "within 5 minutes — check the trunk and dialplan"
)


async def pause_failing(client: Client, campaign_id: int) -> None:
    """What the dial loop does on the alert (pbx_dialer.dialing.engine._pause_failing)."""
    await client.app[keys.campaigns_key].control(
        campaign_id, Control.PAUSE, actor="dialer", detail=ALERT, alert=ALERT
    )


async def test_the_alert_shows_on_the_dashboard_and_details_until_played(
    api: Client, watched_page: WatchedPage
) -> None:
    response = await api.post(
        "/api/campaigns",
        json={"name": "Broken trunk", "queue": "sales", "calling_rules": "none"},
    )
    assert response.status == 201, await response.text()
    campaign_id = (await response.json())["id"]
    assert (await api.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    page = watched_page.page

    await open_dashboard(page, api)
    card = panel(page, campaign_id)
    await expect(card).to_have_attribute("data-status", "active")
    await expect(card.locator(".cpanel-alert")).to_have_count(0)
    await pause_failing(api, campaign_id)
    card = panel(page, campaign_id)
    await expect(card).to_have_attribute("data-status", "paused")
    await expect(card.locator(".cpanel-alert")).to_have_text(ALERT)
    await expect(card.locator(".cpanel-alert")).to_have_attribute("role", "alert")
    assert await page.evaluate(MARKED)
    await screenshot(page, "dashboard-failure-alert")

    # The details page shows it from the server, and hides it once played again.
    await page.goto(str(api.make_url(f"/campaigns/{campaign_id}")))
    await expect(page.locator("#details")).to_have_attribute("data-ready", "yes")
    banner = page.locator("#campaign-alert")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text(ALERT)
    await screenshot(page, "details-failure-alert")
    await page.click(".toggle")
    await expect(page.locator("#active-label")).to_have_text("Active")
    await expect(banner).to_be_hidden()
    body = await (await api.get(f"/api/campaigns/{campaign_id}")).json()
    assert body["status"] == "active" and body["alert"] is None

    # Paused by the dialer while the page is open: the banner comes without a reload.
    await page.evaluate(MARK)
    await pause_failing(api, campaign_id)
    await expect(banner).to_have_text(ALERT)
    await expect(page.locator("#campaign-status")).to_have_text("Paused")
    assert await page.evaluate(MARKED)

    # Resumed from the dashboard: the panel's banner goes.
    await open_dashboard(page, api)
    card = panel(page, campaign_id)
    await expect(card.locator(".cpanel-alert")).to_have_text(ALERT)
    await card.locator(".a-resume").click()
    card = panel(page, campaign_id)
    await expect(card).to_have_attribute("data-status", "active")
    await expect(card.locator(".cpanel-alert")).to_have_count(0)
    assert watched_page.problems.errors == []
