"""Hour codes with a fixed clock: zones, holidays, DST (US and EU), the unknown-zone
fallback, reasons, validation. Every instant is written in UTC with its local reading."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pbx_dialer.campaigns import hours
from pbx_dialer.campaigns.hours import HourCode, HourCodeInvalid, UnknownZone
from pbx_dialer.campaigns.timezones import candidate_zones

NY = "America/New_York"
LA = "America/Los_Angeles"
CHI = "America/Chicago"
PARIS = "Europe/Paris"
EVERY_DAY = hours.WEEKDAYS


def utc(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def make(windows: list[list[str]], days: tuple[str, ...] = EVERY_DAY, **extra: Any) -> HourCode:
    return HourCode.from_json({"name": "test", "weekly": {d: windows for d in days}, **extra})


# --- Across zones ---------------------------------------------------------------------


def test_same_instant_closed_in_new_york_open_in_los_angeles() -> None:
    code = make([["09:00", "21:00"]])
    now = utc(6, 2, 1)  # Mon 21:00 in New York (EDT), Mon 18:00 in Los Angeles (PDT)
    assert not hours.is_open(code, now, NY)
    assert hours.is_open(code, now, LA)
    assert hours.open_zones(code, [NY, LA, CHI, None, "Mars/Olympus"], now) == {LA, CHI}
    assert hours.explain(code, now, zone=NY) == (
        "outside consumer hours in America/New_York (local time Mon 21:00); opens Tue 09:00 local"
    )
    assert hours.explain(code, now, zone=LA) == (
        "inside consumer hours in America/Los_Angeles (local time Mon 18:00); "
        "closes Mon 21:00 local"
    )
    assert hours.next_open(code, now, NY) == utc(6, 2, 13)
    assert hours.closes_at(code, now, LA) == utc(6, 2, 4)
    assert hours.closes_at(code, now, NY) is None


def test_window_end_is_exclusive_start_inclusive() -> None:
    code = make([["09:00", "17:00"]])
    assert not hours.is_open(code, utc(6, 1, 12, 59, 59), NY)  # 08:59:59 EDT
    assert hours.is_open(code, utc(6, 1, 13), NY)
    assert hours.is_open(code, utc(6, 1, 20, 59, 59), NY)
    assert not hours.is_open(code, utc(6, 1, 21), NY)


def test_next_open_is_now_when_open_and_skips_closed_weekdays() -> None:
    code = make([["09:00", "12:30"], ["13:30", "18:00"]], days=("mon", "tue", "wed", "thu", "fri"))
    assert hours.next_open(code, utc(6, 1, 14), NY) == utc(6, 1, 14)
    assert hours.next_open(code, utc(6, 1, 16, 45), NY) == utc(6, 1, 17, 30)  # lunch break
    # Friday 18:00 local: next Monday 09:00.
    assert hours.next_open(code, utc(6, 5, 22), NY) == utc(6, 8, 13)
    assert hours.explain(code, utc(6, 5, 22), zone=NY).endswith("opens Mon 09:00 local")


def test_windows_joined_across_midnight_close_once() -> None:
    code = HourCode.from_json(
        {"name": "night", "weekly": {"mon": [["22:00", "24:00"]], "tue": [["00:00", "02:00"]]}}
    )
    now = utc(6, 2, 3)  # Mon 23:00 in New York
    assert hours.is_open(code, now, NY)
    assert hours.closes_at(code, now, NY) == utc(6, 2, 6)  # Tue 02:00 local


def test_always_open_code_never_closes_and_empty_code_never_opens() -> None:
    always = make([["00:00", "24:00"]])
    assert hours.closes_at(always, utc(6, 1, 0), NY) is None
    empty = HourCode(name="never")
    assert hours.next_open(empty, utc(6, 1, 0), NY) is None
    assert hours.explain(empty, utc(6, 1, 0), zone=NY).endswith(
        "does not open in the next 366 days"
    )


def test_naive_now_and_unknown_zone_are_refused() -> None:
    code = make([["09:00", "17:00"]])
    with pytest.raises(ValueError, match="aware"):
        hours.is_open(code, datetime(2026, 6, 1, 12), NY)
    with pytest.raises(UnknownZone, match="Mars/Olympus"):
        hours.is_open(code, utc(6, 1, 12), "Mars/Olympus")


# --- Holidays and the call-centre code --------------------------------------------------


def test_holiday_closes_the_whole_local_date() -> None:
    code = make([["09:00", "21:00"]], holidays=["2026-12-25"])
    christmas_noon = utc(12, 25, 17)  # Fri 12:00 in New York
    assert not hours.is_open(code, christmas_noon, NY)
    verdict = hours.check(code, christmas_noon, zone=NY)
    assert verdict.holiday == date(2026, 12, 25)
    assert verdict.next_open == utc(12, 26, 14)  # Sat 09:00 EST
    assert verdict.reason == (
        "outside consumer hours in America/New_York (holiday 2026-12-25, local time Fri 12:00); "
        "opens Sat 09:00 local"
    )
    # The holiday is a local date: 2026-12-25 04:00 UTC is still the 24th (20:00) in
    # Los Angeles.
    assert hours.is_open(code, utc(12, 25, 4), LA)


def test_call_centre_code_runs_in_its_own_zone() -> None:
    code = HourCode.from_json(
        {
            "name": "Paris centre",
            "timezone": PARIS,
            "weekly": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-12-25"],
        }
    )
    assert not hours.is_open(code, utc(6, 1, 5, 59))  # 07:59 CEST
    assert hours.is_open(code, utc(6, 1, 6))
    assert hours.next_open(code, utc(6, 1, 5)) == utc(6, 1, 6)
    assert hours.closes_at(code, utc(6, 1, 6)) == utc(6, 1, 18)
    assert hours.explain(code, utc(6, 1, 6), role="call_centre") == (
        'call centre open (hour code "Paris centre" in Europe/Paris (local time Mon 08:00)); '
        "closes Mon 20:00 local"
    )
    assert hours.explain(code, utc(12, 25, 9), role="call_centre") == (
        "call centre closed (holiday 2026-12-25 in Europe/Paris, local time Fri 10:00); "
        "opens Mon 08:00 local"
    )
    assert hours.explain(code, utc(6, 6, 9), role="call_centre") == (
        'call centre closed (hour code "Paris centre" in Europe/Paris, local time Sat 11:00); '
        "opens Mon 08:00 local"
    )
    # role=call_centre ignores a record zone: the centre's clock is the centre's.
    assert hours.check(code, utc(6, 1, 6), role="call_centre", zone=LA).zone == PARIS


def test_opening_more_than_a_week_ahead_gives_the_date() -> None:
    code = make([["09:00", "17:00"]], days=("mon",), holidays=["2026-06-08"])
    assert hours.explain(code, utc(6, 2, 14), zone=NY).endswith("opens Mon 2026-06-15 09:00 local")


# --- DST: a window follows local time on both sides of the change -----------------------

DST_CASES = [
    # zone, the day before, the day of the change, UTC hour of 08:00 local before/after
    pytest.param(NY, date(2026, 3, 7), date(2026, 3, 8), 13, 12, id="US-spring-forward"),
    pytest.param(NY, date(2026, 10, 31), date(2026, 11, 1), 12, 13, id="US-fall-back"),
    pytest.param(PARIS, date(2026, 3, 28), date(2026, 3, 29), 7, 6, id="EU-spring-forward"),
    pytest.param(PARIS, date(2026, 10, 24), date(2026, 10, 25), 6, 7, id="EU-fall-back"),
]


@pytest.mark.parametrize(("zone", "before", "after", "open_before", "open_after"), DST_CASES)
def test_08_20_window_follows_local_time_across_the_change(
    zone: str, before: date, after: date, open_before: int, open_after: int
) -> None:
    code = make([["08:00", "20:00"]])
    day_before = datetime(before.year, before.month, before.day, tzinfo=UTC)
    day_after = datetime(after.year, after.month, after.day, tzinfo=UTC)
    opens_before = day_before + timedelta(hours=open_before)
    opens_after = day_after + timedelta(hours=open_after)
    night_before = day_before + timedelta(hours=5)  # 00:00 in New York, 06:00/07:00 in Paris
    assert hours.next_open(code, night_before, zone) == opens_before
    assert hours.closes_at(code, opens_before, zone) == opens_before + timedelta(hours=12)
    # From the evening before the change to the morning after it.
    evening = opens_before + timedelta(hours=13)
    assert not hours.is_open(code, evening, zone)
    assert hours.next_open(code, evening, zone) == opens_after
    assert not hours.is_open(code, opens_after - timedelta(seconds=1), zone)
    assert hours.closes_at(code, opens_after, zone) == opens_after + timedelta(hours=12)
    local = opens_after.astimezone(ZoneInfo(zone))
    assert (local.date(), local.hour, local.minute) == (after, 8, 0)


def test_spring_forward_gap_window_starting_in_gap_opens_when_the_clock_jumps() -> None:
    # 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
    code = make([["02:30", "04:00"]], days=("sun",))
    assert not hours.is_open(code, utc(3, 8, 6, 59, 59), NY)  # 01:59:59 EST
    assert hours.next_open(code, utc(3, 8, 6), NY) == utc(3, 8, 7)  # 03:00 EDT
    assert hours.closes_at(code, utc(3, 8, 7), NY) == utc(3, 8, 8)  # 04:00 EDT
    # The week before, a normal day: 02:30 EST.
    assert hours.next_open(code, utc(3, 1, 6), NY) == utc(3, 1, 7, 30)


def test_spring_forward_gap_window_ending_in_gap_closes_when_the_clock_jumps() -> None:
    code = make([["01:00", "02:30"]], days=("sun",))
    assert hours.is_open(code, utc(3, 8, 6, 30), NY)  # 01:30 EST
    assert hours.closes_at(code, utc(3, 8, 6, 30), NY) == utc(3, 8, 7)


def test_spring_forward_window_wholly_in_gap_does_not_open_that_day() -> None:
    code = make([["02:00", "03:00"]], days=("sun",))
    assert hours.next_open(code, utc(3, 8, 5), NY, horizon=timedelta(days=1)) is None
    # Next Sunday it does: 02:00 EDT.
    assert hours.next_open(code, utc(3, 8, 5), NY) == utc(3, 15, 6)


def test_eu_spring_forward_gap() -> None:
    # 2026-03-29 in Paris: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
    code = make([["02:30", "04:00"]], days=("sun",))
    assert hours.next_open(code, utc(3, 29, 0), PARIS) == utc(3, 29, 1)
    assert hours.closes_at(code, utc(3, 29, 1), PARIS) == utc(3, 29, 2)


def test_fall_back_overlap_a_window_inside_the_repeated_hour_opens_twice() -> None:
    # 2026-11-01 in New York: 02:00 EDT falls back to 01:00 EST at 06:00 UTC.
    code = make([["01:30", "02:00"]], days=("sun",))
    first = hours.next_open(code, utc(11, 1, 4), NY)
    assert first == utc(11, 1, 5, 30)  # 01:30 EDT
    assert hours.closes_at(code, first, NY) == utc(11, 1, 6)  # 02:00 EDT = 01:00 EST
    second = hours.next_open(code, utc(11, 1, 6), NY)
    assert second == utc(11, 1, 6, 30)  # 01:30 EST
    assert hours.closes_at(code, second, NY) == utc(11, 1, 7)


def test_fall_back_overlap_window_ending_in_repeated_hour_reopens() -> None:
    code = make([["00:00", "01:30"]], days=("sun",))
    assert hours.closes_at(code, utc(11, 1, 4), NY) == utc(11, 1, 5, 30)  # 01:30 EDT
    assert hours.next_open(code, utc(11, 1, 5, 45), NY) == utc(11, 1, 6)  # 01:00 EST
    assert hours.closes_at(code, utc(11, 1, 6), NY) == utc(11, 1, 6, 30)  # 01:30 EST


def test_eu_fall_back_overlap() -> None:
    # 2026-10-25 in Paris: 03:00 CEST falls back to 02:00 CET at 01:00 UTC.
    code = make([["02:30", "03:00"]], days=("sun",))
    assert hours.next_open(code, utc(10, 24, 23), PARIS) == utc(10, 25, 0, 30)
    assert hours.closes_at(code, utc(10, 25, 0, 30), PARIS) == utc(10, 25, 1)
    assert hours.next_open(code, utc(10, 25, 1), PARIS) == utc(10, 25, 1, 30)
    assert hours.closes_at(code, utc(10, 25, 1, 30), PARIS) == utc(10, 25, 2)


# --- Records of unknown zone: the fallback --------------------------------------------


def test_fallback_needs_every_candidate_zone_of_the_number_open() -> None:
    code = make([["10:00", "20:00"]])
    candidates = candidate_zones("+12085550100")  # Idaho: Mountain and Pacific time
    assert candidates == ("America/Boise", LA)
    now = utc(6, 1, 16, 30)  # 10:30 in Boise, 09:30 in Los Angeles
    assert hours.is_open(code, now, "America/Boise")
    assert not hours.fallback_open(code, now, candidates)
    verdict = hours.check(code, now, candidates=candidates)
    assert not verdict.open
    assert verdict.zone == LA
    assert verdict.zones == candidates
    assert verdict.next_open == utc(6, 1, 17)  # 10:00 in Los Angeles
    assert verdict.reason == (
        "time zone unknown; outside consumer hours in America/Los_Angeles (local time "
        "Mon 09:30), one of its possible zones (America/Boise, America/Los_Angeles); "
        "opens Mon 10:00 local (in all of them)"
    )
    assert hours.fallback_open(code, utc(6, 1, 17), candidates)
    # Until Boise closes at 20:00 MDT = 02:00 UTC.
    assert hours.fallback_open(code, utc(6, 2, 1, 59), candidates)
    assert not hours.fallback_open(code, utc(6, 2, 2), candidates)


def test_toll_free_number_spans_guam_to_newfoundland_and_fits_half_an_hour_a_day() -> None:
    code = make([["09:00", "21:00"]])
    candidates = candidate_zones("+18005550100")
    assert {NY, LA, "Pacific/Guam", "Pacific/Pago_Pago", "America/St_Johns"} <= set(candidates)
    verdict = hours.check(code, utc(6, 1, 18), candidates=candidates)
    assert not verdict.open
    # Only when it is 09:00 in Guam and not yet 21:00 in St John's (20:30 NDT).
    assert verdict.next_open == utc(6, 1, 23)
    assert hours.fallback_open(code, utc(6, 1, 23, 29), candidates)
    assert not hours.fallback_open(code, utc(6, 1, 23, 30), candidates)


def test_fallback_that_never_opens_says_so() -> None:
    code = make([["09:00", "12:00"]])
    verdict = hours.check(code, utc(6, 1, 18), candidates=["Pacific/Guam", NY])
    assert verdict.next_open is None
    assert verdict.reason.endswith("does not open in the next 14 days")


def test_configured_fallback_zones_apply_to_every_unknown_record() -> None:
    code = make([["09:00", "21:00"]], fallback_zones=[NY, LA])
    toll_free = candidate_zones("+18005550100")
    # 12:00 in New York, 09:00 in Los Angeles: open whatever the number says.
    assert hours.fallback_open(code, utc(6, 1, 16), toll_free)
    assert hours.fallback_open(code, utc(6, 1, 16))
    assert not hours.fallback_open(code, utc(6, 1, 15, 59))  # 08:59 in Los Angeles
    assert hours.check(code, utc(6, 1, 16), candidates=toll_free).reason == (
        "time zone unknown; inside consumer hours in all its fallback zones "
        "(America/New_York, America/Los_Angeles)"
    )


def test_no_candidate_and_no_fallback_uses_the_code_timezone() -> None:
    code = make([["09:00", "21:00"]], timezone=CHI)
    assert candidate_zones("+15555550100") == ()  # 555: no zone known
    assert hours.fallback_zones(code, ()) == (CHI,)
    assert hours.fallback_open(code, utc(6, 1, 14))  # 09:00 CDT
    assert not hours.fallback_open(code, utc(6, 1, 13, 59))


# --- Validation -------------------------------------------------------------------------


def test_every_bad_field_is_named_with_its_reason() -> None:
    with pytest.raises(HourCodeInvalid) as caught:
        HourCode.from_json(
            {
                "timezone": "Mars/Olympus",
                "weekly": {
                    "mon": [["9h00", "17:00"], ["09:00", "25:00"]],
                    "tue": [["17:00", "09:00"]],
                    "wed": [["09:00", "12:00"], ["11:00", "13:00"]],
                    "funday": [["09:00", "10:00"]],
                    "thu": [["24:00", "24:00"]],
                    "fri": "09:00-17:00",
                    "sat": [["09:00"]],
                },
                "holidays": ["2026-02-30", "25/12/2026", 20261225],
                "fallback_zones": ["Europe/Nowhere"],
                "colour": "blue",
            }
        )
    errors = caught.value.errors
    assert set(errors) == {
        "name",
        "timezone",
        "weekly.mon[0]",
        "weekly.mon[1]",
        "weekly.tue[0]",
        "weekly.wed[1]",
        "weekly.funday",
        "weekly.thu[0]",
        "weekly.fri",
        "weekly.sat[0]",
        "holidays[0]",
        "holidays[1]",
        "holidays[2]",
        "fallback_zones[0]",
        "colour",
    }
    assert errors["name"] == "required"
    assert "unknown IANA time zone 'Mars/Olympus'" in errors["timezone"]
    assert errors["weekly.mon[0]"] == "'9h00' is not a time \"HH:MM\""
    assert "00:00-24:00" in errors["weekly.mon[1]"]
    assert errors["weekly.tue[0]"].startswith("end 09:00 is not after start 17:00")
    assert "cross midnight" in errors["weekly.tue[0]"]
    assert errors["weekly.wed[1]"] == "11:00-13:00 overlaps 09:00-12:00"
    assert errors["weekly.funday"].startswith("unknown weekday")
    assert "00:00-23:59" in errors["weekly.thu[0]"]  # 24:00 only ends a window
    assert errors["holidays[0]"] == "'2026-02-30' is not a date \"YYYY-MM-DD\""
    assert errors["colour"].startswith("unknown field")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"name": "  "}, "name"),
        ({"name": " padded"}, "name"),
        ({"name": "a\x07b"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "x", "weekly": []}, "weekly"),
        ({"name": "x", "holidays": "2026-12-25"}, "holidays"),
        ({"name": "x", "fallback_zones": NY}, "fallback_zones"),
        ({"name": "x", "weekly": {"mon": [["09:00", "09:00"]]}}, "weekly.mon[0]"),
        ({"name": "x", "weekly": {"mon": [["09:00", "10:00"]] * 25}}, "weekly.mon"),
    ],
)
def test_single_bad_field(body: Any, field: str) -> None:
    with pytest.raises(HourCodeInvalid) as caught:
        HourCode.from_json(body)
    assert list(caught.value.errors) == [field]


def test_round_trip_and_patch_keep_the_other_fields() -> None:
    data = {
        "name": "US consumer",
        "timezone": CHI,
        "weekly": {"mon": [["13:30", "18:00"], ["09:00", "12:30"]], "sat": [["10:00", "24:00"]]},
        "holidays": ["2026-12-25", "2026-07-04"],
        "fallback_zones": [NY, CHI],
    }
    code = HourCode.from_json(data)
    assert code.to_json() == {
        **data,
        "weekly": {"mon": [["09:00", "12:30"], ["13:30", "18:00"]], "sat": [["10:00", "24:00"]]},
        "holidays": ["2026-07-04", "2026-12-25"],
    }
    assert HourCode.from_json(code.to_json()) == code
    patched = HourCode.from_json({"holidays": []}, base=code)
    assert patched == HourCode(
        name="US consumer",
        timezone=CHI,
        weekly=code.weekly,
        holidays=frozenset(),
        fallback_zones=(NY, CHI),
    )
