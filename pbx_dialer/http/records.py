"""Record API handlers: add records to a campaign, list them."""

from __future__ import annotations

import re

from aiohttp import web

from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import _body, _id
from pbx_dialer.http.errors import json_error
from pbx_dialer.storage import records as record_rows

# Digits with an optional leading +; anything else could end up in an AMI header.
_PHONE_RE = re.compile(r"^\+?[0-9]{2,20}$")


async def add_records(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    body = await _body(request)
    items = body.get("records") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return json_error(422, 'expected {"records": [{"phone": ..., "name": ...}, ...]}')
    new: list[record_rows.NewRecord] = []
    errors: dict[str, str] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors[f"records[{index}]"] = "must be an object"
            continue
        phone = item.get("phone")
        name = item.get("name", "")
        if not isinstance(phone, str) or not _PHONE_RE.match(phone):
            errors[f"records[{index}].phone"] = "must be 2-20 digits, optionally after +"
        elif not isinstance(name, str) or len(name) > 200 or any(ord(c) < 32 for c in name):
            errors[f"records[{index}].name"] = "must be at most 200 printable characters"
        else:
            new.append(record_rows.NewRecord(phone=phone, name=name))
    if errors:
        # All or nothing: a rejected batch leaves the campaign as it was.
        return json_error(422, "records rejected; nothing was added", errors)
    added = await record_rows.add_many(service.db, campaign.id, new, service.clock())
    request.app[keys.dialer_key].wake()
    return web.json_response({"added": added}, status=201)


async def list_records(request: web.Request) -> web.Response:
    service = request.app[keys.campaigns_key]
    campaign = await service.get(_id(request))
    records = await record_rows.list_for(service.db, campaign.id)
    return web.json_response({"records": [r.to_json() for r in records]})
