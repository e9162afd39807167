"""Time zones of records: from the column, the number, or not at all."""

from __future__ import annotations

import pytest

from pbx_dialer.campaigns.timezones import resolve_zone, valid_zone, zone_for_number


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
