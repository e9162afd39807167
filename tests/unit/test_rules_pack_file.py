"""The shipped rules pack validates; a malformed one is refused naming the bad field;
the no-zone windows hold what their notes claim; verdicts say why."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from pbx_dialer.campaigns import hours
from pbx_dialer.campaigns.hours import HourCode
from pbx_dialer.campaigns.timezones import candidate_zones
from pbx_dialer.rules import NumberHistory, PackInvalid, RuleOptions, check, load_pack, parse_pack
from pbx_dialer.rules.gen_nanp import area_table
from pbx_dialer.rules.pack import loads

PACK = load_pack()
NO_HISTORY = NumberHistory()


def raw() -> dict[str, Any]:
    text = resources.files("pbx_dialer.rules").joinpath("pack.toml").read_text("utf-8")
    return loads(text)


# --- The shipped pack -------------------------------------------------------------------


def test_shipped_pack_has_a_version_and_every_rule_set() -> None:
    assert PACK.version == "2026.12.1"
    assert set(PACK.sets) == {"US", "CA", "GB", "none"}
    assert not PACK.sets["none"].hours and not PACK.sets["none"].caps
    for rule_set in ("US", "CA", "GB"):
        assert PACK.sets[rule_set].hours and PACK.sets[rule_set].no_zone is not None
    assert set(PACK.caps) == {"per_24h_3", "per_7d_7", "after_conversation_7d"}
    assert load_pack() is PACK  # read once


def test_every_rule_names_its_source_and_confidence() -> None:
    for rule_set in PACK.sets.values():
        for rule in rule_set.rules:
            assert rule.source, rule.id
        for rule in rule_set.hours:
            assert rule.confidence in {"statute", "secondary", "unverified"}, rule.id


def test_every_referenced_state_exists_in_the_area_code_table_and_has_holidays() -> None:
    places = set(PACK.nanp.values())
    for rule_set in PACK.sets.values():
        for rule in rule_set.rules:
            if rule.state is not None:
                assert f"{rule_set.country}-{rule.state}" in places, rule.id
        for rule in rule_set.hours:
            if rule.holidays_closed:
                assert rule_set.country is not None
                assert holidays.country_holidays(rule_set.country, subdiv=rule.state, years=2026)


def test_area_code_table_covers_every_state_and_matches_the_generator() -> None:
    states = {p for p in PACK.nanp.values() if p.startswith("US-")}
    assert len(states) == 51  # 50 states and DC
    assert PACK.nanp["305"] == "US-FL" and PACK.nanp["212"] == "US-NY"
    assert PACK.nanp["405"] == "US-OK" and PACK.nanp["246"] == "BB"
    assert PACK.nanp["416"] == "CA-ON" and PACK.nanp["800"] == "non-geographic"
    # Checked in as generated: regenerating from the installed phonenumbers changes nothing.
    assert area_table() == dict(PACK.nanp)


@pytest.mark.parametrize(
    ("number", "place"),
    [
        ("+13055550123", "US-FL"),
        ("+14412345678", "BM"),
        ("+18002345678", "non-geographic"),
        ("+442079460123", None),
        ("+1305", None),
        ("not a number", None),
    ],
)
def test_area_of(number: str, place: str | None) -> None:
    assert PACK.area_of(number) == place


# --- A malformed pack -------------------------------------------------------------------


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *keys, last = path.split(".")
    node: Any = data
    for key in keys:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()

MALFORMED = [
    pytest.param("version", _DELETE, "version", id="version missing"),
    pytest.param("version", "  ", "version", id="version blank"),
    pytest.param("released", "yesterday", "released", id="released not a date"),
    pytest.param(
        "sets.US.hours.1.weekdays", "8-20", "sets.US.hours[1].weekdays", id="window not HH:MM-HH:MM"
    ),
    pytest.param(
        "sets.US.hours.1.weekdays",
        "20:00-08:00",
        "sets.US.hours[1].weekdays",
        id="window ends before it starts",
    ),
    pytest.param(
        "sets.US.hours.1.sunday", "08:00-25:00", "sets.US.hours[1].sunday", id="window past 24:00"
    ),
    pytest.param(
        "sets.US.hours.1.saturday", _DELETE, "sets.US.hours[1].saturday", id="day missing"
    ),
    pytest.param(
        "sets.US.hours.1.state",
        "ZZ",
        "sets.US.hours[1].state",
        id="state not in the area-code table",
    ),
    pytest.param(
        "sets.US.caps.0.state", "PR", "sets.US.caps[0].state", id="cap state not a US state"
    ),
    pytest.param(
        "sets.US.hours.1.id", "US-federal-hours", "sets.US.hours[1].id", id="duplicate rule id"
    ),
    pytest.param("sets.US.hours.1.id", "bad id!", "sets.US.hours[1].id", id="bad rule id"),
    pytest.param("sets.US.hours.1.colour", "blue", "sets.US.hours[1].colour", id="unknown field"),
    pytest.param(
        "sets.US.hours.1.holidays", "open", "sets.US.hours[1].holidays", id="holidays not closed"
    ),
    pytest.param(
        "sets.US.no_zone.zone",
        "Mars/Olympus",
        "sets.US.no_zone.zone",
        id="no-zone window in an unknown zone",
    ),
    pytest.param("sets.US.no_zone", _DELETE, "sets.US.no_zone", id="no-zone window missing"),
    pytest.param("sets.none", _DELETE, "sets.none", id="the none set missing"),
    pytest.param("sets", _DELETE, "sets", id="no rule sets"),
    pytest.param("sets.US.hours", {"id": "x"}, "sets.US.hours", id="hours not an array"),
    pytest.param("sets.US.country", "USA", "sets.US.country", id="country not ISO"),
    pytest.param("caps.per_24h_3.calls", -1, "caps.per_24h_3.calls", id="cap calls negative"),
    pytest.param(
        "caps.per_24h_3.window_hours", 0, "caps.per_24h_3", id="cap calls without a window"
    ),
    pytest.param("caps.per_7d_7", {"note": "x"}, "caps.per_7d_7", id="cap counts nothing"),
    pytest.param("nanp.305", "Florida", "nanp.305", id="area code place malformed"),
    pytest.param("nanp.1305", "US-FL", "nanp.1305", id="area code not three digits"),
    pytest.param("nanp", {}, "nanp", id="area-code table empty"),
]


@pytest.mark.parametrize(("path", "value", "field"), MALFORMED)
def test_malformed_pack_names_the_field(path: str, value: Any, field: str) -> None:
    data = copy.deepcopy(raw())
    _set(data, path, value)
    with pytest.raises(PackInvalid) as caught:
        parse_pack(data)
    assert field in caught.value.errors, caught.value.errors
    assert str(caught.value).startswith("rules pack invalid: ")


def test_not_toml_at_all() -> None:
    with pytest.raises(PackInvalid) as caught:
        loads('version = "1"\n[sets\n')
    assert list(caught.value.errors) == ["toml"]
    with pytest.raises(PackInvalid, match="pack: must be a TOML table"):
        parse_pack(["not", "a", "table"])


def test_many_bad_fields_are_all_named() -> None:
    data = copy.deepcopy(raw())
    del data["version"]
    data["sets"]["US"]["hours"][1]["weekdays"] = "8-20"
    data["sets"]["CA"]["hours"][0]["state"] = "XX"
    with pytest.raises(PackInvalid) as caught:
        parse_pack(data)
    assert set(caught.value.errors) == {
        "version",
        "sets.US.hours[1].weekdays",
        "sets.CA.hours[0].state",
    }


# --- The no-zone windows hold what their notes say -----------------------------------

CONTINENTAL_US = [
    "America/New_York",
    "America/Detroit",
    "America/Chicago",
    "America/Denver",
    "America/Boise",
    "America/Phoenix",
    "America/Los_Angeles",
]
CANADA = [
    "America/St_Johns",
    "America/Halifax",
    "America/Toronto",
    "America/Winnipeg",
    "America/Regina",
    "America/Edmonton",
    "America/Vancouver",
    "America/Whitehorse",
]
SAMPLE_DAYS = [(2026, 1, 5), (2026, 3, 8), (2026, 3, 9), (2026, 6, 6), (2026, 11, 1), (2026, 11, 7)]


def _open_minutes(rule_set: str, zone: str | None, number: str, day: tuple[int, int, int]):  # type: ignore[no-untyped-def]
    start = datetime(*day, tzinfo=UTC)
    for minute in range(0, 48 * 60, 15):
        moment = start + timedelta(minutes=minute)
        if check(PACK, RuleOptions(rule_set), number, zone, moment, NO_HISTORY).allowed:
            yield moment


@pytest.mark.parametrize("day", SAMPLE_DAYS, ids=str)
def test_us_no_zone_window_is_inside_federal_hours_in_every_continental_zone(
    day: tuple[int, int, int],
) -> None:
    federal = PACK.sets["US"].hours[0]
    assert federal.id == "US-federal-hours"
    opened = list(_open_minutes("US", None, "+18002345678", day))
    assert len(opened) >= 9 * 4  # 11:00-20:00 Eastern at least once, every 15 min
    for moment in opened:
        for zone in CONTINENTAL_US:
            local = moment.astimezone(ZoneInfo(zone))
            assert 8 * 60 <= local.hour * 60 + local.minute < 21 * 60, (zone, moment)
        # And inside FL/OK/MD's 08:00-20:00 (Eastern and Central).
        for zone in ("America/New_York", "America/Chicago"):
            assert moment.astimezone(ZoneInfo(zone)).hour < 20


@pytest.mark.parametrize("day", SAMPLE_DAYS, ids=str)
def test_ca_no_zone_window_is_inside_crtc_hours_in_every_canadian_zone(
    day: tuple[int, int, int],
) -> None:
    opened = list(_open_minutes("CA", None, "+16002345678", day))
    assert opened
    for moment in opened:
        for zone in CANADA:
            local = moment.astimezone(ZoneInfo(zone))
            minutes = local.hour * 60 + local.minute
            window = (9 * 60, 21 * 60 + 30) if local.weekday() < 5 else (10 * 60, 18 * 60)
            assert window[0] <= minutes < window[1], (zone, local)


# --- Caribbean numbers: their own country's zone -------------------------------------


def _hours_open(e164: str, rule_set: str = "US") -> float:
    day = datetime(2026, 6, 3, 0, tzinfo=UTC)
    steps = [day + timedelta(minutes=m) for m in range(0, 24 * 60, 5)]
    allowed = sum(
        check(PACK, RuleOptions(rule_set), e164, None, t, NO_HISTORY).allowed for t in steps
    )
    return allowed * 5 / 60


@pytest.mark.parametrize(
    "number", ["+12462345678", "+18765230123", "+14418001234", "+18688001234", "+12424567890"]
)
def test_caribbean_number_gets_thirteen_federal_hours_a_day(number: str) -> None:
    assert _hours_open(number) == 13.0  # 08:00-21:00 on its own clock


def test_barbados_gets_twelve_hours_of_a_09_21_hour_code_not_thirty_minutes() -> None:
    # The campaigns' hour-code fallback for a record of unknown zone (all candidate zones
    # open at once): with every NANP zone as candidates it was 30 minutes a day.
    code = HourCode.from_json(
        {"name": "09-21", "weekly": {d: [["09:00", "21:00"]] for d in hours.WEEKDAYS}}
    )
    candidates = candidate_zones("+12462345678")
    assert candidates == ("America/Barbados",)
    day = datetime(2026, 6, 3, 0, tzinfo=UTC)
    minutes = sum(
        hours.fallback_open(code, day + timedelta(minutes=m), candidates) for m in range(24 * 60)
    )
    assert minutes == 12 * 60
    new_york = sum(
        hours.fallback_open(code, day + timedelta(minutes=m), candidate_zones("+12122345678"))
        for m in range(24 * 60)
    )
    assert new_york == minutes


# --- Verdicts ----------------------------------------------------------------------------


def test_refusal_names_the_rule_the_local_time_and_the_holiday() -> None:
    christmas = datetime(2026, 12, 25, 16, tzinfo=UTC)  # 09:00 in Salt Lake City
    verdict = check(PACK, RuleOptions("US"), "+18012345678", None, christmas, NO_HISTORY)
    assert verdict.reason == (
        "not allowed by US-UT-hours (pack 2026.12.1): Fri 2026-12-25 09:00 local time in "
        "America/Denver: 2026-12-25 is a holiday (Christmas Day) (the rule: Mon-Sat "
        "08:00-21:00, Sun closed, closed on holidays); next allowed Sat 2026-12-26 08:00 "
        "local time in America/Denver (2026-12-26 15:00 UTC)"
    )
    assert verdict.checked == ("US-federal-hours", "US-UT-hours")
    assert verdict.zones == ("America/Denver",)
    assert verdict.to_record() == {
        "rules_pack": "2026.12.1",
        "rule_set": "US",
        "rule": "US-UT-hours",
        "allowed": False,
        "reason": verdict.reason,
        "next_allowed": "2026-12-26T15:00:00+00:00",
    }


def test_refusal_lists_every_refusing_rule() -> None:
    night = datetime(2026, 6, 4, 1, 30, tzinfo=UTC)  # Wed 21:30 in Miami
    history = NumberHistory(attempts=tuple(night - timedelta(hours=h) for h in (1, 2, 3)))
    verdict = check(PACK, RuleOptions("US"), "+13052345678", None, night, history)
    assert verdict.rule == "US-FL-cap"  # refuses until Thu 22:30 UTC... then hours open
    assert "also US-federal-hours: Wed 2026-06-03 21:30 local time" in verdict.reason
    assert "US-FL-hours: Wed 2026-06-03 21:30 local time" in verdict.reason
    assert "3 calls to this number in the last 24 h (at most 3" in verdict.reason


def test_allowed_reason_lists_every_rule_checked() -> None:
    noon = datetime(2026, 6, 3, 16, tzinfo=UTC)  # 12:00 in Miami
    verdict = check(
        PACK,
        RuleOptions("US", frozenset({"per_7d_7"})),
        "+13052345678",
        None,
        noon,
        NumberHistory(attempts=(noon - timedelta(hours=2),)),
    )
    assert verdict.allowed and verdict.rule == "US-FL-hours"
    assert verdict.reason == (
        "allowed by pack 2026.12.1: US-federal-hours open (Wed 2026-06-03 12:00 local time in "
        "America/New_York, 08:00-21:00); US-FL-hours open (Wed 2026-06-03 12:00 local time in "
        "America/New_York, 08:00-20:00); US-FL-cap (1 of 3 calls in 24 h); per_7d_7 (1 of 7 "
        "calls in 168 h)"
    )


def test_bad_arguments_are_refused_by_name() -> None:
    now = datetime(2026, 6, 3, 16, tzinfo=UTC)
    with pytest.raises(ValueError, match="rule_set: unknown rule set 'FR'"):
        check(PACK, RuleOptions("FR"), "+13052345678", None, now, NO_HISTORY)
    with pytest.raises(ValueError, match="caps: unknown cap per_hour_9"):
        check(PACK, RuleOptions("US", frozenset({"per_hour_9"})), "+1305", None, now, NO_HISTORY)
    with pytest.raises(ValueError, match="moment must be an aware datetime"):
        check(PACK, RuleOptions(), "+13052345678", None, datetime(2026, 6, 3), NO_HISTORY)
    with pytest.raises(ValueError, match=r"history\.attempts must be an aware datetime"):
        check(
            PACK,
            RuleOptions(),
            "+13052345678",
            None,
            now,
            NumberHistory(attempts=(datetime(2026, 6, 3),)),
        )


def test_history_after_the_moment_is_ignored() -> None:
    now = datetime(2026, 6, 3, 16, tzinfo=UTC)
    later = tuple(now + timedelta(minutes=m) for m in (1, 2, 3, 4))
    verdict = check(PACK, RuleOptions("US"), "+13052345678", None, now, NumberHistory(later))
    assert verdict.allowed


def test_moment_in_any_zone_gives_the_same_answer() -> None:
    utc = datetime(2026, 6, 4, 0, 0, tzinfo=UTC)  # Wed 20:00 in Miami
    paris = utc.astimezone(ZoneInfo("Europe/Paris"))
    a = check(PACK, RuleOptions(), "+13052345678", None, utc, NO_HISTORY)
    b = check(PACK, RuleOptions(), "+13052345678", None, paris, NO_HISTORY)
    assert a == b and not a.allowed and a.next_allowed is not None
    assert a.next_allowed.tzinfo is UTC
