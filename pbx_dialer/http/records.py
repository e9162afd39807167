"""Record API handlers: add records, search them, the inventory, cancel."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from pbx_dialer import phones
from pbx_dialer.campaigns.timezones import resolve_zone
from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import _body, _id, actor_of
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ERROR as _ERROR
from pbx_dialer.http.openapi import ID_PARAM as _ID_PARAM
from pbx_dialer.http.openapi import json_content as _json
from pbx_dialer.http.openapi import page_params
from pbx_dialer.records.inventory import BANDS, STATES, fold
from pbx_dialer.records.search import BadPattern, to_like
from pbx_dialer.storage import records as record_rows

MAX_PHONES = 10  # numbers per record: `phone` and up to 9 others in `phones`
MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_BATCH = 10_000
_PATTERN_FIELDS = ("q", "name", "phone", "external_id")
# The OpenAPI form of printable(): no control character.
PRINTABLE = "^[^\\x00-\\x1f\\x7f]*$"


class BadInput(ValueError):
    """A request field with a reason; answered 422 naming the field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def printable(value: object, limit: int) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= limit
        and not any(ord(c) < 32 or ord(c) == 127 for c in value)
    )


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        raise BadInput({name: f"must be an integer from {low} to {high}"})
    return int(raw)


def _record_filter(values: dict[str, Any]) -> record_rows.RecordFilter:
    errors: dict[str, str] = {}
    patterns: dict[str, str | None] = {}
    for name in _PATTERN_FIELDS:
        value = values.get(name)
        if value is None:
            patterns[name] = None
            continue
        if not isinstance(value, str):
            errors[name] = "must be a string"
            continue
        try:
            patterns[name] = to_like(value)
        except BadPattern as exc:
            errors[name] = str(exc)
    state = values.get("state")
    if state is not None and state not in record_rows.FILTER_STATES:
        errors["state"] = "must be one of " + ", ".join(record_rows.FILTER_STATES)
    list_id = values.get("list_id")
    if isinstance(list_id, str):
        list_id = int(list_id) if re.fullmatch(r"[0-9]{1,9}", list_id) else -1
    if list_id is not None and (
        isinstance(list_id, bool) or not isinstance(list_id, int) or not 1 <= list_id < 10**9
    ):
        errors["list_id"] = "must be a positive integer"
    if errors:
        raise BadInput(errors)
    return record_rows.RecordFilter(state=state, list_id=list_id, **patterns)


def _numbers(item: dict[str, Any], region: str, where: str) -> tuple[str, ...]:
    """A record's numbers in E.164 (`phone` first, then `phones`, without repeats),
    read in the campaign's default region by the one phone-number rule."""
    try:
        first = phones.to_e164(item.get("phone"), region)
    except phones.BadNumber as exc:
        raise BadInput({f"{where}.phone": str(exc)}) from None
    others = item.get("phones", [])
    if not isinstance(others, list) or len(others) > MAX_PHONES - 1:
        raise BadInput({f"{where}.phones": f"must be an array of at most {MAX_PHONES - 1} numbers"})
    numbers = [first]
    for index, raw in enumerate(others):
        try:
            number = phones.to_e164(raw, region)
        except phones.BadNumber as exc:
            raise BadInput({f"{where}.phones[{index}]": str(exc)}) from None
        if number not in numbers:
            numbers.append(number)
    return tuple(numbers)


async def add_records(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    body = await _body(request)
    items = body.get("records") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return json_error(422, 'expected {"records": [{"phone": ..., "name": ...}, ...]}')
    if len(items) > MAX_BATCH:
        return json_error(422, f"at most {MAX_BATCH} records per request", {"records": "too many"})
    list_id = body.get("list_id")
    if list_id is not None and (
        isinstance(list_id, bool) or not isinstance(list_id, int) or list_id < 1
    ):
        return json_error(422, "invalid list", {"list_id": "must be a positive integer"})
    new: list[record_rows.NewRecord] = []
    errors: dict[str, str] = {}
    region = campaign.settings.default_region
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors[f"records[{index}]"] = "must be an object"
            continue
        name = item.get("name", "")
        external_id = item.get("external_id")
        try:
            numbers = _numbers(item, region, f"records[{index}]")
        except BadInput as exc:
            errors.update(exc.fields)
            continue
        if not printable(name, 200):
            errors[f"records[{index}].name"] = "must be at most 200 printable characters"
        elif external_id is not None and not printable(external_id, 64):
            errors[f"records[{index}].external_id"] = "must be at most 64 printable characters"
        else:
            zone = resolve_zone(None, numbers[0])
            new.append(
                record_rows.NewRecord(
                    phone=numbers[0],
                    name=name,
                    external_id=external_id,
                    timezone=zone.zone,
                    tz_source=zone.source,
                    phones=numbers,
                )
            )
    if errors:
        # All or nothing: a rejected batch leaves the campaign as it was.
        return json_error(422, "records rejected; nothing was added", errors)
    await service.check_takes_work(campaign.id)  # a Stopped campaign: 409
    try:
        added = await record_rows.add_many(
            service.db, campaign.id, new, service.clock(), list_id=list_id
        )
    except LookupError as exc:
        return json_error(422, str(exc), {"list_id": "no such list in this campaign"})
    await service.reopen_for(
        campaign.id, actor_of(request), f"{added} records added through the API"
    )
    request.app[keys.dialer_key].wake()
    await service.publish(campaign.id)
    return web.json_response({"added": added}, status=201)


async def list_records(request: web.Request) -> web.Response:
    """Records of a campaign, searched and paginated: ?q= (name, phone or external id),
    name=, phone=, external_id= with `?` one character and `*` one or more; state=,
    list_id=, limit=, offset=."""
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    try:
        where = _record_filter(dict(request.query))
        limit = int_param(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
        offset = int_param(request, "offset", 0, 0, 100_000_000)
    except BadInput as exc:
        return json_error(422, "invalid search", exc.fields)
    now = request.app[keys.clock_key]()
    found, total = await record_rows.search(service.db, campaign.id, where, now, limit, offset)
    return web.json_response(
        {
            "records": [r.to_json() for r in found],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


async def inventory(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    now = request.app[keys.clock_key]()
    groups = await record_rows.inventory_counts(service.db, campaign.id, now)
    return web.json_response({"campaign_id": campaign.id, "at": now, **fold(groups)})


_CANCEL_KEYS = {"all", "reason", "state", "list_id", *_PATTERN_FIELDS}


async def cancel_records(request: web.Request) -> web.Response:
    """Cancel waiting records: all of them ({"all": true}) or those a filter matches."""
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    body = await _body(request)
    if not isinstance(body, dict):
        return json_error(422, "expected a JSON object", {"body": "must be an object"})
    unknown = sorted(set(body) - _CANCEL_KEYS)
    if unknown:
        return json_error(422, "unknown fields", dict.fromkeys(unknown, "not a cancel field"))
    reason = body.get("reason", "cancelled by supervisor")
    if not printable(reason, 200) or not reason:
        return json_error(422, "invalid reason", {"reason": "must be 1-200 printable characters"})
    everything = body.get("all", False)
    if not isinstance(everything, bool):
        return json_error(422, "invalid cancel", {"all": "must be true or false"})
    try:
        where = _record_filter(body)
    except BadInput as exc:
        return json_error(422, "invalid cancel filter", exc.fields)
    if where.empty and not everything:
        return json_error(
            422,
            "name what to cancel: a filter (state, list_id, q, name, phone, external_id) "
            'or {"all": true}',
            {"all": "must be true when no filter is given"},
        )
    cancelled, busy = await record_rows.cancel(
        service.db, campaign.id, where, reason, request.app[keys.clock_key]()
    )
    await service.publish(campaign.id)
    return web.json_response({"cancelled": cancelled, "skipped_in_progress": busy})


# OpenAPI 3.0 path items for the routes above.
_RECORD = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "campaign_id": {"type": "integer"},
        "phone": {"type": "string"},
        "name": {"type": "string"},
        "state": {"type": "string", "enum": list(record_rows.STORED_STATES)},
        "attempts": {"type": "integer"},
        "last_result": {"type": "string", "nullable": True},
        "list_id": {"type": "integer", "nullable": True},
        "external_id": {"type": "string", "nullable": True},
        "next_attempt_at": {"type": "number"},
        "reason": {"type": "string"},
        "cancelled_at": {"type": "number", "nullable": True},
    },
    "required": ["id", "campaign_id", "phone", "name", "state", "attempts"],
}


def pattern_param(name: str, what: str) -> dict[str, Any]:
    """A documented LIKE-pattern query parameter (records search, the details page's tab)."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": f"{what}; `?` is one character, `*` one or more; whole-field match",
        "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": PRINTABLE},
    }


# null stands for "not given" in a cancel filter.
_FILTER_PROPERTIES: dict[str, Any] = {
    "state": {"type": "string", "enum": list(record_rows.FILTER_STATES), "nullable": True},
    "list_id": {"type": "integer", "minimum": 1, "maximum": 999_999_999, "nullable": True},
    **{
        name: {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "pattern": PRINTABLE,
            "nullable": True,
        }
        for name in _PATTERN_FIELDS
    },
}
_COUNTS = {
    "type": "object",
    "additionalProperties": {"type": "integer"},
}

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/campaigns/{id}/records": {
        "parameters": [_ID_PARAM],
        "post": {
            "summary": "Add records (to the campaign's 'API' list unless list_id is given); "
            "a Completed campaign reopens, Paused",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "list_id": {"type": "integer", "minimum": 1, "nullable": True},
                                "records": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": MAX_BATCH,
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "phone": {
                                                "type": "string",
                                                "maxLength": 64,
                                                "description": (
                                                    "E.164, or national in the campaign's "
                                                    "default_region; stored in E.164. "
                                                    "Emergency, short and premium-rate "
                                                    "numbers are refused."
                                                ),
                                            },
                                            "phones": {
                                                "type": "array",
                                                "maxItems": MAX_PHONES - 1,
                                                "items": {"type": "string", "maxLength": 64},
                                                "description": "the customer's other numbers",
                                            },
                                            "name": {
                                                "type": "string",
                                                "maxLength": 200,
                                                "pattern": PRINTABLE,
                                            },
                                            "external_id": {
                                                "type": "string",
                                                "maxLength": 64,
                                                "pattern": PRINTABLE,
                                                "nullable": True,
                                            },
                                        },
                                        "required": ["phone"],
                                    },
                                },
                            },
                            "required": ["records"],
                        }
                    }
                },
            },
            "responses": {
                "201": _json(
                    {
                        "type": "object",
                        "properties": {"added": {"type": "integer"}},
                        "required": ["added"],
                    },
                    "records added",
                ),
                "400": _json(_ERROR, "body is not JSON"),
                "404": _json(_ERROR, "no such campaign"),
                "409": _json(_ERROR, "the campaign is stopped: it takes no records"),
                "422": _json(_ERROR, "records rejected; nothing was added"),
            },
        },
        "get": {
            "summary": "Search a campaign's records, paginated",
            "parameters": [
                pattern_param("q", "name, phone or external id"),
                pattern_param("name", "customer name"),
                pattern_param("phone", "phone number"),
                pattern_param("external_id", "external id"),
                {
                    "name": "state",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(record_rows.FILTER_STATES)},
                },
                {
                    "name": "list_id",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
                },
                *page_params(MAX_PAGE),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "records": {"type": "array", "items": _RECORD},
                            "total": {"type": "integer"},
                            "limit": {"type": "integer"},
                            "offset": {"type": "integer"},
                        },
                        "required": ["records", "total", "limit", "offset"],
                    },
                    "one page of matching records and how many match",
                ),
                "404": _json(_ERROR, "no such campaign"),
                "422": _json(_ERROR, "invalid search parameter"),
            },
        },
    },
    "/api/campaigns/{id}/inventory": {
        "parameters": [_ID_PARAM],
        "get": {
            "summary": "Record counts per state and per inventory band",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "campaign_id": {"type": "integer"},
                            "at": {"type": "number"},
                            "total": {"type": "integer"},
                            "bands": {
                                **_COUNTS,
                                "required": list(BANDS),
                            },
                            "states": {
                                **_COUNTS,
                                "required": list(STATES),
                            },
                        },
                        "required": ["campaign_id", "at", "total", "bands", "states"],
                    },
                    "the inventory",
                ),
                "404": _json(_ERROR, "no such campaign"),
            },
        },
    },
    "/api/campaigns/{id}/records/cancel": {
        "parameters": [_ID_PARAM],
        "post": {
            "summary": "Cancel waiting records (kept for audit); records on a call are skipped",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "all": {"type": "boolean"},
                                "reason": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": 200,
                                    "pattern": PRINTABLE,
                                },
                                **_FILTER_PROPERTIES,
                            },
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "cancelled": {"type": "integer"},
                            "skipped_in_progress": {"type": "integer"},
                        },
                        "required": ["cancelled", "skipped_in_progress"],
                    },
                    "how many were cancelled and how many were skipped",
                ),
                "400": _json(_ERROR, "body is not JSON"),
                "404": _json(_ERROR, "no such campaign"),
                "422": _json(_ERROR, "invalid filter, or neither a filter nor all=true"),
            },
        },
    },
}
