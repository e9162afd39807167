"""One page of a CRM feed, checked item by item. Pure: no I/O, no clock.

The contract a CRM answers (the dialer sends ``GET <url>?cursor=<cursor>``, the cursor
empty on the first poll, with ``Accept: application/json``)::

    200 OK, Content-Type: application/json
    {
      "records": [
        {"phone": "+15551230001",           required; E.164, or national in the
                                            campaign's default_region
         "name": "Ada Lovelace",            optional, at most 200 characters
         "external_id": "crm-42",           optional, at most 200 characters; a record
                                            whose external_id the campaign already
                                            holds is ignored
         "timezone": "America/New_York",    optional IANA zone; else from the number
         "notes": "...",                    optional, at most 2000 characters
         "phones": ["+15551230002"],        optional other numbers of the customer
         "anything_else": "kept"}           other scalar fields: kept as custom data
      ],
      "next_cursor": "opaque-string",       the cursor for the next poll; null or absent:
                                            keep the current one
      "has_more": false                     optional; true: fetch the next page at once
    }

Anything else (not JSON, not an object, ``records`` not an array, a cursor that is not a
string) makes the whole page garbage: nothing from it is taken and the cursor stays.
An item that is wrong on its own (no phone, an invalid number, control characters...)
is skipped and counted, and the rest of the page is taken.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pbx_dialer import phones
from pbx_dialer.campaigns.timezones import resolve_zone, valid_zone

MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_PAGE_RECORDS = 5000
MAX_CURSOR = 1000
MAX_CUSTOM_BYTES = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KNOWN = {"phone", "name", "external_id", "timezone", "notes", "phones"}


class PageInvalid(ValueError):
    """The page as a whole is not what the contract says: nothing of it is taken."""


@dataclass(frozen=True, slots=True)
class FeedRecord:
    phone: str  # E.164
    name: str = ""
    external_id: str | None = None
    timezone: str | None = None
    tz_source: str = "fallback"
    notes: str = ""
    phones: tuple[str, ...] = ()  # every number, `phone` first
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Skip:
    index: int  # position in the page's records array
    reason: str


@dataclass(frozen=True, slots=True)
class Page:
    records: tuple[FeedRecord, ...]
    skipped: tuple[Skip, ...]
    next_cursor: str | None  # None: keep the current cursor
    has_more: bool = False


def parse_page(body: bytes, default_region: str) -> Page:
    """Read one CRM answer body; raises PageInvalid when the page as a whole is wrong."""
    if len(body) > MAX_PAGE_BYTES:
        raise PageInvalid(f"page is larger than {MAX_PAGE_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PageInvalid(f"not JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise PageInvalid("expected a JSON object with 'records' and 'next_cursor'")
    items = data.get("records")
    if not isinstance(items, list):
        raise PageInvalid("'records' must be an array")
    if len(items) > MAX_PAGE_RECORDS:
        raise PageInvalid(f"'records' holds more than {MAX_PAGE_RECORDS} items")
    cursor = data.get("next_cursor")
    if cursor is not None and (
        not isinstance(cursor, str) or len(cursor) > MAX_CURSOR or _CONTROL.search(cursor)
    ):
        raise PageInvalid(f"'next_cursor' must be a string of at most {MAX_CURSOR} characters")
    has_more = data.get("has_more", False)
    if not isinstance(has_more, bool):
        raise PageInvalid("'has_more' must be true or false")
    records: list[FeedRecord] = []
    skipped: list[Skip] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            record = parse_item(item, default_region)
        except ValueError as exc:
            skipped.append(Skip(index, str(exc)))
            continue
        if record.external_id is not None:
            if record.external_id in seen:
                skipped.append(Skip(index, f"external_id {record.external_id!r} twice in page"))
                continue
            seen.add(record.external_id)
        records.append(record)
    return Page(tuple(records), tuple(skipped), cursor or None, has_more)


def normalize_phone(raw: Any, region: str) -> str:
    try:
        return phones.to_e164(raw, region)
    except phones.BadNumber as exc:
        raise ValueError(f"phone {exc}") from None


def _text(item: dict[str, Any], key: str, limit: int) -> str:
    value = item.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{key} must be a string of at most {limit} characters")
    # Names and notes travel to agents and may end up in AMI headers.
    if _CONTROL.search(value):
        raise ValueError(f"{key} holds control characters")
    return value.strip()


def parse_item(item: Any, region: str) -> FeedRecord:
    """One CRM record; raises ValueError naming what is wrong with it."""
    if not isinstance(item, dict):
        raise ValueError("record must be a JSON object")
    if "phone" not in item:
        raise ValueError("phone is missing")
    phone = normalize_phone(item["phone"], region)
    name = _text(item, "name", 200)
    external_id = _text(item, "external_id", 200) or None
    notes = _text(item, "notes", 2000)
    zone_name = _text(item, "timezone", 64)
    if zone_name and not valid_zone(zone_name):
        raise ValueError(f"timezone {zone_name!r} is not an IANA time zone")
    others = item.get("phones", [])
    if others is None:
        others = []
    if not isinstance(others, list) or len(others) > 10:
        raise ValueError("phones must be an array of at most 10 numbers")
    phones = [phone]
    for other in others:
        e164 = normalize_phone(other, region)
        if e164 not in phones:
            phones.append(e164)
    custom = {k: v for k, v in item.items() if k not in _KNOWN}
    for key, value in custom.items():
        if _CONTROL.search(key) or len(key) > 64:
            raise ValueError("custom field names must be at most 64 printable characters")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValueError(f"{key} must be a string, number, true/false or null")
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError(f"{key} holds control characters")
    if len(json.dumps(custom)) > MAX_CUSTOM_BYTES:
        raise ValueError(f"custom fields exceed {MAX_CUSTOM_BYTES} bytes")
    zone = resolve_zone(zone_name or None, phone)
    return FeedRecord(
        phone=phone,
        name=name,
        external_id=external_id,
        timezone=zone.zone,
        tz_source=zone.source,
        notes=notes,
        phones=tuple(phones),
        custom=custom,
    )
