"""Transfers API: a campaign's transferred calls, and the summary the dashboard shows
("last transfer at", "transfers in the last 15 minutes", "none today")."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from aiohttp import web

from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import path_id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ID_PARAM, error_response, json_response
from pbx_dialer.storage import transfers as transfer_rows

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000


class _BadQuery(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def _moment(request: web.Request, key: str) -> float | None:
    """An ISO 8601 date-time with its UTC offset, or seconds since the epoch."""
    raw = request.query.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise _BadQuery(key, "must be a finite number of seconds since the epoch")
        return value
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _BadQuery(key, f"not an ISO 8601 date-time nor epoch seconds: {raw[:40]!r}") from None
    if moment.tzinfo is None:
        raise _BadQuery(key, "must carry its UTC offset, e.g. 2026-11-23T18:00:00+01:00")
    return moment.timestamp()


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise _BadQuery("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


async def list_transfers(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(path_id(request))
    try:
        since, until = _moment(request, "since"), _moment(request, "until")
        limit = _limit(request)
        if since is not None and until is not None and until < since:
            raise _BadQuery("until", "must not be before since")
    except _BadQuery as exc:
        return json_error(422, "invalid query", {exc.field: str(exc)})
    now = service.clock()
    today = transfer_rows.day_start(now, await service.zone(campaign))
    return web.json_response(
        {
            "campaign_id": campaign.id,
            "transfers": await transfer_rows.list_for(service.db, campaign.id, since, until, limit),
            "summary": await transfer_rows.summary(service.db, campaign.id, now, today),
        }
    )


_TRANSFER = {
    "type": "object",
    "required": [
        "id",
        "attempt_id",
        "kind",
        "at",
        "transferred_by",
        "agent_interface",
        "target",
        "phone",
        "agent",
        "recording",
    ],
    "properties": {
        "id": {"type": "integer"},
        "attempt_id": {"type": "integer"},
        "kind": {
            "type": "string",
            "enum": ["blind", "attended"],
            "description": "a message campaign's transfer key is a blind transfer",
        },
        "at": {
            "type": "number",
            "description": "epoch seconds (Asterisk's event time): the transfer, or for "
            "a message campaign when the person joined the queue with the transfer key",
        },
        "transferred_by": {
            "type": "string",
            "description": "the agent who took the call; `message` when the person pressed "
            "the transfer key of a message (agentless) campaign; else the transferring "
            "channel",
        },
        "agent_interface": {
            "type": "string",
            "nullable": True,
            "description": "the transferring agent's queue interface; null for a message",
        },
        "target": {
            "type": "string",
            "description": "extension@context (blind), the target's channel (attended), or "
            "`queue <name>` (a message campaign's transfer key: the campaign's queue)",
        },
        "phone": {"type": "string"},
        "agent": {"type": "string", "nullable": True},
        "recording": {"type": "string", "nullable": True},
    },
    "additionalProperties": False,
}
_SUMMARY = {
    "type": "object",
    "required": ["last_transfer_at", "transfers_last_15_min", "transfers_today"],
    "properties": {
        "last_transfer_at": {"type": "number", "nullable": True},
        "transfers_last_15_min": {"type": "integer", "minimum": 0},
        "transfers_today": {
            "type": "integer",
            "minimum": 0,
            "description": "since midnight in the call centre's zone",
        },
    },
    "additionalProperties": False,
}
_MOMENT_PARAM_SCHEMA = {
    "description": "ISO 8601 date-time with UTC offset, or epoch seconds",
    "type": "string",
}

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/campaigns/{id}/transfers": {
        "parameters": [ID_PARAM],
        "get": {
            "summary": "The campaign's transferred calls (newest first) and a summary",
            "parameters": [
                {"name": "since", "in": "query", "schema": _MOMENT_PARAM_SCHEMA},
                {"name": "until", "in": "query", "schema": _MOMENT_PARAM_SCHEMA},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                },
            ],
            "responses": {
                "200": json_response(
                    "transfers in [since, until) and the summary",
                    {
                        "type": "object",
                        "required": ["campaign_id", "transfers", "summary"],
                        "properties": {
                            "campaign_id": {"type": "integer"},
                            "transfers": {"type": "array", "items": _TRANSFER},
                            "summary": _SUMMARY,
                        },
                        "additionalProperties": False,
                    },
                ),
                "404": error_response("no such campaign"),
                "422": error_response("a bad since, until or limit; `fields` says which"),
            },
        },
    }
}
