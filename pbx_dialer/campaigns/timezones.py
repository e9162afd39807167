"""Which time zone a record's customer lives in: the consumer calling hours apply there.

From an explicit column if the file has one, else from the phone number (its country,
and its area code where that settles a single zone), else nothing: the caller then
uses the configured safe fallback window. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

# Two sample instants half a year apart: zones that agree on both (and on the DST
# switch days of either hemisphere) keep the same clock for calling-hours purposes.
_SAMPLES = [
    datetime(2026, month, day, 12, tzinfo=UTC)
    for month, day in ((1, 15), (3, 20), (4, 15), (7, 15), (10, 15), (11, 10))
]


@dataclass(frozen=True, slots=True)
class ZoneGuess:
    zone: str | None  # an IANA zone name, or None: use the fallback window
    source: str  # "column", "phone" or "fallback"


# IANA names: letters, digits, _ + - and /, at most a few dozen characters. Checked
# before zoneinfo turns the name into a file path.
_ZONE_NAME_RE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,3}\Z")


@lru_cache(maxsize=1024)
def valid_zone(name: str) -> bool:
    if len(name) > 64 or not _ZONE_NAME_RE.match(name):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@lru_cache(maxsize=64)
def _same_clock(zones: tuple[str, ...]) -> bool:
    infos = [ZoneInfo(z) for z in zones]
    return all(len({t.astimezone(i).utcoffset() for i in infos}) == 1 for t in _SAMPLES)


# NANP countries with zones of their own spread over several clocks. Any other NANP
# region (Barbados, Jamaica, Bermuda, Puerto Rico, ...) has exactly one zone.
_MULTI_ZONE_NANP = frozenset({"US", "CA"})


def _number_zones(number: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    zones = tuple(z for z in number_zones.time_zones_for_number(number) if valid_zone(z))
    if number.country_code != 1 or len(zones) <= 1:
        return zones
    # phonenumbers answers "every NANP zone" (42, Guam to St John's) for a number it
    # holds non-geographic, which includes every Caribbean mobile: the country then
    # settles the zone. Non-geographic US/CA codes (800, 5XX, 600) keep all of them.
    region = phonenumbers.region_code_for_number(number)
    if region is None or region in _MULTI_ZONE_NANP:
        return zones
    local = {z for z in number_zones.time_zones_for_geographical_number(number) if valid_zone(z)}
    return (local.pop(),) if len(local) == 1 else zones


@lru_cache(maxsize=200_000)
def zone_for_number(e164: str) -> str | None:
    """The single time zone of a number's area, or None when it spans several clocks."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    zones = _number_zones(number)
    if not zones:
        return None
    if len(zones) == 1 or _same_clock(zones):
        return zones[-1] if "Europe/London" not in zones else "Europe/London"
    return None


@lru_cache(maxsize=4096)
def candidate_zones(e164: str) -> tuple[str, ...]:
    """Every zone the number's area could be in, sorted; empty when the number tells
    nothing. A single-zone NANP country's number (+1 246 Barbados, mobiles included)
    has its country's zone; a non-geographic US/CA code (+1 800, 5XX, 600) has every
    NANP zone. The consumer-hours fallback for a record of unknown zone requires its
    hours to be open in all of them."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(sorted(_number_zones(number)))


def resolve_zone(explicit: str | None, e164: str) -> ZoneGuess:
    if explicit and valid_zone(explicit.strip()):
        return ZoneGuess(explicit.strip(), "column")
    zone = zone_for_number(e164)
    if zone is not None:
        return ZoneGuess(zone, "phone")
    return ZoneGuess(None, "fallback")
