"""The live status page in a real Chromium while a campaign runs through a real Asterisk.

Everything the page shows after it was opened arrives over its websocket: the test opens
it first, then creates, fills and plays a campaign through the JSON API, and watches the
rows appear without a reload.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, WebSocket, expect

from pbx_dialer.testing.sim import Simulator
from tests.browser.conftest import WatchedPage, log_in, screenshot
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = [pytest.mark.browser, pytest.mark.pbx]
Client = TestClient[web.Request, web.Application]

SUCCESS, BUSY = "+12125550101", "+12125550201"
AGENT = "Agent 7001"

# Marks this document (a reload would lose it) and notes every state a row of
# "Calls now" is shown in: attempt|phase|agent, in the order they appeared.
WATCH_LIVE_CALLS = """() => {
  window.__marker = 1;
  window.__seen = [];
  const body = document.querySelector("#live-calls tbody");
  const note = () => {
    for (const tr of body.children) {
      const agent = tr.querySelector(".c-agent");
      const key = [tr.dataset.attempt, tr.dataset.phase, agent ? agent.textContent : ""].join("|");
      if (window.__seen[window.__seen.length - 1] !== key && !window.__seen.includes(key)) {
        window.__seen.push(key);
      }
    }
  };
  new MutationObserver(note).observe(body, {childList: true, subtree: true, attributes: true});
}"""

# The text of every cell of a table body, row by row; the clock column is left out
# because the server-rendered page fills it in with script.
TABLE_TEXT = """(id) => [...document.querySelectorAll(`#${id} tbody tr`)].map((tr) =>
  [...tr.children].filter((td) => !td.classList.contains("c-ended"))
    .map((td) => td.textContent.trim().replace(/\\s+/g, " ")))"""


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


async def test_a_campaign_run_is_pushed_live_to_the_open_page(
    dialer: Client, sim: Simulator, watched_page: WatchedPage, browser: Browser
) -> None:
    page = watched_page.page
    pushed: list[dict[str, Any]] = []

    def on_websocket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: pushed.append(json.loads(payload)))

    page.on("websocket", on_websocket)
    await sim.add_agent("sales", 7001)

    await page.goto(str(dialer.make_url("/")))
    await expect(page.locator("#link-state")).to_have_text("live")
    await expect(page.locator("#link-state")).to_have_class(re.compile(r"\bpill-on\b"))
    pbx = page.locator('#pbx-list li[data-pbx="main"]')
    await expect(pbx).to_have_class(re.compile(r"\bpbx-ready\b"))
    await expect(pbx.locator(".state")).to_have_text("Connected")
    await expect(pbx.locator(".detail")).to_contain_text("connected")
    await expect(page.locator('[data-empty-for="live-calls"]')).to_be_visible()
    await page.evaluate(WATCH_LIVE_CALLS)
    await screenshot(page, "status-empty")

    # A new campaign shows up as a draft, then goes active on Play.
    campaign_id = await create_campaign(dialer, max_lines=1)
    campaign = page.locator(f'#campaigns tr[data-campaign="{campaign_id}"]')
    await expect(campaign.locator(".c-name")).to_have_text("Spring renewals")
    await expect(campaign.locator(".c-status")).to_have_text("Draft")
    await expect(campaign.locator(".c-queue")).to_have_text("sales")
    await add_records(dialer, campaign_id, [SUCCESS, BUSY])
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    await expect(campaign.locator(".c-status")).to_have_text("Active")

    # The answered call, while it is live, with the agent who took it.
    talking = page.locator('#live-calls tbody tr[data-phase="talking"]')
    await expect(talking).to_have_count(1, timeout=20_000)
    await expect(talking.locator(".c-phone")).to_have_text(SUCCESS)
    await expect(talking.locator(".c-agent")).to_have_text(AGENT)
    await expect(talking.locator(".c-phase")).to_have_text("talking")
    await expect(talking.locator(".c-campaign")).to_have_text(f"#{campaign_id} Spring renewals")
    await expect(page.locator("#kpi-talking")).to_have_text("1")
    await expect(page.locator("#live-count")).to_have_text("1")
    await expect(campaign.locator(".c-in-progress")).to_have_text("1")
    await expect(campaign.locator(".c-ready")).to_have_text("1")
    await screenshot(page, "status-talking")

    # Both attempts end up in "Latest attempts" with the stored result, agent and times.
    success = page.locator('#attempts tbody tr[data-result="SUCCESS"]')
    busy = page.locator('#attempts tbody tr[data-result="BUSY"]')
    await expect(success).to_have_count(1, timeout=30_000)
    await expect(busy).to_have_count(1, timeout=30_000)
    await expect(page.locator("#live-calls tbody tr")).to_have_count(0)
    await expect(page.locator("#live-count")).to_have_text("0")
    await expect(campaign.locator(".c-status")).to_have_text("Completed", timeout=10_000)
    await expect(campaign.locator(".c-handled")).to_have_text("1")
    await expect(campaign.locator(".c-max-calls")).to_have_text("1")
    await expect(campaign.locator(".c-ready")).to_have_text("0")
    await expect(campaign.locator(".pct")).to_have_text("100%")
    await expect(page.locator("#kpi-success")).to_have_text("50%")

    stored = await attempts_of(dialer, campaign_id)
    for phone, row, result in ((SUCCESS, success, "SUCCESS"), (BUSY, busy, "BUSY")):
        attempt = stored[phone]
        assert attempt["result"] == result, attempt
        await expect(row.locator(".c-id")).to_have_text(str(attempt["id"]))
        await expect(row.locator(".c-phone")).to_have_text(phone)
        await expect(row.locator(".c-result")).to_have_text(result)
        await expect(row.locator(".c-agent")).to_have_text(attempt["agent"] or "")
        await expect(row.locator(".c-ring")).to_have_text(seconds(attempt["ring_s"]))
        await expect(row.locator(".c-wait")).to_have_text(seconds(attempt["wait_s"]))
        await expect(row.locator(".c-talk")).to_have_text(seconds(attempt["talk_s"]))
        await expect(row.locator(".c-ended")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    await expect(success.locator(".c-agent")).to_have_text(AGENT)
    for column in (".c-ring", ".c-wait", ".c-talk"):
        await expect(success.locator(column)).to_have_text(re.compile(r"^\d+\.\d$"))
    await expect(busy.locator(".c-ring")).to_have_text(re.compile(r"^\d+\.\d$"))
    await screenshot(page, "status-finished")

    # The answered call was shown ringing, then waiting, then talking with its agent.
    seen: list[str] = await page.evaluate("window.__seen")
    success_id = str(stored[SUCCESS]["id"])
    phases = [key.split("|")[1:] for key in seen if key.split("|")[0] == success_id]
    assert [p for p, _ in phases] == ["ringing", "waiting", "talking"], seen
    assert phases[-1] == ["talking", AGENT], seen
    busy_id = str(stored[BUSY]["id"])
    busy_phases = [key.split("|")[1] for key in seen if key.split("|")[0] == busy_id]
    assert busy_phases == ["ringing"], seen

    # All of it came over the websocket, into the same document.
    kinds = [m["type"] for m in pushed]
    assert kinds[0] == "snapshot", kinds
    for kind in ("campaign", "call", "attempt_ended"):
        assert kind in kinds, kinds
    assert await page.evaluate("window.__marker") == 1, "the page was reloaded"
    assert len(watched_page.main_frame_navigations) == 1, watched_page.main_frame_navigations
    await expect(page.locator("#link-state")).to_have_text("live")
    assert watched_page.problems.errors == [], watched_page.problems.errors

    # The page as the server renders it (no script) shows the same rows as the live one.
    context = await browser.new_context(java_script_enabled=False)
    await log_in(context)
    try:
        static = await context.new_page()
        await static.goto(str(dialer.make_url("/")))
        for table in ("campaigns", "live-calls", "attempts"):
            assert await table_text(static, table) == await table_text(page, table), table
        for element in (
            "pbx-list",
            "kpi-ringing",
            "kpi-waiting",
            "kpi-talking",
            "kpi-campaigns",
            "kpi-success",
        ):
            selector = f"#{element}"
            assert await static.inner_text(selector) == await page.inner_text(selector), element
    finally:
        await context.close()


async def table_text(page: Page, table: str) -> list[list[str]]:
    rows: list[list[str]] = await page.evaluate(TABLE_TEXT, table)
    return rows
