"""The import page in a real Chromium: a CSV chosen in the form is uploaded, and its
progress and final counts arrive over the websocket, without a reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.browser.conftest import WatchedPage, screenshot

pytestmark = pytest.mark.browser
Client = TestClient[web.Request, web.Application]


async def test_upload_shows_progress_and_the_reject_file(
    api: Client, watched_page: WatchedPage, tmp_path: Path
) -> None:
    created = await api.post("/api/campaigns", json={"name": "Winter offer", "queue": "sales"})
    campaign_id = (await created.json())["id"]
    rows = ["phone,name"] + [f"+1212555{n:04d},Customer {n}" for n in range(2000)]
    rows += ["not a number,Broken", "+12125550001,Twice"]
    csv_file = tmp_path / "winter.csv"
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page = watched_page.page
    await page.goto(str(api.make_url(f"/campaigns/{campaign_id}/import")))
    await expect(page.locator("#link-state")).to_have_text("live")
    await page.evaluate("window.__marker = 1")
    await page.set_input_files("#import-file", str(csv_file))
    await page.click("#import-start")
    await expect(page.locator("body")).to_have_attribute(
        "data-import-state", "done", timeout=30_000
    )
    await expect(page.locator("#import-accepted")).to_have_text("2000")
    await expect(page.locator("#import-rejected")).to_have_text("1")
    await expect(page.locator("#import-duplicates")).to_have_text("1")
    await expect(page.locator("#import-pct")).to_have_text("100")
    rejects = page.locator("#import-rejects")
    await expect(rejects).to_be_visible()
    href = await rejects.get_attribute("href")
    assert href is not None and href.endswith("/rejects.csv")
    assert await page.evaluate("window.__marker") == 1
    assert watched_page.problems.errors == []
    await screenshot(page, "import-done")


async def test_a_bad_file_is_refused_on_the_page_with_its_reason(
    api: Client, watched_page: WatchedPage, tmp_path: Path
) -> None:
    created = await api.post("/api/campaigns", json={"name": "Spring", "queue": "sales"})
    campaign_id = (await created.json())["id"]
    bad = tmp_path / "no-phone.csv"
    bad.write_text("name,city\nAnn,Paris\n", encoding="utf-8")
    page = watched_page.page
    await page.goto(str(api.make_url(f"/campaigns/{campaign_id}/import")))
    await page.set_input_files("#import-file", str(bad))
    await page.click("#import-start")
    error = page.locator("#import-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("phone")
    records = await (await api.get(f"/api/campaigns/{campaign_id}/records")).json()
    assert records["records"] == []
