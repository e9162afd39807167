"""Every web.AppKey of the application, in one place."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.auth.service import AuthService
from pbx_dialer.campaigns.scheduler import CampaignScheduler
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.config import Settings
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.notifier import Notifier
from pbx_dialer.storage.db import Database

settings_key = web.AppKey("settings", Settings)
Clock = Callable[[], float]
clock_key: web.AppKey[Clock] = web.AppKey("clock")
db_key = web.AppKey("db", Database)
notifier_key = web.AppKey("notifier", Notifier)
pbxs_key: web.AppKey[dict[str, Pbx]] = web.AppKey("pbxs")
campaigns_key = web.AppKey("campaigns", CampaignService)
dialer_key = web.AppKey("dialer", Dialer)
scheduler_key = web.AppKey("scheduler", CampaignScheduler)
auth_key = web.AppKey("auth", AuthService)
