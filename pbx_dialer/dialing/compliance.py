"""The last check before a call goes out, and the record of why it was allowed.

Everything the pick already filtered is checked again here, one record at a time,
because a DNC entry, an hour-code edit or a stale cache could have changed the answer
since: the number itself (pbx_dialer.phones: E.164, not emergency, short or premium
rate), the DNC lists, the attempt allowance, the record's consumer hours in its own
zone, the call centre's hours, and the campaign's calling rules of the rules pack
(pbx_dialer.rules: legal hours by country and state, holidays, per-number caps over the
number's dials on this record). The verdict is stored with the attempt, with the pack
version, so "why did you call this person at 20:55?" has an answer. It is asked through
the dial gate (pbx_dialer.dialing.gate), which places only what it allowed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pbx_dialer import phones, rules
from pbx_dialer.campaigns import hours, timezones
from pbx_dialer.campaigns.hours import HourCode
from pbx_dialer.campaigns.model import Campaign
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import dnc as dnc_rows
from pbx_dialer.storage import hour_codes as hour_code_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # What to do with the record when not allowed: "DNC" or "invalid_number" (filter
    # it), "max_calls", "later" (give it back to the inventory untouched), or
    # NEXT_NUMBER (give it back to be dialed on its next number, `next_phone`).
    refusal: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    # When a "later" refusal may be asked again (a rule's next opening), else None.
    retry_at: float | None = None
    # NEXT_NUMBER: the record's number to dial from now on.
    next_phone: str | None = None


async def check(
    db: Database, campaign: Campaign, record_id: int, phone: str, now: float
) -> Verdict:
    return (await check_many(db, campaign, [(record_id, phone)], now))[0]


PACK = rules.load_pack()
NEXT_NUMBER = "next_number"


def _numbers_of(row: Any) -> list[str]:
    try:
        found = json.loads(row["phones"] or "[]")
    except ValueError:
        return []
    return [p for p in found if isinstance(p, str)] if isinstance(found, list) else []


def _next_number(row: Any, phone: str, blocked: set[str]) -> str | None:
    """The record's next number after `phone` (wrapping) that may be dialed: not on a
    DNC list and one the phone-number rule takes."""
    numbers = _numbers_of(row)
    start = numbers.index(phone) + 1 if phone in numbers else 0
    for other in numbers[start:] + numbers[:start]:
        if other != phone and other not in blocked and phones.refusal(other) is None:
            return other
    return None


# How far back a number's dials count for its caps: the longest rolling window of the
# pack (7 days), and a day more.
HISTORY_S = 8 * 86_400.0


async def check_many(
    db: Database, campaign: Campaign, picked: Sequence[tuple[int, str]], now: float
) -> list[Verdict]:
    """`check` for a batch of (record id, phone): a few reads for the whole batch, not
    several per record (each read is a round trip to SQLite's thread)."""
    settings = campaign.settings
    record_ids = [record_id for record_id, _ in picked]
    rows = await record_rows.dial_facts(db, record_ids)
    blocked = await dnc_rows.blocked_among(db, campaign.id, [phone for _, phone in picked])
    # A refused number may give way to the record's next one: only then are the other
    # numbers looked up (a second read, rare).
    problems = {phone: phones.refusal(phone) for _, phone in picked}
    others = {
        other
        for record_id, phone in picked
        if (phone in blocked or problems[phone] is not None) and record_id in rows
        for other in _numbers_of(rows[record_id])
        if other != phone
    }
    if others:
        blocked |= await dnc_rows.blocked_among(db, campaign.id, sorted(others))
    ids = {i for i in (settings.cc_hour_code_id, settings.consumer_hour_code_id) if i}
    codes = await hour_code_rows.get_many(db, ids) if ids else {}
    moment = datetime.fromtimestamp(now, UTC)
    options = rules.RuleOptions(settings.rule_set(), frozenset(settings.number_caps))
    # A number's past dials matter only to caps: none under "none" without opt-in caps.
    needs_history = options.rule_set != "none" or bool(options.caps)
    dials = (
        await attempt_rows.recent_dials(db, record_ids, now - HISTORY_S) if needs_history else {}
    )
    return [
        _verdict(
            campaign,
            rows.get(record_id),
            phone,
            problems[phone],
            blocked,
            codes,
            moment,
            options,
            _history(dials.get(record_id, []), phone),
        )
        for record_id, phone in picked
    ]


def _history(dials: list[tuple[str, float, bool]], phone: str) -> rules.NumberHistory:
    """This number's dials on this subject (the record, in this campaign)."""
    mine = [(at, talked) for number, at, talked in dials if number == phone]
    return rules.NumberHistory(
        attempts=tuple(datetime.fromtimestamp(at, UTC) for at, _ in mine),
        conversations=tuple(datetime.fromtimestamp(at, UTC) for at, talked in mine if talked),
    )


def _verdict(
    campaign: Campaign,
    row: Any,
    phone: str,
    problem: str | None,
    blocked: set[str],
    codes: dict[int, HourCode],
    moment: datetime,
    options: rules.RuleOptions,
    history: rules.NumberHistory,
) -> Verdict:
    settings = campaign.settings
    if row is None:
        return Verdict(False, "later")
    dnc = phone in blocked
    record: dict[str, Any] = {
        "checked_at": moment.isoformat(),
        "phone": phone,
        "rules_pack": PACK.version,
    }
    if problem is not None or dnc:
        refusal, why = ("DNC", "on a do-not-call list") if dnc else ("invalid_number", problem)
        record = {**record, ("dnc" if dnc else "number"): why}
        other = _next_number(row, phone, blocked)
        if other is not None:
            # The customer's next number may be called instead: the record waits for it.
            return Verdict(False, NEXT_NUMBER, {**record, "next_number": other}, next_phone=other)
        # Stored before a rule existed, or written around the API: never dialed.
        return Verdict(False, refusal, record)
    record["number"] = "a valid E.164 number, not an emergency, short or premium-rate one"
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
    ruled = rules.check(PACK, options, phone, row["timezone"], moment, history)
    record["rules"] = ruled.to_record()
    if not ruled.allowed:
        retry_at = ruled.next_allowed.timestamp() if ruled.next_allowed else None
        return Verdict(False, "later", record, retry_at=retry_at or moment.timestamp() + 3600)
    return Verdict(True, record=record)
