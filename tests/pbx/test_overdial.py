"""Power dialing on a real Asterisk: more calls than agents, and the abandoned ones hear
the safe-harbour message within 2 s of answering instead of waiting."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.config import PbxSettings
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def test_power_dials_two_lines_per_agent_and_releases_the_extra_answer(
    dialer: Client, sim: Simulator
) -> None:
    """One agent, power dialing at 2 lines per idle agent, its abandonment cap at 100%:
    the first two calls go alone (a new campaign has no room for an abandonment, and the
    last hour keeps one abandonment of its room back); once two persons answered there is
    room for one, and when the agent is free again two calls go out for them at once
    (the call waiting for the agent counts as at risk until the agent takes it, so none
    goes out beside it). Every customer answers after 1 s; the extra one gets no agent
    within 2 s: ABANDONED, released after the safe-harbour message (Asterisk plays it: a
    Playback of the configured recording)."""
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(dialer, dial_mode="power", max_lines=2, max_abandon_pct=100)
    await add_records(
        dialer, campaign_id, ["+12125550101", "+12125550102", "+12125550103", "+12125550104"]
    )
    played = sim.wait_event("Newexten", timeout=30, application="Playback")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def all_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == 4 and all(a["state"] == "ended" for a in found.values())

    await eventually(all_ended, timeout=40)
    attempts = sorted((await attempts_of(dialer, campaign_id)).values(), key=lambda a: a["id"])
    results = sorted(a["result"] for a in attempts)
    assert results == ["ABANDONED", "SUCCESS", "SUCCESS", "SUCCESS"], attempts
    # Alone: each had the agent to itself.
    assert attempts[0]["result"] == attempts[1]["result"] == "SUCCESS"
    abandoned = next(a for a in attempts if a["result"] == "ABANDONED")
    assert abandoned["agent"] is None
    assert 1.5 <= abandoned["wait_s"] <= 3.5, abandoned
    # Power dialing did not wait for a second agent: two calls for the one free agent.
    second, third = attempts[2], attempts[3]
    assert attempts[1]["ended_at"] <= second["placed_at"], attempts
    assert abs(third["placed_at"] - second["placed_at"]) < 0.5, attempts
    harbour = await played
    assert harbour.get("appdata") == PbxSettings().safe_harbour  # the shipped recording
    stats = await (await dialer.get(f"/api/campaigns/{campaign_id}/stats")).json()
    assert stats["abandonment"]["24h"] == {"answered": 4, "abandoned": 1, "pct": 25.0}
    assert stats["abandonment"]["30d"]["abandoned"] == 1
