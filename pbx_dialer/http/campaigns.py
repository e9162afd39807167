"""Campaign API handlers: parse, call the service, answer JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from pbx_dialer.campaigns.model import (
    DIAL_MODES,
    NEXT_NUMBER_ON,
    NEXT_NUMBER_RESULTS,
    CampaignSettings,
    CampaignStatus,
    Control,
    ValidationError,
)
from pbx_dialer.dialing import why
from pbx_dialer.http import keys
from pbx_dialer.http.auth import current_user
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import (
    ID_PARAM,
    NETWORK_FIELDS,
    error_response,
    json_body,
    json_response,
)
from pbx_dialer.rules import load_pack
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows

# SQLite's largest integer: an id beyond it cannot exist, so it is answered like any
# unknown id (binding it would raise OverflowError).
SQLITE_MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(SQLITE_MAX_ID))


def path_id(request: web.Request, name: str = "id") -> int:
    """A numeric id from the URL; one beyond SQLite's range is simply not found. The
    digits are counted before int(): Python refuses more than 4300 (ValueError)."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > _MAX_DIGITS:
        raise web.HTTPNotFound(reason=f"no such {name}")
    value = int(raw)
    if value > SQLITE_MAX_ID:
        raise web.HTTPNotFound(reason=f"no such {name}")
    return value


_id = path_id


def actor_of(request: web.Request) -> str:
    """Who made the request, for the history: the authenticated user (or their named
    API token). A header or body field naming someone else is never taken."""
    return current_user(request).actor


async def _body(request: web.Request) -> Any:
    return await request.json()


def _moment(body: dict[str, Any], key: str) -> float | None:
    """An ISO 8601 date-time with its UTC offset, or null."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError({key: "must be an ISO 8601 date-time with offset, or null"})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError({key: f"not an ISO 8601 date-time: {value[:40]!r}"}) from None
    if moment.tzinfo is None:
        raise ValidationError({key: "must carry its UTC offset, e.g. 2026-11-23T18:00:00+01:00"})
    return moment.timestamp()


async def list_campaigns(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    items = await campaign_rows.list_all(service.db)
    user = current_user(request)  # only the campaigns of the user's Campaigns profile
    return web.json_response({"campaigns": [c.to_json() for c in items if user.may_see(c.id)]})


async def create_campaign(request: web.Request) -> web.Response:
    settings = CampaignSettings.from_json(await _body(request))
    campaign = await request.app[keys.campaigns_key].create(settings)
    return web.json_response(campaign.to_json(), status=201)


async def get_campaign(request: web.Request) -> web.Response:
    return web.json_response(await request.app[keys.campaigns_key].summary(_id(request)))


async def edit_campaign(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    current = await service.get(_id(request))
    settings = CampaignSettings.from_json(await _body(request), base=current.settings)
    campaign = await service.edit(current.id, settings, actor=actor_of(request))
    return web.json_response(campaign.to_json())


async def clone_campaign(request: web.Request) -> web.Response:
    body = await _body(request) if request.can_read_body else {}
    if not isinstance(body, dict) or set(body) - {"name"}:
        raise ValidationError({"body": 'expected {} or {"name": "..."}'})
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationError({"name": "must be a string"})
    campaign = await request.app[keys.campaigns_key].clone(_id(request), name, actor_of(request))
    return web.json_response(campaign.to_json(), status=201)


async def control(request: web.Request) -> web.Response:
    control = Control(request.path.rstrip("/").rsplit("/", 1)[-1])
    campaign = await request.app[keys.campaigns_key].control(
        _id(request), control, actor=actor_of(request)
    )
    return web.json_response(campaign.to_json())


async def suspend(request: web.Request) -> web.Response:
    body = await _body(request) if request.can_read_body else {}
    if not isinstance(body, dict):
        raise ValidationError({"body": "expected a JSON object"})
    unknown = set(body) - {"resume_at", "reminder_at", "reminder_to"}
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "unknown field"})
    reminder_to = body.get("reminder_to")
    if reminder_to is not None and not isinstance(reminder_to, str):
        raise ValidationError({"reminder_to": "must be an email address"})
    campaign = await request.app[keys.campaigns_key].suspend(
        _id(request),
        actor_of(request),
        resume_at=_moment(body, "resume_at"),
        reminder_at=_moment(body, "reminder_at"),
        reminder_to=reminder_to,
    )
    return web.json_response(campaign.to_json())


async def resume(request: web.Request) -> web.Response:
    campaign = await request.app[keys.campaigns_key].control(
        _id(request), Control.PLAY, actor=actor_of(request), action="resume"
    )
    return web.json_response(campaign.to_json())


async def history(request: web.Request) -> web.Response:
    actions = await request.app[keys.campaigns_key].history(_id(request))
    return web.json_response({"actions": actions})


async def why_not_dialing(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    dialer = request.app[keys.dialer_key]
    reasons = await why.campaign_reasons(service.db, dialer, campaign, service.clock())
    live = sum(1 for c in dialer.live.values() if c.campaign_id == campaign.id)
    return web.json_response(why.as_json(reasons, live))


async def why_record_not_dialed(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    dialer = request.app[keys.dialer_key]
    record_id = _id(request, "record_id")
    reasons = await why.record_reasons(service.db, dialer, campaign, record_id, service.clock())
    if reasons is None:
        raise web.HTTPNotFound(reason=f"campaign {campaign.id} has no record {record_id}")
    return web.json_response({"record_id": record_id, **why.as_json(reasons, 0)})


async def stats(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    return web.json_response(
        {
            "campaign_id": campaign.id,
            "max_abandon_pct": campaign.settings.max_abandon_pct,
            "abandonment": await attempt_rows.abandonment(service.db, campaign.id, service.clock()),
        }
    )


async def list_attempts(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    media = request.query.get("media")
    if media is not None and media not in attempt_rows.MEDIA:
        return json_error(
            400, "invalid query", {"media": f"must be one of {', '.join(attempt_rows.MEDIA)}"}
        )
    campaign = await service.get(_id(request))
    found = await attempt_rows.list_for(service.db, campaign.id, media=media)
    return web.json_response({"attempts": found})


# -- OpenAPI --------------------------------------------------------------------------

_NULLABLE_INT = {"type": "integer", "nullable": True, "minimum": 1}
_NULLABLE_STR = {"type": "string", "nullable": True}
SETTINGS_PROPERTIES: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 120},
    "description": {"type": "string", "maxLength": 2000},
    "queue": {"type": "string", "maxLength": 64},
    "queue_priority": {"type": "integer", "minimum": -100, "maximum": 100},
    "inbound_wait_limit_s": {"type": "integer", "minimum": 0, "maximum": 3600},
    "dial_mode": {"type": "string", "enum": list(DIAL_MODES)},
    "max_lines": {"type": "integer", "minimum": 1, "maximum": 1000},
    "dispatch_per_min": {"type": "integer", "minimum": 0, "maximum": 100000},
    "max_abandon_pct": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 100},
    "ring_timeout_s": {"type": "integer", "minimum": 15, "maximum": 120},
    "queue_timeout_s": {"type": "integer", "minimum": 1, "maximum": 3600},
    "caller_id": {"type": "string", "maxLength": 80},
    "recording": {"type": "boolean"},
    "agent_notes": {"type": "string", "maxLength": 10000},
    "max_attempts": {"type": "integer", "minimum": 1, "maximum": 100},
    "retry_rules": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "delay_s": {"type": "integer", "minimum": 0},
                "max_attempts": {"type": "integer", "minimum": 1},
            },
        },
    },
    "classifications": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["code", "label", "outcome"],
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z0-9_]{1,32}$"},
                "label": {"type": "string"},
                "outcome": {"type": "string", "enum": ["final", "retry", "callback", "dnc"]},
                "retry_delay_s": {"type": "integer", "minimum": 0},
            },
        },
    },
    "result_classifications": {"type": "object", "additionalProperties": {"type": "string"}},
    "cc_hour_code_id": _NULLABLE_INT,
    "consumer_hour_code_id": _NULLABLE_INT,
    "default_region": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "start_date": {**_NULLABLE_STR, "format": "date"},
    "end_date": {**_NULLABLE_STR, "format": "date"},
    "auto_start": {**_NULLABLE_STR, "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
    "auto_stop": {**_NULLABLE_STR, "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
    "pbx": {"type": "string", "maxLength": 32},
    "message": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_/-]{0,199}$"},
    "transfer_key": {"type": "string", "pattern": "^[0-9*]?$"},
    "amd": {"type": "boolean"},
    "preview_autodial_s": {"type": "integer", "minimum": 0, "maximum": 600},
    "abandon_rule": {
        "type": "string",
        "enum": ["tcpa", "ofcom"],
        "description": "how max_abandon_pct is counted: tcpa (abandoned / persons answered, "
        "30 days) or ofcom (with AMD false positives, live calls, 24 hours); also over the "
        "campaign's life so far",
    },
    "amd_false_positive_pct": {"type": "number", "minimum": 0, "maximum": 100},
    "calling_rules": {
        "type": "string",
        "enum": ["auto", *sorted(load_pack().sets)],
        "description": "the rules pack's set the dial gate checks (auto: by default_region)",
    },
    "number_caps": {
        "type": "array",
        "uniqueItems": True,
        "items": {"type": "string", "enum": sorted(load_pack().caps)},
        "description": "rolling per-number caps of the rules pack the campaign opts into",
    },
    "next_number_on": {
        "type": "array",
        "uniqueItems": True,
        "items": {"type": "string", "enum": list(NEXT_NUMBER_RESULTS)},
        "default": list(NEXT_NUMBER_ON),
        "description": "technical results after which a record's next attempt dials its "
        "next number, wrapping around ([]: always its first number); after INVALID that "
        "number is never dialed again for the record",
    },
    "max_attempts_per_number": {
        "type": "integer",
        "minimum": 0,
        "maximum": 100,
        "default": 0,
        "description": "attempts allowed per number of a record (0: no cap but max_attempts)",
    },
}
# Why the dialer paused the campaign by itself; null once its status changes again.
ALERT = {
    "type": "object",
    "nullable": True,
    "required": ["text", "at"],
    "properties": {"text": {"type": "string"}, "at": {"type": "number"}},
}
CAMPAIGN = {
    "type": "object",
    "required": ["id", "status", "name", "created_at", "updated_at", "suspended"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in CampaignStatus]},
        "created_at": {"type": "number"},
        "updated_at": {"type": "number"},
        "suspended": {"type": "boolean"},
        "suspension": {"type": "object", "nullable": True},
        "cloned_from": {"type": "integer", "nullable": True},
        "live": {"type": "boolean"},
        "alert": ALERT,
        "records": {"type": "object", "additionalProperties": {"type": "integer"}},
        **SETTINGS_PROPERTIES,
    },
}
_SETTINGS_BODY = {
    "type": "object",
    "properties": SETTINGS_PROPERTIES,
    "additionalProperties": False,
}
_CAMPAIGN_OK = json_response("the campaign", CAMPAIGN)
_NOT_FOUND = error_response("no such campaign")
_REFUSED = error_response("not allowed in the campaign's status")
_INVALID = error_response("invalid input; `fields` names each bad field")
RECORD_ID_PARAM: dict[str, Any] = {
    "name": "record_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
_BAD_JSON = error_response("the body is not JSON")

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/campaigns": {
        "get": {
            "summary": "List campaigns",
            "responses": {
                "200": json_response(
                    "campaigns",
                    {
                        "type": "object",
                        "properties": {"campaigns": {"type": "array", "items": CAMPAIGN}},
                    },
                )
            },
        },
        "post": {
            "summary": "Create a campaign (a Draft)",
            "requestBody": json_body({**_SETTINGS_BODY, "required": ["name"]}),
            "responses": {
                "201": _CAMPAIGN_OK,
                "400": _BAD_JSON,
                "409": error_response("the name is taken"),
                "422": _INVALID,
            },
        },
    },
    "/api/campaigns/{id}": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "A campaign with its record counts",
            "responses": {"200": _CAMPAIGN_OK, "404": _NOT_FOUND},
        },
        "patch": {
            "summary": "Edit settings; they take effect at once, also while it dials",
            "requestBody": json_body(_SETTINGS_BODY),
            "responses": {
                "200": _CAMPAIGN_OK,
                "400": _BAD_JSON,
                "404": _NOT_FOUND,
                "409": error_response("the name is taken, or the campaign has ended"),
                "422": _INVALID,
            },
        },
    },
    "/api/campaigns/{id}/clone": {
        "parameters": [ID_PARAM],
        "post": {
            "summary": "A new Draft with the same settings",
            "requestBody": json_body(
                {
                    "type": "object",
                    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 120}},
                    "additionalProperties": False,
                },
                required=False,
            ),
            "responses": {
                "201": _CAMPAIGN_OK,
                "400": _BAD_JSON,
                "404": _NOT_FOUND,
                "409": error_response("the name is taken"),
                "422": _INVALID,
            },
        },
    },
    "/api/campaigns/{id}/suspend": {
        "parameters": [ID_PARAM],
        "post": {
            "summary": "Pause an active campaign with an optional resume time and reminder",
            "requestBody": json_body(
                {
                    "type": "object",
                    "properties": {
                        "resume_at": {**_NULLABLE_STR, "format": "date-time"},
                        "reminder_at": {**_NULLABLE_STR, "format": "date-time"},
                        "reminder_to": {**_NULLABLE_STR, "format": "email"},
                    },
                    "additionalProperties": False,
                },
                required=False,
            ),
            "responses": {
                "200": _CAMPAIGN_OK,
                "400": _BAD_JSON,
                "404": _NOT_FOUND,
                "409": _REFUSED,
                "422": _INVALID,
            },
        },
    },
    "/api/campaigns/{id}/history": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "Every control action and edit, with who did it and when",
            "responses": {
                "200": json_response(
                    "actions",
                    {
                        "type": "object",
                        "properties": {
                            "actions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "action": {"type": "string"},
                                        "actor": {
                                            "type": "string",
                                            "description": "the logged-in user, 'user "
                                            "(token name)' for an API token, or the "
                                            "dialer's own: dialer, schedule, live-feed",
                                        },
                                        "at": {"type": "number"},
                                        "detail": {"type": "string"},
                                    },
                                },
                            }
                        },
                    },
                ),
                "404": _NOT_FOUND,
            },
        },
    },
    "/api/campaigns/{id}/attempts": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "The latest attempts of a campaign",
            "description": "Each attempt's `media` says what the called person got: an "
            "agent (`agent`) or a recorded message (`message`, agentless campaigns).",
            "parameters": [
                {
                    "name": "media",
                    "in": "query",
                    "required": False,
                    "description": "only the attempts of this media type",
                    "schema": {"type": "string", "enum": ["agent", "message"]},
                }
            ],
            "responses": {
                "200": json_response(
                    "attempts",
                    {
                        "type": "object",
                        "properties": {
                            "attempts": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "media": {"type": "string", "enum": ["agent", "message"]},
                                        **NETWORK_FIELDS,
                                        "wrapup_s": {
                                            "type": "number",
                                            "nullable": True,
                                            "minimum": 0,
                                            "description": "the agent's wrap-up: seconds "
                                            "from the call's end to its classification (0: "
                                            "classified during the call; null: not yet)",
                                        },
                                    },
                                },
                            }
                        },
                    },
                ),
                "400": error_response("`media` is not agent or message"),
                "404": _NOT_FOUND,
            },
        },
    },
}
OPENAPI_PATHS["/api/campaigns/{id}/why"] = {
    "parameters": [ID_PARAM],
    "get": {
        "summary": "Why the campaign is not placing calls right now",
        "description": "placing_calls is false when a reason stops new calls; a reason "
        "that only slows them (code abandon_cap: the abandonment cap holds a power or "
        "predictive campaign to one call per idle agent) leaves it true.",
        "responses": {
            "200": json_response(
                "reasons",
                {
                    "type": "object",
                    "required": ["placing_calls", "live_calls", "reasons"],
                    "properties": {
                        "placing_calls": {"type": "boolean"},
                        "live_calls": {"type": "integer"},
                        "reasons": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["code", "text"],
                                "properties": {
                                    "code": {"type": "string"},
                                    "text": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            ),
            "404": _NOT_FOUND,
        },
    },
}
OPENAPI_PATHS["/api/campaigns/{id}/records/{record_id}/why"] = {
    "parameters": [
        ID_PARAM,
        RECORD_ID_PARAM,
    ],
    "get": {
        "summary": "Why this record is not being dialed now",
        "responses": {
            "200": OPENAPI_PATHS["/api/campaigns/{id}/why"]["get"]["responses"]["200"],
            "404": error_response("no such campaign or record"),
        },
    },
}
_WINDOW = {
    "type": "object",
    "properties": {
        "answered": {"type": "integer"},
        "abandoned": {"type": "integer"},
        "pct": {"type": "number"},
    },
}
OPENAPI_PATHS["/api/campaigns/{id}/stats"] = {
    "parameters": [ID_PARAM],
    "get": {
        "summary": "Abandonment over the rolling last 24 hours and 30 days",
        "responses": {
            "200": json_response(
                "statistics",
                {
                    "type": "object",
                    "properties": {
                        "campaign_id": {"type": "integer"},
                        "max_abandon_pct": {"type": "number"},
                        "abandonment": {
                            "type": "object",
                            "properties": {"24h": _WINDOW, "30d": _WINDOW},
                        },
                    },
                },
            ),
            "404": _NOT_FOUND,
        },
    },
}
for _control, _summary in (
    ("play", "Start, or unpause"),
    ("pause", "Pause"),
    ("stop", "Stop for good"),
    ("resume", "Resume a paused or suspended campaign"),
):
    OPENAPI_PATHS[f"/api/campaigns/{{id}}/{_control}"] = {
        "parameters": [ID_PARAM],
        "post": {
            "summary": _summary,
            "responses": {"200": _CAMPAIGN_OK, "404": _NOT_FOUND, "409": _REFUSED},
        },
    }
