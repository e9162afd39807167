"""The last check before a call goes out, and the record of why it was allowed.

Everything the pick already filtered is checked again here, one record at a time,
because a DNC entry, an hour-code edit or a stale cache could have changed the answer
since: the DNC lists, the attempt allowance, the record's consumer hours in its own
zone and the call centre's hours. The verdict is stored with the attempt, so "why did
you call this person at 20:55?" has an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pbx_dialer import phones
from pbx_dialer.campaigns import hours, timezones
from pbx_dialer.campaigns.hours import HourCode
from pbx_dialer.campaigns.model import Campaign
from pbx_dialer.storage import dnc as dnc_rows
from pbx_dialer.storage import hour_codes as hour_code_rows
from pbx_dialer.storage.db import Database


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # What to do with the record when not allowed: "DNC" or "invalid_number" (filter
    # it), "max_calls", or "later" (give it back to the inventory untouched).
    refusal: str = ""
    record: dict[str, Any] = field(default_factory=dict)


async def check(
    db: Database, campaign: Campaign, record_id: int, phone: str, now: float
) -> Verdict:
    return (await check_many(db, campaign, [(record_id, phone)], now))[0]


# Records checked by one statement (well under SQLite's parameter limit).
_CHUNK = 500


async def check_many(
    db: Database, campaign: Campaign, picked: Sequence[tuple[int, str]], now: float
) -> list[Verdict]:
    """`check` for a batch of (record id, phone): three reads for the whole batch, not
    two per record (each read is a round trip to SQLite's thread)."""
    settings = campaign.settings
    rows: dict[int, Any] = {}
    blocked: set[str] = set()
    for start in range(0, len(picked), _CHUNK):
        chunk = picked[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in await db.fetchall(
            "SELECT r.id, r.timezone, r.attempts, (SELECT callback_at FROM attempts a WHERE "
            "a.record_id = r.id AND a.state = 'ended' ORDER BY a.id DESC LIMIT 1) "
            f"AS callback_at FROM records r WHERE r.id IN ({marks})",
            [record_id for record_id, _ in chunk],
        ):
            rows[int(row["id"])] = row
        blocked |= await dnc_rows.blocked_among(db, campaign.id, [phone for _, phone in chunk])
    ids = {i for i in (settings.cc_hour_code_id, settings.consumer_hour_code_id) if i}
    codes = await hour_code_rows.get_many(db, ids) if ids else {}
    moment = datetime.fromtimestamp(now, UTC)
    return [
        _verdict(campaign, rows.get(record_id), phone, phone in blocked, codes, moment)
        for record_id, phone in picked
    ]


def _verdict(
    campaign: Campaign,
    row: Any,
    phone: str,
    dnc: bool,
    codes: dict[int, HourCode],
    moment: datetime,
) -> Verdict:
    settings = campaign.settings
    if row is None:
        return Verdict(False, "later")
    record: dict[str, Any] = {"checked_at": moment.isoformat(), "phone": phone}
    problem = phones.refusal(phone)
    if problem is not None:
        # Stored before a rule existed, or written around the API: never dialed.
        return Verdict(False, "invalid_number", {**record, "number": problem})
    record["number"] = "a valid E.164 number, not an emergency, short or premium-rate one"
    if dnc:
        return Verdict(False, "DNC", {**record, "dnc": "on a do-not-call list"})
    record["dnc"] = "not on the global or the campaign's do-not-call list"
    attempt, allowance = int(row["attempts"]), settings.max_attempts
    callback = row["callback_at"] is not None
    record["attempt"] = f"{attempt} of {allowance}" + (" (a promised callback)" if callback else "")
    if attempt > allowance and not callback:
        return Verdict(False, "max_calls", record)
    consumer = codes.get(settings.consumer_hour_code_id or 0)
    if consumer is not None:
        verdict = hours.check(
            consumer, moment, zone=row["timezone"], candidates=timezones.candidate_zones(phone)
        )
        record["consumer_hours"] = verdict.reason
        if not verdict.open:
            return Verdict(False, "later", record)
    else:
        record["consumer_hours"] = "the campaign has no consumer hour code"
    centre = codes.get(settings.cc_hour_code_id or 0)
    if centre is not None:
        verdict = hours.check(centre, moment, role="call_centre")
        record["call_centre"] = verdict.reason
        if not verdict.open:
            return Verdict(False, "later", record)
    else:
        record["call_centre"] = "the campaign has no call-centre hour code"
    return Verdict(True, record=record)
