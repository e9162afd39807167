"""The campaign table in a real Chromium: sorting both ways, its columns, the controls
each status allows, Clone, Load More, and the name opening the edit page."""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Page, expect

from pbx_dialer.campaigns.model import CampaignStatus
from pbx_dialer.testing.sim import Simulator
from tests.browser.conftest import WatchedPage, screenshot
from tests.browser.test_dashboard import MARK, MARKED, db_of, new_campaign, set_status
from tests.unit.test_dashboard import put_records

pytestmark = pytest.mark.browser
Client = TestClient[web.Request, web.Application]

COLUMN_TEXT = """(cls) => [...document.querySelectorAll(`#campaign-table tbody td.${cls}`)]
  .map((td) => td.textContent.trim())"""


async def open_table(page: Page, client: Client) -> None:
    await page.goto(str(client.make_url("/campaigns/table")))
    await expect(page.locator("#link-state")).to_have_text("live")
    await page.evaluate(MARK)


async def column(page: Page, cls: str) -> list[str]:
    values: list[str] = await page.evaluate(COLUMN_TEXT, cls)
    return values


async def sort_by(page: Page, key: str, direction: str) -> None:
    header = page.locator(f'#campaign-table th[data-sort="{key}"]')
    await header.locator("button").click()
    await expect(header).to_have_attribute("aria-sort", direction)


async def test_sorting_by_created_on_name_and_status(
    api: Client, watched_page: WatchedPage
) -> None:
    # Names, creation times and statuses in three different orders.
    layout = [
        ("Bravo", 300.0, (CampaignStatus.DRAFT, CampaignStatus.ACTIVE)),
        ("alpha", 100.0, (CampaignStatus.DRAFT, CampaignStatus.STOPPED)),
        ("Charlie", 200.0, (CampaignStatus.DRAFT,)),
        ("Delta", 400.0, (CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.PAUSED)),
    ]
    base = time.time() - 1000
    for name, created, path in layout:
        campaign_id = await new_campaign(api, name, queue="sales")
        async with db_of(api).transaction() as conn:
            await conn.execute(
                "UPDATE campaigns SET created_at = ? WHERE id = ?", (base + created, campaign_id)
            )
        await set_status(api, campaign_id, *path)
    page = watched_page.page
    await open_table(page, api)
    created_header = page.locator('#campaign-table th[data-sort="created_at"]')
    await expect(created_header).to_have_attribute("aria-sort", "descending")
    assert await column(page, "c-name") == ["Delta", "Bravo", "Charlie", "alpha"]
    await sort_by(page, "created_at", "ascending")
    assert await column(page, "c-name") == ["alpha", "Charlie", "Bravo", "Delta"]
    await sort_by(page, "name", "ascending")
    assert await column(page, "c-name") == ["alpha", "Bravo", "Charlie", "Delta"]
    await sort_by(page, "name", "descending")
    assert await column(page, "c-name") == ["Delta", "Charlie", "Bravo", "alpha"]
    await sort_by(page, "status", "ascending")
    assert await column(page, "c-status") == ["Active", "Draft", "Paused", "Stopped"]
    await sort_by(page, "status", "descending")
    assert await column(page, "c-status") == ["Stopped", "Paused", "Draft", "Active"]
    assert await page.evaluate(MARKED)
    assert watched_page.problems.errors == []
    await screenshot(page, "campaign-table")


async def test_controls_per_status_and_clone(api: Client, watched_page: WatchedPage) -> None:
    campaign_id = await new_campaign(api, "Autumn", queue="sales")
    completed = await new_campaign(api, "Finished", queue="sales")
    await set_status(
        api, completed, CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.COMPLETED
    )
    page = watched_page.page
    await open_table(page, api)
    row = page.locator(f'#campaign-table tbody tr[data-campaign="{campaign_id}"]')
    controls = row.locator(".c-controls button")

    await expect(controls).to_have_text(["Play", "Stop"])
    await row.locator(".ctl-play").click()
    await expect(row.locator(".c-status")).to_have_text("Active")
    await expect(controls).to_have_text(["Pause", "Stop"])

    # Stop, next to Pause, is for good: it asks first, and keeping the campaign (or
    # Escape) leaves it running.
    dialog = page.locator("#stop-dialog")
    await row.locator(".ctl-stop").click()
    await expect(dialog).to_be_visible()
    await expect(page.locator("#stop-title")).to_have_text("Stop Autumn?")
    await page.locator("#stop-keep").click()
    await expect(dialog).to_be_hidden()
    await row.locator(".ctl-stop").click()
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await page.wait_for_timeout(300)  # long enough for a stop to show, were one sent
    await expect(row.locator(".c-status")).to_have_text("Active")
    running = await (await api.get(f"/api/campaigns/{campaign_id}")).json()
    assert running["status"] == "active"

    await row.locator(".ctl-pause").click()
    await expect(row.locator(".c-status")).to_have_text("Paused")
    await expect(controls).to_have_text(["Play", "Stop"])
    await row.locator(".ctl-stop").click()
    await page.locator("#stop-ok").click()
    await expect(dialog).to_be_hidden()
    await expect(row.locator(".c-status")).to_have_text("Stopped")
    await expect(controls).to_have_count(0)
    # Stopped: the name opens the details, not the edit page it can no longer save.
    await expect(row.locator(".c-name a")).to_have_attribute("href", f"/campaigns/{campaign_id}")
    done_row = page.locator(f'#campaign-table tbody tr[data-campaign="{completed}"]')
    await expect(done_row.locator(".c-controls button")).to_have_count(0)
    history = await (await api.get(f"/api/campaigns/{campaign_id}/history")).json()
    assert [a["action"] for a in history["actions"]] == ["play", "pause", "stop"]

    await row.locator(".ctl-clone").click()
    copy = page.locator("#campaign-table tbody tr").filter(has_text="Autumn (copy)")
    await expect(copy).to_have_count(1)
    await expect(copy.locator(".c-status")).to_have_text("Draft")
    await expect(copy.locator(".c-controls button")).to_have_text(["Play", "Stop"])
    campaigns = await (await api.get("/api/campaigns")).json()
    clone = next(c for c in campaigns["campaigns"] if c["name"] == "Autumn (copy)")
    assert clone["cloned_from"] == campaign_id and clone["queue"] == "sales"
    assert await page.evaluate(MARKED)
    assert watched_page.problems.errors == []


async def test_contacts_progress_and_the_name_opens_the_edit_page(
    api: Client, watched_page: WatchedPage
) -> None:
    listed = await new_campaign(api, "From a file")
    await put_records(db_of(api), listed, [("handled", 0)] * 3 + [("ready", 0)])
    live = await new_campaign(api, "From the CRM")
    async with db_of(api).transaction() as conn:
        await conn.execute("UPDATE campaigns SET live = 1 WHERE id = ?", (live,))
    page = watched_page.page
    await open_table(page, api)
    row = page.locator(f'#campaign-table tbody tr[data-campaign="{listed}"]')
    await expect(row.locator(".c-contacts")).to_have_text("4")
    await expect(row.locator(".c-progress")).to_have_text("75%")
    await expect(row.locator(".c-id")).to_have_text(str(listed))
    live_row = page.locator(f'#campaign-table tbody tr[data-campaign="{live}"]')
    await expect(live_row.locator(".c-contacts")).to_have_text("∞")
    await row.locator(".c-name a").click()
    await expect(page).to_have_url(str(api.make_url(f"/campaigns/{listed}/edit")))
    await expect(page.locator("#f-name")).to_have_value("From a file")
    assert watched_page.problems.errors == []


async def test_load_more(api: Client, watched_page: WatchedPage) -> None:
    for n in range(120):
        await new_campaign(api, f"Table {n:03d}")
    page = watched_page.page
    await open_table(page, api)
    rows = page.locator("#campaign-table tbody tr")
    await expect(rows).to_have_count(50)
    await page.click("#table-more")
    await expect(rows).to_have_count(100)
    await page.click("#table-more")
    await expect(rows).to_have_count(120)
    await expect(page.locator("#table-more")).to_be_hidden()
    ids = [int(i) for i in await column(page, "c-id")]
    assert len(set(ids)) == 120
    assert watched_page.problems.errors == []


@pytest.mark.pbx
async def test_agents_column_counts_logged_in_agents_of_the_queue(
    dialer: Client, sim: Simulator, watched_page: WatchedPage
) -> None:
    await sim.add_agent("sales", 7001)
    await sim.add_agent("sales", 7002)
    sales = await new_campaign(dialer, "Sales queue", queue="sales")
    other = await new_campaign(dialer, "Other queue", queue="support")
    page = watched_page.page
    await open_table(page, dialer)
    sales_row = page.locator(f'#campaign-table tbody tr[data-campaign="{sales}"]')
    # The queue tracker hears of the agents shortly after the AMI link is up.
    for _ in range(50):
        await page.reload()
        if await sales_row.locator(".c-agents").text_content() == "2":
            break
        await page.wait_for_timeout(200)
    await expect(sales_row.locator(".c-agents")).to_have_text("2")
    other_row = page.locator(f'#campaign-table tbody tr[data-campaign="{other}"]')
    await expect(other_row.locator(".c-agents")).to_have_text("0")
    assert watched_page.problems.errors == []


async def test_a_campaign_created_elsewhere_appears_without_reload(
    api: Client, watched_page: WatchedPage
) -> None:
    await new_campaign(api, "Already there")
    page = watched_page.page
    await open_table(page, api)
    await expect(page.locator("#campaign-table tbody tr")).to_have_count(1)
    created = await api.post("/api/campaigns", json={"name": "Made through the API"})
    assert created.status == 201
    # Newest first: the new campaign comes on top.
    await expect(page.locator("#campaign-table tbody tr").first).to_contain_text(
        "Made through the API"
    )
    assert await page.evaluate(MARKED)
    assert watched_page.problems.errors == []


async def test_a_refused_control_says_why_and_changes_nothing(
    api: Client, watched_page: WatchedPage
) -> None:
    campaign_id = await new_campaign(api, "No queue yet")
    page = watched_page.page
    await open_table(page, api)
    row = page.locator(f'#campaign-table tbody tr[data-campaign="{campaign_id}"]')
    await row.locator(".ctl-play").click()
    await expect(page.locator("#table-error")).to_have_text("cannot start: missing queue")
    await expect(row.locator(".c-status")).to_have_text("Draft")
    assert (await (await api.get(f"/api/campaigns/{campaign_id}")).json())["status"] == "draft"
    # Chromium logs the refused request (409) itself; nothing else went wrong.
    assert [e for e in watched_page.problems.errors if "status of 409" not in e] == []


async def test_the_dashboard_offers_edit_and_import_only_where_allowed(
    api: Client, watched_page: WatchedPage
) -> None:
    """A completed campaign may be edited and given records (they reopen it); a stopped
    one neither."""
    completed = await new_campaign(api, "Done", queue="sales")
    await set_status(
        api, completed, CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.COMPLETED
    )
    stopped = await new_campaign(api, "Over", queue="sales")
    await set_status(api, stopped, CampaignStatus.DRAFT, CampaignStatus.STOPPED)
    page = watched_page.page
    await page.goto(str(api.make_url("/campaigns")))
    await expect(page.locator("#link-state")).to_have_text("live")
    done = page.locator(f'.cpanel[data-campaign="{completed}"]')
    over = page.locator(f'.cpanel[data-campaign="{stopped}"]')
    await expect(done.locator(".cpanel-actions a")).to_have_text(["Details", "Edit", "Import"])
    await expect(over.locator(".cpanel-actions a")).to_have_text(["Details"])
    await expect(over.locator(".cpanel-actions button")).to_have_count(0)
    assert watched_page.problems.errors == []
