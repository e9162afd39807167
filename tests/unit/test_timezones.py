"""Time zones of records: from the column, the number, or not at all."""

from __future__ import annotations

import pytest

from pbx_dialer.campaigns.timezones import (
    candidate_zones,
    resolve_zone,
    valid_zone,
    zone_for_number,
)


@pytest.mark.parametrize(
    "name", ["UTC", "Etc/GMT+5", "Europe/London", "America/Argentina/Buenos_Aires"]
)
def test_real_zones_are_valid(name: str) -> None:
    assert valid_zone(name)


@pytest.mark.parametrize(
    "name",
    ["Mars/Base", "../etc/passwd", "/etc/localtime", "Europe/London\n", "a" * 300, "Ṱ̺o/zone", ""],
)
def test_anything_else_is_not_and_never_raises(name: str) -> None:
    assert not valid_zone(name)


def test_zone_from_the_number_when_it_settles_one_clock() -> None:
    assert zone_for_number("+12125551234") == "America/New_York"
    assert zone_for_number("+447911123456") == "Europe/London"
    # A toll-free number spans every North American zone: unknown.
    assert zone_for_number("+18005551234") is None


def test_explicit_column_wins_and_a_bad_one_is_ignored() -> None:
    assert resolve_zone("Europe/Berlin", "+12125551234").source == "column"
    guess = resolve_zone("Nowhere/Land", "+12125551234")
    assert (guess.zone, guess.source) == ("America/New_York", "phone")
    assert resolve_zone(None, "+18005551234").source == "fallback"


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("+12462345678", "America/Barbados"),  # Barbados mobile: was every NANP zone
        ("+18765230123", "America/Jamaica"),
        ("+16582345678", "America/Jamaica"),
        ("+14418001234", "Atlantic/Bermuda"),
        ("+12424567890", "America/Nassau"),
        ("+18688001234", "America/Port_of_Spain"),
        ("+18298001234", "America/Santo_Domingo"),
        ("+14734567890", "America/Grenada"),
    ],
)
def test_single_zone_nanp_country_numbers_get_their_country_zone(number: str, zone: str) -> None:
    assert candidate_zones(number) == (zone,)
    assert zone_for_number(number) == zone
    assert resolve_zone(None, number).source == "phone"


def test_non_geographic_nanp_codes_still_have_every_nanp_zone() -> None:
    # 800 and the Canadian 600 name no place: every zone stays a candidate (the rules
    # pack gives such numbers a stated safe window instead).
    for number in ("+18002345678", "+16002345678", "+15002345678"):
        assert len(candidate_zones(number)) == 42
        assert zone_for_number(number) is None
