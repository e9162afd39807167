"""Regenerates the `[nanp]` table of pack.toml: NANP area code -> where it rings.

Run `python -m pbx_dialer.rules.gen_nanp` after a phonenumbers upgrade, review the diff,
and bump the pack's `version`. Values: "US-XX" (a US state or DC), "CA-XX" (a Canadian
province; "CA" where one area code spans several), a region code for the other NANP
countries and territories ("BB", "JM", "PR", ...), or "non-geographic" (toll-free,
personal, premium and carrier codes: no place, so no zone and no state).

From phonenumbers' geocoder: its area-code-level entry ("Florida", "New York, NY"), else
its first longer entry for that code, else the number's region. A maintenance tool, not
used at run time.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import phonenumbers
from phonenumbers.geodata import GEOCODE_DATA

PACK = Path(__file__).with_name("pack.toml")
BEGIN = "# BEGIN GENERATED nanp"
END = "# END GENERATED nanp"

US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington State": "WA", "Washington D.C.": "DC",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip
CA_PROVINCES = {
    "Alberta": "AB", "British Columbia": "BC", "British Colombia": "BC", "Manitoba": "MB",
    "New Brunswick": "NB", "Newfoundland and Labrador": "NL", "Nova Scotia": "NS",
    "Ontario": "ON", "Quebec": "QC", "Saskatchewan": "SK",
}  # fmt: skip
US_ABBREVIATIONS = set(US_STATES.values())
CA_ABBREVIATIONS = set(CA_PROVINCES.values())

# NANPA's non-geographic service codes: 5XX personal communications, 600/622/633
# Canadian non-geographic, 700 carrier services, 710 US government, 8XX toll-free,
# 900 premium. phonenumbers knows most of them only as "every NANP zone".
NON_GEOGRAPHIC = (
    {500, 533, 544, 566, 577, 588, 600, 622, 633, 700, 710, 900}
    | set(range(521, 530))
    | {532}
    | {800, 833, 844, 855, 866, 877, 888}
)


def _place(description: str) -> str | None:
    if description in US_STATES:
        return f"US-{US_STATES[description]}"
    if description in CA_PROVINCES:
        return f"CA-{CA_PROVINCES[description]}"
    match = re.search(r", ([A-Z]{2})\Z", description)
    if match and match.group(1) in US_ABBREVIATIONS:
        return f"US-{match.group(1)}"
    if match and match.group(1) in CA_ABBREVIATIONS:
        return f"CA-{match.group(1)}"
    return None


def area_table() -> dict[str, str]:
    table: dict[str, str] = {}
    by_area: dict[str, list[str]] = {}
    for key in sorted(GEOCODE_DATA):
        if key.startswith("1") and len(key) > 4:
            by_area.setdefault(key[1:4], []).append(key)
    for code in range(200, 1000):
        npa = str(code)
        if code in NON_GEOGRAPHIC:
            table[npa] = "non-geographic"
            continue
        entry = GEOCODE_DATA.get("1" + npa, {}).get("en")
        region = phonenumbers.region_code_for_number(phonenumbers.parse(f"+1{npa}2345678"))
        if entry:
            # "Northwest Territories/Nunavut/Yukon": one code, several provinces.
            place = _place(entry) or (region if region not in (None, "US") else None)
        else:
            longer = by_area.get(npa, [])
            found = [p for p in (_place(GEOCODE_DATA[k]["en"]) for k in longer) if p]
            place = Counter(found).most_common(1)[0][0] if found else None
            if place is None and region not in (None, "US"):
                place = region
        if place is not None:
            table[npa] = place
    return table


def render(table: dict[str, str]) -> str:
    lines = [
        BEGIN,
        f"# by pbx_dialer/rules/gen_nanp.py from phonenumbers {phonenumbers.__version__}",
        "[nanp]",
    ]
    lines += [f'{npa} = "{place}"' for npa, place in sorted(table.items())]
    lines.append(END)
    return "\n".join(lines) + "\n"


def main() -> int:
    text = PACK.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END + "\n")
    PACK.write_text(head + render(area_table()) + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
