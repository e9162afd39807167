"""Capture an AMI session of several interleaved calls over real SIP, for the tracker's
replay tests (tests/unit/test_tracker_sip_replay.py).

    python -m pbx_dialer.testing.record_sip_fixtures tests/fixtures/ami

The SIP rig (pbx_dialer.testing.sip: a sipp trunk and two sipp agent phones around a
real Asterisk) takes five calls placed at once the way the dialer places them, with
the dialer's own AMI user (so only the events its manager.conf filters let through):

1. `PJSIP/<busy>@trunk`: the trunk answers 486 Busy Here;
2. `PJSIP/<not found>@trunk`: 404 Not Found;
3. `PJSIP/<answer, talks 3 s>@trunk`: answered, queued, taken by an agent's phone (1 s
   to answer), the customer hangs up 3 s after answering;
4. `Local/<answer, talks 4 s>@dialer-outbound` (no /n): the same through the dialplan;
   the Local channel is optimised away when the agent connects, so only the trunk
   leg's hang-up tells the end;
5. `Local/<unavailable>@dialer-outbound`: 503 Service Unavailable behind the dialplan.

The file keeps the events, the five attempts, and what the trunk's own log said of each
number (when the INVITE came, the answer, the end), so a replay can check the times.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from pbx_dialer.ami import actions
from pbx_dialer.ami.client import AmiClient
from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.recorder import Recorder
from pbx_dialer.config import PbxSettings
from pbx_dialer.testing.sip import SipRig, trunk_number

NAME = "sip_trunk_mix"
TRUNK = "PJSIP/trunk"
CALLS = (
    # attempt id, trunk number, channel template, what happens
    (1, trunk_number("busy", 1), "PJSIP/{number}@trunk", "486 Busy Here"),
    (2, trunk_number("not_found", 2), "PJSIP/{number}@trunk", "404 Not Found"),
    (3, trunk_number("answer", 3, talk_s=3), "PJSIP/{number}@trunk", "answered, 3 s talk"),
    (4, trunk_number("answer", 4, talk_s=4), "Local/{number}@dialer-outbound", "answered, 4 s"),
    (5, trunk_number("unavailable", 5), "Local/{number}@dialer-outbound", "503"),
)


def _originate(attempt_id: int, number: str, template: str) -> tuple[str, actions.Action]:
    channel_id = f"pbxd-{attempt_id}-sip{attempt_id:02d}"
    variables = {
        "DIALER_ATTEMPT": str(attempt_id),
        "DIALER_CAMPAIGN": "1",
        "DIALER_QUEUE": "sales",
        "DIALER_PRIO": "5",
        "DIALER_QUEUE_TIMEOUT": "30",
        "_DIALER_TRUNK": TRUNK,
        "_DIALER_RING_TIMEOUT": "15",
    }
    return channel_id, actions.originate(
        channel=template.replace("{number}", number),
        context="dialer-connect",
        exten="s",
        channel_id=channel_id,
        timeout_s=15.0,
        variables=variables,
    )


async def record(out_dir: Path) -> Path:
    async with SipRig(agents=2) as rig:
        asterisk = rig.asterisk
        for n in (1, 2):
            await rig.add_to_queue("sales", n)
        recorder = Recorder()
        numbers = {number for _, number, _, _ in CALLS}
        base = PbxSettings(host=asterisk.ami_host, port=asterisk.ami_port, reconnect_min=0.2)
        client = AmiClient(
            replace(base, username=asterisk.dialer_user, secret=asterisk.dialer_secret),
            on_event=recorder,
        )
        await client.start()
        await client.wait_ready(10)
        await asyncio.sleep(0.3)
        placed_at = time.time()
        attempts = []
        for attempt_id, number, template, story in CALLS:
            channel_id, action = _originate(attempt_id, number, template)
            attempts.append(
                {"attempt_id": attempt_id, "channel_id": channel_id, "placed_at": placed_at,
                 "number": number, "template": template, "story": story}
            )  # fmt: skip
            await client.send(action)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            ended = {c.number for c in rig.trunk_calls() if c.ended_at is not None}
            if ended >= numbers:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # the tail: the Local halves, AgentComplete, ...
        await client.close()
        trunk = {
            c.number: {
                "invite_at": c.invite_at,
                "final_status": c.final_status,
                "answered_at": c.answered_at,
                "ended_at": c.ended_at,
            }
            for c in rig.trunk_calls()
        }
        agents = {
            str(n): [
                {"answered_at": c.answered_at, "ended_at": c.ended_at} for c in rig.agent_calls(n)
            ]
            for n in (1, 2)
        }
    path = out_dir / f"{NAME}.json"
    data = {
        "scenario": __doc__,
        "attempts": attempts,
        "trunk": trunk,
        "agents": agents,
        "events": [e.to_json() for e in recorder.events if _kept(e)],
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def _kept(event: AmiEvent) -> bool:
    return event.name not in ("FullyBooted",)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/ami")
    out.mkdir(parents=True, exist_ok=True)
    print(f"recorded {asyncio.run(record(out))}")
