"""Campaign API handlers: parse, call the service, answer JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from pbx_dialer.campaigns.model import CampaignSettings, Control, ValidationError
from pbx_dialer.http import keys
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows

# Ids beyond SQLite's integer range cannot exist; answer them like any unknown id.
_MAX_ID = 2**62


def _id(request: web.Request, name: str = "id") -> int:
    value = int(request.match_info[name])
    if value > _MAX_ID:
        raise web.HTTPNotFound(reason=f"no such {name}")
    return value


def _actor(request: web.Request) -> str:
    return request.headers.get("X-Actor", "api")[:64] or "api"


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
    return web.json_response({"campaigns": [c.to_json() for c in items]})


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
    campaign = await service.edit(current.id, settings, actor=_actor(request))
    return web.json_response(campaign.to_json())


async def clone_campaign(request: web.Request) -> web.Response:
    body = await _body(request) if request.can_read_body else {}
    if not isinstance(body, dict) or set(body) - {"name"}:
        raise ValidationError({"body": "expected {} or {\"name\": \"...\"}"})
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationError({"name": "must be a string"})
    campaign = await request.app[keys.campaigns_key].clone(_id(request), name, _actor(request))
    return web.json_response(campaign.to_json(), status=201)


async def control(request: web.Request) -> web.Response:
    control = Control(request.match_info["control"])
    campaign = await request.app[keys.campaigns_key].control(
        _id(request), control, actor=_actor(request)
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
        _actor(request),
        resume_at=_moment(body, "resume_at"),
        reminder_at=_moment(body, "reminder_at"),
        reminder_to=reminder_to,
    )
    return web.json_response(campaign.to_json())


async def resume(request: web.Request) -> web.Response:
    campaign = await request.app[keys.campaigns_key].control(
        _id(request), Control.PLAY, actor=_actor(request), action="resume"
    )
    return web.json_response(campaign.to_json())


async def history(request: web.Request) -> web.Response:
    actions = await request.app[keys.campaigns_key].history(_id(request))
    return web.json_response({"actions": actions})


async def list_attempts(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    return web.json_response({"attempts": await attempt_rows.list_for(service.db, campaign.id)})
