"""Every trunk behaviour through real SIP, for each channel template the README offers:
the stored result, cause code, SIP status, agent, and ring/wait/talk times against what
the sipp trunk and phones did (their own message logs).

The scenario: two agents' phones (sipp, PJSIP static queue members with real device
state, answering 1 s after they ring and never hanging up first) take the calls of one
progressive campaign; the trunk (sipp) plays one customer per behaviour: answered calls
whose customer hangs up after talking a few seconds, 183 early media then an answer, an
answer and an immediate hang-up (abandoned: before any agent), 486, 503, 404, 480, 603,
and ringing until the dialer's 15 s ring timeout cancels it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http.app import create_app
from pbx_dialer.testing.sip import SipRig, TrunkCall, trunk_number
from tests.conftest import app_client, eventually, start_client
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign
from tests.sip.conftest import sip_settings

pytestmark = [pytest.mark.pbx, pytest.mark.sip]
Client = TestClient[web.Request, web.Application]

# behaviour, talk_s -> stored result, Q.850 cause, SIP status (None: not checked; a
# customer's BYE on an answered call carries no cause: Asterisk says 0). The answered
# customers talk for different times, so each agent's leg is told apart by its end.
EXPECTED: dict[tuple[str, int | None], tuple[str, int | None, int | None]] = {
    ("answer", 4): ("SUCCESS", None, None),
    ("early_media", 6): ("SUCCESS", None, None),
    ("answer_hangup", 3): ("SUCCESS", None, None),
    ("answer_hangup_now", None): ("ABANDONED", None, None),
    ("busy", None): ("BUSY", 17, 486),
    ("unavailable", None): ("CONGESTION", 34, 503),
    ("not_found", None): ("INVALID", 1, 404),
    ("temporarily_unavailable", None): ("NOANSWER", 19, 480),
    ("decline", None): ("BUSY", 21, 603),
    ("no_answer", None): ("NOANSWER", 19, None),
}
TEMPLATES = {
    "direct trunk": ("PJSIP/{number}@trunk", {}),
    "dialer-outbound": ("Local/{number}@dialer-outbound", {"trunk": "PJSIP/trunk"}),
    "dialer-outbound /n": ("Local/{number}@dialer-outbound/n", {"trunk": "PJSIP/trunk"}),
}


@pytest_asyncio.fixture(params=list(TEMPLATES))
async def sip_dialer(
    request: pytest.FixtureRequest, sip_rig: SipRig, tmp_path: Path
) -> AsyncIterator[tuple[Client, SipRig]]:
    template, pbx = TEMPLATES[request.param]
    settings = sip_settings(sip_rig.asterisk, tmp_path / "dialer.sqlite3", template, **pbx)
    client = await start_client(app_client(create_app(settings)))
    try:
        yield client, sip_rig
    finally:
        await client.close()


def near(value: float | None, expected: float, tolerance: float = 0.6) -> bool:
    return value is not None and abs(value - expected) <= tolerance


async def test_every_trunk_behaviour_is_stored_as_the_network_said(
    sip_dialer: tuple[Client, SipRig],
) -> None:
    dialer, rig = sip_dialer
    for n in (1, 2):
        await rig.add_to_queue("sales", n)
    numbers = {
        trunk_number(behaviour, index=i, talk_s=talk): (behaviour, talk)
        for i, (behaviour, talk) in enumerate(EXPECTED)
    }
    campaign_id = await create_campaign(dialer, max_lines=4, ring_timeout_s=15)
    await add_records(dialer, campaign_id, list(numbers))
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def all_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == len(numbers) and all(a["state"] == "ended" for a in found.values())

    await eventually(all_ended, timeout=90)
    attempts = await attempts_of(dialer, campaign_id)
    trunk: dict[str, list[TrunkCall]] = {}
    for call in rig.trunk_calls():
        trunk.setdefault(call.number, []).append(call)
    # (agent, answered, ended) of every call an agent's phone answered.
    agent_legs = [
        (n, c.answered_at, c.ended_at)
        for n in (1, 2)
        for c in rig.agent_calls(n)
        if c.answered_at is not None and c.ended_at is not None
    ]
    problems: list[str] = []
    for number, key in numbers.items():
        result, cause, sip = EXPECTED[key]
        got: dict[str, Any] = attempts[number]
        calls = trunk.get(number, [])
        if len(calls) != 1:
            problems.append(f"{key}: {len(calls)} INVITEs on the trunk, not 1")
            continue
        call = calls[0]
        if got["result"] != result or (cause is not None and got["cause_code"] != cause):
            problems.append(
                f"{key}: stored {got['result']} cause {got['cause_code']}, "
                f"expected {result} cause {cause} ({got['cause']})"
            )
        if sip is not None and got["sip_status"] != sip:
            problems.append(f"{key}: SIP status {got['sip_status']}, expected {sip}")
        if call.answered_at is not None:
            if not near(got["ring_s"], call.answered_at - call.invite_at):
                problems.append(
                    f"{key}: ring {got['ring_s']} vs trunk {call.answered_at - call.invite_at:.2f}"
                )
        elif key == ("no_answer", None) and not near(got["ring_s"], 15.0, 1.5):
            problems.append(f"{key}: ring {got['ring_s']}, the ring timeout is 15 s")
        if result == "SUCCESS":
            assert call.answered_at is not None and call.ended_at is not None
            # The agent's leg of this customer: answered while the customer was up, and
            # ended with the customer's BYE (Asterisk passes it on at once).
            legs = [
                (abs(end - call.ended_at), n, at)
                for n, at, end in agent_legs
                if call.answered_at <= at <= call.ended_at
            ]
            if not legs or min(legs)[0] > 0.5:
                problems.append(f"{key}: no agent phone's call ended with the customer's")
                continue
            _, n, at = min(legs)
            if got["agent"] != f"Agent {n}":
                problems.append(f"{key}: agent {got['agent']}, the phone of Agent {n} answered")
            if not near(got["wait_s"], at - call.answered_at):
                problems.append(f"{key}: wait {got['wait_s']} vs {at - call.answered_at:.2f}")
            if not near(got["talk_s"], call.ended_at - at):
                problems.append(f"{key}: talk {got['talk_s']} vs {call.ended_at - at:.2f}")
        elif got["agent"] is not None or got["talk_s"] is not None:
            problems.append(f"{key}: agent {got['agent']} talk {got['talk_s']} on a {result}")
    assert not problems, "\n".join(problems)

    async def no_live_calls() -> bool:
        status = await (await dialer.get("/api/status")).json()
        return all(p.get("live_calls", 0) == 0 for p in status.get("pbx", []))

    await eventually(no_live_calls, timeout=10)
