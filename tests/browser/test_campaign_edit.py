"""The campaign edit and create page in a real Chromium: every kind of setting saved
through the API, the API's reasons shown next to the fields they name, a new campaign,
and an edit of a running campaign taking effect on a real Asterisk."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Page, expect

from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.http import keys
from pbx_dialer.testing.sim import Simulator
from tests.browser.conftest import WatchedPage, screenshot
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, create_campaign

pytestmark = pytest.mark.browser
Client = TestClient[web.Request, web.Application]


async def campaign_json(client: Client, campaign_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/campaigns/{campaign_id}")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def hour_code(client: Client, name: str, zone: str) -> int:
    response = await client.post(
        "/api/hour-codes",
        json={"name": name, "timezone": zone, "weekly": {"mon": [["09:00", "18:00"]]}},
    )
    assert response.status == 201, await response.text()
    code_id: int = (await response.json())["id"]
    return code_id


async def open_edit(page: Page, client: Client, campaign_id: int) -> None:
    await page.goto(str(client.make_url(f"/campaigns/{campaign_id}/edit")))
    await expect(page.locator("#f-name")).to_be_visible()


async def save(page: Page) -> None:
    await page.click("#save")


async def test_an_edit_of_every_kind_of_setting_is_saved(
    api: Client, watched_page: WatchedPage
) -> None:
    campaign_id = await create_campaign(api, name="Spring", max_attempts=3)
    code_id = await hour_code(api, "Paris desk", "Europe/Paris")
    page = watched_page.page
    await open_edit(page, api, campaign_id)
    await screenshot(page, "campaign-edit")
    # Every setting of the model has its input (the structured ones their tables).
    named = await page.eval_on_selector_all(
        "#campaign-form [name][data-kind]", "(inputs) => inputs.map((i) => i.name)"
    )
    structured = {
        "retry_rules",
        "classifications",
        "result_classifications",
        "next_number_on",
        "number_caps",
    }
    assert set(named) | structured == {f.name for f in fields(CampaignSettings)}
    await page.fill("#f-name", "Spring renewals")
    await page.select_option("#f-dial_mode", "power")
    await page.fill("#f-max_lines", "12")
    await page.fill("#f-dispatch_per_min", "40")
    await page.fill("#f-max_abandon_pct", "2.5")
    await page.fill("#f-caller_id", '"Acme" <+12125550100>')
    await page.check("#f-recording")
    await page.fill("#f-agent_notes", "Offer the winter discount.")
    await page.fill("#f-queue", "support")
    await page.fill("#f-queue_priority", "7")
    await page.fill("#f-inbound_wait_limit_s", "45")
    await page.fill("#f-max_attempts", "5")
    busy = page.locator('#retry-rules tr[data-result="BUSY"]')
    await busy.locator(".r-delay").fill("120")
    await page.locator('#next-number-on .nn-on[data-result="INVALID"]').uncheck()
    await page.locator('#next-number-on .nn-on[data-result="MACHINE"]').check()
    await page.fill("#f-max_attempts_per_number", "2")
    await page.locator('#retry-rules tr[data-result="FAILED"] .r-on').uncheck()
    await page.click("#add-classification")
    new_row = page.locator("#classifications tbody tr").last
    await new_row.locator(".k-code").fill("PROMISE")
    await new_row.locator(".k-label").fill("Promise to pay")
    await new_row.locator(".k-outcome").select_option("final")
    await new_row.locator(".k-code").dispatch_event("change")
    await page.select_option("#rc-SUCCESS", "PROMISE")
    await page.select_option("#f-cc_hour_code_id", str(code_id))
    await page.fill("#f-start_date", "2030-01-01")
    await page.fill("#f-end_date", "2030-02-01")
    await page.fill("#f-auto_start", "09:15")
    await page.select_option("#f-calling_rules", "CA")
    await page.locator('#number-caps .cap-on[data-cap="per_7d_7"]').check()
    await page.fill("#f-preview_autodial_s", "20")
    await page.fill("#f-message", "custom/promo")
    await page.fill("#f-transfer_key", "*")
    await page.check("#f-amd")
    await save(page)
    await expect(page.locator("#form-saved")).to_contain_text("Saved at")
    await expect(page.locator("#form-error")).to_have_text("")

    saved = await campaign_json(api, campaign_id)
    assert saved["name"] == "Spring renewals"
    assert (saved["dial_mode"], saved["max_lines"], saved["dispatch_per_min"]) == ("power", 12, 40)
    assert saved["max_abandon_pct"] == 2.5
    assert saved["caller_id"] == '"Acme" <+12125550100>'
    assert saved["recording"] is True
    assert saved["agent_notes"] == "Offer the winter discount."
    assert (saved["queue"], saved["queue_priority"], saved["inbound_wait_limit_s"]) == (
        "support",
        7,
        45,
    )
    assert saved["max_attempts"] == 5
    assert saved["next_number_on"] == ["BUSY", "NOANSWER", "MACHINE"]
    assert saved["max_attempts_per_number"] == 2
    assert (saved["calling_rules"], saved["number_caps"]) == ("CA", ["per_7d_7"])
    assert saved["retry_rules"]["BUSY"] == {"delay_s": 120, "max_attempts": 3}
    assert "FAILED" not in saved["retry_rules"]
    assert saved["classifications"][-1] == {
        "code": "PROMISE",
        "label": "Promise to pay",
        "outcome": "final",
    }
    assert saved["result_classifications"]["SUCCESS"] == "PROMISE"
    assert saved["cc_hour_code_id"] == code_id
    assert (saved["start_date"], saved["end_date"]) == ("2030-01-01", "2030-02-01")
    assert (saved["auto_start"], saved["auto_stop"]) == ("09:15", None)
    assert (saved["preview_autodial_s"], saved["message"]) == (20, "custom/promo")
    assert (saved["transfer_key"], saved["amd"]) == ("*", True)
    history = await (await api.get(f"/api/campaigns/{campaign_id}/history")).json()
    assert history["actions"][-1]["action"] == "edit"
    # What the page shows after a reload is what was stored.
    await page.reload()
    await expect(page.locator("#f-max_lines")).to_have_value("12")
    await expect(page.locator("#f-recording")).to_be_checked()
    await expect(page.locator("#rc-SUCCESS")).to_have_value("PROMISE")
    assert watched_page.problems.errors == []


async def test_errors_show_next_to_the_fields_they_name(
    api: Client, watched_page: WatchedPage
) -> None:
    campaign_id = await create_campaign(api, name="Careful")
    before = await campaign_json(api, campaign_id)
    page = watched_page.page
    await open_edit(page, api, campaign_id)
    await page.fill("#f-max_lines", "0")
    await page.fill("#f-ring_timeout_s", "5")
    await page.fill("#f-queue_priority", "1.5")
    await page.fill("#f-start_date", "2030-03-01")
    await page.fill("#f-end_date", "2030-01-01")
    await page.locator('#retry-rules tr[data-result="BUSY"] .r-delay').fill("-1")
    await page.locator("#classifications tbody tr").first.locator(".k-code").fill("bad code")
    await save(page)

    def slot(key: str) -> Any:
        return page.locator(f'[data-error-for="{key}"]')

    # The API checks types first; once they are right, the ranges and rules speak.
    await expect(slot("queue_priority")).to_have_text("must be a whole number")
    await expect(page.locator("#f-queue_priority")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#form-error")).to_have_text("invalid campaign settings")
    await expect(slot("max_lines")).to_have_text("")
    await page.fill("#f-queue_priority", "2")
    await save(page)
    await expect(slot("max_lines")).to_have_text("must be between 1 and 1000")
    await expect(page.locator("#f-max_lines")).to_have_attribute("aria-invalid", "true")
    await expect(slot("ring_timeout_s")).to_have_text("must be between 15 and 120 seconds")
    await expect(slot("end_date")).to_have_text("must not be before start_date")
    await expect(slot("retry_rules.BUSY.delay_s")).to_have_text("must be 0 to 2592000 seconds")
    await expect(slot("classifications[0].code")).to_have_text("must be 1-32 of A-Z, 0-9 and _")
    await expect(slot("queue_priority")).to_have_text("")
    await screenshot(page, "campaign-edit-errors")
    assert await campaign_json(api, campaign_id) == before

    stopped = await api.post(f"/api/campaigns/{campaign_id}/stop")
    assert stopped.status == 200
    await page.reload()
    await save(page)
    await expect(page.locator("#form-error")).to_have_text("a stopped campaign cannot be edited")
    refused = [e for e in watched_page.problems.errors if "status of 4" not in e]
    assert refused == []


async def test_a_new_campaign_is_created_from_the_form(
    api: Client, watched_page: WatchedPage
) -> None:
    page = watched_page.page
    await page.goto(str(api.make_url("/campaigns/table")))
    await page.click("#table-new")
    await expect(page).to_have_url(str(api.make_url("/campaigns/new")))
    await save(page)
    await expect(page.locator('[data-error-for="name"]')).to_have_text(
        "must be 1-120 printable characters"
    )
    await page.fill("#f-name", "Brand new")
    await page.fill("#f-queue", "sales")
    await save(page)
    await expect(page.locator("#form-saved")).to_have_text("Campaign created")
    campaigns = (await (await api.get("/api/campaigns")).json())["campaigns"]
    (created,) = [c for c in campaigns if c["name"] == "Brand new"]
    assert created["status"] == "draft" and created["queue"] == "sales"
    await expect(page).to_have_url(str(api.make_url(f"/campaigns/{created['id']}/edit?created=1")))
    await screenshot(page, "campaign-new")


@pytest.mark.pbx
async def test_an_edit_of_a_running_campaign_takes_effect(
    dialer: Client, sim: Simulator, watched_page: WatchedPage
) -> None:
    for agent in (7001, 7002, 7003):
        await sim.add_agent("sales", agent)
    campaign_id = await create_campaign(dialer, name="Running", max_lines=1)
    # 55503XX ring until the ring timeout: every placed call stays live meanwhile.
    await add_records(dialer, campaign_id, [f"+121255503{n:02d}" for n in range(6)])
    played = await dialer.post(f"/api/campaigns/{campaign_id}/play")
    assert played.status == 200, await played.text()
    live = dialer.app[keys.dialer_key].live

    def calls() -> int:
        return sum(1 for c in live.values() if c.campaign_id == campaign_id)

    async def one_call() -> bool:
        return calls() == 1

    await eventually(one_call)
    page = watched_page.page
    await open_edit(page, dialer, campaign_id)
    await page.fill("#f-max_lines", "3")
    await save(page)
    await expect(page.locator("#form-saved")).to_contain_text("Saved at")

    async def three_calls() -> bool:
        return calls() == 3

    await eventually(three_calls, timeout=10)
    assert (await campaign_json(dialer, campaign_id))["status"] == "active"
    assert watched_page.problems.errors == []
