"""Predictive and power campaigns against real SIP phones: 150 customers on the sipp
trunk, four agents' phones (sipp, answering 1 s after they ring) in queue ``sales``.

Each run is counted from what the network and the phones did, not only from what the
dialer stored: every number got exactly one INVITE on the trunk; the campaign's
abandonment (ABANDONED over SUCCESS + ABANDONED) stays within its 3% cap, and the
abandoned calls are as many as the trunk's answered calls that no agent's phone took;
the campaign completes with no call left live.

The customers: three in four answer after 1 s of ringing and hang up 3-6 s after
answering (the agent talks 2-5 s of it: the queue takes about a second to put an agent
on). Nobody hangs up before the 2 s an answered person may wait for an agent
(``answer_hangup_now`` would be abandoned whatever the pacing: it is left out). The
others are busy, 503, 404, or (two of them, 15 s each) never answer until the ring
timeout."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.testing.sip import SipRig, TrunkCall, trunk_number
from tests.conftest import app_client, eventually, start_client
from tests.pbx.test_campaign_run import add_records, create_campaign
from tests.sip.conftest import sip_settings

pytestmark = [pytest.mark.pbx, pytest.mark.sip]
Client = TestClient[web.Request, web.Application]
AGENTS = 4
MAX_ABANDON_PCT = 3.0
# behaviour -> how many customers behave so (talk times spread over 3-6 s)
MIX = {
    "answer": 70,
    "answer_hangup": 43,
    "busy": 15,
    "unavailable": 10,
    "not_found": 10,
    "no_answer": 2,
}
RECORDS = sum(MIX.values())


def customers(seed: int) -> list[str]:
    """The campaign's numbers, behaviours mixed in a fixed random order."""
    rng = random.Random(seed)
    numbers: list[str] = []
    for behaviour, count in MIX.items():
        for _ in range(count):
            talk = rng.randint(3, 6) if behaviour in ("answer", "answer_hangup") else None
            numbers.append(trunk_number(behaviour, index=len(numbers), talk_s=talk))
    rng.shuffle(numbers)
    return numbers


def peak_of(trunk: list[TrunkCall]) -> int:
    """Most calls up at once on the trunk (from INVITE to their end)."""
    edges = sorted(
        [(c.invite_at, 1) for c in trunk]
        + [(c.ended_at, -1) for c in trunk if c.ended_at is not None]
    )
    peak = live = 0
    for _, step in edges:
        live += step
        peak = max(peak, live)
    return peak


async def test_predictive_and_power_on_sip_phones_dial_once_and_keep_their_cap(
    tmp_path: Path,
) -> None:
    """The two runs go side by side, each with its own rig, Asterisk and dialer: the
    machine's two cores are mostly idle while customers talk, and the suite's time is
    what they cost."""
    await asyncio.gather(
        run_campaign("predictive", tmp_path / "predictive"),
        run_campaign("power", tmp_path / "power"),
    )


async def run_campaign(dial_mode: str, where: Path) -> None:
    where.mkdir()
    async with SipRig(agents=AGENTS, answer_delay_s=1.0) as rig:
        settings = sip_settings(rig.asterisk, where / "dialer.sqlite3")
        dialer = await start_client(app_client(create_app(settings)))
        try:
            await check_campaign(dialer, rig, dial_mode)
        finally:
            await dialer.close()


async def check_campaign(dialer: Client, rig: SipRig, dial_mode: str) -> None:
    for n in rig.phones:
        await rig.add_to_queue("sales", n)
    numbers = customers(seed=6)
    campaign_id = await create_campaign(
        dialer,
        dial_mode=dial_mode,
        max_lines=12,
        ring_timeout_s=15,
        max_abandon_pct=MAX_ABANDON_PCT,
    )
    await add_records(dialer, campaign_id, numbers)
    engine = dialer.app[keys.dialer_key]
    started = time.monotonic()
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    peak = 0

    async def completed() -> bool:
        nonlocal peak
        peak = max(peak, sum(1 for c in engine.live.values() if c.campaign_id == campaign_id))
        response = await dialer.get(f"/api/campaigns/{campaign_id}")
        return bool((await response.json())["status"] == "completed")

    await eventually(completed, timeout=240, interval=0.2)
    run_s = time.monotonic() - started

    async def nothing_live() -> bool:
        status = await (await dialer.get("/api/status")).json()
        return not status["live"] and not engine.live

    await eventually(nothing_live, timeout=10)

    # The dialer: one attempt per record, every one ended.
    response = await dialer.get(f"/api/campaigns/{campaign_id}/attempts")
    attempts = (await response.json())["attempts"]
    assert sorted(a["phone"] for a in attempts) == sorted(numbers)
    assert all(a["state"] == "ended" for a in attempts)
    result = {a["phone"]: a["result"] for a in attempts}

    # The network: one INVITE per number, no call still up.
    trunk = rig.trunk_calls()
    invites: dict[str, int] = {}
    for call in trunk:
        invites[call.number] = invites.get(call.number, 0) + 1
    assert {n: c for n, c in invites.items() if c != 1} == {}
    assert sorted(invites) == sorted(numbers)
    assert all(call.ended_at is not None for call in trunk)

    # Abandonment, as stored and as the trunk and phones saw it.
    answered = sum(1 for r in result.values() if r in ("SUCCESS", "ABANDONED"))
    abandoned = sorted(n for n, r in result.items() if r == "ABANDONED")
    # Every agent's phone answered takes one customer of the queue (the rig's phones get
    # no other call): the answered customers no phone took were abandoned. (Counted, not
    # paired by time: two customers answered and hung up within a millisecond of each
    # other, one talked to an agent and one not; the phones do not see who called.)
    trunk_answered = sum(1 for c in trunk if c.answered_at is not None)
    agents_answered = sum(
        1 for n in rig.phones for leg in rig.agent_calls(n) if leg.answered_at is not None
    )
    print(
        f"\n{dial_mode} on {AGENTS} SIP phones: {answered} answered, {len(abandoned)} abandoned"
        f" ({100 * len(abandoned) / max(answered, 1):.1f}%), peak live lines {peak}"
        f" (trunk {peak_of(trunk)}), run {run_s:.0f} s"
    )
    assert answered == trunk_answered
    assert trunk_answered - agents_answered == len(abandoned), (trunk_answered, agents_answered)
    assert len(abandoned) <= MAX_ABANDON_PCT / 100 * answered, (abandoned, answered)
