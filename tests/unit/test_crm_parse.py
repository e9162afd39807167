"""The pure parts of live feeds: a CRM page item by item, the feed settings, when the
feed pauses or unpauses its campaign, and the backoff."""

from __future__ import annotations

import json

import pytest

from pbx_dialer.campaigns.model import ValidationError
from pbx_dialer.crm.parse import MAX_PAGE_RECORDS, PageInvalid, parse_page
from pbx_dialer.crm.policy import (
    MAX_BACKOFF_S,
    Decision,
    Move,
    PauseReason,
    Situation,
    backoff_s,
    decide,
)
from pbx_dialer.crm.settings import FeedSettings


def page(records: object, **extra: object) -> bytes:
    return json.dumps({"records": records, "next_cursor": "c2", **extra}).encode()


def test_a_good_page_normalises_numbers_and_keeps_custom_fields() -> None:
    result = parse_page(
        page(
            [
                {
                    "phone": "(212) 555-0101",
                    "name": " Ada ",
                    "external_id": "crm-1",
                    "notes": "VIP",
                    "phones": ["+44 20 7946 0958", "212-555-0101"],
                    "tier": "gold",
                    "score": 7,
                },
                {"phone": "+33 1 42 68 53 00", "timezone": "Europe/Paris"},
            ],
            has_more=True,
        ),
        "US",
    )
    first, second = result.records
    assert first.phone == "+12125550101"
    assert first.name == "Ada" and first.external_id == "crm-1" and first.notes == "VIP"
    assert first.phones == ("+12125550101", "+442079460958")
    assert first.custom == {"tier": "gold", "score": 7}
    assert (first.timezone, first.tz_source) == ("America/New_York", "phone")
    assert (second.phone, second.timezone, second.tz_source) == (
        "+33142685300",
        "Europe/Paris",
        "column",
    )
    assert (result.next_cursor, result.has_more, result.skipped) == ("c2", True, ())


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("+12125550101", "must be a JSON object"),
        ({"name": "no phone"}, "phone is missing"),
        ({"phone": 12125550101}, "phone must be a string"),
        ({"phone": "CALL-ME-NOW"}, "is not a phone number"),
        ({"phone": "+1 555 555 0101"}, "is not a valid number"),
        ({"phone": "+12125550101", "name": "Ada\r\nAction: Originate"}, "control characters"),
        ({"phone": "+12125550101", "name": "x" * 201}, "at most 200 characters"),
        ({"phone": "+12125550101", "timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"phone": "+12125550101", "phones": "+12125550102"}, "phones must be an array"),
        ({"phone": "+12125550101", "extra": {"nested": 1}}, "extra must be a string"),
        ({"phone": "+12125550101", "extra": "a\x00b"}, "extra holds control characters"),
        ({"phone": "+12125550101", "external_id": 42}, "external_id must be a string"),
    ],
)
def test_a_bad_item_is_skipped_with_its_reason_and_the_rest_kept(item: object, reason: str) -> None:
    result = parse_page(page([{"phone": "+12125550199"}, item]), "US")
    assert [r.phone for r in result.records] == ["+12125550199"]
    assert len(result.skipped) == 1
    assert result.skipped[0].index == 1
    assert reason in result.skipped[0].reason


def test_an_external_id_twice_in_one_page_is_taken_once() -> None:
    result = parse_page(
        page(
            [
                {"phone": "+12125550101", "external_id": "a"},
                {"phone": "+12125550102", "external_id": "a"},
            ]
        ),
        "US",
    )
    assert [r.phone for r in result.records] == ["+12125550101"]
    assert "twice in page" in result.skipped[0].reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>down</html>", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"next_cursor": "x"}', "'records' must be an array"),
        (b'{"records": {}, "next_cursor": "x"}', "'records' must be an array"),
        (b'{"records": [], "next_cursor": 5}', "'next_cursor' must be a string"),
        (b'{"records": [], "next_cursor": "a\\nb"}', "'next_cursor' must be a string"),
        (b'{"records": [], "has_more": "yes"}', "'has_more' must be true or false"),
        (page([{}] * (MAX_PAGE_RECORDS + 1)), "more than"),
    ],
)
def test_a_garbage_page_is_refused_whole(body: bytes, reason: str) -> None:
    with pytest.raises(PageInvalid, match=reason):
        parse_page(body, "US")


def test_no_cursor_keeps_the_current_one() -> None:
    assert parse_page(b'{"records": []}', "US").next_cursor is None
    assert parse_page(b'{"records": [], "next_cursor": null}', "US").next_cursor is None


def test_numbers_are_read_in_the_campaign_region() -> None:
    result = parse_page(page([{"phone": "020 7946 0958"}]), "GB")
    assert result.records[0].phone == "+442079460958"


# -- feed settings ------------------------------------------------------------------


def test_feed_settings_defaults_and_bounds() -> None:
    settings = FeedSettings.from_json({"url": "https://crm.example/leads?team=2"})
    assert (settings.poll_s, settings.timeout_s, settings.cursor) == (30.0, 10.0, None)
    assert FeedSettings.from_json({"url": "http://10.0.0.5:8080/x", "poll_s": 0.2}).poll_s == 0.2


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ([], "body", "expected a JSON object"),
        ({}, "url", "is required"),
        ({"url": "file:///etc/passwd"}, "url", "http:// or https://"),
        ({"url": "https:///path"}, "url", "must name a host"),
        ({"url": "http://crm.example/a b"}, "url", "spaces or control characters"),
        ({"url": "http://crm.example:99999/"}, "url", "not a valid URL"),
        ({"url": "http://crm.example/#top"}, "url", "#fragment"),
        ({"url": "http://crm.example/" + "a" * 2000}, "url", "at most 2000"),
        ({"url": "http://crm.example/", "poll_s": 0.05}, "poll_s", "between 0.1 and 86400"),
        ({"url": "http://crm.example/", "poll_s": True}, "poll_s", "number of seconds"),
        ({"url": "http://crm.example/", "timeout_s": 61}, "timeout_s", "between 0.1 and 60"),
        ({"url": "http://crm.example/", "cursor": 3}, "cursor", "at most 1000 printable"),
        ({"url": "http://crm.example/", "owner": "me"}, "owner", "unknown field"),
    ],
)
def test_feed_settings_name_what_is_wrong(body: object, field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FeedSettings.from_json(body)
    assert reason in caught.value.errors[field]


# -- pausing by itself --------------------------------------------------------------


def situation(**changes: object) -> Situation:
    base: dict[str, object] = {
        "status": "active",
        "auto_paused": "",
        "last_action_by_feed": False,
        "agents_logged_in": 2,
        "has_ready": True,
        "any_in_window": None,
    }
    base.update(changes)
    return Situation(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, Decision(Move.NOTHING)),
        ({"agents_logged_in": 0}, Decision(Move.PAUSE, PauseReason.NO_AGENTS)),
        ({"agents_logged_in": 0, "has_ready": False}, Decision(Move.PAUSE, PauseReason.NO_AGENTS)),
        ({"has_ready": False}, Decision(Move.PAUSE, PauseReason.NO_RECORDS)),
        ({"any_in_window": False}, Decision(Move.PAUSE, PauseReason.OUTSIDE_WINDOW)),
        ({"any_in_window": True}, Decision(Move.NOTHING)),
        # The PBX link is down: agents are unknown, nothing is decided on them.
        ({"agents_logged_in": None, "has_ready": False}, Decision(Move.NOTHING)),
        # Played again by a supervisor after the feed paused it: the note goes.
        ({"auto_paused": "no-agents"}, Decision(Move.FORGET)),
        # Draft, stopped, completed: never touched.
        ({"status": "draft", "agents_logged_in": 0}, Decision(Move.NOTHING)),
        ({"status": "stopped", "auto_paused": "no-agents"}, Decision(Move.FORGET)),
    ],
)
def test_an_active_campaign(changes: dict[str, object], expected: Decision) -> None:
    assert decide(situation(**changes)) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Paused by the feed and the reason is gone: it plays again.
        ({"auto_paused": "no-agents", "last_action_by_feed": True}, Decision(Move.PLAY)),
        # Paused by the feed, still a reason (another one now): noted, stays paused.
        (
            {"auto_paused": "no-agents", "last_action_by_feed": True, "has_ready": False},
            Decision(Move.RECORD, PauseReason.NO_RECORDS),
        ),
        (
            {"auto_paused": "no-records", "last_action_by_feed": True, "has_ready": False},
            Decision(Move.NOTHING),
        ),
        # A supervisor's Pause: never undone.
        ({}, Decision(Move.NOTHING)),
        ({"agents_logged_in": 0}, Decision(Move.NOTHING)),
        # The feed paused it, then a supervisor acted on it: theirs now.
        ({"auto_paused": "no-agents", "last_action_by_feed": False}, Decision(Move.FORGET)),
        # PBX link down while paused by the feed: wait, decide nothing.
        (
            {"auto_paused": "no-agents", "last_action_by_feed": True, "agents_logged_in": None},
            Decision(Move.NOTHING),
        ),
    ],
)
def test_a_paused_campaign(changes: dict[str, object], expected: Decision) -> None:
    assert decide(situation(status="paused", **changes)) == expected


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_s(0.2, n) for n in range(5)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2])
    assert backoff_s(30, 100) == MAX_BACKOFF_S
    assert backoff_s(3600, 3) == 3600  # never shorter than the poll interval itself
