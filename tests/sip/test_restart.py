"""The dialer process restarts while real SIP calls are up (the sipp trunk and agents'
phones around a real Asterisk), for the direct trunk and for [dialer-outbound] without
/n, where the Local channel is optimised away when the agent connects, so that after
the restart the call is alive only by its trunk leg.

Two agents' phones take a progressive campaign's calls. Two customers are talking when
the dialer stops (the app is closed): one hangs up while no dialer runs, the other
after a new dialer has started on the same database. Records added after the stop are
dialed by the new dialer only. Every number gets one INVITE on the trunk; the call that
ended meanwhile is SUCCESS with its agent and its ring and wait times as stored, its
talk time unknown (never counted up to the resync); the call alive at the restart ends
with the talk time the trunk and the phone logged.

The new dialer reads the calls left in flight from its database while its AMI login
runs; each case runs as that race comes, and with the read answered only after the
login's first resync (what a slow disk does by chance)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.config import Settings
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.testing.asterisk import RawAmi
from pbx_dialer.testing.sip import PhoneCall, SipRig, TrunkCall, trunk_number
from tests.conftest import app_client, eventually, start_client
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign
from tests.pbx.test_dialer_restart import serve
from tests.pbx.test_modes_restart import all_ended
from tests.sip.conftest import sip_settings
from tests.sip.test_outcomes import TEMPLATES, near

pytestmark = [pytest.mark.pbx, pytest.mark.sip]
Client = TestClient[web.Request, web.Application]

# Customers answer 1 s after the INVITE; each agent's phone 1 s after it rings.
MEANWHILE = trunk_number("answer_hangup", index=1, talk_s=4)  # ends during the downtime
ALIVE = trunk_number("answer_hangup", index=2, talk_s=9)  # ends after the restart
# Dialed by the new dialer only; their talk times differ, so that their ends tell
# which agent's phone took which.
LATER = [
    trunk_number("answer_hangup", index=3, talk_s=2),
    trunk_number("answer_hangup", index=4, talk_s=3),
]
RESTART_TEMPLATES = ("direct trunk", "dialer-outbound")
# When the new dialer reads the calls left in flight, against its AMI login's first
# resync: the two race at startup (the database read and the login run side by side).
ADOPTION = ("as it comes", "after the first resync")


@pytest_asyncio.fixture(params=RESTART_TEMPLATES)
async def restart_settings(
    request: pytest.FixtureRequest, sip_rig: SipRig, tmp_path: Path
) -> tuple[Settings, SipRig, str]:
    template, pbx = TEMPLATES[request.param]
    settings = sip_settings(sip_rig.asterisk, tmp_path / "dialer.sqlite3", template, **pbx)
    return settings, sip_rig, request.param


async def serve_adopting_late(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Client:
    """A dialer whose database answers "which attempts are unfinished" only once every
    PBX has resynced (as a busy disk makes it happen by chance)."""
    app = create_app(settings)
    unfinished = attempt_rows.unfinished

    async def after_first_resync(*args: Any, **kwargs: Any) -> Any:
        async def resynced() -> bool:
            return all(pbx.resyncs > 0 for pbx in app[keys.pbxs_key].values())

        await eventually(resynced, timeout=10, interval=0.02)
        return await unfinished(*args, **kwargs)

    monkeypatch.setattr(attempt_rows, "unfinished", after_first_resync)
    return await start_client(app_client(app))


@pytest_asyncio.fixture
async def ami(sip_rig: SipRig) -> AsyncIterator[RawAmi]:
    """Asterisk's AMI as the simulator user, for the channels it has (no events)."""
    asterisk = sip_rig.asterisk
    connection = await RawAmi.connect(asterisk.ami_host, asterisk.ami_port)
    await connection.login(asterisk.simulator_user, asterisk.simulator_secret, events="off")
    try:
        yield connection
    finally:
        await connection.close()


async def channels(ami: RawAmi) -> list[str]:
    """The names of the channels Asterisk has now."""
    action_id = await ami.send("CoreShowChannels")
    names: list[str] = []
    while True:
        msg = await ami.read()
        if msg.get("ActionID") != action_id:
            continue
        if msg.get("Event") == "CoreShowChannelsComplete":
            return names
        if msg.get("Event") == "CoreShowChannel":
            names.append(msg.get("Channel", ""))


def trunk_call(rig: SipRig, number: str) -> TrunkCall:
    calls = [c for c in rig.trunk_calls() if c.number == number]
    assert len(calls) == 1, f"{number}: {len(calls)} INVITEs on the trunk, not 1"
    return calls[0]


def agent_leg(rig: SipRig, call: TrunkCall) -> tuple[int, PhoneCall]:
    """The agent's phone call that took this customer: answered while the customer was
    up, and ended with the customer's BYE (Asterisk passes it on at once)."""
    assert call.answered_at is not None and call.ended_at is not None, call
    legs = [
        (abs(leg.ended_at - call.ended_at), n, leg)
        for n in (1, 2)
        for leg in rig.agent_calls(n)
        if leg.answered_at is not None
        and leg.ended_at is not None
        and call.answered_at <= leg.answered_at <= call.ended_at
    ]
    assert legs and min(legs, key=lambda t: t[0])[0] <= 0.5, f"no agent took {call.number}"
    _, n, leg = min(legs, key=lambda t: t[0])
    return n, leg


def timing_problems(rig: SipRig, number: str, got: dict[str, Any]) -> list[str]:
    """What differs between the stored attempt and the trunk's and phones' logs."""
    call = trunk_call(rig, number)
    n, leg = agent_leg(rig, call)
    assert call.answered_at is not None and call.ended_at is not None
    assert leg.answered_at is not None
    problems = []
    if got["result"] != "SUCCESS":
        problems.append(f"{number}: {got['result']} ({got['cause']}), not SUCCESS")
    if got["agent"] != f"Agent {n}":
        problems.append(f"{number}: agent {got['agent']}, the phone of Agent {n} answered")
    if not near(got["ring_s"], call.answered_at - call.invite_at):
        problems.append(
            f"{number}: ring {got['ring_s']} vs {call.answered_at - call.invite_at:.2f}"
        )
    if not near(got["wait_s"], leg.answered_at - call.answered_at):
        problems.append(
            f"{number}: wait {got['wait_s']} vs {leg.answered_at - call.answered_at:.2f}"
        )
    if number != MEANWHILE and not near(got["talk_s"], call.ended_at - leg.answered_at):
        problems.append(f"{number}: talk {got['talk_s']} vs {call.ended_at - leg.answered_at:.2f}")
    return problems


@pytest.mark.parametrize("adoption", ADOPTION)
async def test_restart_with_sip_calls_up_settles_each_call_once_with_its_times(
    restart_settings: tuple[Settings, SipRig, str],
    ami: RawAmi,
    adoption: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, rig, template = restart_settings
    for n in (1, 2):
        await rig.add_to_queue("sales", n)
    first = await serve(settings)
    try:
        campaign_id = await create_campaign(first, max_lines=2, ring_timeout_s=15)
        await add_records(first, campaign_id, [MEANWHILE, ALIVE])
        assert (await first.post(f"/api/campaigns/{campaign_id}/play")).status == 200

        async def both_talking() -> bool:
            found = await attempts_of(first, campaign_id)
            return len(found) == 2 and all(a["state"] == "connected" for a in found.values())

        await eventually(both_talking, timeout=20)
        before = await attempts_of(first, campaign_id)
    finally:
        await first.close()
    # The scenario: both customers still talked when the dialer stopped.
    assert all(c.ended_at is None for c in rig.trunk_calls()), rig.trunk_calls()

    async def meanwhile_over() -> bool:
        # Both the customer's BYE and the agent's: Asterisk has let go of the call.
        call = trunk_call(rig, MEANWHILE)
        if call.ended_at is None:
            return False
        n, _ = agent_leg(rig, call)
        return all(leg.ended_at is not None for leg in rig.agent_calls(n))

    await eventually(meanwhile_over, timeout=15)
    up = await channels(ami)
    assert trunk_call(rig, ALIVE).ended_at is None, "the long call ended before the restart"
    if template == "dialer-outbound":
        # Optimised away at the agent's connect: only the trunk and agent legs are left.
        assert not [c for c in up if c.startswith("Local/")], up
    assert len([c for c in up if c.startswith("PJSIP/trunk-")]) == 1, up

    if adoption == "as it comes":
        second = await serve(settings)
    else:
        second = await serve_adopting_late(settings, monkeypatch)
    try:
        dialer = second.app[keys.dialer_key]
        # Adopted, not dialed again (the call that ended meanwhile may be settled already).
        assert before[ALIVE]["id"] in dialer.live
        await add_records(second, campaign_id, LATER)
        numbers = [MEANWHILE, ALIVE, *LATER]
        attempts = await all_ended(second, campaign_id, len(numbers))
        problems = [p for number in numbers for p in timing_problems(rig, number, attempts[number])]
        unheard = attempts[MEANWHILE]
        if unheard["times_known"] is not False or unheard["talk_s"] is not None:
            problems.append(
                f"ended meanwhile: times_known {unheard['times_known']}, "
                f"talk {unheard['talk_s']}; its end was not heard"
            )
        for number in (MEANWHILE, ALIVE):
            for key in ("agent", "answered_at", "connected_at"):
                if attempts[number][key] != before[number][key]:
                    problems.append(
                        f"{number}: {key} {attempts[number][key]} after the "
                        f"restart, {before[number][key]} before"
                    )
        if attempts[ALIVE]["times_known"] is not True:
            problems.append(f"{ALIVE}: times_known {attempts[ALIVE]['times_known']}")
        for number in LATER:
            if attempts[number]["placed_at"] <= before[ALIVE]["placed_at"]:
                problems.append(f"{number} was placed before the restart")
        assert not problems, "\n".join(problems)
        records = (await (await second.get(f"/api/campaigns/{campaign_id}/records")).json())[
            "records"
        ]
        assert all(r["attempts"] == 1 for r in records), records

        async def no_live_calls() -> bool:
            status = await (await second.get("/api/status")).json()
            return all(p.get("live_calls", 0) == 0 for p in status.get("pbx", []))

        await eventually(no_live_calls, timeout=10)
        assert dialer.live == {}
    finally:
        await second.close()
