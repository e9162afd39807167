"""The calling rules pack, table-driven: each case names the rule it checks.

A case is a number, a local wall-clock moment (read in the zone given), the campaign's
choice (rule set, opt-in caps), the number's history (hours before the moment), and the
expected verdict: allowed or not, and the id of the rule that decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pbx_dialer.rules import NumberHistory, RuleOptions, RuleVerdict, check, load_pack

PACK = load_pack()

NY = "America/New_York"
CHI = "America/Chicago"
DEN = "America/Denver"
PHX = "America/Phoenix"
LA = "America/Los_Angeles"
HNL = "Pacific/Honolulu"
TOR = "America/Toronto"
VAN = "America/Vancouver"
STJ = "America/St_Johns"
LON = "Europe/London"

# One number per place (area code -> state / country in the pack's [nanp] table).
NYC = "+12122345678"  # New York: federal rules only
CHICAGO = "+13122345678"
DENVER = "+13032345678"
PHOENIX = "+16022345678"  # Arizona: no DST
LOS_ANGELES = "+12132345678"
HONOLULU = "+18082345678"
MIAMI = "+13052345678"  # FL
OKC = "+14052345678"  # OK
BALTIMORE = "+14102345678"  # MD
BIRMINGHAM = "+12052345678"  # AL
NEW_ORLEANS = "+15042345678"  # LA
JACKSON = "+16012345678"  # MS
SALT_LAKE = "+18012345678"  # UT
PROVIDENCE = "+14012345678"  # RI
NEW_HAVEN = "+12032345678"  # CT
LOUISVILLE = "+15022345678"  # KY
BOSTON = "+16172345678"  # MA
IDAHO = "+12085550100"  # 208 555: Mountain and Pacific
TORONTO = "+14162345678"
VANCOUVER = "+16042345678"
NEWFOUNDLAND = "+17092345678"  # 709: Newfoundland and Labrador (Atlantic)
CANADA_600 = "+16002345678"  # Canadian non-geographic
LONDON = "+442079460123"
UK_MOBILE = "+447911123456"


@dataclass(frozen=True)
class Case:
    number: str
    clock: tuple[str, str]  # (zone, "YYYY-MM-DD HH:MM") the moment on that wall clock
    allowed: bool
    rule: str
    rule_set: str = "US"
    caps: tuple[str, ...] = ()
    zone: str | None = None  # the record's known zone
    attempts: tuple[float, ...] = ()  # hours before the moment
    talks: tuple[float, ...] = ()  # conversations, hours before the moment
    next_allowed: tuple[str, str] | None = None  # (zone, "YYYY-MM-DD HH:MM")

    @property
    def moment(self) -> datetime:
        return at(*self.clock)


def at(zone: str, text: str) -> datetime:
    naive = datetime.strptime(text, "%Y-%m-%d %H:%M")
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def case(
    case_id: str, number: str, tz: str, local: str, allowed: bool, rule: str, **kw: Any
) -> Any:
    return pytest.param(Case(number, (tz, local), allowed, rule, **kw), id=case_id)


def run(c: Case) -> RuleVerdict:
    history = NumberHistory(
        attempts=tuple(c.moment - timedelta(hours=h) for h in c.attempts),
        conversations=tuple(c.moment - timedelta(hours=h) for h in c.talks),
    )
    options = RuleOptions(c.rule_set, frozenset(c.caps))
    return check(PACK, options, c.number, c.zone, c.moment, history)


# 2026: Mon 1 June, Fri 5 June, Sat 6 June, Sun 7 June; Mon 5 Jan, Sat 10 Jan, Sun 11 Jan.
FED = "US-federal-hours"


def federal_edges() -> list[Any]:
    out: list[Any] = []
    places = [
        ("New York", NYC, NY),
        ("Chicago", CHICAGO, CHI),
        ("Denver", DENVER, DEN),
        ("Phoenix", PHOENIX, PHX),
        ("Los Angeles", LOS_ANGELES, LA),
        ("Honolulu", HONOLULU, HNL),
    ]
    for name, number, zone in places:
        for day in ("2026-06-01", "2026-01-10"):
            out += [
                case(
                    f"{FED}: 07:59 {day} in {name} is closed",
                    number,
                    zone,
                    f"{day} 07:59",
                    False,
                    FED,
                ),
                case(
                    f"{FED}: 08:00 {day} in {name} is open", number, zone, f"{day} 08:00", True, FED
                ),
                case(
                    f"{FED}: 20:59 {day} in {name} is open", number, zone, f"{day} 20:59", True, FED
                ),
                case(
                    f"{FED}: 21:00 {day} in {name} is closed",
                    number,
                    zone,
                    f"{day} 21:00",
                    False,
                    FED,
                ),
            ]
    return out


FEDERAL_DST = [
    # 2026-03-08 spring forward and 2026-11-01 fall back in the US; Arizona has no DST.
    case(
        f"{FED}: spring-forward day 07:59 EDT New York closed",
        NYC,
        NY,
        "2026-03-08 07:59",
        False,
        FED,
    ),
    case(
        f"{FED}: spring-forward day 08:00 EDT New York open",
        NYC,
        NY,
        "2026-03-08 08:00",
        True,
        FED,
    ),
    case(
        f"{FED}: spring-forward day 21:00 EDT New York closed",
        NYC,
        NY,
        "2026-03-08 21:00",
        False,
        FED,
        next_allowed=(NY, "2026-03-09 08:00"),
    ),
    case(
        f"{FED}: spring-forward day 08:00 PDT Los Angeles open",
        LOS_ANGELES,
        LA,
        "2026-03-08 08:00",
        True,
        FED,
    ),
    case(
        f"{FED}: spring-forward day 07:59 PDT Los Angeles closed",
        LOS_ANGELES,
        LA,
        "2026-03-08 07:59",
        False,
        FED,
    ),
    case(
        f"{FED}: fall-back day 07:59 EST New York closed", NYC, NY, "2026-11-01 07:59", False, FED
    ),
    case(f"{FED}: fall-back day 08:00 EST New York open", NYC, NY, "2026-11-01 08:00", True, FED),
    case(f"{FED}: fall-back day 20:59 EST New York open", NYC, NY, "2026-11-01 20:59", True, FED),
    case(
        f"{FED}: fall-back day 21:00 PST Los Angeles closed",
        LOS_ANGELES,
        LA,
        "2026-11-01 21:00",
        False,
        FED,
    ),
    case(
        f"{FED}: fall-back day 08:00 PST Los Angeles open",
        LOS_ANGELES,
        LA,
        "2026-11-01 08:00",
        True,
        FED,
    ),
    case(
        f"{FED}: Arizona on spring-forward day 08:00 MST open",
        PHOENIX,
        PHX,
        "2026-03-08 08:00",
        True,
        FED,
    ),
    case(
        f"{FED}: Arizona on spring-forward day 07:59 MST closed",
        PHOENIX,
        PHX,
        "2026-03-08 07:59",
        False,
        FED,
    ),
    case(
        f"{FED}: the 02:30 that does not exist in New York on 2026-03-08 is closed",
        NYC,
        NY,
        "2026-03-08 01:59",
        False,
        FED,
        next_allowed=(NY, "2026-03-08 08:00"),
    ),
    case(
        f"{FED}: closed at 21:00 reopens 08:00 next day",
        CHICAGO,
        CHI,
        "2026-06-05 21:00",
        False,
        FED,
        next_allowed=(CHI, "2026-06-06 08:00"),
    ),
    case(
        f"{FED}: the record's own zone beats the number's (NY number, LA record, 20:30 LA)",
        NYC,
        LA,
        "2026-06-01 20:30",
        True,
        FED,
        zone=LA,
    ),
    case(
        f"{FED}: the record's own zone beats the number's (LA number, NY record, 21:30 NY)",
        LOS_ANGELES,
        NY,
        "2026-06-01 21:30",
        False,
        FED,
        zone=NY,
    ),
    case(
        f"{FED}: an unknown record zone is ignored, the number decides",
        NYC,
        NY,
        "2026-06-01 21:30",
        False,
        FED,
        zone="Mars/Olympus",
    ),
    case(f"{FED}: Sunday is open where no state closes it", NYC, NY, "2026-06-07 12:00", True, FED),
    case(
        f"{FED}: Christmas is open where no state closes it", NYC, NY, "2026-12-25 12:00", True, FED
    ),
    case(
        f"{FED}: multi-zone 208 area code, 08:00 Boise is 07:00 Los Angeles: closed",
        IDAHO,
        DEN,
        "2026-06-01 08:00",
        False,
        FED,
        next_allowed=(LA, "2026-06-01 08:00"),
    ),
    case(
        f"{FED}: multi-zone 208 area code, 09:00 Boise = 08:00 Los Angeles: open",
        IDAHO,
        DEN,
        "2026-06-01 09:00",
        True,
        FED,
    ),
    case(
        f"{FED}: multi-zone 208 area code, 20:59 Los Angeles = 21:59 Boise: closed",
        IDAHO,
        LA,
        "2026-06-01 20:00",
        False,
        FED,
    ),
]


def state_hours(code: str, number: str, zone: str, opens: str, closes: str) -> list[Any]:
    rule = f"US-{code}-hours"
    h1, m1 = (int(x) for x in opens.split(":"))
    h2, m2 = (int(x) for x in closes.split(":"))
    before = f"{h1 - 1 if m1 == 0 else h1:02d}:{59 if m1 == 0 else m1 - 1:02d}"
    last = f"{h2 - 1 if m2 == 0 else h2:02d}:{59 if m2 == 0 else m2 - 1:02d}"
    day = "2026-06-03"  # a Wednesday
    return [
        case(
            f"{rule}: {before} local is closed",
            number,
            zone,
            f"{day} {before}",
            False,
            rule,
            next_allowed=(zone, f"{day} {opens}"),
        ),
        case(f"{rule}: {opens} local is open", number, zone, f"{day} {opens}", True, rule),
        case(f"{rule}: {last} local is open", number, zone, f"{day} {last}", True, rule),
        case(
            f"{rule}: {closes} local is closed",
            number,
            zone,
            f"{day} {closes}",
            False,
            rule,
            next_allowed=(zone, f"2026-06-04 {opens}"),
        ),
    ]


STATE_HOURS = [
    *state_hours("FL", MIAMI, NY, "08:00", "20:00"),
    *state_hours("OK", OKC, CHI, "08:00", "20:00"),
    *state_hours("MD", BALTIMORE, NY, "08:00", "20:00"),
    *state_hours("AL", BIRMINGHAM, CHI, "08:00", "20:00"),
    *state_hours("LA", NEW_ORLEANS, CHI, "08:00", "20:00"),
    *state_hours("MS", JACKSON, CHI, "08:00", "20:00"),
    *state_hours("UT", SALT_LAKE, DEN, "08:00", "21:00"),
    *state_hours("RI", PROVIDENCE, NY, "09:00", "18:00"),
    *state_hours("CT", NEW_HAVEN, NY, "09:00", "20:00"),
    *state_hours("KY", LOUISVILLE, NY, "10:00", "21:00"),
    *state_hours("MA", BOSTON, NY, "08:00", "20:00"),
    case(
        "US-FL-hours: 20:30 in Florida is closed though federal hours are open",
        MIAMI,
        NY,
        "2026-06-05 20:30",
        False,
        "US-FL-hours",
    ),
    case(
        "US-FL-hours: a Florida number with a Pacific record zone is read there (17:30 open)",
        MIAMI,
        LA,
        "2026-06-05 17:30",
        True,
        "US-FL-hours",
        zone=LA,
    ),
    case(
        "US-FL-hours: a Florida number with an Eastern record zone at 20:00 is closed",
        MIAMI,
        NY,
        "2026-06-05 20:00",
        False,
        "US-FL-hours",
        zone=NY,
    ),
    case(
        "US-FL-hours: Florida has no Sunday ban (Sun 12:00 open)",
        MIAMI,
        NY,
        "2026-06-07 12:00",
        True,
        "US-FL-hours",
    ),
    case(
        "US-FL-hours: Florida has no holiday ban (Christmas 12:00 open)",
        MIAMI,
        NY,
        "2026-12-25 12:00",
        True,
        "US-FL-hours",
    ),
    case(
        "US-OK-hours: Oklahoma has no Sunday ban", OKC, CHI, "2026-06-07 12:00", True, "US-OK-hours"
    ),
    case(
        "US-MD-hours: Maryland has no holiday ban (Thanksgiving open)",
        BALTIMORE,
        NY,
        "2026-11-26 12:00",
        True,
        "US-MD-hours",
    ),
    case(
        "US-UT-hours: 20:30 in Utah is open (Utah allows until 21:00)",
        SALT_LAKE,
        DEN,
        "2026-06-05 20:30",
        True,
        "US-UT-hours",
    ),
    case(
        "US-RI-hours: Saturday 09:59 is closed (Saturdays 10:00-17:00)",
        PROVIDENCE,
        NY,
        "2026-06-06 09:59",
        False,
        "US-RI-hours",
        next_allowed=(NY, "2026-06-06 10:00"),
    ),
    case(
        "US-RI-hours: Saturday 10:00 is open",
        PROVIDENCE,
        NY,
        "2026-06-06 10:00",
        True,
        "US-RI-hours",
    ),
    case(
        "US-RI-hours: Saturday 16:59 is open",
        PROVIDENCE,
        NY,
        "2026-06-06 16:59",
        True,
        "US-RI-hours",
    ),
    case(
        "US-RI-hours: Saturday 17:00 is closed, next Monday 09:00 (Sunday closed)",
        PROVIDENCE,
        NY,
        "2026-06-06 17:00",
        False,
        "US-RI-hours",
        next_allowed=(NY, "2026-06-08 09:00"),
    ),
    case(
        "US-CT-hours: Connecticut Sunday 09:00 is open",
        NEW_HAVEN,
        NY,
        "2026-06-07 09:00",
        True,
        "US-CT-hours",
    ),
    case(
        "US-KY-hours: Kentucky Sunday 09:59 is closed",
        LOUISVILLE,
        NY,
        "2026-06-07 09:59",
        False,
        "US-KY-hours",
    ),
]

SUNDAYS_AND_HOLIDAYS = [
    case(
        "US-AL-hours: Alabama Sunday 12:00 is closed, next Monday 08:00",
        BIRMINGHAM,
        CHI,
        "2026-06-07 12:00",
        False,
        "US-AL-hours",
        next_allowed=(CHI, "2026-06-08 08:00"),
    ),
    case(
        "US-AL-hours: Alabama Saturday 12:00 is open",
        BIRMINGHAM,
        CHI,
        "2026-06-06 12:00",
        True,
        "US-AL-hours",
    ),
    case(
        "US-AL-hours: Alabama Christmas Day (Fri) is closed, next Saturday 08:00",
        BIRMINGHAM,
        CHI,
        "2026-12-25 12:00",
        False,
        "US-AL-hours",
        next_allowed=(CHI, "2026-12-26 08:00"),
    ),
    case(
        "US-AL-hours: Alabama Confederate Memorial Day (Mon 2026-04-27) is closed",
        BIRMINGHAM,
        CHI,
        "2026-04-27 12:00",
        False,
        "US-AL-hours",
        next_allowed=(CHI, "2026-04-28 08:00"),
    ),
    case(
        "US-AL-hours: Alabama Independence Day observed (Fri 2026-07-03) is closed",
        BIRMINGHAM,
        CHI,
        "2026-07-03 12:00",
        False,
        "US-AL-hours",
    ),
    case(
        "US-AL-hours: Alabama the day after a holiday is open",
        BIRMINGHAM,
        CHI,
        "2026-04-28 12:00",
        True,
        "US-AL-hours",
    ),
    case(
        "US-LA-hours: Louisiana Sunday is closed",
        NEW_ORLEANS,
        CHI,
        "2026-06-07 12:00",
        False,
        "US-LA-hours",
    ),
    case(
        "US-LA-hours: Louisiana Mardi Gras (Tue 2026-02-17) is closed",
        NEW_ORLEANS,
        CHI,
        "2026-02-17 12:00",
        False,
        "US-LA-hours",
        next_allowed=(CHI, "2026-02-18 08:00"),
    ),
    case(
        "US-LA-hours: Louisiana Good Friday (2026-04-03) is closed, next Saturday 08:00",
        NEW_ORLEANS,
        CHI,
        "2026-04-03 10:00",
        False,
        "US-LA-hours",
        next_allowed=(CHI, "2026-04-04 08:00"),
    ),
    case(
        "US-LA-hours: Louisiana Saturday 10:00 is open",
        NEW_ORLEANS,
        CHI,
        "2026-06-06 10:00",
        True,
        "US-LA-hours",
    ),
    case(
        "US-LA-hours: Louisiana Christmas Eve (Thu) is open",
        NEW_ORLEANS,
        CHI,
        "2026-12-24 12:00",
        True,
        "US-LA-hours",
    ),
    case(
        "US-MS-hours: Mississippi Sunday is closed",
        JACKSON,
        CHI,
        "2026-06-07 12:00",
        False,
        "US-MS-hours",
        next_allowed=(CHI, "2026-06-08 08:00"),
    ),
    case(
        "US-MS-hours: Mississippi Christmas (Fri) is open: no holiday ban since 2024",
        JACKSON,
        CHI,
        "2026-12-25 12:00",
        True,
        "US-MS-hours",
    ),
    case(
        "US-MS-hours: Mississippi Saturday 19:59 is open",
        JACKSON,
        CHI,
        "2026-06-06 19:59",
        True,
        "US-MS-hours",
    ),
    case(
        "US-UT-hours: Utah Sunday is closed",
        SALT_LAKE,
        DEN,
        "2026-06-07 12:00",
        False,
        "US-UT-hours",
        next_allowed=(DEN, "2026-06-08 08:00"),
    ),
    case(
        "US-UT-hours: Utah Pioneer Day (Fri 2026-07-24) is closed",
        SALT_LAKE,
        DEN,
        "2026-07-24 12:00",
        False,
        "US-UT-hours",
        next_allowed=(DEN, "2026-07-25 08:00"),
    ),
    case(
        "US-UT-hours: Utah Christmas Day is closed",
        SALT_LAKE,
        DEN,
        "2026-12-25 09:00",
        False,
        "US-UT-hours",
    ),
    case(
        "US-UT-hours: Utah Saturday 08:00 is open",
        SALT_LAKE,
        DEN,
        "2026-06-06 08:00",
        True,
        "US-UT-hours",
    ),
    case(
        "US-UT-hours: Utah New Year's Day (Fri 2027-01-01) is closed: holidays of the next year",
        SALT_LAKE,
        DEN,
        "2027-01-01 12:00",
        False,
        "US-UT-hours",
    ),
    case(
        "US-RI-hours: Rhode Island Sunday is closed",
        PROVIDENCE,
        NY,
        "2026-06-07 12:00",
        False,
        "US-RI-hours",
        next_allowed=(NY, "2026-06-08 09:00"),
    ),
    case(
        "US-RI-hours: Rhode Island Victory Day (Mon 2026-08-10) is closed",
        PROVIDENCE,
        NY,
        "2026-08-10 12:00",
        False,
        "US-RI-hours",
        next_allowed=(NY, "2026-08-11 09:00"),
    ),
    case(
        "US-RI-hours: Rhode Island Thanksgiving is closed, next Friday 09:00",
        PROVIDENCE,
        NY,
        "2026-11-26 12:00",
        False,
        "US-RI-hours",
        next_allowed=(NY, "2026-11-27 09:00"),
    ),
    case(
        "US-AL-hours: Saturday 20:00 closes until Monday 08:00 (Sunday closed)",
        BIRMINGHAM,
        CHI,
        "2026-06-06 20:00",
        False,
        "US-AL-hours",
        next_allowed=(CHI, "2026-06-08 08:00"),
    ),
    case(
        "US-AL-hours: Saturday before a Monday holiday closes until Tuesday (Labor Day 2026-09-07)",
        BIRMINGHAM,
        CHI,
        "2026-09-05 20:00",
        False,
        "US-AL-hours",
        next_allowed=(CHI, "2026-09-08 08:00"),
    ),
]


def cap_cases() -> list[Any]:
    out: list[Any] = []
    for code, number, zone in (("FL", MIAMI, NY), ("OK", OKC, CHI), ("MD", BALTIMORE, NY)):
        rule = f"US-{code}-cap"
        t = "2026-06-03 14:00"
        out += [
            case(
                f"{rule}: the 1st call in 24 h is allowed",
                number,
                zone,
                t,
                True,
                f"US-{code}-hours",
            ),
            case(
                f"{rule}: the 3rd call in 24 h is allowed",
                number,
                zone,
                t,
                True,
                f"US-{code}-hours",
                attempts=(1, 20),
            ),
            case(
                f"{rule}: the 4th call in 24 h is refused",
                number,
                zone,
                t,
                False,
                rule,
                attempts=(1, 5, 23.5),
                next_allowed=(zone, "2026-06-03 14:30"),
            ),
            case(
                f"{rule}: a call exactly 24 h ago no longer counts",
                number,
                zone,
                t,
                True,
                f"US-{code}-hours",
                attempts=(1, 5, 24),
            ),
            case(
                f"{rule}: 5 calls in 24 h wait for the 3rd oldest to age out",
                number,
                zone,
                t,
                False,
                rule,
                attempts=(1, 2, 3, 10, 12),
                next_allowed=(zone, "2026-06-04 11:00"),
            ),
            case(
                f"{rule}: calls older than 24 h do not count",
                number,
                zone,
                t,
                True,
                f"US-{code}-hours",
                attempts=(25, 30, 47, 48),
            ),
        ]
    out += [
        case(
            "US-FL-cap: aged-out calls reopen only inside Florida hours (next 08:00)",
            MIAMI,
            NY,
            "2026-06-03 19:00",
            False,
            "US-FL-cap",
            attempts=(1, 2, 11.5),
            next_allowed=(NY, "2026-06-04 08:00"),
        ),
        case(
            "US-FL-cap: the cap follows the area code, not the record zone",
            MIAMI,
            LA,
            "2026-06-03 11:00",
            False,
            "US-FL-cap",
            zone=LA,
            attempts=(1, 2, 3),
        ),
        case(
            "US-federal-hours: no state cap in New York (5 calls in 24 h allowed)",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            attempts=(1, 2, 3, 4, 5),
        ),
        case(
            "US-federal-hours: no state cap in Alabama",
            BIRMINGHAM,
            CHI,
            "2026-06-03 14:00",
            True,
            "US-AL-hours",
            attempts=(1, 2, 3, 4),
        ),
        case(
            "per_24h_3: opt-in, the 3rd call in 24 h allowed",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            caps=("per_24h_3",),
            attempts=(2, 4),
        ),
        case(
            "per_24h_3: opt-in, the 4th call in 24 h refused",
            NYC,
            NY,
            "2026-06-03 14:00",
            False,
            "per_24h_3",
            caps=("per_24h_3",),
            attempts=(2, 4, 6),
            next_allowed=(NY, "2026-06-04 08:00"),
        ),
        case(
            "per_24h_3: opt-in, next allowed when the oldest is 24 h old",
            NYC,
            NY,
            "2026-06-03 14:00",
            False,
            "per_24h_3",
            caps=("per_24h_3",),
            attempts=(2, 4, 20),
            next_allowed=(NY, "2026-06-03 18:00"),
        ),
        case(
            "per_24h_3: not opted in, no cap",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            attempts=(2, 4, 6),
        ),
        case(
            "per_24h_3: opt-in under rule set CA",
            TORONTO,
            TOR,
            "2026-06-03 14:00",
            False,
            "per_24h_3",
            rule_set="CA",
            caps=("per_24h_3",),
            attempts=(1, 2, 3),
        ),
        case(
            "per_24h_3: opt-in under rule set GB",
            LONDON,
            LON,
            "2026-06-03 14:00",
            False,
            "per_24h_3",
            rule_set="GB",
            caps=("per_24h_3",),
            attempts=(1, 2, 3),
        ),
        case(
            "per_24h_3: opt-in under rule set none applies (caps are the campaign's choice)",
            NYC,
            NY,
            "2026-06-03 03:00",
            False,
            "per_24h_3",
            rule_set="none",
            caps=("per_24h_3",),
            attempts=(1, 2, 3),
            next_allowed=(NY, "2026-06-04 00:00"),
        ),
        case(
            "per_24h_3: opt-in under rule set none, 2 calls: allowed at 03:00",
            NYC,
            NY,
            "2026-06-03 03:00",
            True,
            "per_24h_3",
            rule_set="none",
            caps=("per_24h_3",),
            attempts=(1, 2),
        ),
        case(
            "per_7d_7: Reg F 7-in-7, the 7th call in 7 days is allowed",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            caps=("per_7d_7",),
            attempts=(1, 24, 48, 72, 96, 120),
        ),
        case(
            "per_7d_7: Reg F 7-in-7, the 8th call in 7 days is refused",
            NYC,
            NY,
            "2026-06-03 14:00",
            False,
            "per_7d_7",
            caps=("per_7d_7",),
            attempts=(1, 24, 48, 72, 96, 120, 166),
            next_allowed=(NY, "2026-06-03 16:00"),
        ),
        case(
            "per_7d_7: Reg F 7-in-7, aged out at 23:00 but next allowed after night hours",
            NYC,
            NY,
            "2026-06-03 14:00",
            False,
            "per_7d_7",
            caps=("per_7d_7",),
            attempts=(1, 24, 48, 72, 96, 120, 159),
            next_allowed=(NY, "2026-06-04 08:00"),
        ),
        case(
            "per_7d_7: Reg F 7-in-7, a call exactly 168 h ago no longer counts",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            caps=("per_7d_7",),
            attempts=(1, 24, 48, 72, 96, 120, 168),
        ),
        case(
            "per_7d_7: Reg F 7-in-7, 8 calls in a week 6 days ago don't count after 7 days",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            caps=("per_7d_7",),
            attempts=(170, 171, 172, 173, 174, 175, 176, 177),
        ),
        case(
            "per_7d_7: Reg F 7-in-7 counts a rolling 168 h (Mon 23:00 to next Mon 08:00 counts)",
            NYC,
            NY,
            "2026-06-08 08:00",
            False,
            "per_7d_7",
            caps=("per_7d_7",),
            attempts=(153, 130, 110, 90, 70, 50, 30),
        ),
        case(
            "after_conversation_7d: Reg F, 6 days after a conversation is refused",
            NYC,
            NY,
            "2026-06-03 14:00",
            False,
            "after_conversation_7d",
            caps=("after_conversation_7d",),
            talks=(144,),
            next_allowed=(NY, "2026-06-04 14:00"),
        ),
        case(
            "after_conversation_7d: Reg F, 1 hour after a conversation is refused",
            NYC,
            NY,
            "2026-06-03 14:00",
            False,
            "after_conversation_7d",
            caps=("after_conversation_7d",),
            talks=(1,),
            attempts=(1,),
            next_allowed=(NY, "2026-06-10 13:00"),
        ),
        case(
            "after_conversation_7d: Reg F, exactly 7 days after a conversation is allowed",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            caps=("after_conversation_7d",),
            talks=(168,),
        ),
        case(
            "after_conversation_7d: Reg F, the latest of several conversations counts",
            NYC,
            NY,
            "2026-06-03 14:00",
            False,
            "after_conversation_7d",
            caps=("after_conversation_7d",),
            talks=(300, 100),
            next_allowed=(NY, "2026-06-06 10:00"),
        ),
        case(
            "after_conversation_7d: unanswered attempts are not conversations",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            caps=("after_conversation_7d",),
            attempts=(1, 2, 3),
        ),
        case(
            "after_conversation_7d: not opted in, a fresh conversation does not block",
            NYC,
            NY,
            "2026-06-03 14:00",
            True,
            FED,
            talks=(1,),
        ),
        case(
            "per_7d_7: with the conversation rule too, the later of the two decides",
            NYC,
            NY,
            "2026-06-03 14:00",
            False,
            "after_conversation_7d",
            caps=("per_7d_7", "after_conversation_7d"),
            attempts=(1, 24, 48, 72, 96, 120, 160),
            talks=(24,),
            next_allowed=(NY, "2026-06-09 14:00"),
        ),
        case(
            "US-FL-cap: with per_7d_7 opted in too, the FL cap still refuses the 4th in 24 h",
            MIAMI,
            NY,
            "2026-06-03 14:00",
            False,
            "US-FL-cap",
            caps=("per_7d_7",),
            attempts=(1, 2, 3),
        ),
    ]
    return out


CANADA = [
    case(
        "CA-CRTC-hours: weekday 08:59 Toronto closed",
        TORONTO,
        TOR,
        "2026-06-03 08:59",
        False,
        "CA-CRTC-hours",
        rule_set="CA",
        next_allowed=(TOR, "2026-06-03 09:00"),
    ),
    case(
        "CA-CRTC-hours: weekday 09:00 Toronto open",
        TORONTO,
        TOR,
        "2026-06-03 09:00",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
    case(
        "CA-CRTC-hours: weekday 21:29 Toronto open",
        TORONTO,
        TOR,
        "2026-06-03 21:29",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
    case(
        "CA-CRTC-hours: weekday 21:30 Toronto closed",
        TORONTO,
        TOR,
        "2026-06-03 21:30",
        False,
        "CA-CRTC-hours",
        rule_set="CA",
        next_allowed=(TOR, "2026-06-04 09:00"),
    ),
    case(
        "CA-CRTC-hours: Saturday 09:59 Toronto closed",
        TORONTO,
        TOR,
        "2026-06-06 09:59",
        False,
        "CA-CRTC-hours",
        rule_set="CA",
        next_allowed=(TOR, "2026-06-06 10:00"),
    ),
    case(
        "CA-CRTC-hours: Saturday 10:00 Toronto open",
        TORONTO,
        TOR,
        "2026-06-06 10:00",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
    case(
        "CA-CRTC-hours: Saturday 17:59 Toronto open",
        TORONTO,
        TOR,
        "2026-06-06 17:59",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
    case(
        "CA-CRTC-hours: Saturday 18:00 Toronto closed, next Sunday 10:00",
        TORONTO,
        TOR,
        "2026-06-06 18:00",
        False,
        "CA-CRTC-hours",
        rule_set="CA",
        next_allowed=(TOR, "2026-06-07 10:00"),
    ),
    case(
        "CA-CRTC-hours: Sunday 18:00 Toronto closed, next Monday 09:00",
        TORONTO,
        TOR,
        "2026-06-07 18:00",
        False,
        "CA-CRTC-hours",
        rule_set="CA",
        next_allowed=(TOR, "2026-06-08 09:00"),
    ),
    case(
        "CA-CRTC-hours: Friday 21:00 Toronto open (weekday hours)",
        TORONTO,
        TOR,
        "2026-06-05 21:00",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
    case(
        "CA-CRTC-hours: weekday 09:00 Vancouver open",
        VANCOUVER,
        VAN,
        "2026-01-05 09:00",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
    case(
        "CA-CRTC-hours: weekday 08:59 Vancouver closed",
        VANCOUVER,
        VAN,
        "2026-01-05 08:59",
        False,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
    case(
        "CA-CRTC-hours: Canada Day (Wed 2026-07-01) is not closed by the CRTC",
        TORONTO,
        TOR,
        "2026-07-01 12:00",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
    case(
        "CA-CRTC-hours: 709 spans Newfoundland and Atlantic time: 09:00 St John's closed "
        "(08:30 in Labrador's Atlantic zone)",
        NEWFOUNDLAND,
        STJ,
        "2026-06-03 09:00",
        False,
        "CA-CRTC-hours",
        rule_set="CA",
        next_allowed=(STJ, "2026-06-03 09:30"),
    ),
    case(
        "CA-CRTC-hours: Newfoundland number with a known St John's zone: 09:00 open",
        NEWFOUNDLAND,
        STJ,
        "2026-06-03 09:00",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
        zone=STJ,
    ),
    case(
        "CA-CRTC-hours: Newfoundland 21:30 closed",
        NEWFOUNDLAND,
        STJ,
        "2026-06-03 21:30",
        False,
        "CA-CRTC-hours",
        rule_set="CA",
        zone=STJ,
    ),
    case(
        "CA-CRTC-hours: a Canadian number under rule set US gets US federal hours",
        TORONTO,
        TOR,
        "2026-06-06 20:30",
        True,
        FED,
    ),
    case(
        "CA-no-zone-hours: Canadian non-geographic 600, weekday 11:59 Toronto closed",
        CANADA_600,
        TOR,
        "2026-06-03 11:59",
        False,
        "CA-no-zone-hours",
        rule_set="CA",
        next_allowed=(TOR, "2026-06-03 12:00"),
    ),
    case(
        "CA-no-zone-hours: Canadian non-geographic 600, weekday 12:00 Toronto open",
        CANADA_600,
        TOR,
        "2026-06-03 12:00",
        True,
        "CA-no-zone-hours",
        rule_set="CA",
    ),
    case(
        "CA-no-zone-hours: Canadian non-geographic 600, weekday 19:59 Toronto open",
        CANADA_600,
        TOR,
        "2026-06-03 19:59",
        True,
        "CA-no-zone-hours",
        rule_set="CA",
    ),
    case(
        "CA-no-zone-hours: Canadian non-geographic 600, weekday 20:00 Toronto closed",
        CANADA_600,
        TOR,
        "2026-06-03 20:00",
        False,
        "CA-no-zone-hours",
        rule_set="CA",
    ),
    case(
        "CA-no-zone-hours: Canadian non-geographic 600, Saturday 12:59 closed",
        CANADA_600,
        TOR,
        "2026-06-06 12:59",
        False,
        "CA-no-zone-hours",
        rule_set="CA",
    ),
    case(
        "CA-no-zone-hours: Canadian non-geographic 600, Saturday 13:00 open",
        CANADA_600,
        TOR,
        "2026-06-06 13:00",
        True,
        "CA-no-zone-hours",
        rule_set="CA",
    ),
    case(
        "CA-no-zone-hours: Canadian non-geographic 600, Sunday 16:29 open",
        CANADA_600,
        TOR,
        "2026-06-07 16:29",
        True,
        "CA-no-zone-hours",
        rule_set="CA",
    ),
    case(
        "CA-no-zone-hours: Canadian non-geographic 600, Sunday 16:30 closed",
        CANADA_600,
        TOR,
        "2026-06-07 16:30",
        False,
        "CA-no-zone-hours",
        rule_set="CA",
        next_allowed=(TOR, "2026-06-08 12:00"),
    ),
]

BRITAIN = [
    case(
        "GB-default-hours: weekday 07:59 London (BST) closed",
        LONDON,
        LON,
        "2026-06-03 07:59",
        False,
        "GB-default-hours",
        rule_set="GB",
        next_allowed=(LON, "2026-06-03 08:00"),
    ),
    case(
        "GB-default-hours: weekday 08:00 London (BST) open",
        LONDON,
        LON,
        "2026-06-03 08:00",
        True,
        "GB-default-hours",
        rule_set="GB",
    ),
    case(
        "GB-default-hours: weekday 20:59 London (BST) open",
        LONDON,
        LON,
        "2026-06-03 20:59",
        True,
        "GB-default-hours",
        rule_set="GB",
    ),
    case(
        "GB-default-hours: weekday 21:00 London (BST) closed",
        LONDON,
        LON,
        "2026-06-03 21:00",
        False,
        "GB-default-hours",
        rule_set="GB",
        next_allowed=(LON, "2026-06-04 08:00"),
    ),
    case(
        "GB-default-hours: weekday 08:00 London (GMT) open",
        LONDON,
        LON,
        "2026-01-05 08:00",
        True,
        "GB-default-hours",
        rule_set="GB",
    ),
    case(
        "GB-default-hours: weekday 07:59 London (GMT) closed",
        LONDON,
        LON,
        "2026-01-05 07:59",
        False,
        "GB-default-hours",
        rule_set="GB",
    ),
    case(
        "GB-default-hours: Saturday 08:59 closed",
        LONDON,
        LON,
        "2026-06-06 08:59",
        False,
        "GB-default-hours",
        rule_set="GB",
        next_allowed=(LON, "2026-06-06 09:00"),
    ),
    case(
        "GB-default-hours: Saturday 09:00 open",
        LONDON,
        LON,
        "2026-06-06 09:00",
        True,
        "GB-default-hours",
        rule_set="GB",
    ),
    case(
        "GB-default-hours: Saturday 16:59 open",
        LONDON,
        LON,
        "2026-06-06 16:59",
        True,
        "GB-default-hours",
        rule_set="GB",
    ),
    case(
        "GB-default-hours: Saturday 17:00 closed, next Sunday 09:00",
        LONDON,
        LON,
        "2026-06-06 17:00",
        False,
        "GB-default-hours",
        rule_set="GB",
        next_allowed=(LON, "2026-06-07 09:00"),
    ),
    case(
        "GB-default-hours: Sunday 17:00 closed, next Monday 08:00",
        LONDON,
        LON,
        "2026-06-07 17:00",
        False,
        "GB-default-hours",
        rule_set="GB",
        next_allowed=(LON, "2026-06-08 08:00"),
    ),
    case(
        "GB-default-hours: UK clocks go forward Sun 2026-03-29: 09:00 BST open",
        LONDON,
        LON,
        "2026-03-29 09:00",
        True,
        "GB-default-hours",
        rule_set="GB",
    ),
    case(
        "GB-default-hours: UK mobile (London, Jersey, Guernsey, Man: one clock) 08:00 open",
        UK_MOBILE,
        LON,
        "2026-06-03 08:00",
        True,
        "GB-default-hours",
        rule_set="GB",
    ),
    case(
        "GB-no-zone-hours: a UK number with no zone (07700 900xxx) is read on UK time, 08:00 open",
        "+447700900123",
        LON,
        "2026-06-03 08:00",
        True,
        "GB-no-zone-hours",
        rule_set="GB",
    ),
    case(
        "GB-no-zone-hours: a UK number with no zone, Saturday 17:00 closed",
        "+447700900123",
        LON,
        "2026-06-06 17:00",
        False,
        "GB-no-zone-hours",
        rule_set="GB",
    ),
    case(
        "GB-default-hours: bank holiday (Mon 2026-05-04) is not closed by the pack default",
        LONDON,
        LON,
        "2026-05-04 10:00",
        True,
        "GB-default-hours",
        rule_set="GB",
    ),
]

CARIBBEAN = [
    case(
        "US-federal-hours: +1 246 Barbados reads Barbados time: 08:00 AST open",
        "+12462345678",
        "America/Barbados",
        "2026-06-03 08:00",
        True,
        FED,
    ),
    case(
        "US-federal-hours: +1 246 Barbados 07:59 AST closed, opens 08:00 Barbados",
        "+12462345678",
        "America/Barbados",
        "2026-06-03 07:59",
        False,
        FED,
        next_allowed=("America/Barbados", "2026-06-03 08:00"),
    ),
    case(
        "US-federal-hours: +1 246 Barbados 20:59 AST open (not Guam's clock)",
        "+12462345678",
        "America/Barbados",
        "2026-06-03 20:59",
        True,
        FED,
    ),
    case(
        "US-federal-hours: +1 246 Barbados 21:00 AST closed",
        "+12462345678",
        "America/Barbados",
        "2026-06-03 21:00",
        False,
        FED,
    ),
    case(
        "US-federal-hours: +1 876 Jamaica 08:00 EST open",
        "+18765230123",
        "America/Jamaica",
        "2026-06-03 08:00",
        True,
        FED,
    ),
    case(
        "US-federal-hours: +1 876 Jamaica 21:00 EST closed",
        "+18765230123",
        "America/Jamaica",
        "2026-06-03 21:00",
        False,
        FED,
    ),
    case(
        "US-federal-hours: +1 658 Jamaica 12:00 open",
        "+16582345678",
        "America/Jamaica",
        "2026-06-03 12:00",
        True,
        FED,
    ),
    case(
        "US-federal-hours: +1 441 Bermuda 08:00 ADT open",
        "+14418001234",
        "Atlantic/Bermuda",
        "2026-06-03 08:00",
        True,
        FED,
    ),
    case(
        "US-federal-hours: +1 441 Bermuda 07:59 ADT closed",
        "+14418001234",
        "Atlantic/Bermuda",
        "2026-06-03 07:59",
        False,
        FED,
    ),
    case(
        "US-federal-hours: +1 242 Bahamas 20:59 open",
        "+12424567890",
        "America/Nassau",
        "2026-06-03 20:59",
        True,
        FED,
    ),
    case(
        "US-federal-hours: +1 868 Trinidad 08:00 open",
        "+18688001234",
        "America/Port_of_Spain",
        "2026-06-03 08:00",
        True,
        FED,
    ),
    case(
        "US-federal-hours: +1 829 Dominican Republic 21:00 closed",
        "+18298001234",
        "America/Santo_Domingo",
        "2026-06-03 21:00",
        False,
        FED,
    ),
    case(
        "US-federal-hours: +1 787 Puerto Rico 08:00 AST open",
        "+17872345678",
        "America/Puerto_Rico",
        "2026-06-03 08:00",
        True,
        FED,
    ),
    case(
        "CA-CRTC-hours: +1 246 Barbados under rule set CA, weekday 09:00 Barbados open",
        "+12462345678",
        "America/Barbados",
        "2026-06-03 09:00",
        True,
        "CA-CRTC-hours",
        rule_set="CA",
    ),
]

NON_GEOGRAPHIC = [
    *(
        c
        for prefix in ("800", "888", "877", "866", "855", "844", "833", "500", "900")
        for c in (
            case(
                f"US-no-zone-hours: +1 {prefix} at 10:59 Eastern is closed",
                f"+1{prefix}2345678",
                NY,
                "2026-06-03 10:59",
                False,
                "US-no-zone-hours",
                next_allowed=(NY, "2026-06-03 11:00"),
            ),
            case(
                f"US-no-zone-hours: +1 {prefix} at 11:00 Eastern is open",
                f"+1{prefix}2345678",
                NY,
                "2026-06-03 11:00",
                True,
                "US-no-zone-hours",
            ),
        )
    ),
    case(
        "US-no-zone-hours: toll-free at 19:59 Eastern is open",
        "+18002345678",
        NY,
        "2026-06-03 19:59",
        True,
        "US-no-zone-hours",
    ),
    case(
        "US-no-zone-hours: toll-free at 20:00 Eastern is closed",
        "+18002345678",
        NY,
        "2026-06-03 20:00",
        False,
        "US-no-zone-hours",
        next_allowed=(NY, "2026-06-04 11:00"),
    ),
    case(
        "US-no-zone-hours: toll-free Sunday 12:00 Eastern is open",
        "+18002345678",
        NY,
        "2026-06-07 12:00",
        True,
        "US-no-zone-hours",
    ),
    case(
        "US-no-zone-hours: toll-free on the fall-back day 11:00 EST open",
        "+18002345678",
        NY,
        "2026-11-01 11:00",
        True,
        "US-no-zone-hours",
    ),
    case(
        "US-no-zone-hours: 9 hours a day, not the half hour of 'every NANP zone open'",
        "+18002345678",
        NY,
        "2026-06-03 15:00",
        True,
        "US-no-zone-hours",
    ),
    case(
        "US-no-zone-hours: a +1 number with no known zone (555) gets the safe window, 10:00 "
        "Eastern closed",
        "+15555550100",
        NY,
        "2026-06-03 10:00",
        False,
        "US-no-zone-hours",
    ),
    case(
        "US-no-zone-hours: a +1 number with no known zone (555), 12:00 Eastern open",
        "+15555550100",
        NY,
        "2026-06-03 12:00",
        True,
        "US-no-zone-hours",
    ),
    case(
        "US-federal-hours: toll-free with a known record zone uses it (20:30 Chicago open)",
        "+18002345678",
        CHI,
        "2026-06-03 20:30",
        True,
        FED,
        zone=CHI,
    ),
    case(
        "US-federal-hours: toll-free with a known record zone (21:00 Chicago closed)",
        "+18002345678",
        CHI,
        "2026-06-03 21:00",
        False,
        FED,
        zone=CHI,
    ),
    case(
        "per_24h_3: caps still apply to a toll-free number",
        "+18002345678",
        NY,
        "2026-06-03 12:00",
        False,
        "per_24h_3",
        caps=("per_24h_3",),
        attempts=(1, 2, 3),
    ),
]

NONE_SET = [
    case(
        "none: 03:00 in New York is allowed",
        NYC,
        NY,
        "2026-06-03 03:00",
        True,
        "none",
        rule_set="none",
    ),
    case(
        "none: Sunday in Alabama is allowed",
        BIRMINGHAM,
        CHI,
        "2026-06-07 12:00",
        True,
        "none",
        rule_set="none",
    ),
    case(
        "none: 22:00 in Florida after 5 calls is allowed (no state cap)",
        MIAMI,
        NY,
        "2026-06-03 22:00",
        True,
        "none",
        rule_set="none",
        attempts=(1, 2, 3, 4, 5),
    ),
    case(
        "none: toll-free at 05:00 is allowed",
        "+18002345678",
        NY,
        "2026-06-03 05:00",
        True,
        "none",
        rule_set="none",
    ),
    case(
        "none: a London number at midnight is allowed",
        LONDON,
        LON,
        "2026-06-03 00:00",
        True,
        "none",
        rule_set="none",
    ),
    case(
        "none: Utah Christmas is allowed",
        SALT_LAKE,
        DEN,
        "2026-12-25 12:00",
        True,
        "none",
        rule_set="none",
    ),
]

CASES = [
    *federal_edges(),
    *FEDERAL_DST,
    *STATE_HOURS,
    *SUNDAYS_AND_HOLIDAYS,
    *cap_cases(),
    *CANADA,
    *BRITAIN,
    *CARIBBEAN,
    *NON_GEOGRAPHIC,
    *NONE_SET,
]


@pytest.mark.parametrize("c", CASES)
def test_rule(c: Case) -> None:
    verdict = run(c)
    assert (verdict.allowed, verdict.rule) == (c.allowed, c.rule), verdict.reason
    assert verdict.version == PACK.version == "2026.12.1"
    assert verdict.rule in verdict.checked or verdict.rule == "none"
    assert verdict.rule in verdict.reason or verdict.rule == "none"
    if c.allowed:
        assert verdict.next_allowed == c.moment
        assert verdict.reason.startswith(f"allowed by pack {PACK.version}")
    else:
        assert verdict.next_allowed is not None and verdict.next_allowed > c.moment
        assert verdict.reason.startswith(f"not allowed by {c.rule} (pack {PACK.version})")
    if c.next_allowed is not None:
        assert verdict.next_allowed == at(*c.next_allowed), verdict.reason
    if not c.allowed and c.next_allowed is not None:
        # Allowed at that moment, with the same history (nothing was dialed meanwhile).
        later = Case(**{**c.__dict__, "clock": (c.next_allowed[0], c.next_allowed[1])})
        shift = later.moment - c.moment
        later = Case(
            **{
                **later.__dict__,
                "attempts": tuple(h + shift / timedelta(hours=1) for h in c.attempts),
                "talks": tuple(h + shift / timedelta(hours=1) for h in c.talks),
            }
        )
        assert run(later).allowed, run(later).reason


def test_enough_cases_and_every_id_names_a_rule() -> None:
    assert len(CASES) >= 200
    ids: list[str] = [p.id for p in CASES]
    assert len(set(ids)) == len(ids)
    rule_ids = {r.id for s in PACK.sets.values() for r in s.rules}
    rule_ids |= {s.no_zone.id for s in PACK.sets.values() if s.no_zone} | set(PACK.caps)
    rule_ids.add("none")
    for case_id in ids:
        assert case_id.split(":")[0] in rule_ids, case_id
    # Every rule of the pack is exercised by at least one case.
    assert rule_ids <= {i.split(":")[0] for i in ids}
