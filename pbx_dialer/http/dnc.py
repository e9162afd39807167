"""Do-not-call API handlers: the global list (/api/dnc) and each campaign's
(/api/campaigns/{id}/dnc), as JSON and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from aiohttp import web

from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import _body, _id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ERROR as _ERROR
from pbx_dialer.http.openapi import ID_PARAM as _ID_PARAM
from pbx_dialer.http.openapi import json_content as _json
from pbx_dialer.http.openapi import page_params
from pbx_dialer.http.records import MAX_BATCH, BadInput, int_param
from pbx_dialer.phones import BadNumber, blocklist_e164, valid_region
from pbx_dialer.records.dnc_file import BadFile, parse_dnc_csv
from pbx_dialer.records.search import BadPattern, to_like
from pbx_dialer.storage import dnc as dnc_rows

MAX_CSV_BYTES = 50 * 1024 * 1024
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")
MAX_REPORTED = 1000  # invalid lines listed in a CSV upload's answer
PHONE_PATH = r"{phone:\+?[0-9]{2,20}}"


async def _scope(request: web.Request) -> tuple[int, str]:
    """The list a request is about (0: global) and the region numbers are read in."""
    default = "US"
    campaign_id = dnc_rows.GLOBAL
    if "id" in request.match_info:
        campaign = await request.app[keys.campaigns_key].get(_id(request))
        campaign_id = campaign.id
        row = await request.app[keys.db_key].fetchone(
            "SELECT default_region FROM campaigns WHERE id = ?", (campaign_id,)
        )
        if row is not None and valid_region(row["default_region"]):
            default = row["default_region"]
    region = request.query.get("region", default)
    if not valid_region(region):
        raise BadInput({"region": "must be an ISO 3166 country code phonenumbers knows, e.g. US"})
    return campaign_id, region


def _phones(body: Any, region: str) -> list[str]:
    items = body.get("phones") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise BadInput({"phones": "must be a non-empty array of phone numbers"})
    if len(items) > MAX_BATCH:
        raise BadInput({"phones": f"at most {MAX_BATCH} numbers per request"})
    phones: list[str] = []
    errors: dict[str, str] = {}
    for index, raw in enumerate(items):
        if not isinstance(raw, str):
            errors[f"phones[{index}]"] = "must be a string"
            continue
        try:
            phones.append(blocklist_e164(raw, region))
        except BadNumber as exc:
            errors[f"phones[{index}]"] = str(exc)
    if errors:
        raise BadInput(errors)
    return list(dict.fromkeys(phones))


async def _changed(request: web.Request, campaign_id: int) -> None:
    """Live pages show record counts; a DNC add may have filtered some."""
    service = request.app[keys.campaigns_key]
    if campaign_id != dnc_rows.GLOBAL:
        await service.publish(campaign_id)


async def list_dnc(request: web.Request) -> web.Response:
    try:
        campaign_id, _ = await _scope(request)
        limit = int_param(request, "limit", 100, 1, 1000)
        offset = int_param(request, "offset", 0, 0, 100_000_000)
        raw = request.query.get("phone")
        like = to_like(raw) if raw is not None else None
    except BadInput as exc:
        return json_error(422, "invalid query", exc.fields)
    except BadPattern as exc:
        return json_error(422, "invalid query", {"phone": str(exc)})
    items, total = await dnc_rows.page(request.app[keys.db_key], campaign_id, limit, offset, like)
    return web.json_response(
        {
            "campaign_id": campaign_id,
            "numbers": items,
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


async def add_dnc(request: web.Request) -> web.Response:
    """Add numbers; all or nothing: one invalid number rejects the request."""
    try:
        campaign_id, region = await _scope(request)
        phones = _phones(await _body(request), region)
    except BadInput as exc:
        return json_error(422, "numbers rejected; nothing was added", exc.fields)
    result = await dnc_rows.add_many(
        request.app[keys.db_key], campaign_id, phones, "api", request.app[keys.clock_key]()
    )
    await _changed(request, campaign_id)
    return web.json_response({"campaign_id": campaign_id, **result.to_json()})


async def remove_dnc(request: web.Request) -> web.Response:
    try:
        campaign_id, region = await _scope(request)
        phones = _phones(await _body(request), region)
    except BadInput as exc:
        return json_error(422, "numbers rejected; nothing was removed", exc.fields)
    removed = await dnc_rows.remove_many(request.app[keys.db_key], campaign_id, phones)
    return web.json_response({"campaign_id": campaign_id, "removed": removed})


async def _one(request: web.Request) -> tuple[int, str]:
    campaign_id, region = await _scope(request)
    try:
        return campaign_id, blocklist_e164(request.match_info["phone"], region)
    except BadNumber as exc:
        raise BadInput({"phone": str(exc)}) from None


async def get_dnc(request: web.Request) -> web.Response:
    try:
        campaign_id, phone = await _one(request)
    except BadInput as exc:
        return json_error(422, "invalid number", exc.fields)
    entry = await dnc_rows.get(request.app[keys.db_key], campaign_id, phone)
    if entry is None:
        return json_error(404, f"{phone} is not on this do-not-call list")
    return web.json_response({"campaign_id": campaign_id, **entry})


async def delete_dnc(request: web.Request) -> web.Response:
    try:
        campaign_id, phone = await _one(request)
    except BadInput as exc:
        return json_error(422, "invalid number", exc.fields)
    if not await dnc_rows.remove_many(request.app[keys.db_key], campaign_id, [phone]):
        return json_error(404, f"{phone} is not on this do-not-call list")
    return web.json_response({"campaign_id": campaign_id, "removed": 1})


async def upload_csv(request: web.Request) -> web.Response:
    """A CSV file of numbers (a `phone` column): valid numbers are added, invalid ones
    reported with their line; a file that cannot be read adds nothing."""
    try:
        campaign_id, region = await _scope(request)
    except BadInput as exc:
        return json_error(422, "invalid query", exc.fields)
    if request.content_type not in CSV_TYPES:
        return json_error(415, "send the file as text/csv", {"content-type": "must be text/csv"})
    # Read by hand: the application's body limit (1 MiB) is for JSON, not files.
    data = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        data.extend(chunk)
        if len(data) > MAX_CSV_BYTES:
            return json_error(413, f"the file is larger than {MAX_CSV_BYTES} bytes")
    try:
        parsed = parse_dnc_csv(bytes(data), region)
    except BadFile as exc:
        return json_error(422, "the file cannot be read; nothing was added", {"body": str(exc)})
    result = await dnc_rows.add_many(
        request.app[keys.db_key], campaign_id, parsed.phones, "csv", request.app[keys.clock_key]()
    )
    await _changed(request, campaign_id)
    return web.json_response(
        {
            "campaign_id": campaign_id,
            **result.to_json(),
            "repeated": parsed.repeated,
            "invalid_count": len(parsed.invalid),
            "invalid": [b.to_json() for b in parsed.invalid[:MAX_REPORTED]],
        }
    )


async def download_csv(request: web.Request) -> web.StreamResponse:
    try:
        campaign_id, _ = await _scope(request)
    except BadInput as exc:
        return json_error(422, "invalid query", exc.fields)
    name = "dnc-global.csv" if campaign_id == 0 else f"dnc-campaign-{campaign_id}.csv"
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        }
    )
    await response.prepare(request)
    await response.write(b"phone,source,added_at\r\n")
    after = ""
    db = request.app[keys.db_key]
    while True:
        rows = await dnc_rows.all_numbers(db, campaign_id, after, 5000)
        if not rows:
            break
        out = io.StringIO()
        writer = csv.writer(out)
        for r in rows:
            added = datetime.fromtimestamp(r["added_at"], UTC).isoformat(timespec="seconds")
            writer.writerow([r["phone"], r["source"], added])
        await response.write(out.getvalue().encode())
        after = rows[-1]["phone"]
    await response.write_eof()
    return response


# OpenAPI 3.0 path items.
_REGION = {
    "name": "region",
    "in": "query",
    "required": False,
    "description": "where numbers without +country are read (default: the campaign's "
    "default_region, or US for the global list)",
    "schema": {"type": "string", "enum": sorted(phonenumbers.SUPPORTED_REGIONS)},
}
_PHONE_PARAM = {
    "name": "phone",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^\+?[0-9]{2,20}$"},
}
_PHONES_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "phones": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH,
                        "items": {"type": "string"},
                    }
                },
                "required": ["phones"],
            }
        }
    },
}
_ENTRY = {
    "type": "object",
    "properties": {
        "campaign_id": {"type": "integer"},
        "phone": {"type": "string"},
        "source": {"type": "string"},
        "added_at": {"type": "number"},
    },
    "required": ["phone", "source", "added_at"],
}
_ADDED_PROPS = {
    "campaign_id": {"type": "integer"},
    "added": {"type": "integer"},
    "already": {"type": "integer"},
    "filtered_records": {"type": "integer"},
}


def _paths(prefix: str, scoped: bool) -> dict[str, dict[str, Any]]:
    base: list[dict[str, Any]] = [_ID_PARAM] if scoped else []
    not_found = {"404": _json(_ERROR, "no such campaign")} if scoped else {}
    return {
        f"{prefix}/dnc": {
            "parameters": [*base, _REGION],
            "get": {
                "summary": "Numbers on the list, paginated",
                "parameters": [
                    {
                        "name": "phone",
                        "in": "query",
                        "required": False,
                        "description": "pattern: `?` one character, `*` one or more",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 100,
                            "pattern": "^[^\\x00-\\x1f\\x7f]*$",
                        },
                    },
                    *page_params(1000),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "campaign_id": {"type": "integer"},
                                "numbers": {"type": "array", "items": _ENTRY},
                                "total": {"type": "integer"},
                                "limit": {"type": "integer"},
                                "offset": {"type": "integer"},
                            },
                            "required": ["numbers", "total", "limit", "offset"],
                        },
                        "one page of numbers",
                    ),
                    **not_found,
                    "422": _json(_ERROR, "invalid query parameter"),
                },
            },
            "post": {
                "summary": "Add numbers (all or nothing); waiting records with them are "
                "filtered (reason DNC)",
                "requestBody": _PHONES_BODY,
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": _ADDED_PROPS, "required": ["added"]},
                        "numbers added",
                    ),
                    "400": _json(_ERROR, "body is not JSON"),
                    **not_found,
                    "422": _json(_ERROR, "invalid numbers; nothing was added"),
                },
            },
        },
        f"{prefix}/dnc/remove": {
            "parameters": [*base, _REGION],
            "post": {
                "summary": "Take numbers off the list (filtered records stay filtered)",
                "requestBody": _PHONES_BODY,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "campaign_id": {"type": "integer"},
                                "removed": {"type": "integer"},
                            },
                            "required": ["removed"],
                        },
                        "numbers removed",
                    ),
                    "400": _json(_ERROR, "body is not JSON"),
                    **not_found,
                    "422": _json(_ERROR, "invalid numbers; nothing was removed"),
                },
            },
        },
        f"{prefix}/dnc/{{phone}}": {
            "parameters": [*base, _PHONE_PARAM, _REGION],
            "get": {
                "summary": "Whether one number is on the list",
                "responses": {
                    "200": _json(_ENTRY, "the number is on the list"),
                    "404": _json(_ERROR, "the number is not on the list (or no such campaign)"),
                    "422": _json(_ERROR, "not a phone number"),
                },
            },
            "delete": {
                "summary": "Take one number off the list",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "campaign_id": {"type": "integer"},
                                "removed": {"type": "integer"},
                            },
                            "required": ["removed"],
                        },
                        "removed",
                    ),
                    "404": _json(_ERROR, "the number is not on the list (or no such campaign)"),
                    "422": _json(_ERROR, "not a phone number"),
                },
            },
        },
        f"{prefix}/dnc.csv": {
            "parameters": [*base, _REGION],
            "get": {
                "summary": "The list as CSV (phone,source,added_at)",
                "responses": {
                    "200": {
                        "description": "the list",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    **not_found,
                    "422": _json(_ERROR, "invalid query parameter"),
                },
            },
            "post": {
                "summary": "Add the numbers of a CSV file with a phone column; invalid lines "
                "are reported, valid ones added",
                "requestBody": {
                    "required": True,
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                **_ADDED_PROPS,
                                "repeated": {"type": "integer"},
                                "invalid_count": {"type": "integer"},
                                "invalid": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "line": {"type": "integer"},
                                            "value": {"type": "string"},
                                            "reason": {"type": "string"},
                                        },
                                        "required": ["line", "value", "reason"],
                                    },
                                },
                            },
                            "required": ["added", "already", "invalid_count", "invalid"],
                        },
                        "what was added and which lines were not",
                    ),
                    **not_found,
                    "413": _json(_ERROR, "file too large"),
                    "415": _json(_ERROR, "not sent as text/csv"),
                    "422": _json(_ERROR, "the file cannot be read; nothing was added"),
                },
            },
        },
    }


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    **_paths("/api", scoped=False),
    **_paths("/api/campaigns/{id}", scoped=True),
}
