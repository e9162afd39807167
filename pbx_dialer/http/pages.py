"""Page handlers of the campaigns dashboard, the campaign table and the edit page.

Each page is rendered with its first data embedded as JSON; its script draws it and
keeps it current through the JSON API and the dashboard websocket.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from pbx_dialer.campaigns.dashboard import PAGE_SIZE, PageRequest
from pbx_dialer.campaigns.model import DIAL_MODES, OUTCOMES, RESULTS, CampaignSettings
from pbx_dialer.http import dashboard, keys
from pbx_dialer.http.campaigns import path_id
from pbx_dialer.rules import load_pack


@aiohttp_jinja2.template("dashboard.html")
async def dashboard_page(request: web.Request) -> dict[str, Any]:
    first = await dashboard.user_page(request, PageRequest(0, PAGE_SIZE))
    return {"data": first, "nav": "dashboard"}


@aiohttp_jinja2.template("campaign_table.html")
async def table_page(request: web.Request) -> dict[str, Any]:
    wanted = PageRequest(0, PAGE_SIZE, sort="created_at", descending=True)
    first = await dashboard.user_page(request, wanted)
    return {"data": first, "nav": "table"}


PACK = load_pack()


async def _form_context(request: web.Request, campaign: dict[str, Any] | None) -> dict[str, Any]:
    db = request.app[keys.db_key]
    hour_codes = await db.fetchall("SELECT id, name, timezone FROM hour_codes ORDER BY name")
    settings = campaign if campaign is not None else CampaignSettings(name="").to_json()
    return {
        "campaign": campaign,
        "settings": settings,
        "form": {
            "hour_code_options": [(None, "— none —")]
            + [(r["id"], f"{r['name']} ({r['timezone']})") for r in hour_codes],
            "pbx_names": [p.name for p in request.app[keys.settings_key].pbx],
            "dial_modes": list(DIAL_MODES),
            "results": list(RESULTS),
            "outcomes": list(OUTCOMES),
            "calling_rule_options": [("auto", "Auto: by the default country")]
            + [(key, f"{key}: {rule_set.name}") for key, rule_set in sorted(PACK.sets.items())],
            "number_caps": sorted(PACK.caps),
            "rules_pack": PACK.version,
        },
        "nav": "table",
    }


@aiohttp_jinja2.template("campaign_edit.html")
async def edit_page(request: web.Request) -> dict[str, Any]:
    campaign = await request.app[keys.campaigns_key].get(path_id(request))
    return await _form_context(request, campaign.to_json())


@aiohttp_jinja2.template("campaign_edit.html")
async def new_page(request: web.Request) -> dict[str, Any]:
    return await _form_context(request, None)
