"""Users, roles and Campaigns profiles: the admin page and its JSON API (admins only,
see auth/access.py). The logic is in auth/service.py; fields are read by auth/forms.py."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from pbx_dialer.auth import forms
from pbx_dialer.auth.model import Role
from pbx_dialer.auth.passwords import WeakPassword
from pbx_dialer.auth.service import LastAdmin, UserNotFound, UserRefused
from pbx_dialer.http import keys
from pbx_dialer.http.auth import USER_SCHEMA, current_user, user_json
from pbx_dialer.http.campaigns import path_id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ID_PARAM, error_response, json_body, json_response
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import users as user_rows


def record_json(record: user_rows.UserRecord) -> dict[str, Any]:
    return {
        **user_json(record.user),
        "disabled": record.disabled,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _path_int(request: web.Request, name: str) -> int:
    # Digits counted before int(), ids beyond SQLite's range not found: as every route.
    return path_id(request, name)


async def _body(request: web.Request) -> object:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="send the user as application/json")
    return await request.json()


def _not_found(user_id: int) -> web.Response:
    return json_error(404, f"no user {user_id}")


@aiohttp_jinja2.template("users.html")
async def users_page(request: web.Request) -> dict[str, Any]:
    db = request.app[keys.db_key]
    campaigns = [{"id": c.id, "name": c.settings.name} for c in await campaign_rows.list_all(db)]
    return {
        "users": [record_json(r) for r in await user_rows.list_all(db)],
        "campaigns": campaigns,
        "roles": [r.value for r in Role],
        "me": current_user(request).id,
        "nav": "users",
    }


async def list_users(request: web.Request) -> web.Response:
    records = await user_rows.list_all(request.app[keys.db_key])
    return web.json_response({"users": [record_json(r) for r in records]})


async def get_user(request: web.Request) -> web.Response:
    user_id = _path_int(request, "id")
    found = await user_rows.get(request.app[keys.db_key], user_id)
    if found is None:
        return _not_found(user_id)
    return web.json_response(record_json(found))


async def create_user(request: web.Request) -> web.Response:
    fields, errors = forms.parse_user(await _body(request), creating=True)
    if errors:
        return json_error(422, "invalid user", errors)
    try:
        record = await request.app[keys.auth_key].add_user(fields)
    except user_rows.UsernameTaken:
        return json_error(409, f"a user named {fields['username']!r} exists already", {
            "username": "taken"
        })  # fmt: skip
    except user_rows.UnknownCampaigns as exc:
        return json_error(422, "invalid user", {"campaign_ids": f"no campaign {exc}"})
    except UserRefused as exc:
        return json_error(422, "invalid user", exc.fields)
    return web.json_response(record_json(record), status=201)


async def edit_user(request: web.Request) -> web.Response:
    user_id = _path_int(request, "id")
    changes, errors = forms.parse_user(await _body(request), creating=False)
    if errors:
        return json_error(422, "invalid user", errors)
    try:
        actor = current_user(request).id
        record = await request.app[keys.auth_key].update_user(user_id, changes, actor)
    except UserNotFound:
        return _not_found(user_id)
    except user_rows.UnknownCampaigns as exc:
        return json_error(422, "invalid user", {"campaign_ids": f"no campaign {exc}"})
    except UserRefused as exc:
        return json_error(422, "invalid user", exc.fields)
    except LastAdmin as exc:
        return json_error(409, str(exc))
    return web.json_response(record_json(record))


async def set_password(request: web.Request) -> web.Response:
    """A new password (reset by an admin): the user's sessions end."""
    user_id = _path_int(request, "id")
    body = await _body(request)
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(password, str):
        return json_error(422, "invalid password", {"password": "is required (a string)"})
    try:
        done = await request.app[keys.auth_key].set_password(user_id, password)
    except WeakPassword as exc:
        return json_error(422, "invalid password", {"password": str(exc)})
    if not done:
        return _not_found(user_id)
    return web.json_response({"id": user_id, "password_set": True})


async def list_tokens(request: web.Request) -> web.Response:
    user_id = _path_int(request, "id")
    db = request.app[keys.db_key]
    if await user_rows.get(db, user_id) is None:
        return _not_found(user_id)
    return web.json_response({"tokens": await user_rows.list_tokens(db, user_id)})


async def create_token(request: web.Request) -> web.Response:
    """A new API token for scripts; the token is in this answer only."""
    user_id = _path_int(request, "id")
    body = await _body(request)
    name = body.get("name", "") if isinstance(body, dict) else None
    if not isinstance(name, str) or len(name) > 80:
        return json_error(422, "invalid token", {"name": "must be text of at most 80 characters"})
    if await user_rows.get(request.app[keys.db_key], user_id) is None:
        return _not_found(user_id)
    token_id, token = await request.app[keys.auth_key].new_token(user_id, name)
    return web.json_response({"id": token_id, "name": name, "token": token}, status=201)


async def delete_token(request: web.Request) -> web.Response:
    user_id = _path_int(request, "id")
    token_id = _path_int(request, "token_id")
    if not await user_rows.delete_token(request.app[keys.db_key], user_id, token_id):
        return json_error(404, f"user {user_id} has no token {token_id}")
    return web.Response(status=204)


RECORD_SCHEMA: dict[str, Any] = {
    **USER_SCHEMA,
    "required": [*USER_SCHEMA["required"], "disabled", "created_at", "updated_at"],
    "properties": {
        **USER_SCHEMA["properties"],
        "disabled": {"type": "boolean"},
        "created_at": {"type": "number"},
        "updated_at": {"type": "number"},
    },
}
_EDITABLE: dict[str, Any] = {
    "display_name": {"type": "string", "maxLength": 80},
    "role": {"type": "string", "enum": [r.value for r in Role]},
    "all_campaigns": {"type": "boolean"},
    "campaign_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
    "may_list_campaigns": {"type": "boolean"},
    "agent_interface": {"type": "string", "nullable": True, "example": "PJSIP/7001"},
    "disabled": {"type": "boolean"},
}
NEW_USER: dict[str, Any] = {
    "type": "object",
    "required": ["username", "password", "role"],
    "properties": {
        "username": {"type": "string", "pattern": forms.USERNAME_RE.pattern},
        "password": {"type": "string", "minLength": 10},
        **_EDITABLE,
    },
}
_TOKEN_ID = {"name": "token_id", "in": "path", "required": True, "schema": ID_PARAM["schema"]}
_ADMIN_ONLY = {
    "401": error_response("not logged in"),
    "403": error_response("not an admin (or no CSRF token with a session cookie)"),
}
_INVALID = error_response("invalid fields, named in `fields`")

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/users": {
        "get": {
            "summary": "Every user with role, Campaigns profile and privilege (admins only)",
            "responses": {
                "200": json_response(
                    "the users",
                    {
                        "type": "object",
                        "required": ["users"],
                        "properties": {"users": {"type": "array", "items": RECORD_SCHEMA}},
                    },
                ),
                **_ADMIN_ONLY,
            },
        },
        "post": {
            "summary": "Create a user (an agent needs an agent_interface)",
            "requestBody": json_body(NEW_USER),
            "responses": {
                "201": json_response("the user", RECORD_SCHEMA),
                "400": error_response("not JSON"),
                **_ADMIN_ONLY,
                "409": error_response("the username is taken"),
                "415": error_response("not application/json"),
                "422": _INVALID,
            },
        },
    },
    "/api/users/{id}": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "One user",
            "responses": {
                "200": json_response("the user", RECORD_SCHEMA),
                **_ADMIN_ONLY,
                "404": error_response("no such user"),
            },
        },
        "patch": {
            "summary": "Change role, profile, privilege, agent interface, name; disable",
            "requestBody": json_body({"type": "object", "properties": _EDITABLE}),
            "responses": {
                "200": json_response("the user", RECORD_SCHEMA),
                "400": error_response("not JSON"),
                **_ADMIN_ONLY,
                "404": error_response("no such user"),
                "409": error_response("the last admin would be lost, or an admin's own role"),
                "415": error_response("not application/json"),
                "422": _INVALID,
            },
        },
    },
    "/api/users/{id}/password": {
        "parameters": [ID_PARAM],
        "post": {
            "summary": "Set a new password; the user's sessions end",
            "requestBody": json_body(
                {
                    "type": "object",
                    "required": ["password"],
                    "properties": {"password": {"type": "string", "minLength": 10}},
                }
            ),
            "responses": {
                "200": json_response("done", {"type": "object"}),
                "400": error_response("not JSON"),
                **_ADMIN_ONLY,
                "404": error_response("no such user"),
                "415": error_response("not application/json"),
                "422": _INVALID,
            },
        },
    },
    "/api/users/{id}/tokens": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "The user's API tokens (names and dates, never the tokens)",
            "responses": {
                "200": json_response("the tokens", {"type": "object", "required": ["tokens"]}),
                **_ADMIN_ONLY,
                "404": error_response("no such user"),
            },
        },
        "post": {
            "summary": "A new API token for scripts (Authorization: Bearer), shown once",
            "requestBody": json_body(
                {"type": "object", "properties": {"name": {"type": "string", "maxLength": 80}}}
            ),
            "responses": {
                "201": json_response(
                    "the token",
                    {
                        "type": "object",
                        "required": ["id", "token"],
                        "properties": {
                            "id": {"type": "integer"},
                            "name": {"type": "string"},
                            "token": {"type": "string"},
                        },
                    },
                ),
                "400": error_response("not JSON"),
                **_ADMIN_ONLY,
                "404": error_response("no such user"),
                "415": error_response("not application/json"),
                "422": _INVALID,
            },
        },
    },
    "/api/users/{id}/tokens/{token_id}": {
        "parameters": [ID_PARAM, _TOKEN_ID],
        "delete": {
            "summary": "Revoke an API token",
            "responses": {
                "204": {"description": "revoked"},
                **_ADMIN_ONLY,
                "404": error_response("no such token of this user"),
            },
        },
    },
}
