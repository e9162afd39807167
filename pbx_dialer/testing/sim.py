"""Simulated agents and inbound callers on a (test or demo) Asterisk.

The agents are queue members `Local/70XX@sim-agents` whose presence is the custom
device `Custom:agent70XX`; the dialplan in `asterisk/extensions_sim.conf` answers for
them. This drives them through our own AMI client, with the `simulator` AMI user.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from typing import Any

from pbx_dialer.ami import actions
from pbx_dialer.ami.client import AmiClient, AmiError
from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.config import PbxSettings


def agent_interface(number: int) -> str:
    return f"Local/{number}@sim-agents"


class Simulator:
    def __init__(self, settings: PbxSettings) -> None:
        self.events: list[AmiEvent] = []
        self._inbound = itertools.count(1)
        self._waiters: list[tuple[str, dict[str, str], asyncio.Future[AmiEvent]]] = []
        self.client = AmiClient(settings, on_event=self._on_event)

    def _on_event(self, event: AmiEvent) -> None:
        self.events.append(event)
        for waiter in list(self._waiters):
            name, fields, future = waiter
            if event.name == name and all(event.get(k) == v for k, v in fields.items()):
                self._waiters.remove(waiter)
                if not future.done():
                    future.set_result(event)

    async def start(self, timeout: float = 10.0) -> None:
        await self.client.start()
        await self.client.wait_ready(timeout)

    async def close(self) -> None:
        await self.client.close()

    def wait_event(
        self, name: str, timeout: float = 10.0, **fields: str
    ) -> Coroutine[Any, Any, AmiEvent]:
        """Expect an event whose fields match (case-insensitive keys). The expectation
        starts now, when called, so that an event arriving before the caller awaits the
        result is not missed."""
        future: asyncio.Future[AmiEvent] = asyncio.get_running_loop().create_future()
        self._waiters.append((name, {k.lower(): v for k, v in fields.items()}, future))
        return asyncio.wait_for(future, timeout)

    async def _ok(self, action: actions.Action) -> None:
        response = await self.client.send(action)
        if not response.success:
            raise AmiError(f"{action['Action']} failed: {response.message}")

    async def add_agent(self, queue: str, number: int, *, paused: bool = False) -> str:
        """Log a simulated agent in to a queue, idle (or paused)."""
        interface = agent_interface(number)
        await self._ok(actions.set_device_state(f"Custom:agent{number}", "NOT_INUSE"))
        await self._ok(
            actions.queue_add(
                queue, interface, f"Agent {number}", f"Custom:agent{number}", paused=paused
            )
        )
        return interface

    async def pause_agent(self, queue: str, number: int, paused: bool) -> None:
        await self._ok(actions.queue_pause(queue, agent_interface(number), paused))

    async def remove_agent(self, queue: str, number: int) -> None:
        await self._ok(actions.queue_remove(queue, agent_interface(number)))

    async def inbound_caller(self, queue: str, priority: int = 0) -> str:
        """An inbound customer who calls the queue and waits. Returns the Uniqueid of the
        channel that waits in the queue (the Local channel's second leg, which runs the
        sim-inbound dialplan)."""
        n = next(self._inbound)
        channel_id = f"sim-inbound-{n}-{id(self) % 10000}"
        response = await self.client.send(
            {
                "Action": "Originate",
                "Channel": f"Local/{6000 + n % 100}@sim-inbound",
                "Application": "Wait",
                "Data": "600",
                "Async": "true",
                "ChannelId": channel_id,
                "OtherChannelId": f"{channel_id}-2",
                "Variable": [f"SIM_QUEUE={queue}", f"SIM_PRIO={priority}"],
            }
        )
        if not response.success:
            raise AmiError(f"inbound caller refused: {response.message}")
        return f"{channel_id}-2"
