"""Hour codes: named weekly calling windows with holidays, read on a local wall clock.

Pure: no I/O and no clock of its own; every function takes `now`, an aware datetime.

A window "09:00-17:00" on a weekday means local wall-clock time, on that local date, in
the zone the code is applied in: the call-centre code in its own `timezone`, the consumer
code in each record's zone. Windows are half-open, [start, end). They may not cross
midnight; "24:00" is accepted as an end, so a night shift is written as two windows
(mon 22:00-24:00 and tue 00:00-02:00), which then count as one open span. A holiday
closes the whole local date.

Daylight saving time (zoneinfo). The code is open exactly when the local wall clock
shows a time inside a window, which is what calling-hours rules (e.g. "8am to 9pm the
called party's local time") ask for:

- Spring forward (a gap, e.g. 02:00-03:00 does not exist on 2026-03-08 in New York): a
  window or part of one that falls in the gap simply does not happen that day. A window
  starting in the gap (02:30-04:00) opens at the instant the clock jumps, 03:00 local; a
  window ending in the gap (01:00-02:30) closes at that same instant; a window lying
  wholly in the gap (02:00-03:00) does not open that day.
- Fall back (an overlap, e.g. 01:00-02:00 happens twice on 2026-11-01 in New York): a
  time inside a window is inside it both times it happens, so 01:30-02:00 opens twice,
  and 00:00-01:30 stays open through 01:30 the first time, closes, and reopens at 01:00
  (the second one) until 01:30 again. Both instants are local times within the window.

The consumer code across zones: `open_zones` answers, for one instant, which of the
campaign's record zones are inside consumer hours, so the dialer picks records with
`timezone IN (...)`. A record whose zone is unknown (records.timezone NULL) is dialed
only under the safe fallback rule: the consumer code must be open in *every* zone the
customer could be in at once. Which zones those are is configured on the consumer code:
its optional `fallback_zones` list, when set, applies to every record of unknown zone
(one answer for all of them: `timezone IS NULL AND <fallback open>` in SQL, cheap at
1M records); when unset, the number's own candidate zones (phonenumbers'
`time_zones_for_number`, see `timezones.candidate_zones`) are used, and if the number
gives none, the code's `timezone`. Without `fallback_zones`, a toll-free +1 800 number
has every NANP zone from Guam to St John's as candidates, and a 09:00-21:00 code is open
in all of them for only half an hour a day: safe, and the reason says when; set
`fallback_zones` (e.g. the four continental US zones) to call such numbers more.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pbx_dialer.campaigns.timezones import valid_zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_S = 86_400
DEFAULT_HORIZON = timedelta(days=366)
# The all-zones fallback search is costlier (one search per zone): a shorter look-ahead.
FALLBACK_HORIZON = timedelta(days=14)
MAX_WINDOWS_PER_DAY = 24
MAX_HOLIDAYS = 1000
MAX_FALLBACK_ZONES = 64
FIELDS = ("name", "timezone", "weekly", "holidays", "fallback_zones")

_HHMM_RE = re.compile(r"^(\d{1,2}):(\d{2})\Z")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")

Role = Literal["call_centre", "consumer"]


class HourCodeInvalid(ValueError):
    """Bad hour-code input; `errors` maps each bad field to its reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class UnknownZone(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in seconds after local midnight; end 86400 is 24:00."""

    start: int
    end: int

    def to_json(self) -> list[str]:
        return [_hhmm(self.start), _hhmm(self.end)]

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


_NO_WINDOWS: tuple[tuple[Window, ...], ...] = ((),) * 7


@dataclass(frozen=True)
class HourCode:
    name: str
    timezone: str = "UTC"
    weekly: tuple[tuple[Window, ...], ...] = _NO_WINDOWS  # Monday first
    holidays: frozenset[date] = field(default_factory=frozenset)
    fallback_zones: tuple[str, ...] = ()

    def windows_on(self, day: date) -> tuple[Window, ...]:
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    @property
    def never_open(self) -> bool:
        return not any(self.weekly)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "timezone": self.timezone,
            "weekly": {
                WEEKDAYS[i]: [w.to_json() for w in windows]
                for i, windows in enumerate(self.weekly)
                if windows
            },
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "fallback_zones": list(self.fallback_zones),
        }

    @classmethod
    def from_json(cls, data: Any, base: HourCode | None = None) -> HourCode:
        """Parse and validate; with `base`, only the fields given change (PATCH).

        Raises HourCodeInvalid naming every bad field, e.g. {"weekly.mon[1]": "..."}.
        """
        if not isinstance(data, Mapping):
            raise HourCodeInvalid({"body": "must be a JSON object"})
        errors: dict[str, str] = {}
        for key in data:
            if key not in FIELDS:
                errors[str(key)[:64]] = f"unknown field (known: {', '.join(FIELDS)})"
        code = base if base is not None else HourCode(name="")
        if base is None and "name" not in data:
            errors["name"] = "required"
        if "name" in data:
            name = _parse_name(data["name"], errors)
            code = replace(code, name=name)
        if "timezone" in data:
            zone = data["timezone"]
            if not isinstance(zone, str) or not valid_zone(zone):
                errors["timezone"] = f"unknown IANA time zone {_show(zone)} (e.g. Europe/Paris)"
            else:
                code = replace(code, timezone=zone)
        if "weekly" in data:
            code = replace(code, weekly=_parse_weekly(data["weekly"], errors))
        if "holidays" in data:
            code = replace(code, holidays=_parse_holidays(data["holidays"], errors))
        if "fallback_zones" in data:
            code = replace(code, fallback_zones=_parse_zones(data["fallback_zones"], errors))
        if errors:
            raise HourCodeInvalid(errors)
        return code


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _parse_name(value: Any, errors: dict[str, str]) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["name"] = "must be a non-empty string"
        return ""
    if value != value.strip():
        errors["name"] = "must not start or end with spaces"
    elif len(value) > 100 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        errors["name"] = "must be at most 100 printable characters"
    return value


def _parse_time(value: Any, *, end: bool) -> int | str:
    """Seconds after midnight, or the reason it is not a valid "HH:MM"."""
    match = _HHMM_RE.match(value) if isinstance(value, str) else None
    if match is None:
        return f'{_show(value)} is not a time "HH:MM"'
    hours, minutes = int(match.group(1)), int(match.group(2))
    if end and hours == 24 and minutes == 0:
        return DAY_S
    if hours > 23 or minutes > 59:
        limit = "00:00-24:00" if end else "00:00-23:59"
        return f'{_show(value)} is not a time "HH:MM" ({limit})'
    return hours * 3600 + minutes * 60


def _parse_weekly(value: Any, errors: dict[str, str]) -> tuple[tuple[Window, ...], ...]:
    if not isinstance(value, Mapping):
        errors["weekly"] = 'must be an object like {"mon": [["09:00", "17:00"]], ...}'
        return _NO_WINDOWS
    days: list[tuple[Window, ...]] = [() for _ in WEEKDAYS]
    for raw_day, items in value.items():
        key = f"weekly.{str(raw_day)[:32]}"
        if raw_day not in WEEKDAYS:
            errors[key] = "unknown weekday (use mon, tue, wed, thu, fri, sat, sun)"
            continue
        days[WEEKDAYS.index(raw_day)] = _parse_day(items, key, errors)
    return tuple(days)


def _parse_day(items: Any, key: str, errors: dict[str, str]) -> tuple[Window, ...]:
    if not isinstance(items, list):
        errors[key] = 'must be a list of windows like [["09:00", "12:30"], ["13:30", "18:00"]]'
        return ()
    if len(items) > MAX_WINDOWS_PER_DAY:
        errors[key] = f"at most {MAX_WINDOWS_PER_DAY} windows a day"
        return ()
    windows: list[tuple[int, Window]] = []
    for index, item in enumerate(items):
        item_key = f"{key}[{index}]"
        if not isinstance(item, list) or len(item) != 2:
            errors[item_key] = 'must be a pair ["HH:MM", "HH:MM"]'
            continue
        start = _parse_time(item[0], end=False)
        end = _parse_time(item[1], end=True)
        if isinstance(start, str) or isinstance(end, str):
            errors[item_key] = start if isinstance(start, str) else str(end)
            continue
        if end <= start:
            errors[item_key] = (
                f"end {_hhmm(end)} is not after start {_hhmm(start)}; a window may not "
                "cross midnight: split it at 24:00 and 00:00 of the next day"
            )
            continue
        windows.append((index, Window(start, end)))
    windows.sort(key=lambda iw: iw[1].start)
    for (_, before), (index, after) in pairwise(windows):
        if after.start < before.end:
            errors[f"{key}[{index}]"] = f"{after} overlaps {before}"
    return tuple(w for _, w in windows)


def _parse_holidays(value: Any, errors: dict[str, str]) -> frozenset[date]:
    if not isinstance(value, list):
        errors["holidays"] = 'must be a list of dates like ["2026-12-25"]'
        return frozenset()
    if len(value) > MAX_HOLIDAYS:
        errors["holidays"] = f"at most {MAX_HOLIDAYS} dates"
        return frozenset()
    days: set[date] = set()
    for index, item in enumerate(value):
        try:
            if not isinstance(item, str) or not _DATE_RE.match(item):
                raise ValueError
            days.add(date.fromisoformat(item))
        except ValueError:
            errors[f"holidays[{index}]"] = f'{_show(item)} is not a date "YYYY-MM-DD"'
    return frozenset(days)


def _parse_zones(value: Any, errors: dict[str, str]) -> tuple[str, ...]:
    if not isinstance(value, list):
        errors["fallback_zones"] = 'must be a list of IANA zones like ["America/Chicago"]'
        return ()
    if len(value) > MAX_FALLBACK_ZONES:
        errors["fallback_zones"] = f"at most {MAX_FALLBACK_ZONES} zones"
        return ()
    zones: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not valid_zone(item):
            errors[f"fallback_zones[{index}]"] = f"unknown IANA time zone {_show(item)}"
        elif item not in zones:
            zones.append(item)
    return tuple(zones)


# --- Evaluation ---------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _zoneinfo(name: str) -> ZoneInfo:
    if not valid_zone(name):
        raise UnknownZone(f"unknown IANA time zone {name!r}")
    return ZoneInfo(name)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(UTC)


def _open_at(code: HourCode, zone: tzinfo, at: datetime) -> bool:
    local = at.astimezone(zone)
    second = local.hour * 3600 + local.minute * 60 + local.second
    return any(w.start <= second < w.end for w in code.windows_on(local.date()))


def is_open(code: HourCode, now: datetime, zone: str | None = None) -> bool:
    """Whether the local wall clock in `zone` (default: the code's own) is in a window."""
    return _open_at(code, _zoneinfo(zone or code.timezone), _aware(now))


def next_open(
    code: HourCode, now: datetime, zone: str | None = None, horizon: timedelta = DEFAULT_HORIZON
) -> datetime | None:
    """The first instant at or after `now` at which the code is open in `zone` (UTC);
    `now` itself when already open; None when it does not open within `horizon`."""
    zi = _zoneinfo(zone or code.timezone)
    now = _aware(now)
    if _open_at(code, zi, now):
        return now
    if code.never_open:
        return None
    for point in _change_points(code, zi, now, now + horizon):
        if _open_at(code, zi, point):
            return point
    return None


def closes_at(
    code: HourCode, now: datetime, zone: str | None = None, horizon: timedelta = DEFAULT_HORIZON
) -> datetime | None:
    """When the open span containing `now` ends (UTC; adjacent windows count as one
    span). None when closed at `now`, or when it stays open beyond `horizon`."""
    zi = _zoneinfo(zone or code.timezone)
    now = _aware(now)
    if not _open_at(code, zi, now):
        return None
    for point in _change_points(code, zi, now, now + horizon):
        if not _open_at(code, zi, point):
            return point
    return None


def open_zones(code: HourCode, zones: Iterable[str | None], now: datetime) -> set[str]:
    """The zones among `zones` where the (consumer) code is open at `now`: the dialer
    selects records with `timezone IN (...)`. None and unknown zone names are skipped
    (never open: a record in them falls under the fallback rule or is not dialed)."""
    now = _aware(now)
    return {
        z
        for z in set(zones)
        if z is not None and valid_zone(z) and _open_at(code, _zoneinfo(z), now)
    }


def fallback_zones(code: HourCode, candidates: Iterable[str] = ()) -> tuple[str, ...]:
    """The zones a record of unknown zone must be inside consumer hours in, all at once:
    the code's `fallback_zones` if set, else the number's candidate zones, else the
    code's own `timezone`."""
    if code.fallback_zones:
        return code.fallback_zones
    valid = tuple(sorted({z for z in candidates if valid_zone(z)}))
    return valid or (code.timezone,)


def fallback_open(code: HourCode, now: datetime, candidates: Iterable[str] = ()) -> bool:
    """Whether a record of unknown zone may be called now (see the module docstring).
    With `fallback_zones` set, `candidates` is ignored: one answer for all such records."""
    now = _aware(now)
    return all(_open_at(code, _zoneinfo(z), now) for z in fallback_zones(code, candidates))


def next_open_everywhere(
    code: HourCode, zones: Iterable[str], now: datetime, horizon: timedelta = FALLBACK_HORIZON
) -> datetime | None:
    """The first instant at or after `now` at which the code is open in all `zones`."""
    names = sorted(set(zones))
    now = _aware(now)
    limit = now + horizon

    def in_zone(name: str) -> Callable[[datetime], datetime | None]:
        return lambda at: next_open(code, at, name, limit - at)

    return first_open_in_all([in_zone(name) for name in names], now, limit)


def first_open_in_all(
    openings: Sequence[Callable[[datetime], datetime | None]], start: datetime, limit: datetime
) -> datetime | None:
    """The first instant in [start, limit] at which every schedule is open, each given as
    its next opening at or after an instant (None: none before `limit`). Leapfrog: jump
    to the latest next opening; when no schedule moves us, all are open."""
    at = start
    while at <= limit:
        later = at
        for opening in openings:
            found = opening(at)
            if found is None:
                return None
            later = max(later, found)
        if later == at:
            return at
        at = later
    return None


# --- Why (not) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to "may we call now, and if not, why and when": `reason` is the
    sentence a supervisor reads; times are aware UTC datetimes."""

    open: bool
    reason: str
    zone: str  # the zone that decided (for an unknown-zone record: one that is closed)
    local_time: datetime
    next_open: datetime | None
    closes_at: datetime | None
    holiday: date | None
    zones: tuple[str, ...] = ()  # the zones a record of unknown zone was checked in


def check(
    code: HourCode,
    now: datetime,
    *,
    role: Role = "consumer",
    zone: str | None = None,
    candidates: Iterable[str] = (),
    horizon: timedelta = DEFAULT_HORIZON,
) -> Verdict:
    """Whether `code` lets a call go out at `now`, why, and until or from when.

    - role="call_centre": the code is read in its own `timezone` (`zone` is ignored).
    - role="consumer" with `zone`: read in the record's zone (records.timezone).
    - role="consumer" with zone None: the record's zone is unknown; the fallback rule
      applies over `candidates`, the number's possible zones
      (`timezones.candidate_zones(phone)`): open only when open in all of them.

    Raises UnknownZone for a zone zoneinfo does not know, ValueError for a naive `now`.
    """
    now = _aware(now)
    if role == "call_centre":
        return _check_zone(code, now, code.timezone, "call_centre", horizon)
    if zone is not None:
        return _check_zone(code, now, zone, "consumer", horizon)
    return _check_unknown(
        code, now, fallback_zones(code, candidates), min(horizon, FALLBACK_HORIZON)
    )


def explain(
    code: HourCode,
    now: datetime,
    *,
    role: Role = "consumer",
    zone: str | None = None,
    candidates: Iterable[str] = (),
    horizon: timedelta = DEFAULT_HORIZON,
) -> str:
    """The plain-English reason of `check` (same arguments), e.g.
    'outside consumer hours in America/New_York (local time Mon 21:14); opens Tue 09:00
    local' or 'call centre closed (holiday 2026-12-25); opens Mon 08:00 local'."""
    return check(code, now, role=role, zone=zone, candidates=candidates, horizon=horizon).reason


def _check_zone(
    code: HourCode, now: datetime, zone: str, role: Role, horizon: timedelta
) -> Verdict:
    zi = _zoneinfo(zone)
    local = now.astimezone(zi)
    holiday = local.date() if local.date() in code.holidays else None
    if _open_at(code, zi, now):
        closing = closes_at(code, now, zone, horizon)
        where = f"in {zone} (local time {_clock(local)})"
        if role == "call_centre":
            head = f'call centre open (hour code "{code.name}" {where})'
        else:
            head = f"inside consumer hours {where}"
        tail = f"closes {_when(closing, local)}" if closing else "open beyond the horizon"
        return Verdict(True, f"{head}; {tail}", zone, local, now, closing, None)
    opening = next_open(code, now, zone, horizon)
    if role == "call_centre":
        detail = f"holiday {holiday.isoformat()}" if holiday else f'hour code "{code.name}"'
        head = f"call centre closed ({detail} in {zone}, local time {_clock(local)})"
    else:
        detail = f"holiday {holiday.isoformat()}, " if holiday else ""
        head = f"outside consumer hours in {zone} ({detail}local time {_clock(local)})"
    return Verdict(
        False, f"{head}; {_opens(opening, local, horizon)}", zone, local, opening, None, holiday
    )


def _check_unknown(
    code: HourCode, now: datetime, zones: tuple[str, ...], horizon: timedelta
) -> Verdict:
    source = "fallback zones" if code.fallback_zones else "possible zones"
    listed = ", ".join(zones[:4]) + (f" and {len(zones) - 4} more" if len(zones) > 4 else "")
    closed = [z for z in zones if not _open_at(code, _zoneinfo(z), now)]
    if not closed:
        local = now.astimezone(_zoneinfo(zones[0]))
        reason = f"time zone unknown; inside consumer hours in all its {source} ({listed})"
        return Verdict(True, reason, zones[0], local, now, None, None, zones)
    zone = closed[0]
    local = now.astimezone(_zoneinfo(zone))
    holiday = local.date() if local.date() in code.holidays else None
    opening = next_open_everywhere(code, zones, now, horizon)
    detail = f"holiday {holiday.isoformat()}, " if holiday else ""
    reason = (
        f"time zone unknown; outside consumer hours in {zone} ({detail}local time "
        f"{_clock(local)}), one of its {source} ({listed}); "
        + (f"opens {_when(opening, local)} (in all of them)" if opening else _never(horizon))
    )
    return Verdict(False, reason, zone, local, opening, None, holiday, zones)


def _clock(local: datetime) -> str:
    return local.strftime("%a %H:%M")


def _when(at: datetime, local_now: datetime) -> str:
    """'Tue 09:00 local' within the coming week, else with the date."""
    local = at.astimezone(local_now.tzinfo)
    if (local.date() - local_now.date()).days < 7:
        return f"{local:%a %H:%M} local"
    return f"{local:%a %Y-%m-%d %H:%M} local"


def _opens(opening: datetime | None, local_now: datetime, horizon: timedelta) -> str:
    return f"opens {_when(opening, local_now)}" if opening else _never(horizon)


def _never(horizon: timedelta) -> str:
    return f"does not open in the next {horizon.days} days"


# --- Change points ----------------------------------------------------------------------


def _change_points(
    code: HourCode, zone: ZoneInfo, after: datetime, until: datetime
) -> Iterator[datetime]:
    """Every instant in (after, until] where `_open_at` may change, ascending: each window
    boundary read both ways in an overlap, and each UTC-offset transition (where a
    boundary in a gap takes effect)."""
    day = after.astimezone(zone).date() - timedelta(days=1)
    last = until.astimezone(zone).date() + timedelta(days=1)
    heap: list[datetime] = []
    previous: datetime | None = None
    while True:
        if day <= last:
            for point in _day_points(code, zone, day):
                if after < point <= until:
                    heapq.heappush(heap, point)
            # No point of a later day is earlier than its local midnight minus 14 h (the
            # largest UTC offset): whatever lies a full day before it is final.
            safe = datetime.combine(day, time(), UTC) - timedelta(days=1)
        else:
            safe = datetime.max.replace(tzinfo=UTC)
        while heap and heap[0] < safe:
            point = heapq.heappop(heap)
            if point != previous:
                previous = point
                yield point
        if day > last:
            return
        day += timedelta(days=1)


def _day_points(code: HourCode, zone: ZoneInfo, day: date) -> set[datetime]:
    points: set[datetime] = set()
    midnight = datetime.combine(day, time())
    for window in code.windows_on(day):
        for seconds in (window.start, window.end):
            wall = midnight + timedelta(seconds=seconds)
            for fold in (0, 1):
                points.add(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC))
    if points or code.windows_on(day - timedelta(days=1)):
        transition = _transition_on(zone, day)
        if transition is not None:
            points.add(transition)
    return points


@lru_cache(maxsize=4096)
def _transition_on(zone: ZoneInfo, day: date) -> datetime | None:
    """The instant the zone's UTC offset changes during that local date, if it does."""
    start = int(datetime.combine(day, time(), zone).timestamp())
    end = int(datetime.combine(day + timedelta(days=1), time(), zone).timestamp())

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts, UTC).astimezone(zone).utcoffset()

    before = offset(start)
    if offset(end) == before:
        return None
    low, high = start, end
    while high - low > 1:
        middle = (low + high) // 2
        if offset(middle) == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)
