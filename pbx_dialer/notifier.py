"""Publishes what happens (calls, attempts, campaigns, PBX links) to live pages.

Services publish plain dicts; each websocket subscribes. A subscriber that cannot
keep up is dropped rather than slowing the dialer down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger(__name__)

Message = dict[str, Any]


class Subscription:
    def __init__(self, notifier: Notifier, size: int) -> None:
        self._notifier = notifier
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(size)

    def close(self) -> None:
        self._notifier._subscribers.discard(self)

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            message = await self.queue.get()
            if message is None:
                return
            yield message


class Notifier:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[Subscription] = set()
        self._queue_size = queue_size

    def subscribe(self) -> Subscription:
        sub = Subscription(self, self._queue_size)
        self._subscribers.add(sub)
        return sub

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, data: Message) -> None:
        message = {"type": kind, **data}
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("a live page fell behind; disconnecting it")
                sub.close()
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)

    def close(self) -> None:
        for sub in list(self._subscribers):
            sub.close()
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)
