"""Reading a CSV file of customers: encoding, delimiter, header, and each row turned into
a record to store or a rejection with its line number and reason.

Pure apart from reading the stream it is given: no database, no clock.

Decisions (the issue is silent on them):
- Encoding: UTF-8 (a BOM is dropped) if the whole file decodes strictly, else
  Windows-1252, else Latin-1 (bytes Windows-1252 leaves undefined; the C1 controls they
  become are then rejected like any control character). A UTF-16 BOM, or more than 5%
  control bytes in the first 64 KiB, means the file is not text: the import fails.
- Delimiter: the one of , ; TAB | found most often in the header line (',' if none).
- Blank lines and rows whose cells are all empty are skipped, not counted.
- Ragged rows: fewer cells than the header is a rejection; more cells is accepted only if
  the extra cells are empty (spreadsheets leave trailing separators), else rejected.
- Every non-empty phone cell must be a valid number: one invalid number rejects the row
  (dropping it silently would lose data). `phone` is the first, `phones` all, deduplicated.
- Any C0 control character (tab, CR, LF, NUL...), DEL, a C1 control or a Unicode line
  separator in any cell rejects the row: such text could end up in an AMI header.
- A cell longer than MAX_CELL characters (or a physical line longer than MAX_LINE)
  rejects the row; memory stays bounded whatever the file holds.
- An explicit time zone that is not an IANA name rejects the row (calling at the wrong
  local time is worse than asking for the file to be fixed).
- Formula-looking cells are stored as they are; the reject file defuses them (`defuse`).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from pbx_dialer.campaigns.timezones import valid_zone
from pbx_dialer.imports.json_text import encode_string
from pbx_dialer.phones import BadNumber, PhoneNormalizer

MAX_CELL = 65_536
MAX_LINE = 1 << 20
MAX_NAME = 200
MAX_EXTERNAL_ID = 100
MAX_NOTES = 2000
MAX_RAW = 2000
SNIFF_BYTES = 65_536
DELIMITERS = (",", ";", "\t", "|")

# C0 controls, DEL, C1 controls, Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportFailed(ValueError):
    """The file cannot be imported at all; nothing is stored."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


# --- encoding ---------------------------------------------------------------------------


def check_text(head: bytes) -> None:
    """Refuse what is plainly not a text file, from its first bytes."""
    if not head:
        raise ImportFailed("the file is empty", {"file": "empty"})
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFailed(
            "the file is UTF-16; save it as UTF-8 or Windows-1252 CSV", {"file": "UTF-16"}
        )
    # A stray control byte only spoils its row; a file made of them is not text at all.
    controls = sum(head.count(bytes([b])) for b in range(32) if b not in (9, 10, 13))
    if controls * 20 > len(head):
        raise ImportFailed("the file is not text (too many control bytes)", {"file": "not text"})


def detect_encoding(stream: BinaryIO, chunk: int = 1 << 20) -> str:
    """'utf-8-sig', 'cp1252' or 'latin-1', reading the stream once in chunks."""
    check_text(stream.read(SNIFF_BYTES))
    stream.seek(0)
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        try:
            while block := stream.read(chunk):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            stream.seek(0)
            continue
        stream.seek(0)
        return "utf-8-sig" if encoding == "utf-8" else encoding
    stream.seek(0)
    return "latin-1"


def decode_head(head: bytes) -> str:
    """The first bytes as text, for a quick look at the header before the import runs."""
    check_text(head)
    try:
        # Incremental: a character cut by the end of the sample is not an error.
        return codecs.getincrementaldecoder("utf-8-sig")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        pass
    try:
        return head.decode("cp1252")
    except UnicodeDecodeError:
        return head.decode("latin-1")


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


# --- header -----------------------------------------------------------------------------

FIELDS = ("phone", "name", "first_name", "last_name", "external_id", "timezone", "notes")

_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "customername", "contactname", "customer", "contact"),
    "first_name": ("firstname", "first", "givenname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname"),
    "external_id": (
        "externalid",
        "id",
        "customerid",
        "custid",
        "clientid",
        "accountid",
        "account",
        "leadid",
        "reference",
        "ref",
    ),
    "timezone": ("timezone", "tz", "zone", "tzname"),
    "notes": ("notes", "note", "comments", "comment", "remarks"),
}
_PHONE_HEADER = re.compile(
    r"^(?:phone|phonenumber|tel|telephone|mobile|mobilephone|cell|cellphone|number|msisdn|"
    r"homephone|workphone|landline|altphone)\d*$"
)


def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.casefold())


@dataclass(frozen=True)
class Columns:
    headers: tuple[str, ...]
    phones: tuple[int, ...]
    name: int | None = None
    first_name: int | None = None
    last_name: int | None = None
    external_id: int | None = None
    timezone: int | None = None
    notes: int | None = None
    custom: tuple[tuple[int, str], ...] = ()

    @property
    def width(self) -> int:
        return len(self.headers)

    def index_of(self, name: str) -> int | None:
        """A column by its header (case-insensitive) or by the field it is mapped to."""
        wanted = name.strip().casefold()
        for i, header in enumerate(self.headers):
            if header.strip().casefold() == wanted:
                return i
        if wanted == "phone":
            return self.phones[0]
        if wanted in FIELDS:
            found: int | None = getattr(self, wanted)
            return found
        return None


def map_columns(header: Sequence[str], mapping: Mapping[str, object] | None = None) -> Columns:
    """Which column holds what. Raises ImportFailed when no column holds a phone number."""
    headers = tuple(h.strip() for h in header)
    for i, h in enumerate(headers):
        if _CONTROL.search(h) or len(h) > 200:
            raise ImportFailed(
                f"header column {i + 1} has a control character or is too long",
                {"file": "bad header"},
            )
    lookup: dict[str, int] = {}
    for i, h in enumerate(headers):
        lookup.setdefault(h.casefold(), i)
    chosen: dict[str, list[int]] = {}
    errors: dict[str, str] = {}
    for key, value in (mapping or {}).items():
        if key not in FIELDS:
            errors[f"mapping.{key}"] = f"unknown field; expected one of {', '.join(FIELDS)}"
            continue
        names = value if isinstance(value, list) and key == "phone" else [value]
        picked: list[int] = []
        for n in names:
            if not isinstance(n, str) or n.strip().casefold() not in lookup:
                errors[f"mapping.{key}"] = f"no column {n!r} in the header"
                break
            picked.append(lookup[n.strip().casefold()])
        chosen[key] = picked
    if errors:
        raise ImportFailed("the column mapping does not match the file", errors)
    used = {i for picked in chosen.values() for i in picked}
    if "phone" not in chosen:
        chosen["phone"] = [
            i for i, h in enumerate(headers) if _PHONE_HEADER.match(_key(h)) and i not in used
        ]
        used.update(chosen["phone"])
    for name, aliases in _ALIASES.items():
        if name in chosen:
            continue
        for alias in aliases:
            found = next(
                (i for i, h in enumerate(headers) if _key(h) == alias and i not in used), None
            )
            if found is not None:
                chosen[name] = [found]
                used.add(found)
                break
    if not chosen["phone"]:
        raise ImportFailed(
            "no phone column: name one phone, phone1, mobile, number... or pass a mapping",
            {"file": "no phone column"},
        )
    custom: list[tuple[int, str]] = []
    seen: set[str] = set()
    for i, h in enumerate(headers):
        if i in used:
            continue
        key = h or f"column_{i + 1}"
        base, n = key, 2
        while key in seen:
            key, n = f"{base} ({n})", n + 1
        seen.add(key)
        custom.append((i, key))

    def one(name: str) -> int | None:
        picked = chosen.get(name)
        return picked[0] if picked else None

    return Columns(
        headers=headers,
        phones=tuple(chosen["phone"]),
        name=one("name"),
        first_name=one("first_name"),
        last_name=one("last_name"),
        external_id=one("external_id"),
        timezone=one("timezone"),
        notes=one("notes"),
        custom=tuple(custom),
    )


def parse_mapping(text: str | None) -> dict[str, object] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ImportFailed("mapping is not JSON", {"mapping": "not JSON"}) from None
    if not isinstance(value, dict):
        raise ImportFailed("mapping must be a JSON object", {"mapping": "not an object"})
    return value


# --- routing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A campaign records may be stored in; `refused` says why not, if they may not."""

    campaign_id: int
    region: str
    refused: str | None = None


@dataclass(frozen=True)
class Rule:
    column: int | None
    equals: str
    campaign_id: int


def parse_rules(rules: object, columns: Columns) -> list[Rule]:
    """A project's rules: [{"field": ..., "equals": ..., "campaign_id": ...}, ...]."""
    if not isinstance(rules, list):
        raise ImportFailed("the project's rules are not a list", {"project": "bad rules"})
    parsed: list[Rule] = []
    for i, rule in enumerate(rules):
        if (
            not isinstance(rule, dict)
            or not isinstance(rule.get("field"), str)
            or not isinstance(rule.get("campaign_id"), int)
            or not isinstance(rule.get("equals"), str | int | float)
        ):
            raise ImportFailed(
                f"project rule {i + 1} is malformed",
                {f"rules[{i}]": "needs field, equals and campaign_id"},
            )
        parsed.append(
            Rule(
                columns.index_of(rule["field"]),
                str(rule["equals"]).strip().casefold(),
                rule["campaign_id"],
            )
        )
    return parsed


def route(rules: Sequence[Rule], default: int | None, cells: Sequence[str]) -> int | None:
    """First matching rule wins (trimmed, case-insensitive equality); else the default."""
    for rule in rules:
        if rule.column is not None and cells[rule.column].strip().casefold() == rule.equals:
            return rule.campaign_id
    return default


# --- rows -------------------------------------------------------------------------------


@dataclass(slots=True)
class Prepared:
    line: int
    campaign_id: int
    phone: str
    name: str
    external_id: str | None
    timezone: str | None
    tz_source: str
    notes: str
    phones: str
    custom: str
    # The row as read (cells joined by the delimiter), for the reject file if it turns
    # out a duplicate: one string holds far less memory than the list of cells.
    raw: str


# A record as stored, in the import's INSERT order: phone, name, state, external_id,
# timezone, tz_source, notes, phones (JSON), custom (JSON), reason.
StoredRow = tuple[str, str, str, str | None, str | None, str, str, str, str, str]


@dataclass(slots=True)
class Rejected:
    line: int
    reason: str
    raw: str
    duplicate: bool = False


def visible(text: str) -> str:
    """Control characters shown as \\xNN escapes, so a reject file holds no raw controls."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def raw_row(cells: Sequence[str], delimiter: str) -> str:
    out = io.StringIO()
    # "\r\n" as terminator so cells holding CR or LF get quoted.
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(cells)
    return visible(out.getvalue()[:-2][:MAX_RAW])


def defuse(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


@dataclass
class RowPreparer:
    columns: Columns
    delimiter: str
    targets: Mapping[int, Target]
    rules: Sequence[Rule] = ()
    default_campaign: int | None = None
    _normalizers: dict[str, PhoneNormalizer] = field(default_factory=dict)
    _custom: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        # Keys JSON-encoded once; values are encoded per row (the C string encoder).
        self._custom = tuple((i, encode_string(key)) for i, key in self.columns.custom)

    def normalizer(self, region: str) -> PhoneNormalizer:
        found = self._normalizers.get(region)
        if found is None:
            found = self._normalizers[region] = PhoneNormalizer(region)
        return found

    def prepare(self, line: int, cells: list[str]) -> Prepared | Rejected | None:
        """The record a row makes, its rejection, or None for a row with nothing in it."""
        found = self.prepare_row(line, cells)
        if found is None or isinstance(found, Rejected):
            return found
        campaign_id, row, raw = found
        phone, name, _, external_id, timezone, tz_source, notes, phones, custom, _ = row
        return Prepared(
            line=line,
            campaign_id=campaign_id,
            phone=phone,
            name=name,
            external_id=external_id,
            timezone=timezone,
            tz_source=tz_source,
            notes=notes,
            phones=phones,
            custom=custom,
            raw=raw,
        )

    def prepare_row(
        self, line: int, cells: list[str]
    ) -> tuple[int, StoredRow, str] | Rejected | None:
        """`prepare` for the import worker: (campaign id, the record as stored, the raw
        row), without building a Prepared for each of a million rows."""
        columns = self.columns
        width = columns.width
        if len(cells) != width:
            if len(cells) < width:
                if not any(c.strip() for c in cells):
                    return None
                return self._reject(
                    line, f"row has {len(cells)} cells, the header has {width}", cells
                )
            if any(c.strip() for c in cells[width:]):
                return self._reject(
                    line, f"row has {len(cells)} cells, the header has {width}", cells
                )
            cells = cells[:width]
        joined = "".join(cells)
        if not joined.strip():
            return None
        if _CONTROL.search(joined) is not None:
            for i, cell in enumerate(cells):
                m = _CONTROL.search(cell)
                if m is not None:
                    return self._reject(
                        line,
                        f"control character U+{ord(m.group()):04X} in column "
                        f"{self._column_name(i)!r}",
                        cells,
                    )
        if self.rules or self.default_campaign is not None:
            campaign_id = route(self.rules, self.default_campaign, cells)
            if campaign_id is None:
                return self._reject(
                    line, "no routing rule matches and the project has no default campaign", cells
                )
        else:
            campaign_id = next(iter(self.targets))
        target = self.targets.get(campaign_id)
        if target is None:
            return self._reject(
                line, f"routed to campaign {campaign_id}, which does not exist", cells
            )
        if target.refused:
            return self._reject(line, f"routed to campaign {campaign_id}, {target.refused}", cells)
        normalizer = self.normalizer(target.region)
        first = None
        numbers: list[str] = []
        for i in columns.phones:
            text = cells[i].strip()
            if not text:
                continue
            try:
                number = normalizer.check(text)
            except BadNumber as exc:
                return self._reject(line, f"phone in column {self._column_name(i)!r}: {exc}", cells)
            if first is None:
                first = number
            if number.e164 not in numbers:
                numbers.append(number.e164)
        if first is None:
            return self._reject(line, "no phone number", cells)
        explicit = None
        if columns.timezone is not None:
            explicit = cells[columns.timezone].strip() or None
            if explicit is not None and not valid_zone(explicit):
                return self._reject(
                    line,
                    f"unknown time zone {explicit[:40]!r} in column "
                    f"{self._column_name(columns.timezone)!r}",
                    cells,
                )
        zone = normalizer.zone(first, explicit)
        if columns.name is not None:
            name = cells[columns.name].strip()
        else:
            parts = [
                cells[i].strip() for i in (columns.first_name, columns.last_name) if i is not None
            ]
            name = " ".join(p for p in parts if p)
        if len(name) > MAX_NAME:
            return self._reject(line, f"name longer than {MAX_NAME} characters", cells)
        external_id = None
        if columns.external_id is not None:
            external_id = cells[columns.external_id].strip() or None
            if external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
                return self._reject(
                    line, f"external id longer than {MAX_EXTERNAL_ID} characters", cells
                )
        notes = cells[columns.notes].strip() if columns.notes is not None else ""
        if len(notes) > MAX_NOTES:
            return self._reject(line, f"notes longer than {MAX_NOTES} characters", cells)
        custom = ",".join(f"{key}:{encode_string(cells[i])}" for i, key in self._custom if cells[i])
        row = (
            first.e164,
            name,
            "ready",
            external_id,
            zone.zone,
            zone.source,
            notes,
            '["' + '","'.join(numbers) + '"]',
            "{" + custom + "}",
            "",
        )
        return campaign_id, row, self.delimiter.join(cells)[:MAX_RAW]

    def _column_name(self, index: int) -> str:
        return self.columns.headers[index] or f"column {index + 1}"

    def _reject(self, line: int, reason: str, cells: Sequence[str]) -> Rejected:
        return Rejected(line, reason, raw_row(cells, self.delimiter))


# --- the file ---------------------------------------------------------------------------


class Lines:
    """Physical lines of a text stream for the csv module, each at most MAX_LINE long.

    Counts the lines read (for line numbers) and flags a line that was cut because it
    was too long; the rest of such a line is skipped, never held in memory."""

    def __init__(self, text: TextIO, max_line: int = MAX_LINE) -> None:
        self._text = text
        self.max_line = max_line
        self.done = 0
        self.oversize = False
        self.last = ""

    def __iter__(self) -> Iterator[str]:
        readline = self._text.readline
        limit = self.max_line
        while True:
            line = readline(limit)
            if not line:
                return
            self.done += 1
            self.last = line
            if len(line) == limit and line[-1] not in "\r\n":
                self.oversize = True
                yield line
                while True:
                    rest = readline(limit)
                    if len(rest) < limit or rest[-1] in "\r\n":
                        break
                continue
            yield line


def read_rows(lines: Lines, delimiter: str) -> Iterator[tuple[int, list[str] | Rejected]]:
    """(line number, cells) for each CSV record after the header, or (line, rejection)
    when the record cannot be read (a huge cell or line, broken quoting)."""
    csv.field_size_limit(MAX_CELL)
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        start = lines.done + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc)
            if "field limit" in reason:
                reason = f"cell longer than {MAX_CELL} characters"
            if lines.oversize:
                lines.oversize = False
                reason = f"line longer than {lines.max_line} characters"
            yield start, Rejected(start, reason, visible(lines.last[:MAX_RAW]))
            continue
        if lines.oversize:
            lines.oversize = False
            yield (
                start,
                Rejected(
                    start,
                    f"line longer than {lines.max_line} characters",
                    visible(lines.last[:MAX_RAW]),
                ),
            )
            continue
        yield start, cells


def read_header(lines: Lines) -> tuple[list[str], str]:
    """The header's cells and the delimiter sniffed from it."""
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        raise ImportFailed("the file is empty", {"file": "empty"})
    if lines.oversize:
        raise ImportFailed("the header line is too long", {"file": "bad header"})
    delimiter = sniff_delimiter(first)
    csv.field_size_limit(MAX_CELL)
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except (csv.Error, StopIteration):
        raise ImportFailed("the header line cannot be read", {"file": "bad header"}) from None
    return header, delimiter


def header_of(head: bytes, mapping: Mapping[str, object] | None) -> Columns:
    """Check the header from the file's first bytes (before an import is started)."""
    text = decode_head(head)
    first_line = text.splitlines()[0] if text.strip() else ""
    if not first_line.strip():
        raise ImportFailed("the file has no header line", {"file": "no header"})
    header, _ = read_header(Lines(io.StringIO(first_line)))
    return map_columns(header, mapping)
