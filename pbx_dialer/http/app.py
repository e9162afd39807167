"""The application factory and one cleanup context per resource."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from pbx_dialer.ami.client import ConnectionState
from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.auth.service import AuthService
from pbx_dialer.campaigns.scheduler import CampaignScheduler
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.config import Settings
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.http import keys
from pbx_dialer.http.agents import desk_ctx
from pbx_dialer.http.auth import auth_middleware
from pbx_dialer.http.errors import error_middleware
from pbx_dialer.http.imports import imports_ctx
from pbx_dialer.http.live_feeds import live_feeds_ctx
from pbx_dialer.http.routes import setup_routes
from pbx_dialer.notifier import Notifier
from pbx_dialer.records import renumber
from pbx_dialer.storage.db import Database

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    db = await Database.open(app[keys.settings_key].database.path)
    app[keys.db_key] = db
    await renumber.upgrade(db, app[keys.clock_key]())
    yield
    await db.close()


async def auth_ctx(app: web.Application) -> AsyncIterator[None]:
    server = app[keys.settings_key].server
    app[keys.auth_key] = AuthService(
        app[keys.db_key],
        app[keys.clock_key],
        lifetime_s=server.session_hours * 3600,
        idle_s=server.session_idle_minutes * 60,
    )
    yield


async def pbx_ctx(app: web.Application) -> AsyncIterator[None]:
    """One AMI connection per configured Asterisk. The dialer gets their events."""
    notifier = app[keys.notifier_key]
    pbxs: dict[str, Pbx] = {}

    def on_event(pbx: Pbx, event: object) -> None:
        if keys.dialer_key in app:
            app[keys.dialer_key].on_pbx_event(pbx, event)  # type: ignore[arg-type]

    def on_state(pbx: Pbx, state: ConnectionState, detail: str) -> None:
        notifier.publish("pbx", {"name": pbx.name, "state": state.value, "detail": pbx.describe()})
        if keys.dialer_key in app:
            app[keys.dialer_key].wake()

    for settings in app[keys.settings_key].pbx:
        pbxs[settings.name] = Pbx(
            settings, on_event=on_event, on_state=on_state, clock=app[keys.clock_key]
        )
    app[keys.pbxs_key] = pbxs
    for pbx in pbxs.values():
        await pbx.start()
    yield
    for pbx in pbxs.values():
        await pbx.close()


async def dialer_ctx(app: web.Application) -> AsyncIterator[None]:
    notifier = app[keys.notifier_key]
    clock = app[keys.clock_key]
    settings = app[keys.settings_key]
    campaigns = CampaignService(
        app[keys.db_key],
        notifier,
        clock,
        pbx_names=frozenset(p.name for p in settings.pbx),
        default_zone=settings.dialer.timezone,
    )
    pbxs: dict[str, Pbx] = app[keys.pbxs_key]
    dialer = Dialer(
        app[keys.db_key],
        pbxs,
        campaigns,
        notifier,
        clock,
        tick_seconds=app[keys.settings_key].dialer.tick_seconds,
    )
    campaigns.on_change = dialer.wake
    app[keys.campaigns_key] = campaigns
    app[keys.dialer_key] = dialer
    scheduler = CampaignScheduler(campaigns, settings.smtp, clock)
    app[keys.scheduler_key] = scheduler
    await dialer.start()
    scheduler_task = asyncio.get_running_loop().create_task(scheduler.run())
    yield
    scheduler_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await scheduler_task
    await dialer.close()
    notifier.close()


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> web.Application:
    # Errors outermost: a refusal of the auth middleware is JSON like any other error.
    app = web.Application(middlewares=[error_middleware, auth_middleware])
    app[keys.settings_key] = settings
    app[keys.clock_key] = clock
    app[keys.notifier_key] = Notifier()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(WEB_DIR / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    app.cleanup_ctx.extend(
        [database_ctx, auth_ctx, pbx_ctx, dialer_ctx, desk_ctx, live_feeds_ctx, imports_ctx]
    )
    setup_routes(app, WEB_DIR / "static")
    return app
