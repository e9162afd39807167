"""Dashboard API (`GET /api/dashboard`) and the dashboard pages' websocket.

The websocket tells the page which campaign changed (a campaign, an ended attempt or a
transfer) and sends a tick every TICK_S, on which the page fetches fresh panels: the
15-minute transfer window and the due-time bands move with the clock alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiohttp import web

from pbx_dialer.auth.model import User
from pbx_dialer.campaigns.dashboard import MAX_PAGE, PAGE_SIZE, DashboardService, PageRequest
from pbx_dialer.campaigns.model import Campaign
from pbx_dialer.http import keys
from pbx_dialer.http.auth import current_user
from pbx_dialer.http.campaigns import ALERT
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import error_response, json_response, page_params
from pbx_dialer.http.websockets import Viewer, serve_page
from pbx_dialer.storage.dashboard import SORTS

TICK_S = 30.0
# Messages that change what a dashboard panel shows, and where each names its campaign.
RELAYED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "campaign": lambda m: m["campaign"]["id"],
    "attempt_ended": lambda m: m["campaign_id"],
    "transfer": lambda m: m["campaign_id"],
}
_IDS_RE = re.compile(r"^[0-9]{1,15}(,[0-9]{1,15}){0,499}\Z")


class _BadQuery(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


def agents_counter(app: web.Application) -> Callable[[Campaign], int]:
    """Logged-in agents of a campaign's queue, on the PBX it dials through."""
    pbxs = app[keys.pbxs_key]

    def count(campaign: Campaign) -> int:
        name = campaign.settings.pbx or next(iter(pbxs), "")
        pbx = pbxs.get(name)
        if pbx is None or not campaign.settings.queue:
            return 0
        return sum(1 for agent in pbx.agents(campaign.settings.queue) if agent.logged_in)

    return count


def service(app: web.Application) -> DashboardService:
    return DashboardService(
        app[keys.db_key],
        app[keys.clock_key],
        app[keys.settings_key].dialer.timezone,
        agents_counter(app),
    )


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        raise _BadQuery({name: f"must be an integer from {low} to {high}"})
    return int(raw)


def visible_to(user: User) -> frozenset[int] | None:
    """The campaigns a user's Campaigns profile shows; None for all of them."""
    return None if user.all_campaigns else frozenset(user.campaign_ids)


def page_request(query: dict[str, str], visible: frozenset[int] | None = None) -> PageRequest:
    """?offset=&limit=&sort=&order=&ids=1,2,3, each checked; raises _BadQuery."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, default, low, high in (
        ("offset", 0, 0, 100_000_000),
        ("limit", PAGE_SIZE, 1, MAX_PAGE),
    ):
        try:
            values[name] = _int(query, name, default, low, high)
        except _BadQuery as exc:
            errors.update(exc.fields)
    sort = query.get("sort") or "id"
    if sort not in SORTS:
        errors["sort"] = "must be one of " + ", ".join(SORTS)
    order = query.get("order") or "asc"
    if order not in ("asc", "desc"):
        errors["order"] = "must be asc or desc"
    ids: list[int] | None = None
    raw_ids = query.get("ids")
    if raw_ids is not None:
        if not _IDS_RE.match(raw_ids):
            errors["ids"] = "must be 1 to 500 campaign ids separated by commas"
        else:
            ids = [int(i) for i in raw_ids.split(",")]
    if errors:
        raise _BadQuery(errors)
    return PageRequest(values["offset"], values["limit"], sort, order == "desc", ids, visible)


async def user_page(request: web.Request, wanted: PageRequest) -> dict[str, Any]:
    """A page of panels as the logged-in user may see it: only campaigns of their
    profile, and the steering controls only for those who may steer."""
    user = current_user(request)
    page = await service(request.app).page(replace(wanted, visible=visible_to(user)))
    page["may_steer"] = user.may_steer
    if not user.may_steer:
        for panel in page["campaigns"]:
            panel["controls"] = []
    return page


async def dashboard(request: web.Request) -> web.Response:
    try:
        wanted = page_request(dict(request.query))
    except _BadQuery as exc:
        return json_error(422, "invalid dashboard query", exc.fields)
    return web.json_response(await user_page(request, wanted))


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    viewer = Viewer(current_user(request))
    subscription = request.app[keys.notifier_key].subscribe()
    tick_s = TICK_S
    await ws.send_json({"type": "hello", "tick_s": tick_s})

    async def pump() -> None:
        # One task sends everything: changes as they come, and a tick when none came.
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + tick_s
        while not ws.closed:
            try:
                message = await asyncio.wait_for(
                    subscription.queue.get(), max(0.0, next_tick - loop.time())
                )
            except TimeoutError:
                await ws.send_json({"type": "tick"})
                next_tick = loop.time() + tick_s
                continue
            if message is None:  # the notifier dropped us, or the app is closing
                await ws.close()
                return
            campaign_of = RELAYED.get(str(message.get("type")))
            if campaign_of is None:
                continue
            try:
                campaign_id = campaign_of(message)
            except (KeyError, TypeError):
                continue
            if not isinstance(campaign_id, int) or not viewer.user.may_see(campaign_id):
                continue
            await ws.send_json(
                {"type": "changed", "cause": message["type"], "campaign_id": campaign_id}
            )

    return await serve_page(request, ws, subscription, viewer, pump())


# -- OpenAPI --------------------------------------------------------------------------

_COUNT = {"type": "integer", "minimum": 0}
PANEL = {
    "type": "object",
    "required": [
        "id",
        "name",
        "status",
        "created_at",
        "live",
        "suspended",
        "records",
        "bands",
        "progress_pct",
        "transfers",
        "agents_logged_in",
        "controls",
    ],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["draft", "active", "paused", "stopped", "completed"],
        },
        "created_at": {"type": "number"},
        "queue": {"type": "string"},
        "dial_mode": {"type": "string"},
        "live": {"type": "boolean"},
        "suspended": {"type": "boolean"},
        "resume_at": {"type": "number", "nullable": True},
        "alert": ALERT,
        "records": _COUNT,
        "bands": {
            "type": "object",
            "description": "record counts of the indicator bar's bands",
            "properties": {
                name: _COUNT
                for name in ("completed", "ready_now", "due_0_15", "due_15_30", "due_30_plus")
            },
        },
        "in_progress": _COUNT,
        "list_disabled": _COUNT,
        "waiting": _COUNT,
        "progress_pct": {"type": "integer", "minimum": 0, "maximum": 100},
        "transfers": {
            "type": "object",
            "properties": {
                "state": {"type": "string", "enum": ["recent", "today", "none"]},
                "last_transfer_at": {"type": "number", "nullable": True},
                "transfers_last_15_min": _COUNT,
                "transfers_today": _COUNT,
            },
        },
        "agents_logged_in": _COUNT,
        "controls": {
            "type": "array",
            "items": {"type": "string", "enum": ["play", "pause", "stop"]},
        },
    },
}
OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/dashboard": {
        "get": {
            "summary": "One page of campaign panels: inventory bands, transfers, suspension, "
            "agents, progress and the controls each status allows",
            "parameters": [
                *page_params(MAX_PAGE),
                {
                    "name": "sort",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(SORTS)},
                },
                {
                    "name": "order",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["asc", "desc"]},
                },
                {
                    "name": "ids",
                    "in": "query",
                    "required": False,
                    "description": "only these campaigns (comma-separated ids, at most 500)",
                    "schema": {"type": "string", "pattern": "^[0-9]{1,15}(,[0-9]{1,15}){0,499}$"},
                },
            ],
            "responses": {
                "200": json_response(
                    "the panels",
                    {
                        "type": "object",
                        "required": ["at", "total", "offset", "limit", "campaigns", "may_steer"],
                        "properties": {
                            "may_steer": {"type": "boolean"},
                            "at": {"type": "number"},
                            "total": _COUNT,
                            "offset": _COUNT,
                            "limit": _COUNT,
                            "campaigns": {"type": "array", "items": PANEL},
                        },
                    },
                ),
                "422": error_response("a query parameter is invalid; `fields` names it"),
            },
        }
    }
}
