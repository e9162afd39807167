"""Contact list API handlers: list with record counts, create, rename, enable/disable."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import _body, _id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ERROR as _ERROR
from pbx_dialer.http.openapi import ID_PARAM as _ID_PARAM
from pbx_dialer.http.openapi import json_content as _json
from pbx_dialer.http.records import PRINTABLE, printable
from pbx_dialer.storage import lists as list_rows

MAX_NAME = 100


def _list_id(request: web.Request) -> int:
    return _id(request, "list_id")


def _with_counts(item: list_rows.ContactList, counts: dict[str, int]) -> dict[str, Any]:
    return {**item.to_json(), "records": sum(counts.values()), "states": counts}


async def list_lists(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    items = await list_rows.list_for(service.db, campaign.id)
    counts = await list_rows.record_counts(service.db, campaign.id)
    return web.json_response(
        {
            "lists": [_with_counts(i, counts.get(i.id, {})) for i in items],
            # Records added before contact lists existed belong to none.
            "unlisted": sum(counts.get(None, {}).values()),
        }
    )


def _name(body: dict[str, Any], required: bool) -> str | None:
    name = body.get("name")
    if name is None and not required:
        return None
    if not isinstance(name, str) or not name or not printable(name, MAX_NAME):
        raise _Bad({"name": f"must be 1-{MAX_NAME} printable characters"})
    return name


class _Bad(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(str(fields))
        self.fields = fields


async def create_list(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    body = await _body(request)
    if not isinstance(body, dict):
        return json_error(422, "expected a JSON object", {"body": "must be an object"})
    unknown = sorted(set(body) - {"name", "enabled"})
    enabled = body.get("enabled", True)
    try:
        if unknown:
            raise _Bad(dict.fromkeys(unknown, "not a list field"))
        name = _name(body, required=True)
        if not isinstance(enabled, bool):
            raise _Bad({"enabled": "must be true or false"})
    except _Bad as exc:
        return json_error(422, "invalid list", exc.fields)
    assert name is not None
    try:
        created = await list_rows.create(service.db, campaign.id, name, "api", service.clock())
    except list_rows.ListNameTaken:
        return json_error(409, f"this campaign has a list named {name!r}", {"name": "taken"})
    if not enabled:
        updated = await list_rows.update(service.db, campaign.id, created.id, enabled=False)
        assert updated is not None
        created = updated
    return web.json_response(_with_counts(created, {}), status=201)


async def edit_list(request: web.Request) -> web.Response:
    """Rename, enable or disable. A disabled list keeps its records; the dialer skips
    them from its next pick on (records on a call finish it)."""
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    body = await _body(request)
    if not isinstance(body, dict):
        return json_error(422, "expected a JSON object", {"body": "must be an object"})
    unknown = sorted(set(body) - {"name", "enabled"})
    enabled = body.get("enabled")
    try:
        if unknown:
            raise _Bad(dict.fromkeys(unknown, "not a list field"))
        name = _name(body, required=False)
        if enabled is not None and not isinstance(enabled, bool):
            raise _Bad({"enabled": "must be true or false"})
    except _Bad as exc:
        return json_error(422, "invalid list", exc.fields)
    try:
        updated = await list_rows.update(
            service.db, campaign.id, _list_id(request), name=name, enabled=enabled
        )
    except list_rows.ListNameTaken:
        return json_error(409, f"this campaign has a list named {name!r}", {"name": "taken"})
    if updated is None:
        return json_error(404, f"campaign {campaign.id} has no list {_list_id(request)}")
    counts = await list_rows.record_counts(service.db, campaign.id)
    request.app[keys.dialer_key].wake()
    return web.json_response(_with_counts(updated, counts.get(updated.id, {})))


_LIST = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "campaign_id": {"type": "integer"},
        "name": {"type": "string"},
        "source": {"type": "string", "enum": ["api", "csv", "crm"]},
        "enabled": {"type": "boolean"},
        "created_at": {"type": "number"},
        "records": {"type": "integer"},
        "states": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": ["id", "campaign_id", "name", "source", "enabled", "records", "states"],
}
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": PRINTABLE}
_LIST_ID_PARAM = {
    "name": "list_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/campaigns/{id}/lists": {
        "parameters": [_ID_PARAM],
        "get": {
            "summary": "A campaign's contact lists with their record counts",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "lists": {"type": "array", "items": _LIST},
                            "unlisted": {"type": "integer"},
                        },
                        "required": ["lists", "unlisted"],
                    },
                    "the lists",
                ),
                "404": _json(_ERROR, "no such campaign"),
            },
        },
        "post": {
            "summary": "Create a contact list",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"name": _NAME, "enabled": {"type": "boolean"}},
                            "required": ["name"],
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "201": _json(_LIST, "the new list"),
                "400": _json(_ERROR, "body is not JSON"),
                "404": _json(_ERROR, "no such campaign"),
                "409": _json(_ERROR, "the campaign has a list with this name"),
                "422": _json(_ERROR, "invalid list"),
            },
        },
    },
    "/api/campaigns/{id}/lists/{list_id}": {
        "parameters": [_ID_PARAM, _LIST_ID_PARAM],
        "patch": {
            "summary": "Rename, enable or disable a list (its records are kept)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "name": {**_NAME, "nullable": True},
                                "enabled": {"type": "boolean", "nullable": True},
                            },
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_LIST, "the list as it is now"),
                "400": _json(_ERROR, "body is not JSON"),
                "404": _json(_ERROR, "no such campaign or list"),
                "409": _json(_ERROR, "the campaign has a list with this name"),
                "422": _json(_ERROR, "invalid list"),
            },
        },
    },
}
