"""The campaign details page and the JSON it reads: the nested pie, customers, delivery
results, record status, real-time metrics, a record's attempts and their recordings.

Handlers parse and check the query, ask pbx_dialer.campaigns.details, and answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from pbx_dialer.campaigns.details import (
    CUSTOMER_RESULTS,
    MEDIA,
    OUTER,
    PERIODS,
    WRAPUP_S,
    BadQuery,
    CampaignDetails,
    Period,
    media_filter,
    period,
)
from pbx_dialer.campaigns.model import Campaign
from pbx_dialer.campaigns.service import CampaignNotFound
from pbx_dialer.http import keys
from pbx_dialer.http.auth import current_user
from pbx_dialer.http.campaigns import RECORD_ID_PARAM, path_id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import (
    ID_PARAM,
    NETWORK_FIELDS,
    error_response,
    json_response,
    page_params,
)
from pbx_dialer.http.records import BadInput, _record_filter, int_param, pattern_param
from pbx_dialer.storage import details as detail_rows

# Where each PBX's MixMonitor files are (its astspooldir/monitor), by PBX name. Set by
# whoever builds the app (tests); else each [[pbx]] entry's `recordings_dir` when the
# settings have one. A PBX with neither has no recording to download.
recordings_key: web.AppKey[dict[str, Path]] = web.AppKey("recordings_dirs")

CUSTOMER_PAGE = 25
MAX_CUSTOMER_PAGE = 500
DELIVERY_LIMIT = 100
MAX_DELIVERY_LIMIT = 1000
# What a recording file's extension says about its content (MixMonitor writes .wav).
CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".wav49": "audio/x-gsm",
    ".gsm": "audio/x-gsm",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".sln": "audio/basic",
}


async def _campaign(request: web.Request) -> Campaign:
    """The campaign of the URL; 404 when it does not exist or the user may not see it."""
    campaign_id = path_id(request)
    # The auth middleware already answers 404 for hidden campaigns; this keeps the
    # handler safe on its own.
    if not current_user(request).may_see(campaign_id):
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return await request.app[keys.campaigns_key].get(campaign_id)


def _details(request: web.Request) -> CampaignDetails:
    return CampaignDetails(request.app[keys.campaigns_key], request.app[keys.dialer_key])


async def _window(request: web.Request, campaign: Campaign) -> Period:
    details = _details(request)
    now = details.campaigns.clock()
    q = request.query
    return period(
        q.get("period"), q.get("since"), q.get("until"), now, await details.day_start(campaign, now)
    )


@aiohttp_jinja2.template("campaign_details.html")
async def page(request: web.Request) -> dict[str, Any]:
    # A missing campaign and one outside the user's profile answer the same 404.
    campaign = await _campaign(request)
    user = current_user(request)
    details = _details(request)
    now = details.campaigns.clock()
    return {
        "campaign": campaign.to_json(),
        "may_steer": user.may_steer,
        "day_start": await details.day_start(campaign, now),
        "outer": OUTER,
        "periods": PERIODS,
        "media": MEDIA,
        "wrapup_s": int(WRAPUP_S),
    }


async def pie(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    return web.json_response(await _details(request).pie(campaign))


async def customers(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    query = {
        k: request.query[k] for k in ("q", "name", "phone", "external_id") if k in request.query
    }
    try:
        where = _record_filter(query)
        limit = int_param(request, "limit", CUSTOMER_PAGE, 1, MAX_CUSTOMER_PAGE)
        offset = int_param(request, "offset", 0, 0, 100_000_000)
    except BadInput as exc:
        return json_error(400, "invalid customer search", exc.fields)
    return web.json_response(await _details(request).customers(campaign, where, limit, offset))


async def record_attempts(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    record_id = path_id(request, "record_id")
    found = await _details(request).record_attempts(campaign, record_id)
    if found is None:
        return json_error(404, f"campaign {campaign.id} has no record {record_id}")
    return web.json_response(found)


async def delivery(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    try:
        window = await _window(request, campaign)
        media = media_filter(request.query.get("media"))
        limit = int_param(request, "limit", DELIVERY_LIMIT, 1, MAX_DELIVERY_LIMIT)
    except BadQuery as exc:
        return json_error(400, "invalid delivery query", {exc.field: str(exc)})
    except BadInput as exc:
        return json_error(400, "invalid delivery query", exc.fields)
    return web.json_response(await _details(request).delivery(campaign, window, media, limit))


async def record_status(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    try:
        window = await _window(request, campaign)
    except BadQuery as exc:
        return json_error(400, "invalid record status query", {exc.field: str(exc)})
    return web.json_response(await _details(request).record_status(campaign, window))


async def realtime(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    return web.json_response(await _details(request).realtime(campaign))


def recordings_dir(app: web.Application, pbx: str) -> Path | None:
    dirs = app.get(recordings_key)
    if dirs is not None and pbx in dirs:
        return dirs[pbx]
    for settings in app[keys.settings_key].pbx:
        configured = str(getattr(settings, "recordings_dir", "") or "")
        if settings.name == pbx and configured:
            return Path(configured)
    return None


async def recording(request: web.Request) -> web.StreamResponse:
    """The attempt's recording as a download, with the content type its name says."""
    attempt_id = path_id(request)
    found = await detail_rows.recording_of(request.app[keys.db_key], attempt_id)
    user = current_user(request)
    if found is None or not user.may_see(int(found["campaign_id"])):
        return json_error(404, f"no attempt {attempt_id}")
    if not found["recording"]:
        return json_error(404, f"attempt {attempt_id} was not recorded")
    base = recordings_dir(request.app, str(found["pbx"]))
    if base is None:
        return json_error(404, f"recordings of PBX {found['pbx']!r} are not reachable here")
    name = str(found["recording"])
    root = base.resolve()
    path = (root / name).resolve()
    # The name comes from the PBX: never serve anything outside the recordings directory.
    if Path(name).is_absolute() or not path.is_relative_to(root) or path == root:
        return json_error(403, "the recording's path is outside the recordings directory")
    if not path.is_file():
        return json_error(404, f"the recording of attempt {attempt_id} is not there (any more)")
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{path.name}"',
        },
    )


# -- OpenAPI --------------------------------------------------------------------------

_NOT_FOUND = error_response("no such campaign")
_BAD_QUERY = error_response("a bad query parameter; `fields` names it")
_NUM = {"type": "number"}
_NULL_NUM = {"type": "number", "nullable": True}
_NULL_STR = {"type": "string", "nullable": True}
_INT = {"type": "integer"}


def _obj(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_MOMENT = {"description": "ISO 8601 date-time with UTC offset, or epoch seconds", "type": "string"}
_PERIOD_PARAMS: list[dict[str, Any]] = [
    {
        "name": "period",
        "in": "query",
        "required": False,
        "description": "today (since midnight in the call centre's zone), 24h, 7d or custom",
        "schema": {"type": "string", "enum": list(PERIODS)},
    },
    {"name": "since", "in": "query", "required": False, "schema": _MOMENT},
    {"name": "until", "in": "query", "required": False, "schema": _MOMENT},
]
_WINDOW = {
    "period": {"type": "string", "enum": list(PERIODS)},
    "since": _NUM,
    "until": _NUM,
}
_PART = _obj(
    ["key", "label", "count", "pct"],
    {"key": {"type": "string"}, "label": {"type": "string"}, "count": _INT, "pct": _NUM},
)
_PIE = _obj(
    ["campaign_id", "total", "segments"],
    {
        "campaign_id": _INT,
        "total": _INT,
        "segments": {
            "type": "array",
            "items": _obj(
                ["key", "label", "count", "pct", "parts"],
                {
                    "key": {"type": "string", "enum": [k for k, _ in OUTER]},
                    "label": {"type": "string"},
                    "count": _INT,
                    "pct": _NUM,
                    "parts": {"type": "array", "items": _PART},
                },
            ),
        },
    },
)
_CUSTOMER = _obj(
    ["id", "name", "phones", "result", "time", "time_kind", "call_result", "classification"],
    {
        "id": _INT,
        "name": {"type": "string"},
        "phones": {
            "type": "array",
            "items": _obj(
                ["phone", "attempts", "last_result", "next"],
                {
                    "phone": {"type": "string"},
                    "attempts": _INT,
                    "last_result": {**_NULL_STR, "description": "of its latest attempt"},
                    "next": {
                        "type": "boolean",
                        "description": "the number the record's next attempt dials",
                    },
                },
            ),
        },
        "result": {"type": "string", "enum": list(CUSTOMER_RESULTS)},
        "time": _NULL_NUM,
        "time_kind": {"type": "string", "enum": ["next", "since", "handled", "held"]},
        "call_result": _NULL_STR,
        "classification": _NULL_STR,
        "external_id": _NULL_STR,
        "reason": {"type": "string"},
        "state": {"type": "string"},
        "attempts": _INT,
        "dial_mode": {**_NULL_STR, "description": "only when it differs from the campaign's"},
    },
)


_ATTEMPT = _obj(
    ["id", "phone", "state", "placed_at", "recording"],
    {
        "id": _INT,
        "record_id": _INT,
        "record_name": {"type": "string"},
        "phone": {"type": "string"},
        "state": {"type": "string"},
        "result": _NULL_STR,
        "cause": {"type": "string"},
        "agent": _NULL_STR,
        "classification": _NULL_STR,
        "media": {"type": "string", "enum": list(detail_rows.MEDIA_TYPES)},
        "placed_at": _NUM,
        "answered_at": _NULL_NUM,
        "ended_at": _NULL_NUM,
        "talk_s": _NULL_NUM,
        "recording": {**_NULL_STR, "description": "download it from /api/attempts/{id}/recording"},
        **{k: v for k, v in NETWORK_FIELDS.items() if k != "result"},
    },
)
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
_AGENT_STATES = ("logged_in", "idle", "on_call", "wrapup", "paused")
_CALL_PHASES = ("ringing", "waiting", "talking", "queue_waiting")
_ABANDON = _obj(
    ["answered", "abandoned", "pct"], {"answered": _INT, "abandoned": _INT, "pct": _NUM}
)

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/campaigns/{id}/pie": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "The nested pie: Handled / Max. Calls / Filtered / Not Handled, and "
            "the classifications and current results behind each",
            "responses": {"200": json_response("the pie's segments", _PIE), "404": _NOT_FOUND},
        },
    },
    "/api/campaigns/{id}/customers": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "The Customers tab: records with their current result, searched and paged",
            "parameters": [
                pattern_param("q", "name, phone or external id"),
                pattern_param("name", "name"),
                pattern_param("phone", "phone number"),
                pattern_param("external_id", "external id"),
                *page_params(MAX_CUSTOMER_PAGE),
            ],
            "responses": {
                "200": json_response(
                    "one page of customers",
                    _obj(
                        ["campaign_id", "dial_mode", "customers", "total", "limit", "offset"],
                        {
                            "campaign_id": _INT,
                            "dial_mode": {"type": "string"},
                            "customers": {"type": "array", "items": _CUSTOMER},
                            "total": _INT,
                            "limit": _INT,
                            "offset": _INT,
                        },
                    ),
                ),
                "400": _BAD_QUERY,
                "404": _NOT_FOUND,
            },
        },
    },
    "/api/campaigns/{id}/records/{record_id}/attempts": {
        "parameters": [
            ID_PARAM,
            RECORD_ID_PARAM,
        ],
        "get": {
            "summary": "Every attempt made to a record (each of its numbers), newest first",
            "responses": {
                "200": json_response(
                    "the attempts",
                    _obj(
                        ["campaign_id", "record_id", "attempts"],
                        {
                            "campaign_id": _INT,
                            "record_id": _INT,
                            "attempts": {"type": "array", "items": _ATTEMPT},
                        },
                    ),
                ),
                "404": error_response("no such campaign or record"),
            },
        },
    },
    "/api/campaigns/{id}/delivery": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "Delivery results: attempts placed in a period, of one media type or all",
            "parameters": [
                *_PERIOD_PARAMS,
                {
                    "name": "media",
                    "in": "query",
                    "required": False,
                    "description": "agent (calls for agents), message (agentless) or all",
                    "schema": {"type": "string", "enum": list(MEDIA)},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERY_LIMIT},
                },
            ],
            "responses": {
                "200": json_response(
                    "counts per result and classification, and the latest attempts",
                    _obj(
                        ["campaign_id", "period", "since", "until", "media", "total", "results"],
                        {
                            "campaign_id": _INT,
                            **_WINDOW,
                            "media": {"type": "string", "enum": list(MEDIA)},
                            "total": _INT,
                            "results": _COUNTS,
                            "classifications": _COUNTS,
                            "network": {
                                "type": "array",
                                "description": "ended attempts per result, SIP response "
                                "and Q.850 cause",
                                "items": _obj(
                                    ["result", "sip_status", "cause_code", "n"],
                                    {**NETWORK_FIELDS, "n": _INT},
                                ),
                            },
                            "attempts": {"type": "array", "items": _ATTEMPT},
                        },
                    ),
                ),
                "400": _BAD_QUERY,
                "404": _NOT_FOUND,
            },
        },
    },
    "/api/campaigns/{id}/record-status": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "Records loaded in a period (per contact list) and the inventory now",
            "parameters": _PERIOD_PARAMS,
            "responses": {
                "200": json_response(
                    "loaded records and inventory bands",
                    _obj(
                        ["campaign_id", "period", "since", "until", "loaded", "inventory"],
                        {
                            "campaign_id": _INT,
                            **_WINDOW,
                            "loaded_total": _INT,
                            "loaded": {
                                "type": "array",
                                "items": _obj(
                                    ["n", "source"],
                                    {
                                        "list_id": {"type": "integer", "nullable": True},
                                        "list_name": {"type": "string"},
                                        "source": {"type": "string"},
                                        "enabled": {"type": "boolean"},
                                        "import_id": {"type": "integer", "nullable": True},
                                        "n": _INT,
                                        "first_at": _NUM,
                                        "last_at": _NUM,
                                    },
                                ),
                            },
                            "inventory": _obj(
                                ["total", "bands", "states"],
                                {"at": _NUM, "total": _INT, "bands": _COUNTS, "states": _COUNTS},
                            ),
                        },
                    ),
                ),
                "400": _BAD_QUERY,
                "404": _NOT_FOUND,
            },
        },
    },
    "/api/campaigns/{id}/realtime": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "Agents of the campaign's queue, its calls, dial level and abandonment",
            "responses": {
                "200": json_response(
                    "the metrics now",
                    _obj(
                        ["campaign_id", "agents", "calls", "dial_level", "abandonment"],
                        {
                            "campaign_id": _INT,
                            "at": _NUM,
                            "day_start": _NUM,
                            "status": {"type": "string"},
                            "queue": {"type": "string"},
                            "agents": _obj(
                                list(_AGENT_STATES),
                                {
                                    k: _INT
                                    for k in ("logged_in", "idle", "on_call", "wrapup", "paused")
                                },
                            ),
                            "calls": _obj(
                                list(_CALL_PHASES),
                                {
                                    k: _INT
                                    for k in ("ringing", "waiting", "talking", "queue_waiting")
                                },
                            ),
                            "lines": _INT,
                            "max_lines": _INT,
                            "dial_level": {
                                **_NULL_NUM,
                                "description": "lines held per logged-in, unpaused agent",
                            },
                            "abandonment": _obj(
                                ["today", "30d", "max_pct"],
                                {"today": _ABANDON, "30d": _ABANDON, "max_pct": _NUM},
                            ),
                        },
                    ),
                ),
                "404": _NOT_FOUND,
            },
        },
    },
    "/api/attempts/{id}/recording": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "Download the attempt's recording",
            "responses": {
                "200": {
                    "description": "the recording file",
                    "content": {
                        t: {"schema": {"type": "string", "format": "binary"}}
                        for t in sorted({*CONTENT_TYPES.values(), "application/octet-stream"})
                    },
                },
                "403": error_response("the stored name points outside the recordings directory"),
                "404": error_response("no such attempt, not recorded, or the file is gone"),
            },
        },
    },
}
