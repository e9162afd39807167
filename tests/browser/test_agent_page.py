"""The agent page in a real Chromium, with a real Asterisk: the agent asks for a record of
a preview campaign, reads it (campaign notes, record notes and fields) while the
auto-dial countdown runs, accepts, follows the call live and classifies it."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from pbx_dialer.http import keys
from pbx_dialer.testing.sim import Simulator
from tests.browser.conftest import WatchedPage, screenshot
from tests.conftest import TEST_ADMIN
from tests.pbx.test_campaign_run import attempts_of
from tests.pbx.test_preview import preview_campaign

pytestmark = [pytest.mark.browser, pytest.mark.pbx]
Client = TestClient[web.Request, web.Application]


async def test_preview_accept_call_and_classify_on_the_agent_page(
    dialer: Client, sim: Simulator, watched_page: WatchedPage
) -> None:
    await sim.add_agent("sales", 7001)
    campaign_id = await preview_campaign(dialer, ["+12125550101"], preview_autodial_s=60)
    page = watched_page.page
    await page.goto(str(dialer.make_url("/agent?interface=Local/7001@sim-agents")))
    desk = page.locator("#desk")
    await expect(desk).to_have_attribute("data-state", "idle")
    await expect(page.locator("#link-state")).to_have_text("live")
    await expect(page.locator("#desk-name")).to_have_text("Agent 7001")

    # The queue's view of the agent is followed live.
    await sim.pause_agent("sales", 7001, True)
    await expect(page.locator("#desk-campaigns")).to_contain_text("paused in the queue")
    await sim.pause_agent("sales", 7001, False)
    await expect(page.locator("#desk-campaigns")).not_to_contain_text("paused")
    await page.click("#desk-next")
    await expect(desk).to_have_attribute("data-state", "reserved")
    await expect(page.locator("#desk-phone")).to_have_text("+12125550101")
    await expect(page.locator("#desk-customer-name")).to_have_text("Customer +12125550101")
    await expect(page.locator("#desk-record-notes")).to_have_text("Asked for a call after lunch")
    await expect(page.locator("#desk-campaign-notes")).to_have_text("Offer the spring renewal.")
    await expect(page.locator("#desk-fields")).to_contain_text("Gold")
    await expect(page.locator("#desk-accept")).to_be_visible()
    # The countdown runs down by itself.
    countdown = page.locator("#desk-countdown-s")
    await expect(countdown).to_be_visible()
    first = int(await countdown.inner_text())
    assert 55 <= first <= 60
    await page.wait_for_timeout(1300)
    assert int(await countdown.inner_text()) < first
    await screenshot(page, "agent-preview")

    await page.click("#desk-accept")
    # Live: the customer answers and is connected to this agent.
    await expect(desk).to_have_attribute("data-state", "talking", timeout=15_000)
    await expect(page.locator("#desk-state")).to_have_text("on a call")
    await expect(page.locator("#desk-wrapup")).to_be_visible()
    await expect(page.locator("#desk-countdown")).to_be_hidden()
    # The customer hangs up: wrap-up until the agent classifies the call.
    await expect(desk).to_have_attribute("data-state", "wrapup", timeout=15_000)
    await expect(page.locator("#desk-phase")).to_have_text("SUCCESS")
    # The campaign is complete now; the agent is still in its queue.
    await expect(page.locator("#desk-name")).to_have_text("Agent 7001")
    await expect(page.locator("#desk-campaigns")).to_contain_text("No active campaign")
    await screenshot(page, "agent-wrapup")
    await page.click('#desk-codes button[data-code="SALE"]')
    await expect(desk).to_have_attribute("data-state", "idle")
    await expect(page.locator("#desk-wrapup")).to_be_hidden()
    attempt = (await attempts_of(dialer, campaign_id))["+12125550101"]
    assert (attempt["result"], attempt["classification"]) == ("SUCCESS", "SALE")
    assert attempt["classified_by"] == TEST_ADMIN  # the logged-in user, not the page's input
    assert watched_page.problems.errors == []
    # Everything arrived without a reload.
    assert len(watched_page.main_frame_navigations) == 1


async def test_a_callback_for_me_is_scheduled_from_the_page(
    dialer: Client, sim: Simulator, watched_page: WatchedPage
) -> None:
    await sim.add_agent("sales", 7001)
    campaign_id = await preview_campaign(dialer, ["+12125550101"])
    page = watched_page.page
    await page.goto(str(dialer.make_url("/agent?interface=Local/7001@sim-agents")))
    desk = page.locator("#desk")
    await expect(page.locator("#link-state")).to_have_text("live")
    await expect(desk).to_have_attribute("data-state", "idle")
    await page.click("#desk-next")
    await expect(desk).to_have_attribute("data-state", "reserved")
    await page.click("#desk-accept")
    await expect(desk).to_have_attribute("data-state", "wrapup", timeout=20_000)
    await page.click('#desk-codes button[data-code="CALLBACK"]')
    await expect(page.locator("#desk-callback-form")).to_be_visible()
    await page.fill("#desk-callback-at", "2099-01-02T10:30")
    await screenshot(page, "agent-callback")
    await page.click("#desk-callback-save")
    await expect(desk).to_have_attribute("data-state", "idle")
    row = await dialer.app[keys.db_key].fetchone(
        "SELECT state, callback_agent FROM records WHERE campaign_id = ?", (campaign_id,)
    )
    assert row is not None
    assert (row["state"], row["callback_agent"]) == ("ready", "Local/7001@sim-agents")
    assert watched_page.problems.errors == []


async def test_the_page_asks_for_the_interface_and_names_a_bad_one(
    dialer: Client, watched_page: WatchedPage
) -> None:
    page = watched_page.page
    await page.goto(str(dialer.make_url("/agent?interface=7001")))
    await expect(page.locator(".desk-login .error")).to_contain_text("PJSIP~7001")
    await page.fill("#interface", "PJSIP/7001")
    await page.click(".desk-form button")
    await expect(page.locator("#desk")).to_have_attribute("data-state", "away")
    await expect(page.locator("#desk-campaigns")).to_contain_text("Not logged in")
    assert watched_page.problems.errors == []
