"""The live status page, its websocket and the health check."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from pbx_dialer.auth.model import User
from pbx_dialer.auth.visibility import may_receive, visible
from pbx_dialer.http import keys
from pbx_dialer.http.auth import current_user
from pbx_dialer.http.websockets import Viewer, serve_page
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows


async def _status(app: web.Application, user: User) -> dict[str, Any]:
    """The picture, limited to the campaigns of the user's profile (and no campaign list
    at all without the Campaigns privilege)."""
    db = app[keys.db_key]
    dialer = app[keys.dialer_key]
    campaigns = []
    for campaign in await campaign_rows.list_all(db):
        if not (user.may_list_campaigns and user.may_see(campaign.id)):
            continue
        campaigns.append(
            {**campaign.to_json(), "records": await record_rows.counts(db, campaign.id)}
        )
    return {
        "pbx": [
            {"name": p.name, "state": p.client.state.value, "detail": p.describe()}
            for p in app[keys.pbxs_key].values()
        ],
        "campaigns": campaigns,
        "live": visible(
            user, [c.to_json() for c in sorted(dialer.live.values(), key=lambda c: c.attempt_id)]
        ),
        "attempts": visible(user, await attempt_rows.recent(db, 50)),
    }


@aiohttp_jinja2.template("status.html")
async def index(request: web.Request) -> dict[str, Any]:
    return await _status(request.app, current_user(request))


async def snapshot(request: web.Request) -> web.Response:
    return web.json_response(await _status(request.app, current_user(request)))


async def healthz(request: web.Request) -> web.Response:
    db_ok = await request.app[keys.db_key].healthy()
    pbxs = {p.name: p.describe() for p in request.app[keys.pbxs_key].values()}
    ami_ok = all(p.ready for p in request.app[keys.pbxs_key].values())
    body = {"ok": db_ok and ami_ok, "database": "ok" if db_ok else "failing", "ami": pbxs}
    return web.json_response(body, status=200 if db_ok and ami_ok else 503)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    user = current_user(request)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    subscription = request.app[keys.notifier_key].subscribe()
    # The first message is the whole picture; every later one is a change.
    await ws.send_json({"type": "snapshot", **await _status(request.app, user)})
    viewer = Viewer(user)

    async def pump() -> None:
        async for message in subscription:
            if ws.closed:
                return
            if may_receive(viewer.user, message):
                await ws.send_json(message)

    return await serve_page(request, ws, subscription, viewer, pump())


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/status": {
        "get": {
            "summary": "What the live status page shows: PBX links, campaigns, calls, attempts",
            "responses": {
                "200": {
                    "description": "the whole picture",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["pbx", "campaigns", "live", "attempts"],
                                "properties": {
                                    "pbx": {"type": "array", "items": {"type": "object"}},
                                    "campaigns": {"type": "array", "items": {"type": "object"}},
                                    "live": {"type": "array", "items": {"type": "object"}},
                                    "attempts": {"type": "array", "items": {"type": "object"}},
                                },
                            }
                        }
                    },
                }
            },
        }
    }
}
