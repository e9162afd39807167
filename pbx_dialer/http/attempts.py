"""Attempt API: the agent's classification of a call (the agent page comes later)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pbx_dialer.campaigns.model import ValidationError
from pbx_dialer.dialing.outcomes import ClassificationRefused
from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import _body, _id, _moment, actor_of
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import error_response, json_body, json_response
from pbx_dialer.storage import attempts as attempt_rows

_FIELDS = {"code", "callback_at", "callback_agent"}
# Who classified is the logged-in user (or their API token), never what the request says.
_AUDIT_FIELDS = ("agent", "classified_by")


def _text(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValidationError({key: f"must be 1-{limit} characters"})
    if any(ord(c) < 32 for c in value):
        raise ValidationError({key: "must not contain control characters"})
    return value


async def classify(request: web.Request) -> web.Response:
    body = await _body(request)
    if not isinstance(body, dict):
        raise ValidationError({"body": "expected a JSON object"})
    for key in _AUDIT_FIELDS:
        if key in body:
            raise ValidationError(
                {key: "not accepted: classified_by is the logged-in user (or API token)"}
            )
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise ValidationError({unknown[0]: "unknown field"})
    code = _text(body, "code", 32)
    if code is None:
        raise ValidationError({"code": "is required"})
    callback_agent = _text(body, "callback_agent", 80)
    service = request.app[keys.campaigns_key]
    by = actor_of(request)
    attempt_id = _id(request)
    campaign_id = await attempt_rows.campaign_of(service.db, attempt_id)
    if campaign_id is None:
        return json_error(404, f"no attempt {attempt_id}")
    campaign = await service.get(campaign_id)
    chosen = campaign.settings.classification(code)
    if chosen is not None and chosen["outcome"] == "callback":
        # A callback on a Stopped campaign would never be dialed: refused (409).
        await service.check_takes_work(campaign_id)
    try:
        result = await attempt_rows.classify(
            service.db,
            attempt_id,
            code,
            by,
            service.clock(),
            callback_at=_moment(body, "callback_at"),
            callback_agent=callback_agent,
        )
    except LookupError as exc:
        return json_error(404, str(exc))
    except attempt_rows.NotClassifiable as exc:
        return json_error(409, str(exc))
    except ClassificationRefused as exc:
        raise ValidationError({exc.field: str(exc)}) from None
    if result["record_state"] == "ready":
        # A callback or retry of a Completed campaign: it reopens, Paused.
        await service.reopen_for(
            campaign_id, by, f"{code} on attempt {attempt_id}: the record is due again"
        )
    dialer = request.app[keys.dialer_key]
    await dialer.align_next_attempt(result["attempt_id"])
    row = await service.db.fetchone(
        "SELECT r.next_attempt_at FROM attempts a JOIN records r ON r.id = a.record_id "
        "WHERE a.id = ?",
        (result["attempt_id"],),
    )
    if row is not None and result["record_state"] == "ready":
        result["next_attempt_at"] = row["next_attempt_at"]
    dialer.wake()
    return web.json_response(result)


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/attempts/{id}/classify": {
        "parameters": [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        ],
        "post": {
            "summary": "The agent's classification of a call (final, retry, callback or DNC)",
            "description": "Stored as classified by the logged-in user (or 'user (token "
            "name)' for an API token); a body naming who classified (`agent`, "
            "`classified_by`) is refused with 422. A callback or retry that makes the "
            "record due again reopens a Completed campaign (to Paused); a callback on a "
            "Stopped campaign is refused with 409.",
            "requestBody": json_body(
                {
                    "type": "object",
                    "required": ["code"],
                    "properties": {
                        "code": {"type": "string"},
                        "callback_at": {"type": "string", "format": "date-time", "nullable": True},
                        "callback_agent": {"type": "string", "nullable": True},
                    },
                    "additionalProperties": False,
                }
            ),
            "responses": {
                "200": json_response(
                    "the record's new state",
                    {
                        "type": "object",
                        "properties": {
                            "attempt_id": {"type": "integer"},
                            "classification": {"type": "string"},
                            "record_state": {"type": "string"},
                            "next_attempt_at": {"type": "number", "nullable": True},
                        },
                    },
                ),
                "400": error_response("the body is not JSON"),
                "404": error_response("no such attempt"),
                "409": error_response(
                    "the attempt cannot be classified now, or a callback on a stopped campaign"
                ),
                "422": error_response("invalid classification; `fields` says why"),
            },
        },
    }
}
