"""`make demo`: a local Asterisk with simulated agents and customers, the dialer, and a
campaign that dials. Ctrl-C stops all of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import signal
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from pbx_dialer.auth.model import Role, User
from pbx_dialer.campaigns.model import CampaignSettings, CampaignStatus, Control
from pbx_dialer.config import DatabaseSettings, PbxSettings, ServerSettings, Settings
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.storage import records as record_rows
from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sim import Simulator

log = logging.getLogger(__name__)
DEMO_QUEUE = "sales"
DEMO_ADMIN = "demo"


def demo_numbers(count: int, rng: random.Random) -> list[str]:
    """Numbers of the simulated network whose behaviour is drawn at random per call
    (answered and talking, busy, or no answer: see asterisk/extensions_sim.conf)."""
    return [f"+12125559{n:03d}" for n in rng.sample(range(1000), min(count, 1000))]


async def _new_wave(app: web.Application, wave: int, records: int, rng: random.Random) -> int:
    service = app[keys.campaigns_key]
    campaign = await service.create(
        CampaignSettings(
            name=f"Demo wave {wave}: spring renewals",
            # The simulated customers answer at any hour: the demo dials whenever it runs.
            calling_rules="none",
            queue=DEMO_QUEUE,
            queue_priority=5,
            max_lines=20,
            ring_timeout_s=20,
        )
    )
    numbers = demo_numbers(records, rng)
    new = [record_rows.NewRecord(phone=n, name=f"Demo customer {n[-3:]}") for n in numbers]
    await record_rows.add_many(service.db, campaign.id, new, service.clock())
    await service.control(campaign.id, Control.PLAY, actor="demo")
    return campaign.id


def _fresh_database(database: str) -> Path:
    """Each demo starts from an empty database."""
    db_path = Path(database)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return db_path


async def run_demo(port: int, agents: int, records: int, database: str) -> None:
    db_path = _fresh_database(database)
    print("starting Asterisk (the first run builds it; that takes about a minute)…", flush=True)
    async with AsteriskInstance() as asterisk:
        pbx = PbxSettings(
            name="demo",
            host=asterisk.ami_host,
            port=asterisk.ami_port,
            username=asterisk.dialer_user,
            secret=asterisk.dialer_secret,
            dial_template="Local/{number}@sim-pstn",
            recordings_dir=str(asterisk.instance_dir / "spool" / "monitor"),
        )
        sim = Simulator(
            replace(
                pbx, name="sim", username=asterisk.simulator_user, secret=asterisk.simulator_secret
            )
        )
        await sim.start()
        for n in range(agents):
            await sim.add_agent(DEMO_QUEUE, 7001 + n)
        settings = Settings(
            # The demo is plain HTTP on loopback: a Secure cookie would never come back.
            server=ServerSettings(host="127.0.0.1", port=port, secure_cookies=False),
            database=DatabaseSettings(path=str(db_path)),
            pbx=(pbx,),
        )
        app = create_app(settings)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.server.host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            await sim.close()
            raise SystemExit(
                f"pbx-dialer demo: cannot listen on port {port}: {exc.strerror}"
            ) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        rng = random.Random()
        wave = 1
        campaign_id = await _new_wave(app, wave, records, rng)
        # A fresh admin with a fresh password each run (the database is new each time).
        password = secrets.token_urlsafe(9)
        await app[keys.auth_key].create_user(
            User(id=0, username=DEMO_ADMIN, role=Role.ADMIN, display_name="Demo admin"), password
        )
        print(f"\nlog in as {DEMO_ADMIN!r} with password {password!r}", flush=True)
        print(
            f"pbx-dialer demo: http://127.0.0.1:{port}/campaigns  "
            f"({agents} simulated agents in queue '{DEMO_QUEUE}', Asterisk AMI on port "
            f"{asterisk.ami_port}). Ctrl-C stops everything.\n",
            flush=True,
        )
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0)
                campaign = await app[keys.campaigns_key].get(campaign_id)
                if campaign.status is CampaignStatus.COMPLETED:
                    wave += 1
                    campaign_id = await _new_wave(app, wave, records, rng)
        finally:
            print("stopping the demo…", flush=True)
            await runner.cleanup()
            await sim.close()
    print("demo stopped.", flush=True)
