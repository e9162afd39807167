"""Fixtures for tests over real SIP: the rig of sipp user agents (trunk, agents'
phones, inbound callers) around its own Asterisk, and dialer settings against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from pbx_dialer.config import DatabaseSettings, DialerSettings, Settings
from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sip import SipRig
from tests.conftest import pbx_settings

TRUNK_TEMPLATE = "PJSIP/{number}@trunk"


@pytest_asyncio.fixture
async def sip_rig() -> AsyncIterator[SipRig]:
    """Trunk, two agents' phones (answer after 1 s) and Asterisk, on free ports; every
    sipp process is killed afterwards. No skip: without sipp the test fails."""
    async with SipRig(agents=2) as rig:
        yield rig


@pytest_asyncio.fixture
async def sip_asterisk(sip_rig: SipRig) -> AsteriskInstance:
    """The rig's Asterisk (configured with the rig's endpoints and dialplan)."""
    return sip_rig.asterisk


def sip_settings(
    asterisk: AsteriskInstance,
    database: Path,
    dial_template: str = TRUNK_TEMPLATE,
    **pbx: Any,
) -> Settings:
    """Dialer settings against the rig's Asterisk, dialing `dial_template`."""
    return Settings(
        database=DatabaseSettings(path=str(database)),
        pbx=(pbx_settings(asterisk, dial_template=dial_template, **pbx),),
        dialer=DialerSettings(tick_seconds=0.2),
    )
