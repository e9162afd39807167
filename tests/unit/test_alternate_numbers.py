"""Alternate numbers: the rule that moves a record's next attempt to its next number
(pure), the settings that steer it (model, storage, API, schema), the storage of ended
calls that applies it, and the customers tab that shows each number's attempts."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.calls import CallEnded, TechResult
from pbx_dialer.campaigns.model import CampaignSettings, ValidationError
from pbx_dialer.config import DatabaseSettings, DialerSettings, PbxSettings, Settings
from pbx_dialer.dialing.numbers import (
    NEXT_NUMBER_DELAY_S,
    NumberTally,
    RecordNumbers,
)
from pbx_dialer.dialing.outcomes import RecordOutcome, at_call_end
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.http.campaigns import SETTINGS_PROPERTIES
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database
from tests.conftest import app_client, start_client

Client = TestClient[web.Request, web.Application]
T = 1_800_000_000.0
A, B, C = "+12125550301", "+12125550201", "+12125550101"
# Retry rules that leave the record's cap (10) to decide, not the result's.
RULES = {
    "BUSY": {"delay_s": 600, "max_attempts": 10},
    "NOANSWER": {"delay_s": 1800, "max_attempts": 10},
    "CONGESTION": {"delay_s": 300, "max_attempts": 10},
}


def alt(**changes: Any) -> CampaignSettings:
    return CampaignSettings(
        **{"name": "Alt", "queue": "sales", "max_attempts": 10, "retry_rules": RULES, **changes}
    )


SETTINGS = alt()


def on(current: str, **tallies: NumberTally) -> RecordNumbers:
    """Numbers A, B, C with the one just dialed; tallies by letter."""
    letters = {"A": A, "B": B, "C": C}
    return RecordNumbers((A, B, C), current, {letters[k]: v for k, v in tallies.items()})


def tried(n: int, last: str | None = None, invalid: bool = False) -> NumberTally:
    return NumberTally(n, last, invalid)


# -- the rule ------------------------------------------------------------------------------


def test_noanswer_and_busy_move_to_the_next_number_wrapping_around() -> None:
    noanswer = at_call_end(SETTINGS, 1, "NOANSWER", T, on(A, A=tried(1)))
    assert noanswer == RecordOutcome("ready", T + 1800, classification="RETRY", phone=B)
    busy = at_call_end(SETTINGS, 3, "BUSY", T, on(C, A=tried(1), B=tried(1), C=tried(1)))
    assert busy == RecordOutcome("ready", T + 600, classification="RETRY", phone=A)
    # The result's retry rule still counts the record's attempts (default BUSY: 3).
    default = CampaignSettings(name="Alt", max_attempts=10)
    assert at_call_end(default, 3, "BUSY", T, on(C, A=tried(1), B=tried(1), C=tried(1))) == (
        RecordOutcome("max_calls", classification="RETRY")
    )


def test_invalid_moves_on_soon_and_that_number_is_never_dialed_again() -> None:
    # WRONG_NUMBER is final, but another number is left: tried there, soon.
    first = at_call_end(SETTINGS, 1, "INVALID", T, on(A, A=tried(1)))
    assert first == RecordOutcome(
        "ready", T + NEXT_NUMBER_DELAY_S, classification="WRONG_NUMBER", phone=B
    )
    # After C, the search wraps around past A (invalid) to B.
    later = at_call_end(
        SETTINGS, 3, "NOANSWER", T, on(C, A=tried(1, "INVALID", True), B=tried(1), C=tried(1))
    )
    assert later.phone == B
    # The invalid number was the only one left: the record ends as it does today.
    last = at_call_end(
        SETTINGS, 3, "INVALID", T, on(C, A=tried(1, "INVALID", True), B=tried(2, "INVALID", True))
    )
    assert last == RecordOutcome("handled", classification="WRONG_NUMBER")


def test_per_number_cap_passes_over_a_number_and_all_capped_ends_the_record() -> None:
    capped = alt(max_attempts_per_number=2)
    # A has had its two attempts: after B the next is C, after C it is B again.
    assert at_call_end(capped, 3, "BUSY", T, on(B, A=tried(2), B=tried(1))).phone == C
    assert at_call_end(capped, 4, "BUSY", T, on(C, A=tried(2), B=tried(1), C=tried(1))).phone == B
    # A result outside the rule stays on its number while that one is under its cap...
    stay = at_call_end(capped, 2, "CONGESTION", T, on(B, A=tried(1), B=tried(1)))
    assert stay.phone == B
    # ...and moves on once it reached it.
    assert at_call_end(capped, 3, "CONGESTION", T, on(B, A=tried(1), B=tried(2))).phone == C
    spent = at_call_end(capped, 6, "NOANSWER", T, on(C, A=tried(2), B=tried(2), C=tried(2)))
    assert spent == RecordOutcome("max_calls", classification="RETRY")


def test_record_cap_and_final_results_are_as_before() -> None:
    # The record's own cap ends it even with numbers left.
    assert at_call_end(SETTINGS, 10, "NOANSWER", T, on(A, A=tried(10))).state == "max_calls"
    success = at_call_end(SETTINGS, 1, "SUCCESS", T, on(A, A=tried(1)))
    assert success == RecordOutcome("handled", classification="CONTACTED")
    # Without the numbers (one number, no cap) nothing changes: no phone in the outcome.
    assert at_call_end(SETTINGS, 1, "BUSY", T) == RecordOutcome(
        "ready", T + 600, classification="RETRY"
    )


def test_an_empty_rule_keeps_the_first_number() -> None:
    first_only = alt(next_number_on=())
    assert at_call_end(first_only, 1, "BUSY", T, on(A, A=tried(1))).phone == A
    # INVALID with the rule empty ends the record as today, numbers left or not.
    assert at_call_end(first_only, 1, "INVALID", T, on(A, A=tried(1))).state == "handled"
    capped = alt(next_number_on=(), max_attempts_per_number=2)
    assert at_call_end(capped, 2, "NOANSWER", T, on(A, A=tried(2))).state == "max_calls"


def test_a_result_left_out_of_the_rule_stays_on_its_number() -> None:
    busy_only = alt(next_number_on=("BUSY",))
    assert at_call_end(busy_only, 1, "NOANSWER", T, on(A, A=tried(1))).phone == A
    assert at_call_end(busy_only, 1, "BUSY", T, on(A, A=tried(1))).phone == B
    assert at_call_end(busy_only, 1, "INVALID", T, on(A, A=tried(1))).state == "handled"


# -- the settings --------------------------------------------------------------------------


def test_settings_defaults_validation_and_json() -> None:
    plain = CampaignSettings.from_json({"name": "Alt"})
    assert plain.next_number_on == ("NOANSWER", "BUSY", "INVALID")
    assert plain.max_attempts_per_number == 0
    assert plain.to_json()["next_number_on"] == ["NOANSWER", "BUSY", "INVALID"]
    edited = CampaignSettings.from_json(
        {"next_number_on": ["BUSY"], "max_attempts_per_number": 3}, plain
    )
    assert (edited.next_number_on, edited.max_attempts_per_number) == (("BUSY",), 3)
    assert CampaignSettings.from_json({"next_number_on": []}, plain).next_number_on == ()
    for bad, field in [
        ({"next_number_on": ["SUCCESS"]}, "next_number_on"),
        ({"next_number_on": ["BUSY", "BUSY"]}, "next_number_on"),
        ({"next_number_on": [7, {"x": 1}]}, "next_number_on"),
        ({"next_number_on": "BUSY"}, "next_number_on"),
        ({"max_attempts_per_number": 101}, "max_attempts_per_number"),
        ({"max_attempts_per_number": -1}, "max_attempts_per_number"),
        ({"max_attempts_per_number": True}, "max_attempts_per_number"),
    ]:
        with pytest.raises(ValidationError) as caught:
            CampaignSettings.from_json(bad, plain)
        assert set(caught.value.errors) == {field}, bad


def test_schema_describes_the_settings() -> None:
    rule = SETTINGS_PROPERTIES["next_number_on"]
    assert rule["type"] == "array" and rule["uniqueItems"] is True
    assert "SUCCESS" not in rule["items"]["enum"] and "INVALID" in rule["items"]["enum"]
    cap = SETTINGS_PROPERTIES["max_attempts_per_number"]
    assert (cap["minimum"], cap["maximum"]) == (0, 100)


# -- the storage of ended calls --------------------------------------------------------------


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "alt.sqlite3"))
    try:
        yield database
    finally:
        await database.close()


async def dial_and_end(db: Database, campaign_id: int, result: TechResult, at: float) -> str:
    """Take the campaign's one due record, end its call with `result`; the number dialed."""
    (attempt,) = await attempt_rows.take_records(db, campaign_id, "main", 5, at)
    await attempt_rows.finish(db, CallEnded(attempt.id, result, at=at + 1))
    return attempt.phone


async def record(db: Database, campaign_id: int) -> dict[str, Any]:
    row = await db.fetchone(
        "SELECT phone, state, classification, next_attempt_at FROM records WHERE campaign_id = ?",
        (campaign_id,),
    )
    assert row is not None
    return dict(row)


async def test_ended_calls_move_the_record_through_its_numbers(db: Database) -> None:
    campaign = await campaign_rows.create(db, SETTINGS, T)
    await record_rows.add_many(db, campaign.id, [record_rows.NewRecord(A, phones=(A, B, C))], T)
    assert await dial_and_end(db, campaign.id, TechResult.BUSY, T) == A
    assert await record(db, campaign.id) == {
        "phone": B, "state": "ready", "classification": "RETRY", "next_attempt_at": T + 601,
    }  # fmt: skip
    assert await dial_and_end(db, campaign.id, TechResult.INVALID, T + 1000) == B
    moved = await record(db, campaign.id)
    assert (moved["phone"], moved["state"]) == (C, "ready")
    assert moved["next_attempt_at"] == T + 1001 + NEXT_NUMBER_DELAY_S
    # After C: back to A, B (invalid) is never dialed again.
    assert await dial_and_end(db, campaign.id, TechResult.NOANSWER, T + 2000) == C
    assert (await record(db, campaign.id))["phone"] == A
    assert await dial_and_end(db, campaign.id, TechResult.NOANSWER, T + 5000) == A
    assert (await record(db, campaign.id))["phone"] == C
    assert await dial_and_end(db, campaign.id, TechResult.SUCCESS, T + 9000) == C
    done = await record(db, campaign.id)
    assert (done["phone"], done["state"]) == (C, "handled")


async def test_a_cap_per_number_ends_the_record_once_every_number_reached_it(
    db: Database,
) -> None:
    campaign = await campaign_rows.create(db, alt(max_attempts_per_number=1), T)
    await record_rows.add_many(db, campaign.id, [record_rows.NewRecord(A, phones=(A, B))], T)
    assert await dial_and_end(db, campaign.id, TechResult.NOANSWER, T) == A
    assert await dial_and_end(db, campaign.id, TechResult.NOANSWER, T + 5000) == B
    assert (await record(db, campaign.id))["state"] == "max_calls"


async def test_a_single_invalid_number_is_a_wrong_number_as_before(db: Database) -> None:
    campaign = await campaign_rows.create(db, CampaignSettings(name="Alt", queue="sales"), T)
    await record_rows.add_many(db, campaign.id, [record_rows.NewRecord(A, phones=(A,))], T)
    await dial_and_end(db, campaign.id, TechResult.INVALID, T)
    assert await record(db, campaign.id) == {
        "phone": A, "state": "handled", "classification": "WRONG_NUMBER", "next_attempt_at": 0.0,
    }  # fmt: skip


async def test_settings_are_stored(db: Database) -> None:
    settings = CampaignSettings(
        name="Alt", next_number_on=("BUSY", "MACHINE"), max_attempts_per_number=4
    )
    campaign = await campaign_rows.create(db, settings, T)
    stored = await campaign_rows.get(db, campaign.id)
    assert stored is not None
    assert stored.settings.next_number_on == ("BUSY", "MACHINE")
    assert stored.settings.max_attempts_per_number == 4


# -- the API and the customers tab -------------------------------------------------------------


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    """The app without Asterisk, logged in as the test admin."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings = Settings(
        database=DatabaseSettings(path=str(tmp_path / "served.sqlite3")),
        pbx=(PbxSettings(port=closed_port, secret="unused", connect_timeout=0.5),),
        dialer=DialerSettings(tick_seconds=0.2),
    )
    client = await start_client(app_client(create_app(settings)))
    try:
        yield client
    finally:
        await client.close()


async def test_api_settings_and_each_numbers_attempts_on_the_customers_tab(api: Client) -> None:
    created = await api.post("/api/campaigns", json={"name": "Alt", "queue": "sales"})
    assert created.status == 201
    campaign = await created.json()
    cid = campaign["id"]
    assert campaign["next_number_on"] == ["NOANSWER", "BUSY", "INVALID"]
    assert campaign["max_attempts_per_number"] == 0
    bad = await api.patch(f"/api/campaigns/{cid}", json={"next_number_on": ["SUCCESS"]})
    assert bad.status == 422 and "next_number_on" in (await bad.json())["fields"]
    bad = await api.patch(f"/api/campaigns/{cid}", json={"max_attempts_per_number": 500})
    assert bad.status == 422 and "max_attempts_per_number" in (await bad.json())["fields"]
    edited = await api.patch(f"/api/campaigns/{cid}", json={"max_attempts_per_number": 2})
    assert (await edited.json())["max_attempts_per_number"] == 2
    added = await api.post(
        f"/api/campaigns/{cid}/records",
        json={"records": [{"phone": A, "name": "Ann", "phones": [B, C]}]},
    )
    assert added.status == 201
    db = api.app[keys.db_key]
    await dial_and_end(db, cid, TechResult.BUSY, T)
    await dial_and_end(db, cid, TechResult.NOANSWER, T + 5000)
    response = await api.get(f"/api/campaigns/{cid}/customers")
    assert response.status == 200
    (ann,) = (await response.json())["customers"]
    assert ann["phones"] == [
        {"phone": A, "attempts": 1, "last_result": "BUSY", "next": False},
        {"phone": B, "attempts": 1, "last_result": "NOANSWER", "next": False},
        {"phone": C, "attempts": 0, "last_result": None, "next": True},
    ]
    assert ann["attempts"] == 2 and ann["result"] == "DIALING"
