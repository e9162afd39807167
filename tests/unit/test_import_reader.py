"""The pure CSV reader: encodings, delimiters, headers, hostile rows, the fast phone path."""

from __future__ import annotations

import io
import random

import phonenumbers
import pytest

from pbx_dialer.campaigns.timezones import resolve_zone
from pbx_dialer.imports.reader import (
    MAX_CELL,
    ImportFailed,
    Lines,
    Prepared,
    Rejected,
    RowPreparer,
    Target,
    defuse,
    detect_encoding,
    header_of,
    map_columns,
    parse_rules,
    read_header,
    read_rows,
    sniff_delimiter,
)
from pbx_dialer.phones import PhoneNormalizer


def run(data: bytes, region: str = "US") -> list[Prepared | Rejected]:
    binary = io.BytesIO(data)
    text = io.TextIOWrapper(binary, encoding=detect_encoding(binary), newline="")
    lines = Lines(text)
    header, delimiter = read_header(lines)
    preparer = RowPreparer(map_columns(header), delimiter, {1: Target(1, region)})
    out: list[Prepared | Rejected] = []
    for line, cells in read_rows(lines, delimiter):
        item = cells if isinstance(cells, Rejected) else preparer.prepare(line, cells)
        if item is not None:
            out.append(item)
    return out


def rejects(items: list[Prepared | Rejected]) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in items if isinstance(r, Rejected)]


def accepted(items: list[Prepared | Rejected]) -> list[Prepared]:
    return [r for r in items if isinstance(r, Prepared)]


def test_utf8_with_bom_and_cp1252_and_latin1_are_read() -> None:
    body = "phone,name\n2125550100,Zoë Müller\n"
    assert detect_encoding(io.BytesIO(b"\xef\xbb\xbf" + body.encode())) == "utf-8-sig"
    assert accepted(run(b"\xef\xbb\xbf" + body.encode()))[0].name == "Zoë Müller"
    assert detect_encoding(io.BytesIO(body.encode("cp1252"))) == "cp1252"
    assert accepted(run(body.encode("cp1252")))[0].name == "Zoë Müller"
    # 0x81 is undefined in Windows-1252: Latin-1, and the C1 control it makes is refused.
    items = run(b"phone,name\n2125550100,Bad\x81Name\n2125550101,ok\n")
    assert rejects(items) == [(2, "control character U+0081 in column 'name'")]
    assert [r.phone for r in accepted(items)] == ["+12125550101"]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "the file is empty"),
        ("phone\n2125550100\n".encode("utf-16"), "the file is UTF-16; save it as UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the file is not text"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "the file is not text"),
    ],
)
def test_not_text_fails_the_import(data: bytes, why: str) -> None:
    with pytest.raises(ImportFailed) as caught:
        header_of(data, None)
    assert str(caught.value).startswith(why)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(delimiter: str) -> None:
    assert sniff_delimiter(delimiter.join(["phone", "name", "notes"]) + "\n") == delimiter
    data = f"phone{delimiter}name\n(212) 555-0100{delimiter}Ann\n".encode()
    assert [(r.phone, r.name) for r in accepted(run(data))] == [("+12125550100", "Ann")]


def test_headers_are_mapped_by_common_names() -> None:
    columns = map_columns(
        ["Customer ID", "First Name", "LAST_NAME", "Phone_1", "mobile", "TZ", "Notes", "Region"]
    )
    assert columns.phones == (3, 4)
    assert (columns.external_id, columns.first_name, columns.last_name) == (0, 1, 2)
    assert (columns.timezone, columns.notes) == (5, 6)
    assert columns.custom == ((7, "Region"),)
    with pytest.raises(ImportFailed) as caught:
        map_columns(["name", "email"])
    assert caught.value.fields == {"file": "no phone column"}


def test_explicit_mapping_overrides_and_is_checked() -> None:
    columns = map_columns(["Tel", "Cell", "Who"], {"phone": ["Cell", "Tel"], "name": "who"})
    assert columns.phones == (1, 0)
    assert columns.name == 2
    with pytest.raises(ImportFailed) as caught:
        map_columns(["Tel"], {"phone": "Fax", "colour": "x"})
    assert caught.value.fields == {
        "mapping.phone": "no column 'Fax' in the header",
        "mapping.colour": "unknown field; expected one of phone, name, first_name, "
        "last_name, external_id, timezone, notes",
    }


def test_hostile_rows_are_rejected_with_line_and_reason() -> None:
    huge = "x" * 1_000_000
    data = (
        "phone,phone2,name,tz,notes,city\r\n"
        "212-555-0100,,Ann,,hello,NYC\r\n"  # 2 good
        "212-555-0101,,Bob\r\n"  # 3 too few cells
        "212-555-0102,,Cy,,,LA,,\r\n"  # 4 extra empty cells: fine
        "212-555-0103,,Di,,,LA,surprise\r\n"  # 5 extra non-empty cell
        '212-555-0104,,"Ed\nEvil",,,X\r\n'  # 6-7 LF inside a quoted cell
        "212-555-0105,,Fay\x00,,,X\r\n"  # 8 NUL
        f"212-555-0106,,Gus,,{huge},X\r\n"  # 9 a 1 MB cell
        "12,,Hal,,,X\r\n"  # 10 invalid number
        "212-555-0107,555,Ida,,,X\r\n"  # 11 invalid second number
        "212-555-0108,,Jo,Mars/Base,,X\r\n"  # 12 unknown zone
        "\r\n"  # 13 blank: skipped
        ",,,,,\r\n"  # 14 empty cells only: skipped
        ",,Kim,,,X\r\n"  # 15 no phone at all
        '=HYPERLINK("x"),,Lou,,,X\r\n'  # 16 formula in the phone cell: invalid
        "+1 212 555 0109,(212) 555-0109,=cmd|' /C calc'!A0,America/Chicago,@SUM(1),-2\r\n"  # 17
        "212-555-0110\t,,Max,,,X\r\n"  # 18 tab inside a cell
    ).encode()
    items = run(data)
    assert rejects(items) == [
        (3, "row has 3 cells, the header has 6"),
        (5, "row has 7 cells, the header has 6"),
        (6, "control character U+000A in column 'name'"),
        (8, "control character U+0000 in column 'name'"),
        (9, f"cell longer than {MAX_CELL} characters"),
        (10, "phone in column 'phone': '12' is not a valid number for region US"),
        (11, "phone in column 'phone2': '555' is not a valid number for region US"),
        (12, "unknown time zone 'Mars/Base' in column 'tz'"),
        (15, "no phone number"),
        (
            16,
            "phone in column 'phone': '=HYPERLINK(\"x\")' is not a phone number "
            "(digits, optionally after +)",
        ),
        (18, "control character U+0009 in column 'phone'"),
    ]
    good = accepted(items)
    assert [r.line for r in good] == [2, 4, 17]
    formula = good[2]
    # Stored as given (it is data); the reject file is where formulas are defused.
    assert formula.name == "=cmd|' /C calc'!A0"
    assert formula.phones == '["+12125550109"]'
    assert (formula.timezone, formula.tz_source) == ("America/Chicago", "column")
    assert formula.notes == "@SUM(1)"
    assert formula.custom == '{"city":"-2"}'
    assert (good[0].timezone, good[0].tz_source) == ("America/New_York", "phone")
    reject_raw = next(r for r in items if isinstance(r, Rejected) and r.line == 6)
    assert reject_raw.raw == '212-555-0104,,"Ed\\x0aEvil",,,X'


def test_a_line_longer_than_the_limit_is_skipped_without_holding_it() -> None:
    text = io.StringIO("2125550100,a\n" + "9" * 5000 + ",b\n2125550101,c\n")
    lines = Lines(text, max_line=1000)
    rows = list(read_rows(lines, ","))
    assert [line for line, _ in rows] == [1, 2, 3]
    assert isinstance(rows[1][1], Rejected)
    assert rows[1][1].reason == "line longer than 1000 characters"
    assert rows[2][1] == ["2125550101", "c"]


def test_names_from_first_and_last_and_custom_json() -> None:
    data = 'Phone;First Name;Surname;Extra;"Quote ""x"""\n2125550100;Ann;Lee;é;"a""b"\n'
    (record,) = accepted(run(data.encode()))
    assert record.name == "Ann Lee"
    assert record.custom == '{"Extra":"é","Quote \\"x\\"":"a\\"b"}'


def test_project_rules_route_first_match_then_default() -> None:
    columns = map_columns(["phone", "Region", "Tier"])
    rules = parse_rules(
        [
            {"field": "region", "equals": "North", "campaign_id": 2},
            {"field": "tier", "equals": "gold", "campaign_id": 3},
        ],
        columns,
    )
    targets = {2: Target(2, "US"), 3: Target(3, "GB"), 4: Target(4, "US", "which is stopped")}
    preparer = RowPreparer(columns, ",", targets, rules, default_campaign=None)
    north = preparer.prepare(2, ["2125550100", " north ", "gold"])
    assert isinstance(north, Prepared) and north.campaign_id == 2
    gold = preparer.prepare(3, ["020 7946 0018", "south", "GOLD"])
    assert isinstance(gold, Prepared) and (gold.campaign_id, gold.phone) == (3, "+442079460018")
    lost = preparer.prepare(4, ["2125550100", "south", "bronze"])
    assert isinstance(lost, Rejected)
    assert lost.reason == "no routing rule matches and the project has no default campaign"
    to_stopped = RowPreparer(columns, ",", targets, rules, default_campaign=4)
    stopped = to_stopped.prepare(5, ["2125550100", "", ""])
    assert isinstance(stopped, Rejected)
    assert stopped.reason == "routed to campaign 4, which is stopped"


def test_defuse_prefixes_formula_starts() -> None:
    assert [defuse(c) for c in ["=1+1", "+1", "-1", "@x", "\tx", "ok", ""]] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "ok",
        "",
    ]


@pytest.mark.parametrize("region", ["US", "GB", "FR", "DE", "IT", "AU", "IN", "ES", "AR", "CA"])
def test_fast_path_agrees_with_phonenumbers(region: str) -> None:
    rnd = random.Random(region)
    normalizer = PhoneNormalizer(region)
    fast = 0
    for _ in range(1500):
        text = "".join(rnd.choice("0123456789") for _ in range(rnd.choice((7, 9, 10, 11, 12))))
        if rnd.random() < 0.2:
            text = f"+{normalizer.country_code} {text}"
        got = normalizer.normalize(text)
        try:
            parsed = phonenumbers.parse(text, region)
            ok = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            ok = False
        want = phonenumbers.format_number(parsed, 0) if ok else None
        assert (got.e164 if got else None) == want, text
        if got is not None:
            assert normalizer.zone(got, None) == resolve_zone(None, got.e164), text
            fast += got.zone_key[0] != "number"
    if region not in ("AR", "CA"):  # transform rules / shared country code: slow path only
        assert fast > 20
