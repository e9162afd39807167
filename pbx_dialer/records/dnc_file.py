"""The do-not-call list's CSV file: which numbers it holds, read by the phone-number
module's blocklist rule (`pbx_dialer.phones.blocklist_e164`). Pure: no I/O."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from pbx_dialer.phones import MAX_RAW, BadNumber, blocklist_e164

PHONE_HEADERS = ("phone", "phone_number", "number", "telephone", "tel", "msisdn")


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    value: str
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "value": self.value, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DncFile:
    phones: list[str]  # E.164, in file order, without repeats
    invalid: list[BadLine]
    repeated: int  # numbers that appeared more than once in the file


class BadFile(ValueError):
    pass


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else Windows-1252, the two encodings spreadsheets write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_dnc_csv(data: bytes, region: str) -> DncFile:
    """Numbers of a DNC file: a header row naming a phone column (phone, number, ...),
    or a single column of numbers without a header. Lines are counted from 1."""
    text = decode(data)
    if "\x00" in text:
        raise BadFile("the file holds NUL bytes; it is not a CSV text file")
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=first.count) if any(d in first for d in ",;\t|") else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    column = 0
    header_seen = False
    phones: list[str] = []
    seen: set[str] = set()
    invalid: list[BadLine] = []
    repeated = 0
    try:
        for row in rows:
            line = rows.line_num
            if not header_seen:
                header_seen = True
                names = [c.strip().lower() for c in row]
                found = [i for i, n in enumerate(names) if n in PHONE_HEADERS]
                if found:
                    column = found[0]
                    continue
                if len(row) > 1:
                    raise BadFile(
                        "no phone column: the first row must name one of "
                        + ", ".join(PHONE_HEADERS)
                    )
            if not row or all(not c.strip() for c in row):
                continue
            raw = row[column] if column < len(row) else ""
            try:
                phone = blocklist_e164(raw, region)
            except BadNumber as exc:
                invalid.append(BadLine(line, raw[:MAX_RAW], str(exc)))
                continue
            if phone in seen:
                repeated += 1
                continue
            seen.add(phone)
            phones.append(phone)
    except csv.Error as exc:
        raise BadFile(f"line {rows.line_num}: {exc}") from None
    if not header_seen:
        raise BadFile("the file is empty")
    return DncFile(phones, invalid, repeated)
