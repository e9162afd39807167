"""Phone numbers: the one place that reads what people type as a number.

Every door a number comes through (the records API, CSV imports, CRM feeds, the
do-not-call lists) and the dial gate use this module, so a number has one E.164 form and
one set of errors: `+12125550151`, `2125550151`, `(212) 555-0151` and `1 212 555 0151`
read in region US are the same number, and a DNC entry blocks all of them.

* `to_e164(raw, region)`: a number to dial. It must be a valid number (phonenumbers'
  `is_valid_number`), and not one that is never dialed (`refusal`).
* `blocklist_e164(raw, region)`: a number for a do-not-call list. A blocklist errs on the
  side of blocking: a number whose length is possible for its country is accepted even
  if its range is not allocated, so a customer's number can always be put on it.
* `refusal(e164)` / `refusal_of_text(raw, region)`: why a number is never dialed:
  emergency and other short numbers (911, 112, 999, N11 by default: `REFUSED_SHORT`, one
  list per country, replaceable with `set_refused_short`), premium-rate numbers, numbers
  that are not valid. The dial gate asks it again before every call, so a row stored
  before a rule existed cannot be dialed around it.
* `PhoneNormalizer`: the same reading, fast enough for a million CSV rows.

Pure: no I/O.

`phonenumbers.parse` costs ~20 µs a number. Most numbers in a file are plain national
numbers of the campaign's region, so those take a fast path: one regular expression
built from the same metadata `is_valid_number` uses (the general pattern, then each
number type in the library's order, each with its possible lengths). The fast path only
says "valid" when phonenumbers would, and only for input where `parse` would strip
nothing (no national prefix, no international prefix, no transform rule); anything
else goes through `phonenumbers` itself. tests/unit/test_import_reader.py checks both
paths agree on many generated numbers.

Zones: `resolve_zone` depends only on the number's type (geographic or not) and the
longest time-zone prefix of its digits, so its answer is cached by those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType, shortnumberinfo
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from pbx_dialer.campaigns.timezones import ZoneGuess, resolve_zone

# Formatting people put in numbers; removed before the fast path looks at the digits.
_FORMATTING = str.maketrans("", "", " -().\u00a0/")

# (type, attribute of PhoneMetadata) in the order phonenumbers' _number_type_helper tests them.
_TYPE_ORDER = (
    (PhoneNumberType.PREMIUM_RATE, "premium_rate"),
    (PhoneNumberType.TOLL_FREE, "toll_free"),
    (PhoneNumberType.SHARED_COST, "shared_cost"),
    (PhoneNumberType.VOIP, "voip"),
    (PhoneNumberType.PERSONAL_NUMBER, "personal_number"),
    (PhoneNumberType.PAGER, "pager"),
    (PhoneNumberType.UAN, "uan"),
    (PhoneNumberType.VOICEMAIL, "voicemail"),
    (PhoneNumberType.FIXED_LINE, "fixed_line"),
    (PhoneNumberType.MOBILE, "mobile"),
)


MAX_RAW = 64
# What a number may be written with: digits, an optional leading +, and the punctuation
# people put in numbers. No letters: vanity numbers are not read from files or feeds.
_WRITTEN = re.compile("\\+?[0-9 ()./\u00a0-]{2,40}")


class InvalidRegion(ValueError):
    pass


class BadNumber(ValueError):
    """What is wrong with a number, in words an agent or an importer understands."""


@dataclass(frozen=True, slots=True)
class Number:
    e164: str
    zone_key: tuple[object, ...]
    premium: bool = False  # a premium-rate number: valid, but never dialed


# Short numbers never dialed, per country (ISO 3166 region): emergency services, the
# N11 service codes of the NANP, and 112 everywhere. A number read in a region is
# refused if its digits are on that region's list or on "*".
_NANP_N11 = ("211", "311", "411", "511", "611", "711", "811", "911")
DEFAULT_REFUSED_SHORT: dict[str, frozenset[str]] = {
    "*": frozenset({"112", "911", "999", "000", "110", "119", "08"}),
    "US": frozenset({*_NANP_N11, "988", "933"}),
    "CA": frozenset({*_NANP_N11, "988"}),
    "GB": frozenset({"999", "111", "101", "105", "119", "116123"}),
    "AU": frozenset({"000", "106"}),
    "FR": frozenset({"15", "17", "18", "114", "115", "119", "191", "196", "197"}),
    "DE": frozenset({"110", "115", "116117"}),
}
_refused_short = dict(DEFAULT_REFUSED_SHORT)


def set_refused_short(lists: dict[str, frozenset[str]]) -> None:
    """Replace the short-number lists (from the configuration), keeping "*"'s 112."""
    global _refused_short
    merged = {k.upper(): frozenset(v) for k, v in lists.items()}
    merged["*"] = merged.get("*", frozenset()) | {"112"}
    _refused_short = merged


def valid_region(region: str) -> bool:
    return region in phonenumbers.SUPPORTED_REGIONS


def _printable(raw: object) -> str:
    if not isinstance(raw, str):
        raise BadNumber("must be a string")
    text = raw.strip()
    if not text:
        raise BadNumber("is empty")
    if len(text) > MAX_RAW or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise BadNumber("is not a phone number")
    if not _WRITTEN.fullmatch(text):
        raise BadNumber(f"{text!r} is not a phone number (digits, optionally after +)")
    return text


def _is_refused_short(digits: str, region: str) -> bool:
    refused = _refused_short.get(region, frozenset()) | _refused_short["*"]
    return digits in refused or phonenumbers.is_emergency_number(digits, region)


def to_e164(raw: object, region: str) -> str:
    """The E.164 form of `raw` read in `region` (when it has no +country prefix), for a
    number to dial; raises BadNumber saying why it is not one."""
    text = _printable(raw)
    digits = text.translate(_FORMATTING)
    if _is_refused_short(digits, region):
        raise BadNumber(f"{text!r} is an emergency or service number: it is never dialed")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise BadNumber(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        if len(digits.lstrip("+")) <= 6 and shortnumberinfo.is_valid_short_number_for_region(
            number, region
        ):
            raise BadNumber(f"{text!r} is a short number: it is never dialed")
        where = "" if text.startswith("+") else f" for region {region}"
        raise BadNumber(f"{text!r} is not a valid number{where}")
    if phonenumbers.number_type(number) is PhoneNumberType.PREMIUM_RATE:
        raise BadNumber(f"{text!r} is a premium-rate number: it is never dialed")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def blocklist_e164(raw: object, region: str) -> str:
    """The E.164 form of `raw` for a do-not-call list: any number of a possible length."""
    text = _printable(raw)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise BadNumber(f"{text!r} is not a phone number") from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise BadNumber(f"{text!r} is not a possible number for region {region}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def refusal(e164: str) -> str | None:
    """Why a stored number may not be dialed (None: it may). The dial gate asks this
    before every call: the number must be E.164, valid, not premium-rate."""
    if not e164.startswith("+") or not e164[1:].isdigit() or not e164.isascii():
        return f"{e164[:MAX_RAW]!r} is not an E.164 number"
    try:
        to_e164(e164, "ZZ")
    except BadNumber as exc:
        return str(exc)
    return None


def _desc_regex(lengths: list[int], pattern: str) -> str:
    guard = "|".join(rf"\d{{{n}}}\Z" for n in sorted(lengths))
    return (f"(?=(?:{guard}))" if guard else "") + f"(?:{pattern})\\Z"


class PhoneNormalizer:
    """Normalises the numbers of one default region (a campaign's `default_region`)."""

    def __init__(self, region: str) -> None:
        region = region.upper()
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None or metadata.country_code is None:
            raise InvalidRegion(f"unknown region {region!r}")
        self.region = region
        self.country_code: int = metadata.country_code
        self._cc = str(metadata.country_code)
        self._fast: re.Pattern[str] | None = None
        self._geo_groups: frozenset[str] = frozenset()
        self._premium_group = "t0"  # _TYPE_ORDER[0] is PREMIUM_RATE
        simple = (
            metadata.national_prefix_transform_rule is None
            and phonenumbers.region_code_for_country_code(metadata.country_code) == region
            and metadata.general_desc is not None
            and metadata.general_desc.national_number_pattern
        )
        if simple:
            self._build_fast_path(metadata)
        self._bail = [
            re.compile(p)
            for p in (metadata.national_prefix_for_parsing, metadata.international_prefix)
            if p
        ]
        self._zones: dict[tuple[object, ...], ZoneGuess] = {}
        # Only the prefix lengths that exist for this country code are worth looking up.
        self._tz_lengths = tuple(
            sorted(
                {len(k) for k in TIMEZONE_DATA if k.startswith(self._cc)}
                | {n for n in range(1, len(self._cc) + 1)},
                reverse=True,
            )
        )
        self._other_tz_lengths = tuple(range(TIMEZONE_LONGEST_PREFIX, 0, -1))

    def _build_fast_path(self, metadata: PhoneMetadata) -> None:
        general = metadata.general_desc
        country_code = self.country_code
        assert general is not None and general.national_number_pattern
        alternatives: list[str] = []
        geo: set[str] = set()
        for index, (kind, attr) in enumerate(_TYPE_ORDER):
            desc = getattr(metadata, attr)
            if desc is None or not desc.national_number_pattern:
                continue
            if kind is PhoneNumberType.MOBILE and metadata.same_mobile_and_fixed_line_pattern:
                continue  # phonenumbers never tests it separately then
            group = f"t{index}"
            pattern = _desc_regex(list(desc.possible_length), desc.national_number_pattern)
            alternatives.append(f"(?P<{group}>{pattern})")
            if kind is PhoneNumberType.FIXED_LINE or phonenumbers.is_number_type_geographical(
                kind, country_code
            ):
                geo.add(group)
        if not alternatives:
            return
        general_re = _desc_regex(list(general.possible_length), general.national_number_pattern)
        self._fast = re.compile(f"(?={general_re})(?:{'|'.join(alternatives)})")
        self._geo_groups = frozenset(geo)

    def normalize(self, text: str) -> Number | None:
        """The number in E.164 with its zone key, or None if it is not a valid number."""
        fast = self._fast
        if fast is not None:
            digits = text.translate(_FORMATTING)
            national: str | None = None
            if digits.isdigit() and digits.isascii():
                national = digits
                for bail in self._bail:
                    m = bail.match(national)
                    if m is not None and m.end() > 0:
                        national = None
                        break
            elif (
                digits[:1] == "+"
                and digits[1:].isdigit()
                and digits.isascii()
                and digits.startswith(self._cc, 1)
            ):
                national = digits[1 + len(self._cc) :]
            if national:
                m = fast.match(national)
                if m is not None:
                    e164 = f"+{self._cc}{national}"
                    geo = m.lastgroup in self._geo_groups
                    return Number(
                        e164,
                        (geo, self._tz_prefix(e164) if geo else self._cc),
                        m.lastgroup == self._premium_group,
                    )
        return self._slow(text)

    def check(self, text: str) -> Number:
        """`normalize` for a number to dial: raises BadNumber with `to_e164`'s words
        when it is not valid or is never dialed (premium rate, emergency, short)."""
        number = self.normalize(text)
        if number is None or number.premium:
            to_e164(text, self.region)  # raises: the reason, in the shared words
            raise BadNumber(f"{text.strip()!r} is not a valid number for region {self.region}")
        return number

    def _slow(self, text: str) -> Number | None:
        if len(text) > MAX_RAW or not _WRITTEN.fullmatch(text.strip()):
            return None
        try:
            parsed = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(parsed):
            return None
        e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
        premium = phonenumbers.number_type(parsed) is PhoneNumberType.PREMIUM_RATE
        # The slow path is rare: key its zone on the number itself.
        return Number(e164, ("number", e164), premium)

    def _tz_prefix(self, e164: str) -> str:
        lengths = self._tz_lengths if e164.startswith(self._cc, 1) else self._other_tz_lengths
        for length in lengths:
            prefix = e164[1 : 1 + length]
            if prefix in TIMEZONE_DATA:
                return prefix
        return ""

    def zone(self, number: Number, explicit: str | None) -> ZoneGuess:
        if explicit:
            return resolve_zone(explicit, number.e164)
        found = self._zones.get(number.zone_key)
        if found is None:
            found = resolve_zone(None, number.e164)
            if number.zone_key[0] != "number":
                self._zones[number.zone_key] = found
        return found
