"""Campaign controls, clone, schedules, suspension and the email reminder, with a fixed
clock, a real SQLite file and a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller

from pbx_dialer.campaigns.model import CampaignSettings, CampaignStatus, Control, TransitionRefused
from pbx_dialer.campaigns.scheduler import CampaignScheduler
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.config import SmtpSettings
from pbx_dialer.notifier import Notifier
from pbx_dialer.storage.db import Database
from tests.conftest import TEST_ADMIN, TEST_TOKEN

Client = TestClient[web.Request, web.Application]


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


class Inbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Any:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, SmtpSettings(host="127.0.0.1", port=port, from_addr="dialer@example.test")
    finally:
        controller.stop()


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "lifecycle.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]


async def test_every_control_is_recorded_with_who_and_when(db: Database) -> None:
    clock = Clock(at(2026, 11, 23, 9))
    service = CampaignService(db, Notifier(), clock)
    campaign = await service.create(CampaignSettings(name="Renewals", queue="sales"))
    await service.control(campaign.id, Control.PLAY, actor="alice")
    clock.set(at(2026, 11, 23, 10))
    await service.control(campaign.id, Control.PAUSE, actor="bob")
    await service.control(campaign.id, Control.STOP, actor="carol")
    with pytest.raises(TransitionRefused, match="cannot play a stopped campaign"):
        await service.control(campaign.id, Control.PLAY, actor="alice")
    history = await service.history(campaign.id)
    assert [(h["action"], h["actor"], h["at"]) for h in history] == [
        ("play", "alice", at(2026, 11, 23, 9).timestamp()),
        ("pause", "bob", at(2026, 11, 23, 10).timestamp()),
        ("stop", "carol", at(2026, 11, 23, 10).timestamp()),
    ]


async def test_a_draft_lists_what_it_misses_before_it_can_start(db: Database) -> None:
    service = CampaignService(db, Notifier(), Clock(at(2026, 11, 23, 9)))
    campaign = await service.create(CampaignSettings(name="No queue", dial_mode="preview"))
    with pytest.raises(TransitionRefused) as refused:
        await service.control(campaign.id, Control.PLAY, actor="alice")
    assert "queue" in str(refused.value)
    assert (await service.get(campaign.id)).status is CampaignStatus.DRAFT


async def test_clone_makes_a_new_draft_with_the_same_settings(db: Database) -> None:
    service = CampaignService(db, Notifier(), Clock(at(2026, 11, 23, 9)))
    settings = CampaignSettings(
        name="Renewals", queue="sales", queue_priority=7, agent_notes="Be nice"
    )
    source = await service.create(settings)
    await service.control(source.id, Control.PLAY, actor="alice")
    copy = await service.clone(source.id, None, actor="alice")
    again = await service.clone(source.id, None, actor="alice")
    assert copy.status is CampaignStatus.DRAFT and copy.cloned_from == source.id
    assert copy.settings == replace(settings, name="Renewals (copy)")
    assert again.settings.name == "Renewals (copy 2)"
    assert [h["action"] for h in await service.history(copy.id)] == ["clone"]


async def test_schedule_starts_stops_and_keeps_the_stop_after_a_manual_start(
    db: Database,
) -> None:
    """Daily 09:00-18:00 in the call centre's zone (UTC here). Started by hand at 13:30
    the day before its schedule, it still pauses at 18:00; next day it starts at 09:00."""
    clock = Clock(at(2026, 11, 23, 13, 30))
    service = CampaignService(db, Notifier(), clock)
    campaign = await service.create(
        CampaignSettings(name="Daily", queue="sales", auto_start="09:00", auto_stop="18:00")
    )
    scheduler = CampaignScheduler(service, SmtpSettings(), clock)
    await service.control(campaign.id, Control.PLAY, actor="alice")
    clock.set(at(2026, 11, 23, 17, 59))
    assert await scheduler.tick() == []
    clock.set(at(2026, 11, 23, 18, 0, 5))
    applied = await scheduler.tick()
    assert [d.control for _, d in applied] == [Control.PAUSE]
    assert (await service.get(campaign.id)).status is CampaignStatus.PAUSED
    clock.set(at(2026, 11, 24, 9, 0, 1))
    await scheduler.tick()
    assert (await service.get(campaign.id)).status is CampaignStatus.ACTIVE
    actions = [(h["action"], h["actor"], h["detail"]) for h in await service.history(campaign.id)]
    assert actions == [
        ("play", "alice", ""),
        ("pause", "schedule", "automatic stop at 18:00"),
        ("play", "schedule", "automatic start at 09:00"),
    ]


async def test_play_is_refused_outside_the_campaign_dates(db: Database) -> None:
    clock = Clock(at(2026, 11, 23, 9))
    service = CampaignService(db, Notifier(), clock)
    early = await service.create(CampaignSettings(name="Dec", queue="s", start_date="2026-12-01"))
    late = await service.create(CampaignSettings(name="Oct", queue="s", end_date="2026-10-31"))
    with pytest.raises(TransitionRefused, match="before its start date 2026-12-01"):
        await service.control(early.id, Control.PLAY, actor="alice")
    with pytest.raises(TransitionRefused, match="after its end date 2026-10-31"):
        await service.control(late.id, Control.PLAY, actor="alice")


async def test_suspend_resumes_by_itself_and_emails_the_reminder(db: Database, smtp: Any) -> None:
    """Suspended at 10:00 until 15:00 with a reminder at 12:00: the reminder reaches the
    SMTP server once, and at 15:00 the campaign dials again."""
    inbox, smtp_settings = smtp
    clock = Clock(at(2026, 11, 23, 10))
    service = CampaignService(db, Notifier(), clock)
    campaign = await service.create(CampaignSettings(name="Winter offer", queue="sales"))
    await service.control(campaign.id, Control.PLAY, actor="alice")
    scheduler = CampaignScheduler(service, smtp_settings, clock)
    suspended = await service.suspend(
        campaign.id,
        "alice",
        resume_at=at(2026, 11, 23, 15).timestamp(),
        reminder_at=at(2026, 11, 23, 12).timestamp(),
        reminder_to="supervisor@example.test",
    )
    assert suspended.status is CampaignStatus.PAUSED and suspended.suspension is not None
    clock.set(at(2026, 11, 23, 11, 59))
    await scheduler.tick()
    assert inbox.messages == []
    clock.set(at(2026, 11, 23, 12, 0, 1))
    await scheduler.tick()
    clock.set(at(2026, 11, 23, 12, 5))
    await scheduler.tick()
    assert len(inbox.messages) == 1
    sender, recipients, raw = inbox.messages[0]
    mail = message_from_bytes(raw)
    assert sender == "dialer@example.test" and recipients == ["supervisor@example.test"]
    assert mail["Subject"] == 'Reminder: campaign "Winter offer" is suspended'
    assert "resumes by itself at 2026-11-23 15:00 UTC" in mail.get_payload()
    clock.set(at(2026, 11, 23, 15, 0, 1))
    await scheduler.tick()
    resumed = await service.get(campaign.id)
    assert resumed.status is CampaignStatus.ACTIVE and resumed.suspension is None
    assert [h["action"] for h in await service.history(campaign.id)] == [
        "play",
        "suspend",
        "reminder",
        "resume",
    ]


async def test_a_failing_smtp_server_is_retried_not_fatal(db: Database) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    clock = Clock(at(2026, 11, 23, 10))
    service = CampaignService(db, Notifier(), clock)
    campaign = await service.create(CampaignSettings(name="C", queue="sales"))
    await service.control(campaign.id, Control.PLAY, actor="alice")
    await service.suspend(
        campaign.id, "alice", reminder_at=clock() + 60, reminder_to="sup@example.test"
    )
    scheduler = CampaignScheduler(
        service, SmtpSettings(host="127.0.0.1", port=closed, timeout=2), clock
    )
    clock.set(at(2026, 11, 23, 10, 2))
    await scheduler.tick()
    assert "SMTP 127.0.0.1" in scheduler.mail_errors[campaign.id]
    assert (await service.get(campaign.id)).suspension.reminder_sent_at is None  # type: ignore[union-attr]


async def test_suspend_api_validates_and_resume_clears_it(api: Client) -> None:
    created = await (await api.post("/api/campaigns", json={"name": "A", "queue": "sales"})).json()
    cid = created["id"]
    assert (await api.post(f"/api/campaigns/{cid}/play")).status == 200
    bad = await api.post(
        f"/api/campaigns/{cid}/suspend",
        json={"resume_at": "2020-01-01T00:00:00+00:00", "reminder_to": "not an address"},
    )
    assert bad.status == 422
    fields = (await bad.json())["fields"]
    assert fields["resume_at"] == "must be in the future"
    assert fields["reminder_to"] == "must be one email address"
    unpaired = await api.post(
        f"/api/campaigns/{cid}/suspend", json={"reminder_to": "sup@example.test"}
    )
    assert (await unpaired.json())["fields"] == {
        "reminder_to": "reminder_at and reminder_to go together"
    }
    naive = await api.post(f"/api/campaigns/{cid}/suspend", json={"resume_at": "2099-01-01T00:00"})
    assert naive.status == 422 and "offset" in (await naive.json())["fields"]["resume_at"]
    ok = await api.post(
        f"/api/campaigns/{cid}/suspend", json={"resume_at": "2099-01-01T00:00:00+00:00"}
    )
    body = await ok.json()
    assert ok.status == 200 and body["status"] == "paused" and body["suspended"] is True
    assert body["suspension"]["resume_at"] == datetime(2099, 1, 1, tzinfo=UTC).timestamp()
    # The header naming someone else is not taken: the history has who is logged in.
    resumed = await (
        await api.post(f"/api/campaigns/{cid}/resume", headers={"X-Actor": "bob"})
    ).json()
    assert resumed["status"] == "active" and resumed["suspended"] is False
    # A script with an API token: the token's user and its name.
    paused = await api.post(
        f"/api/campaigns/{cid}/pause",
        headers={"Authorization": f"Bearer {TEST_TOKEN}", "X-Actor": "bob"},
    )
    assert paused.status == 200
    history = (await (await api.get(f"/api/campaigns/{cid}/history")).json())["actions"]
    assert [(h["action"], h["actor"]) for h in history] == [
        ("play", TEST_ADMIN),
        ("suspend", TEST_ADMIN),
        ("resume", TEST_ADMIN),
        ("pause", f"{TEST_ADMIN} (token tests)"),
    ]


async def test_settings_edit_while_active_takes_effect_and_is_audited(api: Client) -> None:
    created = await (await api.post("/api/campaigns", json={"name": "B", "queue": "sales"})).json()
    cid = created["id"]
    await api.post(f"/api/campaigns/{cid}/play")
    edited = await api.patch(
        f"/api/campaigns/{cid}", json={"max_lines": 5, "agent_notes": "Offer 10%"},
        headers={"X-Actor": "alice"},
    )  # fmt: skip
    assert edited.status == 200
    body = await edited.json()
    assert body["max_lines"] == 5 and body["status"] == "active"
    history = (await (await api.get(f"/api/campaigns/{cid}/history")).json())["actions"]
    assert history[-1]["action"] == "edit" and history[-1]["actor"] == TEST_ADMIN
    assert history[-1]["detail"] == "max_lines, agent_notes"
    bad = await api.patch(
        f"/api/campaigns/{cid}",
        json={"retry_rules": {"BUSY": {"delay_s": -1}}, "cc_hour_code_id": 99},
    )
    assert bad.status == 422
    assert (await bad.json())["fields"] == {
        "retry_rules.BUSY.delay_s": "must be 0 to 2592000 seconds"
    }
    missing_code = await api.patch(f"/api/campaigns/{cid}", json={"cc_hour_code_id": 99})
    assert (await missing_code.json())["fields"] == {"cc_hour_code_id": "no hour code 99"}
    clone = await api.post(f"/api/campaigns/{cid}/clone", json={"name": "B for December"})
    assert clone.status == 201
    copy = await clone.json()
    assert copy["status"] == "draft" and copy["max_lines"] == 5 and copy["cloned_from"] == cid
    unknown = await api.post("/api/campaigns/999999/clone")
    assert unknown.status == 404
    await asyncio.sleep(0)
