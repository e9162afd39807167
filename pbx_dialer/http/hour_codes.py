"""Hour-code API handlers: CRUD, and a check of any instant and zone (for admins and tests)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pbx_dialer.campaigns import hours
from pbx_dialer.campaigns.hours import HourCode, HourCodeInvalid, UnknownZone
from pbx_dialer.campaigns.timezones import candidate_zones, resolve_zone, valid_zone
from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import path_id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ERROR as _ERROR
from pbx_dialer.http.openapi import ID_PARAM as _ID_PARAM
from pbx_dialer.http.openapi import json_content as _json
from pbx_dialer.storage import hour_codes as rows
from pbx_dialer.storage.hour_codes import HourCodeInUse, HourCodeNameTaken

_E164_RE = re.compile(r"^\+[1-9][0-9]{1,14}\Z")
# Years outside this range would overflow datetime while looking a year ahead.
_MIN_YEAR, _MAX_YEAR = 1900, 9000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _BadRequest(ValueError):
    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields


def _answers_errors(handler: Handler) -> Handler:
    """Map this feature's errors to clear JSON answers (the shared middleware does not
    know them)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _BadRequest as exc:
            return json_error(400, str(exc), exc.fields)
        except HourCodeInvalid as exc:
            return json_error(422, "invalid hour code", exc.errors)
        except HourCodeNameTaken as exc:
            return json_error(
                409, f"an hour code named {str(exc)!r} exists already", {"name": "taken"}
            )
        except HourCodeInUse as exc:
            used = ", ".join(str(i) for i in exc.campaign_ids)
            message = f"hour code in use by campaigns {used}; give them another code first"
            return web.json_response({"error": message, "campaigns": exc.campaign_ids}, status=409)

    return wrapped


def _id(request: web.Request) -> int:
    # path_id counts the digits first: an id beyond SQLite's range is simply not found.
    try:
        return path_id(request)
    except web.HTTPNotFound:
        raise web.HTTPNotFound(reason="no such hour code") from None


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _BadRequest("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _BadRequest(f"body is not valid JSON: {exc.msg} at line {exc.lineno}") from None


async def _stored(request: web.Request) -> rows.StoredHourCode:
    found = await rows.get(request.app[keys.db_key], _id(request))
    if found is None:
        raise web.HTTPNotFound(reason=f"no hour code {_id(request)}")
    return found


def _now(request: web.Request) -> float:
    return request.app[keys.clock_key]()


@_answers_errors
async def list_hour_codes(request: web.Request) -> web.Response:
    items = await rows.list_all(request.app[keys.db_key])
    return web.json_response({"hour_codes": [item.to_json() for item in items]})


@_answers_errors
async def create_hour_code(request: web.Request) -> web.Response:
    code = HourCode.from_json(await _body(request))
    stored = await rows.create(request.app[keys.db_key], code, _now(request))
    return web.json_response(stored.to_json(), status=201)


@_answers_errors
async def get_hour_code(request: web.Request) -> web.Response:
    return web.json_response((await _stored(request)).to_json())


@_answers_errors
async def edit_hour_code(request: web.Request) -> web.Response:
    """PATCH: only the fields given change; the result is validated as a whole."""
    db = request.app[keys.db_key]
    current = await _stored(request)
    code = HourCode.from_json(await _body(request), base=current.code)
    if not await rows.update(db, current.id, code, _now(request)):
        raise web.HTTPNotFound(reason=f"no hour code {current.id}")
    return web.json_response((await _stored(request)).to_json())


@_answers_errors
async def delete_hour_code(request: web.Request) -> web.Response:
    if not await rows.delete(request.app[keys.db_key], _id(request)):
        raise web.HTTPNotFound(reason=f"no hour code {_id(request)}")
    return web.Response(status=204)


@_answers_errors
async def check_hour_code(request: web.Request) -> web.Response:
    """Open or closed at `at` (default: now), why, and the next opening.

    `role=call_centre` reads the code in its own zone; `role=consumer` (the default when
    `zone` or `phone` is given) in `zone`, else in the zone of `phone`, else under the
    unknown-zone fallback over the phone's candidate zones.
    """
    stored = await _stored(request)
    query = request.query
    at = _parse_at(query.get("at"), _now(request))
    # An empty parameter is an absent one (a form left blank).
    zone = query.get("zone") or None
    phone = query.get("phone") or None
    errors: dict[str, str] = {}
    if zone is not None and not valid_zone(zone):
        errors["zone"] = "unknown IANA time zone (e.g. America/New_York)"
    if phone is not None and not _E164_RE.match(phone):
        errors["phone"] = "must be E.164: + then 2 to 15 digits"
    role = query.get("role") or ("consumer" if zone or phone else "call_centre")
    if role not in ("call_centre", "consumer"):
        errors["role"] = "must be call_centre or consumer"
    elif role == "call_centre" and (zone or phone):
        errors["role"] = "call_centre reads the code in its own timezone: drop zone and phone"
    if errors:
        raise _BadRequest("bad check parameters", errors)
    candidates: tuple[str, ...] = ()
    if role == "consumer" and zone is None and phone is not None:
        zone = resolve_zone(None, phone).zone
        candidates = candidate_zones(phone) if zone is None else ()
    try:
        verdict = hours.check(
            stored.code,
            at,
            role="call_centre" if role == "call_centre" else "consumer",
            zone=zone,
            candidates=candidates,
        )
    except UnknownZone as exc:  # a stored fallback zone zoneinfo no longer knows
        raise _BadRequest(str(exc)) from None
    return web.json_response(
        {
            "hour_code_id": stored.id,
            "at": _iso(at),
            "role": role,
            "open": verdict.open,
            "reason": verdict.reason,
            "zone": verdict.zone,
            "zones": list(verdict.zones),
            "local_time": verdict.local_time.isoformat(),
            "holiday": verdict.holiday.isoformat() if verdict.holiday else None,
            "next_open": _iso(verdict.next_open),
            "closes_at": _iso(verdict.closes_at),
        }
    )


def _parse_at(value: str | None, now: float) -> datetime:
    if value is None or value == "":
        return datetime.fromtimestamp(now, UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        at = None
    if at is None or at.utcoffset() is None:
        raise _BadRequest(
            "bad check parameters",
            {"at": "must be an ISO 8601 instant with its offset, e.g. 2026-03-08T14:00:00Z"},
        )
    if not _MIN_YEAR <= at.year <= _MAX_YEAR:
        raise _BadRequest("bad check parameters", {"at": f"year must be {_MIN_YEAR}-{_MAX_YEAR}"})
    return at.astimezone(UTC)


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at is not None else None


# --- OpenAPI ------------------------------------------------------------------------

_HHMM = {"type": "string", "pattern": r"^(([01]?\d|2[0-3]):[0-5]\d|24:00)$", "example": "09:00"}
_DAY = {
    "type": "array",
    "maxItems": hours.MAX_WINDOWS_PER_DAY,
    "description": "Windows [start, end) in local wall-clock time; end may be 24:00; "
    "a window may not cross midnight; windows may not overlap.",
    "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": _HHMM},
}
_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "timezone": {
        "type": "string",
        "description": "IANA zone. Call-centre code: where its clock runs. Consumer code: "
        "the zone of last resort for a record of unknown zone.",
        "example": "Europe/Paris",
    },
    "weekly": {
        "type": "object",
        "additionalProperties": False,
        "properties": {day: _DAY for day in hours.WEEKDAYS},
    },
    "holidays": {
        "type": "array",
        "maxItems": hours.MAX_HOLIDAYS,
        "description": "Local dates closed all day.",
        "items": {"type": "string", "format": "date"},
    },
    "fallback_zones": {
        "type": "array",
        "maxItems": hours.MAX_FALLBACK_ZONES,
        "description": "Consumer code: a record of unknown zone is called only when the "
        "code is open in all these zones at once; empty: the number's candidate zones.",
        "items": {"type": "string"},
    },
}
_INPUT = {"type": "object", "additionalProperties": False, "properties": _FIELDS}
_HOUR_CODE = {
    "type": "object",
    "required": [*hours.FIELDS, "id", "created_at", "updated_at"],
    "properties": {
        **_FIELDS,
        "id": {"type": "integer"},
        "created_at": {"type": "number"},
        "updated_at": {"type": "number"},
    },
}


def _body_spec(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_NOT_FOUND = _json(_ERROR, "no such hour code")
_BAD_JSON = _json(_ERROR, "body is not a JSON document")
_INVALID = _json(_ERROR, "invalid fields, each named with its reason")
_NAME_TAKEN = _json(_ERROR, "another hour code has this name")

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/hour-codes": {
        "get": {
            "summary": "List hour codes",
            "tags": ["hour codes"],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["hour_codes"],
                        "properties": {"hour_codes": {"type": "array", "items": _HOUR_CODE}},
                    },
                    "every hour code",
                )
            },
        },
        "post": {
            "summary": "Create an hour code",
            "tags": ["hour codes"],
            "requestBody": _body_spec({**_INPUT, "required": ["name"]}),
            "responses": {
                "201": _json(_HOUR_CODE, "created"),
                "400": _BAD_JSON,
                "409": _NAME_TAKEN,
                "422": _INVALID,
            },
        },
    },
    "/api/hour-codes/{id}": {
        "parameters": [_ID_PARAM],
        "get": {
            "summary": "Get an hour code",
            "tags": ["hour codes"],
            "responses": {"200": _json(_HOUR_CODE, "the hour code"), "404": _NOT_FOUND},
        },
        "patch": {
            "summary": "Edit an hour code (only the fields given change)",
            "tags": ["hour codes"],
            "requestBody": _body_spec(_INPUT),
            "responses": {
                "200": _json(_HOUR_CODE, "edited"),
                "400": _BAD_JSON,
                "404": _NOT_FOUND,
                "409": _NAME_TAKEN,
                "422": _INVALID,
            },
        },
        "delete": {
            "summary": "Delete an hour code no campaign uses",
            "tags": ["hour codes"],
            "responses": {
                "204": {"description": "deleted"},
                "404": _NOT_FOUND,
                "409": _json(
                    {
                        **_ERROR,
                        "required": ["error", "campaigns"],
                        "properties": {
                            **_ERROR["properties"],  # type: ignore[dict-item]
                            "campaigns": {"type": "array", "items": {"type": "integer"}},
                        },
                    },
                    "used by these campaigns (call-centre or consumer code)",
                ),
            },
        },
    },
    "/api/hour-codes/{id}/check": {
        "parameters": [_ID_PARAM],
        "get": {
            "summary": "Whether the code is open at an instant, why, and when it next opens",
            "tags": ["hour codes"],
            "parameters": [
                {
                    "name": "at",
                    "in": "query",
                    "description": "ISO 8601 instant with its offset; default: now.",
                    "schema": {"type": "string", "format": "date-time"},
                },
                {
                    "name": "zone",
                    "in": "query",
                    "description": "IANA zone of the record (consumer hours).",
                    "schema": {"type": "string"},
                },
                {
                    "name": "phone",
                    "in": "query",
                    "description": "E.164 number: its zone, or the unknown-zone fallback.",
                    "schema": {"type": "string", "pattern": _E164_RE.pattern},
                },
                {
                    "name": "role",
                    "in": "query",
                    "description": "Default: consumer when zone or phone is given, else "
                    "call_centre (the code's own timezone).",
                    "schema": {"type": "string", "enum": ["call_centre", "consumer"]},
                },
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": [
                            "hour_code_id",
                            "at",
                            "role",
                            "open",
                            "reason",
                            "zone",
                            "zones",
                            "local_time",
                            "holiday",
                            "next_open",
                            "closes_at",
                        ],
                        "properties": {
                            "hour_code_id": {"type": "integer"},
                            "at": {"type": "string", "format": "date-time"},
                            "role": {"type": "string", "enum": ["call_centre", "consumer"]},
                            "open": {"type": "boolean"},
                            "reason": {"type": "string"},
                            "zone": {"type": "string"},
                            "zones": {"type": "array", "items": {"type": "string"}},
                            "local_time": {"type": "string", "format": "date-time"},
                            "holiday": {"type": "string", "format": "date", "nullable": True},
                            "next_open": {
                                "type": "string",
                                "format": "date-time",
                                "nullable": True,
                            },
                            "closes_at": {
                                "type": "string",
                                "format": "date-time",
                                "nullable": True,
                            },
                        },
                    },
                    "open or closed, with the reason",
                ),
                "400": _json(_ERROR, "bad query parameters, each named"),
                "404": _NOT_FOUND,
            },
        },
    },
}
