"""What the benchmarks that run the real application share: the Asterisk-backed settings,
the server on a loopback port, an admin's API token, and one campaign of [sim-null]
records. Imported by the bench scripts, which run from this folder (sys.path[0])."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pbx_dialer.auth.model import Role, User  # noqa: E402
from pbx_dialer.config import DatabaseSettings, DialerSettings, PbxSettings, Settings  # noqa: E402
from pbx_dialer.dialing.failures import FailureWatch  # noqa: E402
from pbx_dialer.http import keys  # noqa: E402
from pbx_dialer.testing.asterisk import AsteriskInstance  # noqa: E402

NULL_CONTEXT = "sim-null"  # extensions_sim.conf: every number hangs up at once
FIRST_NUMBER = 1_000_000  # 7-digit numbers, matched by _X. in [sim-null]
# What the dialer is given: valid E.164 numbers (+1 212 200-0000 on), matched by _+X.
FIRST_E164 = 12_122_000_000
QUEUE = "bench"
RECORDS_PER_POST = 10_000


def settings_for(ast: AsteriskInstance, tmp: Path, tick_seconds: float) -> Settings:
    """The application's settings against `ast`, every call dialed into [sim-null]."""
    return Settings(
        database=DatabaseSettings(path=str(tmp / "dialer.sqlite3")),
        pbx=(
            PbxSettings(
                host=ast.ami_host,
                port=ast.ami_port,
                username=ast.dialer_user,
                secret=ast.dialer_secret,
                dial_template=f"Local/{{number}}@{NULL_CONTEXT}",
                # The benches measure the dialer itself: no per-PBX call rate cap.
                max_calls_per_second=1_000_000.0,
            ),
        ),
        dialer=DialerSettings(tick_seconds=tick_seconds),
    )


def never_alert(app: web.Application) -> None:
    """[sim-null] fails every call the same way by design: the dialer's failure watch
    (pbx_dialer.dialing.failures) would pause the bench's campaign after ten calls."""
    app[keys.dialer_key].failures = FailureWatch(calls=sys.maxsize)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start `app` on a free loopback port: its runner (to clean up) and base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def admin_token(app: web.Application) -> str:
    """The API needs a log-in: an admin with an API token, as a script would have."""
    auth = app[keys.auth_key]
    admin = await auth.create_user(
        User(id=0, username="bench", role=Role.ADMIN), os.urandom(16).hex()
    )
    token: str = (await auth.new_token(admin, "bench"))[1]
    return token


async def campaign_of_records(
    http: aiohttp.ClientSession, base: str, campaign: dict[str, Any], calls: int
) -> int:
    """Create `campaign` and give it `calls` records at [sim-null] numbers; its id. No
    pack calling rules (the bench runs at any hour); the dial gate still checks each."""
    campaign = {"calling_rules": "none", **campaign}
    async with http.post(f"{base}/api/campaigns", json=campaign) as resp:
        if resp.status != 201:
            raise RuntimeError(f"campaign not created: {await resp.text()}")
        campaign_id = int((await resp.json())["id"])
    for start in range(0, calls, RECORDS_PER_POST):
        batch = [
            {"phone": f"+{FIRST_E164 + i}", "name": f"Customer {i}"}
            for i in range(start, min(calls, start + RECORDS_PER_POST))
        ]
        async with http.post(
            f"{base}/api/campaigns/{campaign_id}/records", json={"records": batch}
        ) as resp:
            if resp.status != 201:
                raise RuntimeError(f"records not added: {await resp.text()}")
    return campaign_id
