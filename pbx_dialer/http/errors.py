"""Errors as clear JSON (or a plain page), never a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from pbx_dialer.campaigns.model import TransitionRefused, ValidationError
from pbx_dialer.campaigns.service import CampaignNotFound
from pbx_dialer.storage.campaigns import NameTaken

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, fields: dict[str, str] | None = None) -> web.Response:
    body: dict[str, object] = {"error": message}
    if fields:
        body["fields"] = fields
    return web.json_response(body, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            response = json_error(exc.status, exc.reason)
            if "Allow" in exc.headers:  # 405 says which methods there are
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        raise
    except ValidationError as exc:
        return json_error(422, "invalid campaign settings", exc.errors)
    except json.JSONDecodeError as exc:
        return json_error(400, f"body is not valid JSON: {exc.msg} at line {exc.lineno}")
    except UnicodeDecodeError:
        return json_error(400, "body is not UTF-8 text")
    except HttpProcessingError as exc:
        # e.g. a multipart part whose headers do not parse.
        return json_error(400, f"malformed request: {str(exc.message)[:200]}")
    except CampaignNotFound as exc:
        return json_error(404, str(exc))
    except TransitionRefused as exc:
        return json_error(409, str(exc))
    except NameTaken as exc:
        return json_error(409, f"a campaign named {str(exc)!r} exists already", {"name": "taken"})
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error; it has been logged")
