"""The agent desk API and the agent page.

An agent is named in URLs by their queue member interface with `~` for the slash
(`PJSIP/7001` is `/api/agents/PJSIP~7001/desk`): a slash cannot sit in one path segment.
An agent user's page is their own phone's (`User.agent_interface`) and they may use no
other desk; supervisors and admins open any with `/agent?interface=PJSIP/7001`.
Classifying a call stays `POST /api/attempts/{id}/classify`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from pbx_dialer.agents import rules
from pbx_dialer.agents.desk import AgentDesk, DeskRefused
from pbx_dialer.auth.model import Role
from pbx_dialer.http import keys
from pbx_dialer.http.auth import current_user
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import error_response, json_response

desk_key = web.AppKey("agent_desk", AgentDesk)


async def desk_ctx(app: web.Application) -> AsyncIterator[None]:
    """The agent desk runs beside the dialer (after dialer_ctx, which it needs)."""
    desk = AgentDesk(
        app[keys.db_key], app[keys.dialer_key], app[keys.notifier_key], app[keys.clock_key]
    )
    app[desk_key] = desk
    await desk.start()
    yield
    await desk.close()


def _agent(request: web.Request) -> str | web.Response:
    try:
        return rules.interface_from_url(request.match_info["agent"])
    except rules.BadInterface as exc:
        return json_error(422, "invalid agent interface", {"agent": str(exc)})


def _own_interface(request: web.Request) -> str | None:
    """The interface an agent user is bound to; None for other roles, who may open any
    agent's desk (the access rules already refuse an agent another agent's desk)."""
    user = current_user(request)
    if user.role is not Role.AGENT:
        return None
    return user.agent_interface or ""


async def _act(
    request: web.Request, action: Callable[[AgentDesk, str], Awaitable[dict[str, Any]]]
) -> web.Response:
    agent = _agent(request)
    if isinstance(agent, web.Response):
        return agent
    own = _own_interface(request)
    if own is not None and own != agent:
        return json_error(403, "an agent may only use their own desk")
    try:
        return web.json_response(await action(request.app[desk_key], agent))
    except DeskRefused as exc:
        return json_error(409, str(exc))


async def get_desk(request: web.Request) -> web.Response:
    return await _act(request, AgentDesk.view)


async def next_record(request: web.Request) -> web.Response:
    return await _act(request, AgentDesk.next)


async def accept(request: web.Request) -> web.Response:
    return await _act(request, AgentDesk.accept)


async def skip(request: web.Request) -> web.Response:
    return await _act(request, AgentDesk.skip)


@aiohttp_jinja2.template("agent.html")
async def agent_page(request: web.Request) -> dict[str, Any]:
    own = _own_interface(request)
    # An agent's desk is their own phone's; others (supervisors) may open any desk.
    interface = own if own is not None else request.query.get("interface", "")
    problem = ""
    if interface:
        try:
            interface = rules.interface_from_url(interface)
        except rules.BadInterface as exc:
            problem, interface = str(exc), ""
    return {
        "interface": interface,
        "agent_url": rules.interface_to_url(interface) if interface else "",
        "problem": problem,
    }


_AGENT_PARAM = {
    "name": "agent",
    "in": "path",
    "required": True,
    "description": "the agent's queue member interface with ~ for the slash: PJSIP~7001",
    "schema": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]{0,15}~[A-Za-z0-9_.@+-]{1,80}$"},
}
_OBJECT_OR_NULL = {"type": "object", "nullable": True}
_DESK = {
    "type": "object",
    "required": ["agent", "state", "logged_in", "campaigns", "reservation", "call", "now"],
    "properties": {
        "agent": {"type": "string"},
        "agent_url": {"type": "string"},
        "name": {"type": "string", "nullable": True},
        "logged_in": {"type": "boolean"},
        "paused": {"type": "boolean"},
        "state": {
            "type": "string",
            "enum": ["away", "idle", "reserved", "dialing", "talking", "wrapup"],
        },
        "campaigns": {"type": "array", "items": {"type": "object"}},
        "reservation": {
            "type": "object",
            "nullable": True,
            "properties": {
                "record_id": {"type": "integer"},
                "campaign_id": {"type": "integer"},
                "reserved_at": {"type": "number"},
                "autodial_at": {"type": "number", "nullable": True},
                "countdown_s": {"type": "number", "nullable": True},
            },
        },
        "call": _OBJECT_OR_NULL,
        "campaign": _OBJECT_OR_NULL,
        "record": _OBJECT_OR_NULL,
        "now": {"type": "number"},
    },
}
_BAD_AGENT = error_response("not an agent interface such as PJSIP~7001 (`fields.agent`)")


def _desk_action(summary: str, refused: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "responses": {
            "200": json_response("the agent's desk afterwards", _DESK),
            "409": error_response(refused),
            "422": _BAD_AGENT,
        },
    }


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/agents/{agent}/desk": {
        "parameters": [_AGENT_PARAM],
        "get": {
            "summary": "The agent's desk: reservation and countdown, or current/last call, "
            "the campaign's notes and classifications, the record's notes and fields",
            "responses": {
                "200": json_response("the agent's desk", _DESK),
                "422": _BAD_AGENT,
            },
        },
    },
    "/api/agents/{agent}/next": {
        "parameters": [_AGENT_PARAM],
        "post": _desk_action(
            "Reserve the next record of a preview campaign for the agent (their own due "
            "callbacks first); a record already reserved for them stays",
            "the agent is not in an active preview campaign's queue, is on a call, or "
            "no record is ready",
        ),
    },
    "/api/agents/{agent}/accept": {
        "parameters": [_AGENT_PARAM],
        "post": _desk_action(
            "Dial the reserved record and connect the customer to this agent",
            "nothing is reserved for the agent, or the call cannot be placed now",
        ),
    },
    "/api/agents/{agent}/skip": {
        "parameters": [_AGENT_PARAM],
        "post": _desk_action(
            "Give the reserved record back (no attempt counted; not offered to this "
            "agent again for 5 minutes)",
            "nothing is reserved for the agent",
        ),
    },
}
