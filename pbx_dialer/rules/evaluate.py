"""`check`: may this number be called at this moment under this rule set, and if not,
which rule says no and from when it may.

Every applicable rule is a constraint: an hours rule read in one zone, a cap over the
number's history. A call is allowed when all of them allow it (the stricter wins). The
next allowed moment is found by leapfrogging: jump to the latest "allowed again at" of
the refusing constraints until none refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from pbx_dialer.campaigns import hours, timezones
from pbx_dialer.campaigns.hours import HourCode, Window
from pbx_dialer.rules.pack import NON_GEOGRAPHIC, CapRule, HoursRule, RuleSet, RulesPack

# How far ahead the next allowed moment is looked for (beyond the longest cap window).
HORIZON = timedelta(days=31)
# More candidate zones than this: the number names no area (phonenumbers gives all 42
# NANP zones for some codes), so the set's no-zone window applies instead.
MAX_CANDIDATE_ZONES = 8


@dataclass(frozen=True, slots=True)
class NumberHistory:
    """Past dials of this number on this subject (the campaign), and the past
    conversations with the person (answered calls that reached them). Aware datetimes,
    any order; entries after the checked moment are ignored."""

    attempts: tuple[datetime, ...] = ()
    conversations: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """What a campaign opts into: a rule set of the pack and named caps (pack [caps])."""

    rule_set: str = "US"
    caps: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    allowed: bool
    rule: str  # the rule that decided: the refusing one, or the binding one when allowed
    reason: str  # names the rule and the called party's local time
    version: str  # the pack version checked against: store it with the attempt
    next_allowed: datetime | None  # UTC; the moment itself when allowed; None: not soon
    rule_set: str = ""
    checked: tuple[str, ...] = ()  # every rule id that applied
    zones: tuple[str, ...] = ()  # the zones the hours were read in

    def to_record(self) -> dict[str, Any]:
        """What an attempt keeps of this check (JSON-ready)."""
        return {
            "rules_pack": self.version,
            "rule_set": self.rule_set,
            "rule": self.rule,
            "allowed": self.allowed,
            "reason": self.reason,
            "next_allowed": self.next_allowed.isoformat() if self.next_allowed else None,
        }


def check(
    pack: RulesPack,
    options: RuleOptions,
    e164: str,
    zone: str | None,
    moment: datetime,
    history: NumberHistory,
) -> RuleVerdict:
    """The verdict of the pack on calling `e164` at `moment`.

    `zone` is the record's known IANA zone; None (or an unknown name): the number
    decides (its single zone, every zone of its area at once, or the set's no-zone
    window for non-geographic numbers). Raises ValueError for a naive datetime, an
    unknown rule set or an unknown cap name.
    """
    moment = _aware(moment, "moment")
    attempts = sorted(_aware(a, "history.attempts") for a in history.attempts)
    conversations = sorted(_aware(c, "history.conversations") for c in history.conversations)
    rule_set = _rule_set(pack, options)
    area = pack.area_of(e164)
    zones, hours_rules, state = _where(rule_set, e164, zone, area)
    constraints: list[_Constraint] = [
        _Hours(rule, z, rule_set.country, state) for rule in hours_rules for z in zones
    ]
    caps = [c for c in rule_set.caps if c.state is not None and c.state == state]
    caps += [pack.caps[name] for name in sorted(options.caps)]
    constraints += [_Cap(cap, attempts, conversations) for cap in caps]
    checked = tuple(dict.fromkeys(c.rule_id for c in constraints))
    base = RuleVerdict(True, "none", "", pack.version, moment, rule_set.id, checked, zones)
    if not constraints:
        reason = f"allowed by pack {pack.version}: rule set {rule_set.id!r} has no rules"
        return replace(base, reason=reason)
    refusing = [c for c in constraints if not c.allows(moment)]
    if not refusing:
        return _allowed(base, constraints, moment)
    limit = moment + HORIZON + max((c.span for c in constraints), default=timedelta())
    # The one that keeps the call refused longest; on a tie the later (a state's) rule.
    deciding = max(reversed(refusing), key=lambda c: c.allowed_again(moment, limit) or limit)
    later = _next_allowed(constraints, moment, limit)
    when = _when(later, deciding.clock_zone or (zones[0] if zones else "UTC"))
    others = [f"{c.rule_id}: {c.refusal(moment)}" for c in refusing if c is not deciding]
    reason = f"not allowed by {deciding.rule_id} (pack {pack.version}): "
    reason += f"{deciding.refusal(moment)}; next allowed {when}"
    if others:
        reason += "; also " + "; ".join(dict.fromkeys(others))
    return replace(base, allowed=False, rule=deciding.rule_id, reason=reason, next_allowed=later)


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return at.astimezone(UTC)


def _rule_set(pack: RulesPack, options: RuleOptions) -> RuleSet:
    if options.rule_set not in pack.sets:
        known = ", ".join(sorted(pack.sets))
        raise ValueError(f"rule_set: unknown rule set {options.rule_set!r} (known: {known})")
    unknown = sorted(options.caps - set(pack.caps))
    if unknown:
        known = ", ".join(sorted(pack.caps))
        raise ValueError(f"caps: unknown cap {', '.join(unknown)} (known: {known})")
    return pack.sets[options.rule_set]


def _where(
    rule_set: RuleSet, e164: str, zone: str | None, area: str | None
) -> tuple[tuple[str, ...], tuple[HoursRule, ...], str | None]:
    """The zones to read the hours in, the hours rules that apply, the number's state."""
    state = None
    if area and rule_set.country and area.startswith(rule_set.country + "-"):
        state = area.split("-", 1)[1]
    applicable = tuple(r for r in rule_set.hours if r.state is None or r.state == state)
    no_zone = (rule_set.no_zone,) if rule_set.no_zone else ()
    if zone is not None and timezones.valid_zone(zone):
        return (zone,), applicable, state
    if area == NON_GEOGRAPHIC:
        return _fixed(no_zone), no_zone, None
    candidates = timezones.candidate_zones(e164)
    if 0 < len(candidates) <= MAX_CANDIDATE_ZONES:
        return candidates, applicable, state
    return _fixed(no_zone), no_zone, None


def _fixed(rules: tuple[HoursRule, ...]) -> tuple[str, ...]:
    return tuple(r.zone for r in rules if r.zone)


class _Constraint:
    rule_id: str
    clock_zone: str | None = None  # where its times are read, for the reason
    span = timedelta()  # how far ahead it can push the next allowed moment

    def allows(self, at: datetime) -> bool:
        raise NotImplementedError

    def allowed_again(self, at: datetime, limit: datetime) -> datetime | None:
        raise NotImplementedError

    def refusal(self, at: datetime) -> str:
        raise NotImplementedError

    def allowance(self, at: datetime) -> str:
        raise NotImplementedError


class _Hours(_Constraint):
    def __init__(self, rule: HoursRule, zone: str, country: str | None, state: str | None) -> None:
        self.rule = rule
        self.rule_id = rule.id
        self.zone = rule.zone or zone
        self.clock_zone = self.zone
        self.calendar = (country, state) if rule.holidays_closed and country else None

    def _code(self, at: datetime) -> HourCode:
        year = at.astimezone(ZoneInfo(self.zone)).year
        return _hour_code(self.rule, self.calendar, year)

    def allows(self, at: datetime) -> bool:
        return hours.is_open(self._code(at), at, self.zone)

    def allowed_again(self, at: datetime, limit: datetime) -> datetime | None:
        return hours.next_open(self._code(at), at, self.zone, limit - at)

    def closes(self, at: datetime) -> datetime | None:
        return hours.closes_at(self._code(at), at, self.zone, HORIZON)

    def refusal(self, at: datetime) -> str:
        local = at.astimezone(ZoneInfo(self.zone))
        name = _holiday_name(self.calendar, local.date()) if self.calendar else None
        if name:
            why = f"{local.date().isoformat()} is a holiday ({name})"
        elif self.rule.window_on(local.weekday()) is None:
            why = f"closed on {local:%A}s"
        else:
            why = f"outside {self.rule.window_on(local.weekday())}"
        rule = self.rule.describe()
        detail = "" if why.endswith(rule) else f" (the rule: {rule})"
        return f"{_clock(local)} local time in {self.zone}: {why}{detail}"

    def allowance(self, at: datetime) -> str:
        local = at.astimezone(ZoneInfo(self.zone))
        return (
            f"{self.rule_id} open ({_clock(local)} local time in {self.zone}, "
            f"{self.rule.describe()})"
        )


class _Cap(_Constraint):
    def __init__(
        self, rule: CapRule, attempts: Sequence[datetime], conversations: Sequence[datetime]
    ) -> None:
        self.rule = rule
        self.rule_id = rule.id
        self.window = timedelta(hours=rule.window_hours)
        self.quiet = timedelta(hours=rule.after_conversation_hours)
        self.span = max(self.window, self.quiet)
        self.attempts = attempts
        self.conversations = conversations

    def _recent(self, at: datetime) -> list[datetime]:
        # Half-open (at - window, at]: a call exactly `window` ago no longer counts.
        return [a for a in self.attempts if at - self.window < a <= at] if self.window else []

    def _last_talk(self, at: datetime) -> datetime | None:
        if not self.quiet:
            return None
        talks = [c for c in self.conversations if at - self.quiet < c <= at]
        return talks[-1] if talks else None

    def allows(self, at: datetime) -> bool:
        if self.rule.calls and len(self._recent(at)) >= self.rule.calls:
            return False
        return self._last_talk(at) is None

    def allowed_again(self, at: datetime, limit: datetime) -> datetime | None:
        later = at
        recent = self._recent(at)
        if self.rule.calls and len(recent) >= self.rule.calls:
            # The oldest calls must age out until one fewer than the cap remains.
            later = max(later, recent[len(recent) - self.rule.calls] + self.window)
        talk = self._last_talk(at)
        if talk is not None:
            later = max(later, talk + self.quiet)
        return later if later <= limit else None

    def refusal(self, at: datetime) -> str:
        recent = self._recent(at)
        if self.rule.calls and len(recent) >= self.rule.calls:
            return (
                f"{len(recent)} calls to this number in the last {self.rule.window_hours} h "
                f"(at most {self.rule.calls}; the oldest at {_utc(recent[0])})"
            )
        talk = self._last_talk(at)
        assert talk is not None
        return (
            f"a conversation at {_utc(talk)}, less than {self.rule.after_conversation_hours} h ago"
        )

    def allowance(self, at: datetime) -> str:
        parts = []
        if self.rule.calls:
            parts.append(
                f"{len(self._recent(at))} of {self.rule.calls} calls in {self.rule.window_hours} h"
            )
        if self.quiet:
            parts.append(f"no conversation in {self.rule.after_conversation_hours} h")
        return f"{self.rule_id} ({', '.join(parts)})"


def _allowed(base: RuleVerdict, constraints: list[_Constraint], moment: datetime) -> RuleVerdict:
    # The binding rule: the hours rule that closes first (the later one in the pack,
    # usually the state's, on a tie); with no hours, the first cap.
    timed = [c for c in constraints if isinstance(c, _Hours)]
    far = moment + HORIZON * 2
    binding = (
        min(reversed(timed), key=lambda c: c.closes(moment) or far) if timed else constraints[0]
    )
    parts = [c.allowance(moment) for c in constraints]
    reason = f"allowed by pack {base.version}: " + "; ".join(dict.fromkeys(parts))
    return replace(base, rule=binding.rule_id, reason=reason)


def _next_allowed(
    constraints: list[_Constraint], moment: datetime, limit: datetime
) -> datetime | None:
    def opening(constraint: _Constraint) -> Callable[[datetime], datetime | None]:
        return lambda at: at if constraint.allows(at) else constraint.allowed_again(at, limit)

    return hours.first_open_in_all([opening(c) for c in constraints], moment, limit)


@lru_cache(maxsize=512)
def _hour_code(rule: HoursRule, calendar: tuple[str, str | None] | None, year: int) -> HourCode:
    """The rule as an hour code, its holidays for the years around `year` closed."""
    windows = tuple(_windows(rule.window_on(day)) for day in range(7))
    closed = frozenset(_holidays(calendar, year)) if calendar else frozenset()
    return HourCode(name=rule.id, timezone=rule.zone or "UTC", weekly=windows, holidays=closed)


def _windows(window: Window | None) -> tuple[Window, ...]:
    return (window,) if window else ()


@lru_cache(maxsize=256)
def _holidays(calendar: tuple[str, str | None], year: int) -> dict[date, str]:
    country, state = calendar
    found = holidays.country_holidays(country, subdiv=state, years=range(year - 1, year + 2))
    return {day: str(name) for day, name in found.items()}


def _holiday_name(calendar: tuple[str, str | None] | None, day: date) -> str | None:
    return _holidays(calendar, day.year).get(day) if calendar else None


def _clock(local: datetime) -> str:
    return f"{local:%a %Y-%m-%d %H:%M}"


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _when(at: datetime | None, zone: str) -> str:
    if at is None:
        return f"not within {HORIZON.days} days"
    local = at.astimezone(ZoneInfo(zone))
    return f"{_clock(local)} local time in {zone} ({_utc(at)})"
