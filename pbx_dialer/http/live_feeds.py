"""Live-feed API handlers (PUT/GET/DELETE /api/campaigns/{id}/feed) and the cleanup
context that runs the feeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.campaigns.model import ValidationError
from pbx_dialer.campaigns.service import CampaignNotFound
from pbx_dialer.crm.feed import FeedNotFound, FeedService
from pbx_dialer.crm.settings import (
    MAX_POLL_S,
    MAX_TIMEOUT_S,
    MIN_POLL_S,
    MIN_TIMEOUT_S,
    FeedSettings,
)
from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import path_id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ERROR as _ERROR
from pbx_dialer.http.openapi import ID_PARAM as _ID_PARAM
from pbx_dialer.http.openapi import json_content as _json

feeds_key = web.AppKey("live_feeds", FeedService)


async def live_feeds_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after dialer_ctx: it needs the campaign service, the PBXs and the dialer."""
    dialer = app[keys.dialer_key]
    pbxs: dict[str, Pbx] = app[keys.pbxs_key]
    feeds = FeedService(
        app[keys.db_key],
        app[keys.campaigns_key],
        pbxs,
        app[keys.notifier_key],
        app[keys.clock_key],
        on_records=dialer.wake,
        check_s=min(1.0, app[keys.settings_key].dialer.tick_seconds * 2),
        # The third reason to pause by itself: no record inside its calling window.
        window_check=dialer.any_in_calling_window,
    )
    app[feeds_key] = feeds
    await feeds.start()
    yield
    await feeds.close()


_MAX_ID = 2**63 - 1


def _id(request: web.Request) -> int:
    campaign_id = path_id(request)
    if campaign_id > _MAX_ID:  # more than SQLite holds: no such campaign
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return campaign_id


async def put_feed(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return json_error(400, "body is not valid JSON")
    try:
        settings = FeedSettings.from_json(body)
    except ValidationError as exc:
        return json_error(422, "invalid live feed", exc.errors)
    status, created = await request.app[feeds_key].put(_id(request), settings)
    return web.json_response(status, status=201 if created else 200)


async def get_feed(request: web.Request) -> web.Response:
    try:
        return web.json_response(await request.app[feeds_key].status(_id(request)))
    except FeedNotFound as exc:
        return json_error(404, str(exc))


async def delete_feed(request: web.Request) -> web.Response:
    try:
        await request.app[feeds_key].delete(_id(request))
    except FeedNotFound as exc:
        return json_error(404, str(exc))
    return web.json_response({"deleted": True})


_NUMBER_OR_NULL = {"type": "number", "nullable": True}
_FEED_STATUS = {
    "type": "object",
    "required": ["campaign_id", "url", "poll_s", "state", "contacts", "unbounded"],
    "properties": {
        "campaign_id": {"type": "integer"},
        "url": {"type": "string"},
        "poll_s": {"type": "number"},
        "timeout_s": {"type": "number"},
        "cursor": {"type": "string"},
        "state": {"type": "string", "enum": ["new", "ok", "failing"]},
        "last_error": {"type": "string"},
        "failures": {"type": "integer"},
        "last_poll_at": _NUMBER_OR_NULL,
        "last_ok_at": _NUMBER_OR_NULL,
        "next_poll_at": _NUMBER_OR_NULL,
        "auto_paused": {
            "type": "string",
            "enum": ["", "no-agents", "no-records", "outside-window"],
        },
        "auto_paused_reason": {"type": "string"},
        "list_id": {"type": "integer", "nullable": True},
        "taken": {"type": "integer", "description": "records taken from the CRM so far"},
        "skipped": {"type": "integer", "description": "invalid items skipped so far"},
        "duplicates": {
            "type": "integer",
            "description": "items ignored: their external_id was in the campaign already",
        },
        "last_skips": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"index": {"type": "integer"}, "reason": {"type": "string"}},
            },
        },
        "contacts": {
            "nullable": True,
            "description": "always null: a live campaign's contact count is unbounded",
        },
        "unbounded": {"type": "boolean", "enum": [True]},
        "campaign_status": {"type": "string"},
        "records": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/campaigns/{id}/feed": {
        "parameters": [_ID_PARAM],
        "put": {
            "summary": "Create or edit the campaign's live CRM feed",
            "description": (
                "The dialer polls GET <url>?cursor=<cursor> every poll_s seconds. The CRM "
                'answers {"records": [{"phone": ..., "name": ..., "external_id": ..., '
                '"timezone": ..., "notes": ..., "phones": [...], ...}], "next_cursor": ..., '
                '"has_more": false}. Records and cursor are stored together; a record '
                "whose external_id the campaign holds is ignored. A new url restarts "
                "from an empty cursor."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["url"],
                            "additionalProperties": False,
                            "properties": {
                                "url": {
                                    "type": "string",
                                    "format": "uri",
                                    "maxLength": 2000,
                                    "description": "http:// or https:// URL of the CRM",
                                },
                                "poll_s": {
                                    "type": "number",
                                    "minimum": MIN_POLL_S,
                                    "maximum": MAX_POLL_S,
                                    "default": 30,
                                },
                                "timeout_s": {
                                    "type": "number",
                                    "minimum": MIN_TIMEOUT_S,
                                    "maximum": MAX_TIMEOUT_S,
                                    "default": 10,
                                },
                                "cursor": {
                                    "type": "string",
                                    "nullable": True,
                                    "maxLength": 1000,
                                    "description": "set the cursor (rewind or skip ahead)",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_FEED_STATUS, "feed edited"),
                "201": _json(_FEED_STATUS, "feed created"),
                "400": _json(_ERROR, "body is not JSON"),
                "404": _json(_ERROR, "no such campaign"),
                "422": _json(_ERROR, "invalid feed settings, with the reason per field"),
            },
        },
        "get": {
            "summary": "The feed's status: state, last error, counters, auto-pause reason",
            "responses": {
                "200": _json(_FEED_STATUS, "the feed"),
                "404": _json(_ERROR, "no such campaign, or it has no feed"),
            },
        },
        "delete": {
            "summary": "Stop feeding the campaign (its records stay)",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["deleted"],
                        "properties": {"deleted": {"type": "boolean"}},
                    },
                    "feed deleted",
                ),
                "404": _json(_ERROR, "no such campaign, or it has no feed"),
            },
        },
    }
}
