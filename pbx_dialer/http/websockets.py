"""What every page websocket does once its sender tasks run: read until the browser goes,
then let go of the notifier and stop those tasks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiohttp import WSMsgType, web

from pbx_dialer.notifier import Subscription


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
