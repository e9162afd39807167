"""Power dialing on a real Asterisk: more calls than agents, and the abandoned ones hear
the safe-harbour message within 2 s of answering instead of waiting."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]


async def test_power_dials_two_lines_per_agent_and_releases_the_extra_answer(
    dialer: Client, sim: Simulator
) -> None:
    """One agent, power dialing at 2 lines per idle agent. Both customers answer after
    1 s; the agent takes one, the other gets no agent within 2 s: ABANDONED, released
    after the safe-harbour message (Asterisk plays it: a Playback of vm-goodbye)."""
    await sim.add_agent("sales", 7001)
    campaign_id = await create_campaign(dialer, dial_mode="power", max_lines=2)
    await add_records(dialer, campaign_id, ["5550101", "5550102"])
    played = sim.wait_event("Newexten", timeout=20, application="Playback")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def both_ended() -> bool:
        found = await attempts_of(dialer, campaign_id)
        return len(found) == 2 and all(a["state"] == "ended" for a in found.values())

    await eventually(both_ended, timeout=30)
    attempts = list((await attempts_of(dialer, campaign_id)).values())
    assert sorted(a["result"] for a in attempts) == ["ABANDONED", "SUCCESS"]
    abandoned = next(a for a in attempts if a["result"] == "ABANDONED")
    assert abandoned["agent"] is None
    assert 1.5 <= abandoned["wait_s"] <= 3.5, abandoned
    # Both were placed together: power dialing does not wait for a second agent.
    assert abs(attempts[0]["placed_at"] - attempts[1]["placed_at"]) < 1.0
    harbour = await played
    assert harbour.get("appdata") == "vm-goodbye"
    stats = await (await dialer.get(f"/api/campaigns/{campaign_id}/stats")).json()
    assert stats["abandonment"]["24h"] == {"answered": 2, "abandoned": 1, "pct": 50.0}
    assert stats["abandonment"]["30d"]["abandoned"] == 1
