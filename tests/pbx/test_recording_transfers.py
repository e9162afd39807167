"""Recording and transfers of campaign calls, against a real Asterisk.

A simulated agent transfers the customer with the AMI actions a softphone integration
would use: BlindTransfer, and Atxfer (attended: the agent calls the target, then hangs
up to complete the transfer), both on the agent's channel of the bridge.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.record_fixtures import attended_transfer, blind_transfer
from pbx_dialer.testing.sim import Simulator
from tests.conftest import eventually

pytestmark = pytest.mark.pbx
Client = TestClient[web.Request, web.Application]
# 5550601 answers after 1 s and talks 30 s: time enough to transfer.
TALKER = "+12125550601"


async def campaign_with_one_call(dialer: Client, recording: bool) -> int:
    response = await dialer.post(
        "/api/campaigns",
        json={
            "name": "Transfers",
            "queue": "sales",
            "max_attempts": 1,
            "recording": recording,
            "calling_rules": "none",  # dialed at any hour the suite runs
        },
    )
    assert response.status == 201, await response.text()
    campaign_id: int = (await response.json())["id"]
    response = await dialer.post(
        f"/api/campaigns/{campaign_id}/records",
        json={"records": [{"phone": TALKER, "name": "Customer"}]},
    )
    assert response.status == 201, await response.text()
    return campaign_id


async def the_attempt(dialer: Client, campaign_id: int) -> dict[str, Any]:
    async def ended() -> bool:
        response = await dialer.get(f"/api/campaigns/{campaign_id}/attempts")
        attempts = (await response.json())["attempts"]
        return len(attempts) == 1 and attempts[0]["state"] == "ended"

    await eventually(ended, timeout=30)
    response = await dialer.get(f"/api/campaigns/{campaign_id}/attempts")
    attempt: dict[str, Any] = (await response.json())["attempts"][0]
    return attempt


async def transfers_of(dialer: Client, campaign_id: int, query: str = "") -> dict[str, Any]:
    response = await dialer.get(f"/api/campaigns/{campaign_id}/transfers{query}")
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def monitor_dir(asterisk: AsteriskInstance) -> Path:
    return asterisk.instance_dir / "spool" / "monitor"


async def test_recorded_call_blind_transferred_by_the_agent(
    dialer: Client, sim: Simulator, asterisk: AsteriskInstance
) -> None:
    """A recording campaign's call reaches agent 7001, who talks 1 s and blind-transfers
    the customer to 8001@sim-transfer (talks 4 s, hangs up). The call is a SUCCESS of
    agent 7001 with the agent's talk time (up to the transfer); the transfer is listed
    with its agent and target; the recording, named after the attempt, holds the whole
    call including the part after the transfer."""
    await sim.add_agent("sales", 7001)
    campaign_id = await campaign_with_one_call(dialer, recording=True)
    connected = sim.wait_event("AgentConnect", timeout=15)
    before = time.time()
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    agent_channel = (await connected).get("destchannel")
    await asyncio.sleep(1.0)  # the agent talks with the customer first
    await blind_transfer(sim, agent_channel, "8001")

    attempt = await the_attempt(dialer, campaign_id)
    assert attempt["result"] == "SUCCESS" and attempt["agent"] == "Agent 7001"
    assert 0.7 <= attempt["talk_s"] <= 2.5, attempt
    assert attempt["ended_at"] - attempt["connected_at"] >= 4.5  # the target's 4 s
    assert attempt["recording"] == f"{attempt['channel_id']}.wav"
    assert attempt["recording"].startswith(f"pbxd-{attempt['id']}-")
    recording = monitor_dir(asterisk) / attempt["recording"]
    # 8 kHz 16-bit mono: the ~6 s from answer to hangup are far more than a WAV header.
    assert recording.stat().st_size > 8000 * 2 * 4
    # A supervisor downloads it through the API, from the PBX's configured recordings_dir.
    download = await dialer.get(f"/api/attempts/{attempt['id']}/recording")
    assert download.status == 200, await download.text()
    assert download.content_type == "audio/wav"
    assert await download.read() == recording.read_bytes()

    body = await transfers_of(dialer, campaign_id)
    [transfer] = body["transfers"]
    assert transfer["attempt_id"] == attempt["id"] and transfer["kind"] == "blind"
    assert transfer["transferred_by"] == "Agent 7001"
    assert transfer["agent_interface"] == "Local/7001@sim-agents"
    assert transfer["target"] == "8001@sim-transfer"
    assert transfer["recording"] == attempt["recording"]
    assert before < transfer["at"] < attempt["ended_at"]
    assert body["summary"] == {
        "last_transfer_at": transfer["at"],
        "transfers_last_15_min": 1,
        "transfers_today": 1,
    }
    # The window filters the list, never the summary.
    later = await transfers_of(dialer, campaign_id, f"?since={transfer['at'] + 1}")
    assert later["transfers"] == [] and later["summary"] == body["summary"]
    window = await transfers_of(
        dialer, campaign_id, f"?since={int(before)}&until={int(transfer['at']) + 1}"
    )
    assert [t["id"] for t in window["transfers"]] == [transfer["id"]]


async def test_unrecorded_call_attended_transfer(
    dialer: Client, sim: Simulator, asterisk: AsteriskInstance
) -> None:
    """A campaign that does not record: agent 7001 takes the call, starts an attended
    transfer to 8001@sim-transfer (Atxfer), and hangs up once talking to the target,
    which completes the transfer. No file is written; the transfer is attended, by the
    agent, to the target's channel; the call stays the agent's SUCCESS."""
    await sim.add_agent("sales", 7001)
    campaign_id = await campaign_with_one_call(dialer, recording=False)
    connected = sim.wait_event("AgentConnect", timeout=15)
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    agent_channel = (await connected).get("destchannel")
    await asyncio.sleep(1.0)  # the agent talks with the customer first
    await attended_transfer(sim, agent_channel, "8001")

    attempt = await the_attempt(dialer, campaign_id)
    assert attempt["result"] == "SUCCESS" and attempt["agent"] == "Agent 7001"
    assert attempt["recording"] is None
    assert not monitor_dir(asterisk).exists() or not any(monitor_dir(asterisk).iterdir())

    body = await transfers_of(dialer, campaign_id)
    [transfer] = body["transfers"]
    assert transfer["kind"] == "attended" and transfer["transferred_by"] == "Agent 7001"
    assert transfer["target"].startswith("Local/8001@sim-transfer-")
    assert transfer["recording"] is None
    assert attempt["talk_s"] == pytest.approx(transfer["at"] - attempt["connected_at"])
    assert body["summary"]["transfers_today"] == 1


async def test_transfers_api_refuses_bad_queries(api: Client) -> None:
    response = await api.post("/api/campaigns", json={"name": "Quiet", "queue": "sales"})
    campaign_id = (await response.json())["id"]
    empty = await transfers_of(api, campaign_id, "?since=2026-01-01T00:00:00%2B01:00")
    assert empty["transfers"] == []
    assert empty["summary"] == {
        "last_transfer_at": None,
        "transfers_last_15_min": 0,
        "transfers_today": 0,
    }
    for query, field in [
        ("?since=yesterday", "since"),
        ("?since=2026-01-01T00:00:00", "since"),
        ("?until=nan", "until"),
        ("?since=20&until=10", "until"),
        ("?limit=0", "limit"),
        ("?limit=abc", "limit"),
    ]:
        response = await api.get(f"/api/campaigns/{campaign_id}/transfers{query}")
        assert response.status == 422, query
        assert field in (await response.json())["fields"], query
    response = await api.get("/api/campaigns/999999/transfers")
    assert response.status == 404
    assert "no campaign" in (await response.json())["error"]
