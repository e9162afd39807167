"""Authentication and authorization of every request, the log-in page and log-out.

`auth_middleware` finds the user (session cookie, or `Authorization: Bearer` API token
for scripts), checks the CSRF token of cookie sessions on changes, then the route's rule
in auth/access.py: the role, and the user's Campaigns profile against the campaign the
route is about (hidden campaigns and their objects answer 404, as if they did not exist).
Handlers that list several campaigns filter with `current_user(request)`.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web

from pbx_dialer.auth.access import Need, Rule, Scope, rule_for, scope_hides
from pbx_dialer.auth.model import Role, User
from pbx_dialer.auth.service import AuthService, LoginRefused, Session
from pbx_dialer.campaigns.service import CampaignNotFound
from pbx_dialer.http import keys
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import error_response, json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE = "pbx_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_USER = web.RequestKey("user", User)
_SESSION = web.RequestKey("session", Session)
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_ID = 2**63 - 1  # SQLite's largest integer


def current_user(request: web.Request) -> User:
    """The logged-in user of the request (every non-public route has one)."""
    user: User | None = request.get(_USER)
    if user is None:
        raise web.HTTPUnauthorized(reason="log in first")
    return user


def current_session(request: web.Request) -> Session | None:
    """The cookie session of the request; None for API tokens and anonymous requests."""
    return request.get(_SESSION)


def _is_api(request: web.Request) -> bool:
    path = request.path
    return path.startswith(("/api/", "/ws/")) or path == "/ws"


def _template(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def _refuse(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if _is_api(request):
        return json_error(status, message)
    return web.Response(status=status, text=message, content_type="text/plain")


def safe_next(target: str | None) -> str:
    """Where to go after log-in: only a path of this site (never //host or a URL)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or target.startswith("/login")
    ):
        return "/"
    return target


async def _authenticate(request: web.Request) -> tuple[User | None, Session | None]:
    service = request.app[keys.auth_key]
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return await service.token_user(header[len("Bearer ") :].strip()), None
    token = request.cookies.get(COOKIE)
    if token:
        session = await service.session(token)
        if session is not None:
            return session.user, session
    return None, None


async def _csrf_token(request: web.Request) -> str | None:
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    return presented


async def _hidden(request: web.Request, user: User, rule: Rule) -> web.StreamResponse | None:
    """A 404 when the route's object belongs to a campaign outside the user's profile
    (the same answer as for an object that does not exist), a 403 for a profile that
    does not allow the route at all, else None."""
    why = scope_hides(user, rule.scope, request.match_info.get("agent"))
    if why is not None:
        return _refuse(request, 403, why)
    if rule.scope not in (Scope.CAMPAIGN, Scope.ATTEMPT, Scope.IMPORT):
        return None
    try:
        object_id = int(request.match_info["id"])
    except (KeyError, ValueError):
        return None
    if object_id > _MAX_ID:
        return None  # no such row: the handler answers its own 404
    db = request.app[keys.db_key]
    if rule.scope is Scope.CAMPAIGN:
        if not user.may_see(object_id):
            # Exactly what a campaign that does not exist gives (errors.py), pages too.
            raise CampaignNotFound(f"no campaign {object_id}")
        return None
    if rule.scope is Scope.ATTEMPT:
        row = await db.fetchone(
            "SELECT campaign_id, agent, agent_interface FROM attempts WHERE id = ?",
            (object_id,),
        )
        # An agent classifies only the calls that reached their own interface.
        if row is not None and (
            not user.may_see(row["campaign_id"])
            or (
                user.role is Role.AGENT
                and not _agents_call(
                    request, user, object_id, (row["agent"], row["agent_interface"])
                )
            )
        ):
            return json_error(404, f"no attempt {object_id}")
        return None
    row = await db.fetchone("SELECT campaign_id FROM imports WHERE id = ?", (object_id,))
    if row is not None:
        campaign_id = row["campaign_id"]
        # An import into a project may have fed any campaign.
        visible = user.all_campaigns if campaign_id is None else user.may_see(campaign_id)
        if not visible:
            return json_error(404, f"no import {object_id}")
    return None


def _agents_call(
    request: web.Request, user: User, attempt_id: int, stored: tuple[str | None, str | None]
) -> bool:
    """Whether the attempt reached this agent: stored with their interface (or named by
    it), or the agent desk's last call for it."""
    if user.agent_interface is None:
        return False
    if user.agent_interface in stored:
        return True
    from pbx_dialer.http.agents import desk_key  # it imports this module

    desk = request.app.get(desk_key)
    return desk is not None and desk.last_call.get(user.agent_interface) == attempt_id


def redirect(location: str) -> web.Response:
    """A 303 as a plain response (it can carry a cookie)."""
    return web.Response(status=303, headers={"Location": location})


def _login_redirect(request: web.Request) -> web.StreamResponse:
    target = request.path_qs
    location = "/login" if target == "/" else f"/login?next={quote(target, safe='/')}"
    return redirect(location)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    template = _template(request)
    rule = rule_for(request.method, template) if template is not None else None
    if rule is not None and rule.need is Need.PUBLIC:
        _template_context(request)
        return await handler(request)
    user, session = await _authenticate(request)
    if user is None:
        if _is_api(request) or request.method not in _SAFE:
            return json_error(401, "log in first (session cookie or Authorization: Bearer token)")
        return _login_redirect(request)
    request[_USER] = user
    if session is not None:
        request[_SESSION] = session
    _template_context(request)
    if session is not None and request.method not in _SAFE:
        presented = await _csrf_token(request)
        if not AuthService.csrf_ok(session, presented):
            return json_error(
                403, f"missing or wrong CSRF token (send the page's token as {CSRF_HEADER})"
            )
    if request.match_info.http_exception is not None:
        return await handler(request)  # 404 or 405 from the router, for logged-in users
    if rule is None:
        # Default deny: a route without a rule in auth/access.py is refused to everyone.
        return _refuse(request, 403, "this route has no access rule; nobody may use it")
    if not rule.role_allows(user.role):
        # An agent who opens another page is sent to their own desk.
        if (
            user.role is Role.AGENT
            and not _is_api(request)
            and request.method in _SAFE
            and _has_route(request.app, "/agent")
        ):
            return redirect("/agent")
        return _refuse(request, 403, f"the {user.role.value} role may not do this")
    hidden = await _hidden(request, user, rule)
    if hidden is not None:
        return hidden
    return await handler(request)


def _has_route(app: web.Application, path: str) -> bool:
    return any(r.resource is not None and r.resource.canonical == path for r in app.router.routes())


def _template_context(request: web.Request) -> None:
    """What every template gets: the user (for the header) and the CSRF token that
    web/static/api.js sends with every change (aiohttp_jinja2 merges this context)."""
    session = current_session(request)
    context = {
        "csrf_token": session.csrf_token if session is not None else "",
        "current_user": request.get(_USER),
    }
    # aiohttp_jinja2 reads its context under a plain string key, which aiohttp warns about.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        request[aiohttp_jinja2.REQUEST_CONTEXT_KEY] = context


# The log-in page and log-out.


def _cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    settings = request.app[keys.settings_key].server
    response.set_cookie(
        COOKIE,
        value,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
    )


@aiohttp_jinja2.template("login.html")
async def login_page(request: web.Request) -> dict[str, Any]:
    return {"next": safe_next(request.query.get("next")), "error": "", "username": ""}


async def login(request: web.Request) -> web.StreamResponse:
    """The log-in form (or JSON {"username", "password"} from a script)."""
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        # Another site's form would log the browser in as someone else (log-in CSRF).
        return json_error(403, "a log-in from another site is refused (Origin header)")
    is_json = request.content_type == "application/json"
    if is_json:
        try:
            body = await request.json()
        except ValueError:
            return json_error(400, "body is not valid JSON")
        if not isinstance(body, dict):
            return json_error(400, "body must be a JSON object")
        data: dict[str, Any] = body
    else:
        data = dict(await request.post())
    username, password = data.get("username"), data.get("password")
    target = safe_next(data.get("next") if isinstance(data.get("next"), str) else None)
    fields = {
        name: "is required"
        for name, value in (("username", username), ("password", password))
        if not isinstance(value, str) or not value
    }
    service = request.app[keys.auth_key]
    error, status = "", 200
    if fields:
        error, status = "enter your username and password", 422
    else:
        assert isinstance(username, str) and isinstance(password, str)
        try:
            session = await service.log_in(
                username[:200], password[:2000], request.remote or "", request.cookies.get(COOKIE)
            )
        except LoginRefused as exc:
            error, status = str(exc), 429 if exc.retry_after else 401
        else:
            response: web.StreamResponse
            if is_json:
                response = web.json_response(
                    {"user": user_json(session.user), "csrf_token": session.csrf_token}
                )
            else:
                response = redirect(target)
            _cookie(response, request, session.token)
            return response
    if is_json:
        return json_error(status, error, fields or None)
    context = {"next": target, "error": error, "username": username or ""}
    return aiohttp_jinja2.render_template("login.html", request, context, status=status)


async def logout(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    if session is not None:
        await request.app[keys.auth_key].log_out(session.token)
    response: web.StreamResponse
    if request.content_type == "application/json" or "json" in request.headers.get("Accept", ""):
        response = web.json_response({"logged_out": True})
    else:
        response = redirect("/login")
    response.del_cookie(COOKIE, path="/")
    return response


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "all_campaigns": user.all_campaigns,
        "campaign_ids": sorted(user.campaign_ids),
        "may_list_campaigns": user.may_list_campaigns,
        "agent_interface": user.agent_interface,
    }


async def me(request: web.Request) -> web.Response:
    return web.json_response(user_json(current_user(request)))


USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "username", "display_name", "role", "all_campaigns", "campaign_ids"],
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "role": {"type": "string", "enum": [r.value for r in Role]},
        "all_campaigns": {"type": "boolean"},
        "campaign_ids": {"type": "array", "items": {"type": "integer"}},
        "may_list_campaigns": {"type": "boolean"},
        "agent_interface": {"type": "string", "nullable": True},
    },
}

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/me": {
        "get": {
            "summary": "The logged-in user: role and Campaigns profile",
            "responses": {
                "200": json_response("the user", USER_SCHEMA),
                "401": error_response("not logged in"),
            },
        }
    }
}
