"""Campaign API handlers: parse, call the service, answer JSON."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pbx_dialer.campaigns.model import CampaignSettings, Control, ValidationError
from pbx_dialer.http import keys
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _body(request: web.Request) -> Any:
    return await request.json()


async def list_campaigns(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    items = await campaign_rows.list_all(service.db)
    return web.json_response({"campaigns": [c.to_json() for c in items]})


async def create_campaign(request: web.Request) -> web.Response:
    settings = CampaignSettings.from_json(await _body(request))
    _check_pbx(request, settings.pbx)
    campaign = await request.app[keys.campaigns_key].create(settings)
    return web.json_response(campaign.to_json(), status=201)


def _check_pbx(request: web.Request, pbx: str) -> None:
    if pbx and pbx not in request.app[keys.pbxs_key]:
        raise ValidationError({"pbx": f"no PBX named {pbx!r} is configured"})


async def get_campaign(request: web.Request) -> web.Response:
    return web.json_response(await request.app[keys.campaigns_key].summary(_id(request)))


async def edit_campaign(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    current = await service.get(_id(request))
    settings = CampaignSettings.from_json(await _body(request), base=current.settings)
    _check_pbx(request, settings.pbx)
    campaign = await service.edit(current.id, settings)
    return web.json_response(campaign.to_json())


async def control(request: web.Request) -> web.Response:
    control = Control(request.match_info["control"])
    campaign = await request.app[keys.campaigns_key].control(
        _id(request), control, actor=request.headers.get("X-Actor", "api")[:64]
    )
    return web.json_response(campaign.to_json())


async def list_attempts(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    return web.json_response({"attempts": await attempt_rows.list_for(service.db, campaign.id)})
