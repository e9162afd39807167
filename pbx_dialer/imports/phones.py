"""Phone numbers to E.164, fast enough for a million rows, and their time zones.

`phonenumbers.parse` costs ~20 µs a number. Most numbers in a file are plain national
numbers of the campaign's region, so those take a fast path: one regular expression
built from the same metadata `is_valid_number` uses (the general pattern, then each
number type in the library's order, each with its possible lengths). The fast path only
says "valid" when phonenumbers would, and only for input where `parse` would strip
nothing (no national prefix, no international prefix, no transform rule); anything
else goes through `phonenumbers` itself. tests/unit/test_import_reader.py checks both
paths agree on many generated numbers.

Zones: `resolve_zone` depends only on the number's type (geographic or not) and the
longest time-zone prefix of its digits, so its answer is cached by those. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType
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


class InvalidRegion(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Number:
    e164: str
    zone_key: tuple[object, ...]


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
                    return Number(e164, (geo, self._tz_prefix(e164) if geo else self._cc))
        return self._slow(text)

    def _slow(self, text: str) -> Number | None:
        if len(text) > 64:
            return None
        try:
            parsed = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(parsed):
            return None
        e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
        # The slow path is rare: key its zone on the number itself.
        return Number(e164, ("number", e164))

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
