"""Fixtures for tests over real SIP: the rig of sipp user agents (trunk, agents'
phones, inbound callers) around its own Asterisk, and dialer settings against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.config import DatabaseSettings, DialerSettings, Settings
from pbx_dialer.http.app import create_app
from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sip import SipRig
from tests.conftest import app_client, pbx_settings, start_client

TRUNK_TEMPLATE = "PJSIP/{number}@trunk"
Client = TestClient[web.Request, web.Application]


@pytest_asyncio.fixture
async def sip_rig() -> AsyncIterator[SipRig]:
    """Trunk, two agents' phones (answer after 1 s) and Asterisk, on free ports; every
    sipp process is killed afterwards. No skip: without sipp the test fails."""
    async with SipRig(agents=2) as rig:
        yield rig


@pytest_asyncio.fixture
async def dialer(sip_rig: SipRig, tmp_path: Path) -> AsyncIterator[Client]:
    """The whole dialer against the rig's Asterisk on the direct trunk template, served
    on loopback (this folder's `dialer`, in place of tests/conftest.py's)."""
    settings = sip_settings(sip_rig.asterisk, tmp_path / "dialer.sqlite3")
    client = await start_client(app_client(create_app(settings)))
    try:
        yield client
    finally:
        await client.close()


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
