"""Agent desk calls take their token from the PBX's calls-per-second bucket too: at the
cap a desk call waits a moment for the next token, or the agent is told to retry."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import cast

import pytest

from pbx_dialer.agents.desk import AgentDesk, DeskRefused
from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.config import PbxSettings
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing.rate import CallRate
from pbx_dialer.storage.db import Database


@dataclass
class _Pbx:
    """What the desk asks of a PBX before a call: its name, settings and bucket."""

    settings: PbxSettings
    name: str = "main"
    call_rate: CallRate = field(init=False)

    def __post_init__(self) -> None:
        self.call_rate = CallRate(self.settings.max_calls_per_second)


def desk() -> AgentDesk:
    return AgentDesk(cast(Database, None), cast(Dialer, None), Notifier(), clock=time.monotonic)


async def test_a_desk_call_waits_for_the_next_token() -> None:
    pbx = _Pbx(PbxSettings(max_calls_per_second=2.0))
    assert pbx.call_rate.take(time.monotonic(), 2) == 2
    started = time.monotonic()
    await desk()._rate_token(cast(Pbx, pbx))
    waited = time.monotonic() - started
    assert 0.3 <= waited < 1.5, waited
    assert pbx.call_rate.available(time.monotonic()) == 0  # the desk call took it


async def test_at_a_slow_cap_the_agent_is_told_to_retry() -> None:
    pbx = _Pbx(PbxSettings(max_calls_per_second=0.1))
    assert pbx.call_rate.take(time.monotonic(), 1) == 1
    with pytest.raises(DeskRefused, match=r"main is at its cap of 0.1 new calls per second"):
        await desk()._rate_token(cast(Pbx, pbx))
