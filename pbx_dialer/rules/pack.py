"""The rules pack: pack.toml read once, validated, and held as frozen data.

`load_pack()` reads the shipped file (cached); `parse_pack(data)` validates any parsed
TOML and raises PackInvalid naming every bad field, e.g.
{"sets.US.hours[2].weekdays": "'8-20' is not a window \"HH:MM-HH:MM\" or \"closed\""}.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import holidays

from pbx_dialer.campaigns.hours import Window
from pbx_dialer.campaigns.timezones import valid_zone

DAY_KEYS = ("weekdays", "saturday", "sunday")
NON_GEOGRAPHIC = "non-geographic"

_WINDOW_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})\Z")
_RULE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_PLACE_RE = re.compile(r"^[A-Z]{2}(-[A-Z]{2})?\Z")
_AREA_RE = re.compile(r"^[2-9]\d{2}\Z")


class PackInvalid(ValueError):
    """A malformed rules pack; `errors` maps each bad field to its reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("rules pack invalid: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class HoursRule:
    """Calling hours on the called party's clock: a window (or none) per kind of day."""

    id: str
    weekdays: Window | None
    saturday: Window | None
    sunday: Window | None
    holidays_closed: bool = False
    state: str | None = None  # only for this state's area codes; None: every number
    zone: str | None = None  # a fixed zone (the no-zone window); None: the party's zone
    source: str = ""
    confidence: str = ""

    def window_on(self, weekday: int) -> Window | None:
        return self.weekdays if weekday < 5 else self.saturday if weekday == 5 else self.sunday

    def describe(self) -> str:
        def show(w: Window | None) -> str:
            return str(w) if w else "closed"

        week, sat, sun = show(self.weekdays), show(self.saturday), show(self.sunday)
        if week == sat == sun:
            text = week
        elif week == sat:
            text = f"Mon-Sat {week}, Sun {sun}"
        else:
            text = f"Mon-Fri {week}, Sat {sat}, Sun {sun}"
        return text + (", closed on holidays" if self.holidays_closed else "")


@dataclass(frozen=True, slots=True)
class CapRule:
    """At most `calls` calls within any rolling `window_hours`; or, with
    `after_conversation_hours`, no call that long after a conversation."""

    id: str
    calls: int = 0
    window_hours: int = 0
    after_conversation_hours: int = 0
    state: str | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class RuleSet:
    id: str
    name: str
    country: str | None
    hours: tuple[HoursRule, ...]
    caps: tuple[CapRule, ...]
    no_zone: HoursRule | None

    @property
    def rules(self) -> tuple[HoursRule | CapRule, ...]:
        """The set's hours and statutory caps (not the no-zone window)."""
        return (*self.hours, *self.caps)


@dataclass(frozen=True, slots=True)
class RulesPack:
    version: str
    released: date | None
    sets: Mapping[str, RuleSet]
    caps: Mapping[str, CapRule]  # the opt-in caps, by name
    nanp: Mapping[str, str]  # area code -> "US-FL", "CA-ON", "BB", "non-geographic"

    def area_of(self, e164: str) -> str | None:
        """The [nanp] place of a +1 number ("US-FL", "BB", "non-geographic"), else None."""
        digits = e164.strip()
        if not digits.startswith("+1") or len(digits) != 12 or not digits[1:].isdigit():
            return None
        return self.nanp.get(digits[2:5])


@cache
def load_pack() -> RulesPack:
    """The pack shipped with pbx-dialer (pbx_dialer/rules/pack.toml), read once."""
    text = resources.files("pbx_dialer.rules").joinpath("pack.toml").read_text("utf-8")
    return parse_pack(loads(text))


def loads(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackInvalid({"toml": str(exc)}) from exc


def parse_pack(data: Any) -> RulesPack:
    errors: dict[str, str] = {}
    if not isinstance(data, Mapping):
        raise PackInvalid({"pack": "must be a TOML table"})
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        errors["version"] = 'required: a non-empty string, e.g. "2026.12.1"'
        version = ""
    released = data.get("released")
    if released is not None and not isinstance(released, date):
        errors["released"] = "must be a TOML date, e.g. 2026-12-01"
        released = None
    nanp = _parse_nanp(data.get("nanp", {}), errors)
    states = {place for place in nanp.values() if "-" in place}
    ids: set[str] = set()
    caps = {
        name: cap
        for name, body in _items(data.get("caps", {}), "caps", errors)
        if (cap := _parse_cap(body, f"caps.{name}", errors, ids, name, opt_in=True))
    }
    sets: dict[str, RuleSet] = {}
    for key, body in _items(data.get("sets"), "sets", errors):
        parsed = _parse_set(str(key), body, errors, ids, states)
        if parsed is not None:
            sets[parsed.id] = parsed
    if "sets" in data and "none" not in sets and "sets.none" not in errors:
        errors["sets.none"] = "required: the set with no pack rules"
    if errors:
        raise PackInvalid(errors)
    return RulesPack(version.strip(), released, sets, caps, nanp)


def _items(value: Any, path: str, errors: dict[str, str]) -> list[tuple[str, Any]]:
    if not isinstance(value, Mapping) or not value:
        errors[path] = "required: a non-empty table"
        return []
    return [(str(k), v) for k, v in value.items()]


def _parse_nanp(value: Any, errors: dict[str, str]) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        errors["nanp"] = "required: a table of area code -> place"
        return {}
    table: dict[str, str] = {}
    for code, place in value.items():
        where = f"nanp.{code}"
        if not _AREA_RE.match(str(code)):
            errors[where] = "an area code is three digits, 200-999"
        elif not isinstance(place, str) or not (place == NON_GEOGRAPHIC or _PLACE_RE.match(place)):
            errors[where] = f'{place!r} is not "US-XX", "CA", "BB" or "{NON_GEOGRAPHIC}"'
        else:
            table[str(code)] = place
    return table


def _text(body: Mapping[str, Any], key: str, path: str, errors: dict[str, str]) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        errors[f"{path}.{key}"] = "must be a string"
        return ""
    return value


def _rule_id(
    body: Mapping[str, Any], path: str, errors: dict[str, str], ids: set[str], default: str = ""
) -> str:
    rule_id = body.get("id", default)
    if not isinstance(rule_id, str) or not _RULE_ID_RE.match(rule_id):
        errors[f"{path}.id"] = 'required: letters, digits, - and _, e.g. "US-FL-hours"'
        return ""
    if rule_id in ids:
        errors[f"{path}.id"] = f"duplicate rule id {rule_id!r}"
    ids.add(rule_id)
    return rule_id


def _parse_set(
    key: str, body: Any, errors: dict[str, str], ids: set[str], states: set[str]
) -> RuleSet | None:
    path = f"sets.{key}"
    if not isinstance(body, Mapping):
        errors[path] = "must be a table"
        return None
    known = {"name", "note", "country", "hours", "caps", "no_zone"}
    for field in body:
        if field not in known:
            errors[f"{path}.{field}"] = f"unknown field (known: {', '.join(sorted(known))})"
    country = body.get("country")
    if country is not None and (not isinstance(country, str) or not _PLACE_RE.match(country)):
        errors[f"{path}.country"] = 'an ISO country code, e.g. "US"'
        country = None
    hours_list = body.get("hours", [])
    caps_list = body.get("caps", [])
    for field, value in (("hours", hours_list), ("caps", caps_list)):
        if not isinstance(value, list):
            errors[f"{path}.{field}"] = "must be an array of tables ([[...]])"
    hours = tuple(
        rule
        for i, item in enumerate(hours_list if isinstance(hours_list, list) else [])
        if (rule := _parse_hours(item, f"{path}.hours[{i}]", errors, ids, country, states))
    )
    caps = tuple(
        cap
        for i, item in enumerate(caps_list if isinstance(caps_list, list) else [])
        if (cap := _parse_cap(item, f"{path}.caps[{i}]", errors, ids, "", country, states))
    )
    no_zone = None
    if "no_zone" in body:
        no_zone = _parse_hours(body["no_zone"], f"{path}.no_zone", errors, ids, country, states)
        if no_zone is not None and no_zone.zone is None:
            errors[f"{path}.no_zone.zone"] = "required: the zone the safe window is read in"
    elif hours:
        errors[f"{path}.no_zone"] = "required when the set has hours: the safe window"
    return RuleSet(key, _text(body, "name", path, errors), country, hours, caps, no_zone)


def _parse_window(value: Any, where: str, errors: dict[str, str]) -> Window | None:
    if value == "closed":
        return None
    match = _WINDOW_RE.match(value) if isinstance(value, str) else None
    if match is None:
        errors[where] = f'{value!r} is not a window "HH:MM-HH:MM" or "closed"'
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 86_400 or end <= start:
        errors[where] = f"{value!r}: a window within 00:00-24:00 that ends after it starts"
        return None
    return Window(start, end)


def _parse_state(
    body: Mapping[str, Any],
    path: str,
    errors: dict[str, str],
    country: str | None,
    states: set[str],
) -> str | None:
    state = body.get("state")
    if state is None:
        return None
    if not isinstance(state, str) or f"{country}-{state}" not in states:
        errors[f"{path}.state"] = (
            f"{state!r} is not a state of {country} in the [nanp] area-code table"
        )
        return None
    return state


def _parse_hours(
    body: Any,
    path: str,
    errors: dict[str, str],
    ids: set[str],
    country: str | None,
    states: set[str],
) -> HoursRule | None:
    if not isinstance(body, Mapping):
        errors[path] = "must be a table"
        return None
    known = {"id", "state", "zone", *DAY_KEYS, "holidays", "source", "confidence", "note"}
    for field in body:
        if field not in known:
            errors[f"{path}.{field}"] = f"unknown field (known: {', '.join(sorted(known))})"
    rule_id = _rule_id(body, path, errors, ids)
    windows: list[Window | None] = []
    for day in DAY_KEYS:
        if day not in body:
            errors[f"{path}.{day}"] = 'required: "HH:MM-HH:MM" or "closed"'
            windows.append(None)
        else:
            windows.append(_parse_window(body[day], f"{path}.{day}", errors))
    closed = body.get("holidays")
    if closed not in (None, "closed"):
        errors[f"{path}.holidays"] = '"closed" or absent'
    state = _parse_state(body, path, errors, country, states)
    if closed == "closed":
        _check_calendar(country, state, f"{path}.holidays", errors)
    zone = body.get("zone")
    if zone is not None and (not isinstance(zone, str) or not valid_zone(zone)):
        errors[f"{path}.zone"] = f"unknown IANA time zone {zone!r}"
        zone = None
    return HoursRule(
        id=rule_id,
        weekdays=windows[0],
        saturday=windows[1],
        sunday=windows[2],
        holidays_closed=closed == "closed",
        state=state,
        zone=zone,
        source=_text(body, "source", path, errors),
        confidence=_text(body, "confidence", path, errors),
    )


def _check_calendar(
    country: str | None, state: str | None, where: str, errors: dict[str, str]
) -> None:
    if country is None:
        errors[where] = "holidays need the set's country"
        return
    try:
        holidays.country_holidays(country, subdiv=state, years=2026)
    except NotImplementedError:
        errors[where] = f"the holidays package has no calendar for {country} {state or ''}"


def _parse_cap(
    body: Any,
    path: str,
    errors: dict[str, str],
    ids: set[str],
    default_id: str,
    country: str | None = None,
    states: set[str] | None = None,
    *,
    opt_in: bool = False,
) -> CapRule | None:
    if not isinstance(body, Mapping):
        errors[path] = "must be a table"
        return None
    known = {"id", "state", "calls", "window_hours", "after_conversation_hours"}
    known |= {"source", "confidence", "note"}
    for field in body:
        if field not in known:
            errors[f"{path}.{field}"] = f"unknown field (known: {', '.join(sorted(known))})"
    rule_id = _rule_id(body, path, errors, ids, default_id)
    numbers: dict[str, int] = {}
    for field in ("calls", "window_hours", "after_conversation_hours"):
        value = body.get(field, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
            errors[f"{path}.{field}"] = "a whole number, 0-10000"
            value = 0
        numbers[field] = value
    counting = numbers["calls"] > 0 and numbers["window_hours"] > 0
    if not counting and numbers["after_conversation_hours"] == 0:
        errors[path] = "needs calls and window_hours, or after_conversation_hours"
    elif (numbers["calls"] > 0) != (numbers["window_hours"] > 0):
        errors[path] = "calls and window_hours go together"
    state = None if opt_in else _parse_state(body, path, errors, country, states or set())
    return CapRule(
        id=rule_id,
        calls=numbers["calls"],
        window_hours=numbers["window_hours"],
        after_conversation_hours=numbers["after_conversation_hours"],
        state=state,
        source=_text(body, "source", path, errors) or _text(body, "note", path, errors),
    )
