"""Records what Asterisk says on AMI into a JSON fixture that the tracker tests replay."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pbx_dialer.ami.client import AmiClient
from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.config import PbxSettings

# Events that say nothing about calls or queues, left out of fixtures.
_NOISE = {"VarSet", "Newexten", "RTCPSent", "RTCPReceived", "DeviceStateChange"}


class Recorder:
    def __init__(self) -> None:
        self.events: list[AmiEvent] = []

    def __call__(self, event: AmiEvent) -> None:
        if event.name not in _NOISE:
            self.events.append(event)

    def dump(self, path: str | Path, scenario: str = "") -> int:
        data = {"scenario": scenario, "events": [e.to_json() for e in self.events]}
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        return len(self.events)


async def record(settings: PbxSettings, out: str, seconds: float) -> int:
    recorder = Recorder()
    client = AmiClient(settings, on_event=recorder)
    await client.start()
    try:
        await client.wait_ready(settings.connect_timeout + 5)
        await asyncio.sleep(seconds)
    finally:
        await client.close()
    return recorder.dump(out)
