"""What every page websocket does besides sending: follow its session (a log-out or a
disabled user closes it; a changed profile applies at once), and read until the browser
goes, then let go of the notifier and stop its tasks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from pbx_dialer.auth.model import User
from pbx_dialer.http import keys
from pbx_dialer.http.auth import current_session
from pbx_dialer.notifier import Subscription

# How often an open websocket checks that its session still stands (log-out, disabled
# user, changed profile): the page is told within this many seconds.
RECHECK_S = 15.0


@dataclass
class Viewer:
    """Who a page websocket serves, kept fresh while it is open (a changed profile
    applies at once)."""

    user: User


async def serve_page(
    request: web.Request,
    ws: web.WebSocketResponse,
    subscription: Subscription,
    viewer: Viewer,
    pump: Coroutine[Any, Any, None],
) -> web.WebSocketResponse:
    """Run the page's `pump` (what it sends) beside its session follower until the
    browser goes; `ws`, for the handler."""

    def follow(fresh: User) -> None:
        viewer.user = fresh

    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(pump), loop.create_task(follow_session(request, ws, follow))]
    return await serve_until_closed(ws, subscription, tasks)


async def follow_session(
    request: web.Request, ws: web.WebSocketResponse, on_user: Callable[[User], None]
) -> None:
    """Close `ws` (code 4401) when the request's session ends; hand each fresh look at
    its user to `on_user`. An API token is checked at connection only."""
    session = current_session(request)
    if session is None:
        return
    service = request.app[keys.auth_key]
    while not ws.closed:
        await asyncio.sleep(RECHECK_S)
        still = await service.session(session.token)
        if still is None:
            await ws.close(code=4401, message=b"session ended")
            return
        on_user(still.user)


async def serve_until_closed(
    ws: web.WebSocketResponse, subscription: Subscription, tasks: Sequence[asyncio.Task[None]]
) -> web.WebSocketResponse:
    """Read `ws` until it closes (pages send nothing that matters), then close the
    subscription and cancel `tasks`, waiting for each to end; `ws`, for the handler."""
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        subscription.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                await task
    return ws
