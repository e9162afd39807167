"""The dial loop's view of agents in wrap-up: not idle in the pacing snapshot, the
policies told `wrapup` and then `idle` when it ends, and the loop wakes for that end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.calls import AgentState
from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing import BasePolicy, Progressive
from pbx_dialer.storage.db import Database

AGENT = "Local/7001@sim-agents"


@dataclass
class _Pbx:
    """What the dialer asks of a PBX here: its name and the agents of a queue."""

    agent: AgentState
    name: str = "main"

    def agents(self, queue: str) -> list[AgentState]:
        return [self.agent]


@dataclass
class _Told(BasePolicy):
    agents: list[tuple[float, str, str]] = field(default_factory=list)

    def on_agent(self, at: float, agent: str, state: str) -> None:
        self.agents.append((at, agent, state))


def _dialer(pbx: Pbx, told: _Told, clock: Callable[[], float]) -> tuple[Dialer, Campaign]:
    """A dialer on `pbx` whose campaign (queue sales) is paced by `told`."""
    dialer = Dialer(
        cast(Database, None),
        {"main": pbx},
        cast(CampaignService, None),
        Notifier(),
        clock=clock,
        policy_factory=lambda *args, **kwargs: told,
    )
    campaign = Campaign(
        1, CampaignStatus.ACTIVE, CampaignSettings(name="p", queue="sales"), 0.0, 0.0
    )
    dialer._policy(campaign)
    return dialer, campaign


async def test_an_agent_in_wrap_up_is_not_idle_until_it_ends() -> None:
    now = [100.0]
    told = _Told()
    wrapping = AgentState("sales", AGENT, "Agent 7001", 1, False, False, wrapup_until=103.0)
    pbx = cast(Pbx, _Pbx(wrapping))
    dialer, campaign = _dialer(pbx, told, lambda: now[0])
    seen = dialer.snapshot(campaign, pbx)
    assert (seen.agents_logged_in, seen.agents_idle, seen.agents_wrapup) == (1, 0, 1)
    assert Progressive().calls_to_place(seen) == 0

    dialer.on_pbx_event(pbx, wrapping)
    assert told.agents == [(100.0, AGENT, "wrapup")]
    assert dialer.next_wake() == 103.0

    now[0] = 102.0
    dialer.end_wrapups(now[0])
    assert told.agents == [(100.0, AGENT, "wrapup")]
    now[0] = 103.2
    dialer.end_wrapups(now[0])
    # Told when it ended, not when the loop noticed.
    assert told.agents[-1] == (103.0, AGENT, "idle")
    assert dialer.next_wake() is None
    seen = dialer.snapshot(campaign, pbx)
    assert (seen.agents_idle, seen.agents_wrapup) == (1, 0)
    assert Progressive().calls_to_place(seen) == 1


async def test_a_new_state_replaces_a_pending_wrap_up() -> None:
    """Paused during wrap-up: away, and no idle comes when the wrap-up would have ended."""
    told = _Told()
    wrapping = AgentState("sales", AGENT, "Agent 7001", 1, False, False, wrapup_until=103.0)
    pbx = cast(Pbx, _Pbx(wrapping))
    dialer, campaign = _dialer(pbx, told, lambda: 100.0)
    dialer.snapshot(campaign, pbx)
    dialer.on_pbx_event(pbx, wrapping)
    paused = AgentState("sales", AGENT, "Agent 7001", 1, True, False, wrapup_until=103.0)
    dialer.on_pbx_event(pbx, paused)
    assert [state for _, _, state in told.agents] == ["wrapup", "away"]
    assert dialer.next_wake() is None
    dialer.end_wrapups(200.0)
    assert [state for _, _, state in told.agents] == ["wrapup", "away"]
