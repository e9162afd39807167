"""The dial gate: every call the dialer places is admitted by it first, and only what it
admitted reaches a PBX; a call that is refused or cannot be built settles its attempt at
once. A fake PBX (its outcomes scripted per number), a real database and campaign service.

Each real dial path (progressive, power, predictive, agentless, agent first, retries,
preview, callbacks for an agent) is checked against a real Asterisk in tests/pbx: the
path's attempts are all in `Dialer.gate.placed` (tests.pbx.test_campaign_run
`assert_dialed_through_gate`)."""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest_asyncio

from pbx_dialer.ami.actions import UnsafeAmiValue
from pbx_dialer.ami.pbx import CallRequest, OriginateRefused, Pbx
from pbx_dialer.calls import AgentState, CallEnded, TechResult
from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus, Control
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing import why
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.dialing.gate import ADMISSION_S, DialGate, GateCall, NotAdmitted
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing.rate import CallRate
from pbx_dialer.rules import load_pack
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database
from tests.conftest import eventually

ROOT = Path(__file__).resolve().parents[2] / "pbx_dialer"


class _ScriptedPbx:
    """Answers each Originate as `outcomes` says for its number (default: placed, and the
    call ends BUSY at once)."""

    name = "main"
    ready = True

    def __init__(self, outcomes: dict[str, Exception]) -> None:
        self.outcomes = outcomes
        self.call_rate = CallRate(1000.0)
        self.asked: list[str] = []
        self.dialer: Dialer | None = None

    def agents(self, queue: str) -> list[AgentState]:
        return []

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[Exception | None]:
        loop = asyncio.get_running_loop()
        results: list[Exception | None] = []
        for request in requests:
            self.asked.append(request.number)
            outcome = self.outcomes.get(request.number)
            results.append(outcome)
            if outcome is None and self.dialer is not None:
                ended = CallEnded(request.attempt_id, TechResult.BUSY, at=time.time())
                loop.call_soon(self.dialer.on_pbx_event, cast(Pbx, self), ended)
        return results


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "gate.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def _started(
    db: Database,
    phones: list[str],
    outcomes: dict[str, Exception],
    others: Mapping[str, tuple[str, ...]] | None = None,
    blocked_later: Sequence[str] = (),
) -> tuple[Dialer, _ScriptedPbx, CampaignService, Campaign]:
    """An agentless campaign, one line, one attempt per record, playing."""
    notifier = Notifier()
    pbx = _ScriptedPbx(outcomes)
    service = CampaignService(db, notifier, time.time)
    dialer = Dialer(db, {"main": cast(Pbx, pbx)}, service, notifier, time.time, tick_seconds=0.05)
    dialer.refusal_hold_s = 0.05
    pbx.dialer = dialer
    service.on_change = dialer.wake
    campaign = await service.create(
        CampaignSettings(
            name="Gate",
            queue="sales",
            dial_mode="agentless",
            max_lines=1,
            retry_rules={},
            calling_rules="none",
        )
    )
    # Written straight into storage, as rows stored before a rule existed would be.
    numbers = others or {}
    await record_rows.add_many(
        db,
        campaign.id,
        [record_rows.NewRecord(phone=p, phones=(p, *numbers.get(p, ()))) for p in phones],
        time.time(),
    )
    # Blocked after the records came, as another process would between a pick and its
    # dial (the DNC API would have filtered a waiting record: tests/unit/test_dnc.py).
    async with db.transaction() as conn:
        for phone in blocked_later:
            await conn.execute(
                "INSERT INTO dnc (campaign_id, phone, added_at) VALUES (0, ?, 0)", (phone,)
            )
    await service.control(campaign.id, Control.PLAY, actor="supervisor")
    await dialer.start()
    return dialer, pbx, service, campaign


async def _records(db: Database, campaign_id: int) -> dict[str, tuple[str, str, int]]:
    rows = await db.fetchall(
        "SELECT phone, state, reason, attempts FROM records WHERE campaign_id = ?", (campaign_id,)
    )
    return {r["phone"]: (r["state"], r["reason"] or "", r["attempts"]) for r in rows}


async def _attempts(db: Database, campaign_id: int) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT phone, state FROM attempts WHERE campaign_id = ? ORDER BY id", (campaign_id,)
    )
    return [(r["phone"], r["state"]) for r in rows]


async def test_stored_numbers_no_rule_allows_are_filtered_and_never_reach_the_pbx(
    db: Database,
) -> None:
    stored = ["911", "5550151", "+19005551234", "+12125550151"]
    dialer, pbx, _service, campaign = await _started(db, stored, {})
    try:

        async def settled() -> bool:
            records = await _records(db, campaign.id)
            filtered = [p for p, (state, _, _) in records.items() if state == "filtered"]
            return len(filtered) == 3 and await _attempts(db, campaign.id) != []

        await eventually(settled)
        assert pbx.asked == ["+12125550151"]
        records = await _records(db, campaign.id)
        for phone in stored[:3]:
            assert records[phone] == ("filtered", "invalid_number", 0), records
        assert await _attempts(db, campaign.id) == [("+12125550151", "ended")]
        # The attempt says which rules pack it was checked against.
        row = await db.fetchone("SELECT rules_pack, compliance FROM attempts")
        assert row is not None and row["rules_pack"] == load_pack().version
        assert f'"rules_pack": "{load_pack().version}"' in row["compliance"]
    finally:
        await dialer.close()


async def test_a_refused_originate_settles_its_attempt_at_once(db: Database) -> None:
    refused = OriginateRefused("main: originate refused: Permission denied")
    dialer, pbx, service, campaign = await _started(db, ["+12125550151"], {"+12125550151": refused})
    try:

        async def asked() -> bool:
            return len(pbx.asked) >= 1

        await eventually(asked)
        await service.control(campaign.id, Control.PAUSE, actor="supervisor")

        async def given_back() -> bool:
            return not dialer.live and await _attempts(db, campaign.id) == []

        await eventually(given_back)
        # Nobody was called: the record waits, its allowance untouched, no line held.
        assert (await _records(db, campaign.id))["+12125550151"][0] == "ready"
        assert (await _records(db, campaign.id))["+12125550151"][2] == 0
    finally:
        await dialer.close()


async def test_an_originate_that_cannot_be_built_settles_and_pauses_the_campaign(
    db: Database,
) -> None:
    unsafe = UnsafeAmiValue("CallerID holds a line break")
    phones = ["+12125550151", "+12125550152"]
    dialer, pbx, service, campaign = await _started(db, phones, dict.fromkeys(phones, unsafe))
    try:

        async def paused() -> bool:
            return (await service.get(campaign.id)).status is CampaignStatus.PAUSED

        await eventually(paused)
        assert pbx.asked == ["+12125550151"]  # once, not again and again
        assert not dialer.live
        assert await _attempts(db, campaign.id) == []
        assert {s for s, _, _ in (await _records(db, campaign.id)).values()} == {"ready"}
        found = await service.get(campaign.id)
        assert found.alert is not None
        assert "could not be placed" in found.alert.text
        assert "line break" in found.alert.text
    finally:
        await dialer.close()


async def test_the_gate_places_only_what_it_admitted_moments_before(db: Database) -> None:
    notifier = Notifier()
    service = CampaignService(db, notifier, time.time)
    campaign = await service.create(
        CampaignSettings(name="Direct", queue="sales", calling_rules="none")
    )
    await record_rows.add_many(
        db,
        campaign.id,
        [record_rows.NewRecord(phone=p) for p in ("+12125550151", "+12125550152")],
        time.time(),
    )
    ids = {r.phone: r.id for r in await record_rows.list_for(db, campaign.id)}
    pbx = _ScriptedPbx({})
    gate = DialGate(db)

    def call(phone: str) -> GateCall:
        request = CallRequest(
            attempt_id=1, channel_id="pbxd-1", number=phone, ring_timeout_s=30, variables={}
        )
        return GateCall(ids[phone], request)

    now = time.time()
    # Built around the gate's check: refused, nothing reaches the PBX.
    (outcome,) = await gate.place(cast(Pbx, pbx), [call("+12125550151")], now)
    assert isinstance(outcome, NotAdmitted) and pbx.asked == []
    verdicts = await gate.admit(campaign, [(ids[p], p) for p in ids], now)
    assert [v.allowed for v in verdicts] == [True, True]
    assert verdicts[0].record["number"].startswith("a valid E.164 number")
    # Admitted for its own record only: another record's id with this number is refused.
    wrong = GateCall(ids["+12125550152"], call("+12125550151").request)
    first, swapped = await gate.place(cast(Pbx, pbx), [call("+12125550151"), wrong], now)
    assert first is None and isinstance(swapped, NotAdmitted)
    assert pbx.asked == ["+12125550151"]
    # One admission, one call: placing it again needs a new check.
    (again,) = await gate.place(cast(Pbx, pbx), [call("+12125550151")], now)
    assert isinstance(again, NotAdmitted)
    # An admission is short-lived.
    (late,) = await gate.place(cast(Pbx, pbx), [call("+12125550152")], now + ADMISSION_S + 1)
    assert isinstance(late, NotAdmitted)
    assert list(gate.placed) == [(ids["+12125550151"], "+12125550151")]


# What only the PBX layer and the gate may call: the ways an Originate is sent.
_ORIGINATING = {"place_calls", "place_call", "originate", "send_originate", "send_many"}
# Allowed callers: the AMI layer itself (its own wiring check dials a test extension,
# not a customer), the gate, and the test rigs that record fixtures.
_ALLOWED = (ROOT / "ami", ROOT / "dialing" / "gate.py", ROOT / "testing")


def test_nothing_in_the_tree_originates_around_the_gate() -> None:
    offenders: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        if any(path == allowed or allowed in path.parents for allowed in _ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _ORIGINATING
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "pbx_dialer.ami.actions":
                names = {alias.name for alias in node.names}
                if "originate" in names:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports originate")
    assert offenders == []


MIAMI = "+13055550123"  # Florida: 08:00-20:00 local and 3 calls per 24 h (US-FL-*)


async def test_the_gate_checks_the_campaigns_rules_pack_set_and_reschedules_refusals(
    db: Database,
) -> None:
    service = CampaignService(db, Notifier(), time.time)
    campaign = await service.create(CampaignSettings(name="Florida", queue="sales"))
    assert campaign.settings.rule_set() == "US"  # auto: the default region's country
    await record_rows.add_many(db, campaign.id, [record_rows.NewRecord(phone=MIAMI)], 0.0)
    (record,) = await record_rows.list_for(db, campaign.id)
    gate = DialGate(db)
    evening = datetime(2026, 6, 5, 0, 30, tzinfo=UTC).timestamp()  # 20:30 in Miami
    (late,) = await gate.admit(campaign, [(record.id, MIAMI)], evening)
    assert not late.allowed and late.refusal == "later"
    assert late.record["rules"]["rule"] == "US-FL-hours"
    assert late.record["rules"]["rules_pack"] == load_pack().version
    # Asked again at the state's next opening, 08:00 in Miami, not at every pass.
    assert late.retry_at == datetime(2026, 6, 5, 12, 0, tzinfo=UTC).timestamp()
    morning = datetime(2026, 6, 5, 14, 0, tzinfo=UTC).timestamp()  # 10:00 in Miami
    (ok,) = await gate.admit(campaign, [(record.id, MIAMI)], morning)
    assert ok.allowed and ok.record["rules"]["allowed"] is True
    # Three dials of this number within 24 h: the fourth waits (US-FL-cap).
    async with db.transaction() as conn:
        for hours_ago in (20, 10, 1):
            await conn.execute(
                "INSERT INTO attempts (campaign_id, record_id, pbx, channel_id, phone, "
                "placed_at, state) VALUES (?, ?, 'main', ?, ?, ?, 'ended')",
                (campaign.id, record.id, f"pbxd-{hours_ago}", MIAMI, morning - hours_ago * 3600),
            )
    (capped,) = await gate.admit(campaign, [(record.id, MIAMI)], morning)
    assert not capped.allowed and capped.record["rules"]["rule"] == "US-FL-cap"
    assert capped.retry_at == morning + 4 * 3600  # when the oldest of the three is 24 h old
    # A campaign may choose no pack rules (its hour codes still apply).
    none = await service.edit(
        campaign.id, replace(campaign.settings, calling_rules="none"), actor="supervisor"
    )
    (free,) = await gate.admit(none, [(record.id, MIAMI)], evening)
    assert free.allowed


async def test_why_not_dialing_names_the_calling_rule_the_gate_applies(db: Database) -> None:
    notifier = Notifier()
    service = CampaignService(db, notifier, time.time)
    campaign = await service.create(CampaignSettings(name="Florida", queue="sales"))
    await record_rows.add_many(db, campaign.id, [record_rows.NewRecord(phone=MIAMI)], 0.0)
    (record,) = await record_rows.list_for(db, campaign.id)
    dialer = Dialer(db, {"main": cast(Pbx, _ScriptedPbx({}))}, service, notifier, time.time)
    evening = datetime(2026, 6, 5, 0, 30, tzinfo=UTC).timestamp()  # 20:30 in Miami
    reasons = await why.record_reasons(db, dialer, campaign, record.id, evening)
    assert reasons is not None
    ruled = [r for r in reasons if r["code"] == "calling_rules"]
    assert len(ruled) == 1 and "US-FL-hours" in ruled[0]["text"], reasons
    morning = datetime(2026, 6, 5, 14, 0, tzinfo=UTC).timestamp()
    later = await why.record_reasons(db, dialer, campaign, record.id, morning)
    assert later is not None and not [r for r in later if r["code"] == "calling_rules"]


async def test_a_blocked_number_gives_way_to_the_customers_next_number(db: Database) -> None:
    """One record's first number is on the DNC list, another's is one no rule takes:
    each is dialed on its next number, never on the refused one."""
    others = {"+12125550151": ("+12125550161",), "911": ("+12125550162",)}
    dialer, pbx, _service, campaign = await _started(
        db, ["+12125550151", "911"], {}, others, blocked_later=["+12125550151"]
    )
    try:

        async def both_dialed() -> bool:
            return {"+12125550161", "+12125550162"} <= set(pbx.asked)

        await eventually(both_dialed)
        assert "+12125550151" not in pbx.asked and "911" not in pbx.asked
        rows = await db.fetchall(
            "SELECT phone, compliance FROM attempts WHERE campaign_id = ?", (campaign.id,)
        )
        assert {r["phone"] for r in rows} <= {"+12125550161", "+12125550162"}
    finally:
        await dialer.close()
