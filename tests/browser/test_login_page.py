"""Log-in in a real Chromium: a page asked for without a session leads to the log-in
form, a wrong password is told, the right one goes back to the page asked for, the
header shows who is logged in, and log-out ends it. Then the admin's users page."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.browser.conftest import WatchedPage, screenshot
from tests.conftest import TEST_ADMIN, TEST_PASSWORD

pytestmark = pytest.mark.browser
Client = TestClient[web.Request, web.Application]


async def test_log_in_wrong_password_next_and_log_out(
    api: Client, anonymous_page: WatchedPage
) -> None:
    page = anonymous_page.page
    await page.goto(str(api.make_url("/admin/users?from=menu")))
    assert page.url.startswith(str(api.make_url("/login?next=")))
    await expect(page.locator('input[name="next"]')).to_have_value("/admin/users?from=menu")
    await expect(page.locator("#login-username")).to_be_focused()
    await page.fill("#login-username", TEST_ADMIN)
    await page.fill("#login-password", "not the password")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_have_text("wrong username or password")
    await expect(page.locator("#login-username")).to_have_value(TEST_ADMIN)
    await screenshot(page, "login-wrong-password")

    await page.fill("#login-password", TEST_PASSWORD)
    await page.click("#login-submit")
    await expect(page).to_have_url(str(api.make_url("/admin/users?from=menu")))
    menu = page.locator("#user-menu")
    await expect(menu.locator(".user-name")).to_have_text("Test Admin")
    await expect(menu.locator(".user-role")).to_have_text("admin")
    cookies = await page.context.cookies()
    session = [c for c in cookies if c["name"] == "pbx_session"]
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax"

    await page.click("#logout")
    await expect(page).to_have_url(str(api.make_url("/login")))
    await page.goto(str(api.make_url("/admin/users")))
    await expect(page.locator('input[name="next"]')).to_have_value("/admin/users")
    # The only error: the wrong password's answer, 401 on purpose.
    unexpected = [e for e in anonymous_page.problems.errors if "status of 401" not in e]
    assert unexpected == [], anonymous_page.problems.errors


async def test_the_admin_creates_and_edits_a_user_on_the_users_page(
    api: Client, watched_page: WatchedPage
) -> None:
    created = await api.post("/api/campaigns", json={"name": "Spring renewals"})
    campaign_id = (await created.json())["id"]
    await api.post("/api/campaigns", json={"name": "Winter offer"})
    page = watched_page.page
    await page.goto(str(api.make_url("/admin/users")))
    await expect(page.locator("#users tbody tr")).to_have_count(1)

    # A mistake is shown as the server names it, and nothing is created.
    await page.fill("#u-username", "vera")
    await page.fill("#u-password", "short")
    await page.click("#user-save")
    await expect(page.locator("#user-error")).to_contain_text("password: must be at least 10")
    await expect(page.locator("#users tbody tr")).to_have_count(1)

    await page.fill("#u-password", "a long enough password")
    await page.fill("#u-display", "Vera Viewer")
    await page.select_option("#u-role", "viewer")
    await page.check("#u-listed")
    await page.check(f'#u-campaigns input[value="{campaign_id}"]')
    await page.click("#user-save")
    row = page.locator("#users tbody tr", has_text="vera")
    await expect(row.locator(".u-profile")).to_have_text("1 listed")
    await expect(row.locator(".u-role")).to_have_text("viewer")
    users = (await (await api.get("/api/users")).json())["users"]
    vera = next(u for u in users if u["username"] == "vera")
    assert vera["campaign_ids"] == [campaign_id] and vera["all_campaigns"] is False

    # Edit: make her an agent (the interface is required), then disable her.
    await row.locator(".u-edit").click()
    await expect(page.locator("#u-username")).to_be_disabled()
    await page.select_option("#u-role", "agent")
    await page.click("#user-save")
    await expect(page.locator("#user-error")).to_contain_text("agent_interface: is required")
    await page.fill("#u-interface", "PJSIP/7001")
    await page.check("#u-disabled")
    await page.click("#user-save")
    await expect(row.locator(".u-state")).to_have_text("Disabled")
    await expect(row.locator(".u-interface")).to_have_text("PJSIP/7001")
    await screenshot(page, "users")
    vera = await (await api.get(f"/api/users/{vera['id']}")).json()
    assert vera["role"] == "agent" and vera["disabled"] is True
    # The only errors: the two refusals (422) made on purpose above.
    unexpected = [e for e in watched_page.problems.errors if "status of 422" not in e]
    assert unexpected == [] and len(watched_page.problems.errors) == 2, watched_page.problems.errors
