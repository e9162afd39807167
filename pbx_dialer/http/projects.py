"""Project API: routing rules for imports that span several campaigns."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pbx_dialer.campaigns.model import ValidationError
from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import _body, path_id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ID_PARAM, error_response, json_body, json_response
from pbx_dialer.storage import projects as project_rows

_MAX_RULES = 200


def _validated(
    data: Any, base: dict[str, Any] | None
) -> tuple[str, list[dict[str, Any]], int | None]:
    """Name, rules ([{"field", "equals", "campaign_id"}], first match wins) and the
    default campaign; every bad part is named."""
    if not isinstance(data, dict):
        raise ValidationError({"body": "expected a JSON object"})
    unknown = sorted(set(data) - {"name", "rules", "default_campaign_id"})
    if unknown:
        raise ValidationError({unknown[0]: "unknown field"})
    errors: dict[str, str] = {}
    name = data.get("name", base["name"] if base else None)
    rules = data.get("rules", base["rules"] if base else [])
    default = data.get("default_campaign_id", base["default_campaign_id"] if base else None)
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        errors["name"] = "must be 1-120 characters"
    elif any(ord(c) < 32 for c in name):
        errors["name"] = "must not contain control characters"
    if default is not None and (not isinstance(default, int) or isinstance(default, bool)):
        errors["default_campaign_id"] = "must be a campaign id or null"
    if not isinstance(rules, list) or len(rules) > _MAX_RULES:
        errors["rules"] = f"must be a list of at most {_MAX_RULES} rules"
        rules = []
    for i, rule in enumerate(rules):
        if (
            not isinstance(rule, dict)
            or set(rule) != {"field", "equals", "campaign_id"}
            or not isinstance(rule["field"], str)
            or not rule["field"].strip()
            or not isinstance(rule["equals"], str)
            or not isinstance(rule["campaign_id"], int)
            or isinstance(rule["campaign_id"], bool)
        ):
            errors[f"rules[{i}]"] = 'must be {"field": column, "equals": text, "campaign_id": id}'
    if errors:
        raise ValidationError(errors)
    assert isinstance(name, str)
    return name.strip(), rules, default


async def _check_campaigns(
    request: web.Request, rules: list[dict[str, Any]], default: int | None
) -> None:
    ids = {r["campaign_id"] for r in rules} | ({default} if default is not None else set())
    if any(i > 2**62 or i < 0 for i in ids):
        raise ValidationError({"rules": "a campaign id is out of range"})
    missing = await project_rows.missing_campaigns(request.app[keys.db_key], ids)
    if missing:
        raise ValidationError({"rules": f"no campaign {sorted(missing)[0]}"})


async def create_project(request: web.Request) -> web.Response:
    name, rules, default = _validated(await _body(request), None)
    await _check_campaigns(request, rules, default)
    service = request.app[keys.campaigns_key]
    try:
        project = await project_rows.create(service.db, name, rules, default, service.clock())
    except project_rows.ProjectNameTaken:
        return json_error(409, f"a project named {name!r} exists already", {"name": "taken"})
    return web.json_response(project, status=201)


async def list_projects(request: web.Request) -> web.Response:
    return web.json_response({"projects": await project_rows.list_all(request.app[keys.db_key])})


async def get_project(request: web.Request) -> web.Response:
    project = await project_rows.get(request.app[keys.db_key], path_id(request))
    if project is None:
        return json_error(404, "no such project")
    return web.json_response(project)


async def edit_project(request: web.Request) -> web.Response:
    db = request.app[keys.db_key]
    project = await project_rows.get(db, path_id(request))
    if project is None:
        return json_error(404, "no such project")
    name, rules, default = _validated(await _body(request), project)
    await _check_campaigns(request, rules, default)
    try:
        await project_rows.update(db, project["id"], name, rules, default)
    except project_rows.ProjectNameTaken:
        return json_error(409, f"a project named {name!r} exists already", {"name": "taken"})
    return web.json_response(await project_rows.get(db, project["id"]))


_PROJECT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "rules": {"type": "array", "items": {"type": "object"}},
        "default_campaign_id": {"type": "integer", "nullable": True},
        "created_at": {"type": "number"},
    },
}
_BODY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 120},
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "equals", "campaign_id"],
                "properties": {
                    "field": {"type": "string"},
                    "equals": {"type": "string"},
                    "campaign_id": {"type": "integer"},
                },
                "additionalProperties": False,
            },
        },
        "default_campaign_id": {"type": "integer", "nullable": True},
    },
    "additionalProperties": False,
}
OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/projects": {
        "get": {
            "summary": "List projects",
            "responses": {
                "200": json_response(
                    "projects",
                    {
                        "type": "object",
                        "properties": {"projects": {"type": "array", "items": _PROJECT}},
                    },
                )
            },
        },
        "post": {
            "summary": "Create a project: rules routing imported records to campaigns",
            "requestBody": json_body({**_BODY, "required": ["name"]}),
            "responses": {
                "201": json_response("the project", _PROJECT),
                "400": error_response("the body is not JSON"),
                "409": error_response("the name is taken"),
                "422": error_response("invalid project; `fields` says why"),
            },
        },
    },
    "/api/projects/{id}": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "A project",
            "responses": {
                "200": json_response("the project", _PROJECT),
                "404": error_response("no such project"),
            },
        },
        "patch": {
            "summary": "Edit a project's name, rules or default campaign",
            "requestBody": json_body(_BODY),
            "responses": {
                "200": json_response("the project", _PROJECT),
                "400": error_response("the body is not JSON"),
                "404": error_response("no such project"),
                "409": error_response("the name is taken"),
                "422": error_response("invalid project; `fields` says why"),
            },
        },
    },
}
