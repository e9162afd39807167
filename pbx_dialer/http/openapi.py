"""The OpenAPI 3 document of the JSON API, served at /api/openapi.json.

Each handler module documents its own routes in `OPENAPI_PATHS`; this merges them.
A test checks that every /api route of the router is documented and nothing else is,
and schemathesis checks the real handlers against it.
"""

from __future__ import annotations

import importlib
from typing import Any

from aiohttp import web

from pbx_dialer import __version__

# Handler modules that document routes; one that does not exist yet is left out.
_MODULES = (
    "pbx_dialer.http.status",
    "pbx_dialer.http.campaigns",
    "pbx_dialer.http.attempts",
    "pbx_dialer.http.records",
    "pbx_dialer.http.lists",
    "pbx_dialer.http.dnc",
    "pbx_dialer.http.hour_codes",
    "pbx_dialer.http.imports",
    "pbx_dialer.http.projects",
    "pbx_dialer.http.live_feeds",
    "pbx_dialer.http.transfers",
    "pbx_dialer.http.auth",
    "pbx_dialer.http.users",
    "pbx_dialer.http.agents",
    "pbx_dialer.http.dashboard",
    "pbx_dialer.http.details",
)

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}


# What the network said about an attempt's customer leg (pbx_dialer/ami/causes.py).
NETWORK_FIELDS: dict[str, Any] = {
    "result": {"type": "string", "nullable": True},
    "cause_code": {
        "type": "integer",
        "nullable": True,
        "description": "Q.850 hangup cause of the customer's leg (null: not known)",
    },
    "sip_status": {
        "type": "integer",
        "nullable": True,
        "description": "SIP final response of the customer's leg, where Asterisk "
        "exposes it (PJSIP's TechCause)",
    },
    "times_known": {
        "type": "boolean",
        "description": "false: the call ended while the dialer was not listening; its "
        "talk time is unknown (null), never guessed",
    },
}


def page_params(max_limit: int) -> list[dict[str, Any]]:
    """`limit` and `offset` query parameters of a paginated list."""
    return [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": max_limit},
        },
        {
            "name": "offset",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
        },
    ]


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        for path, item in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(item)
    return {
        "openapi": "3.0.3",
        "info": {"title": "pbx-dialer", "version": __version__},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"Error": ERROR}},
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document())
