"""Attempts: one row per call placed, written before the Originate is sent.

Writing the row (and taking the record) first is what makes "dial at most once" hold
across crashes: a record that is in progress is never picked again, and an attempt
row that exists is reconciled with Asterisk, never re-sent.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from pbx_dialer.calls import CallEnded
from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.dialing import numbers, outcomes
from pbx_dialer.storage.campaigns import campaign_from_row
from pbx_dialer.storage.db import Database

# What the called person of an attempt gets: an agent, or a recorded message.
MEDIA = ("agent", "message")


@dataclass(frozen=True)
class PlacedAttempt:
    id: int
    campaign_id: int
    record_id: int
    channel_id: str
    phone: str


def channel_id_for(attempt_id: int) -> str:
    """The Uniqueid the attempt's customer leg gets in Asterisk. The random tail keeps two
    dialers (or two test databases) on one Asterisk from ever sharing an id."""
    return f"pbxd-{attempt_id}-{secrets.token_hex(4)}"


# Attempts created by one INSERT (7 parameters each, well under SQLite's limit).
_INSERT_CHUNK = 500


@dataclass(frozen=True)
class ZoneFilter:
    """Which records' local time lets them be called now (the consumer hours): those in
    `open_zones`, and those of unknown zone for which `unknown_ok(phone)` says yes."""

    open_zones: frozenset[str]
    unknown_ok: Callable[[str], bool] | None = None


# A callback promised by one agent is theirs (pbx_dialer/agents/desk.py) until the desk
# clears callback_agent (it waited too long): the general pick leaves it alone till then.
_PICK = (
    "SELECT id, phone, next_attempt_at FROM records WHERE campaign_id = ? AND state = 'ready' "
    "AND list_enabled = 1 AND callback_agent IS NULL"
)


async def _candidates(
    conn: aiosqlite.Connection, campaign_id: int, limit: int, now: float, zones: ZoneFilter | None
) -> list[tuple[int, str]]:
    """The next `limit` callable records, due first: one index range per zone, merged."""
    if zones is None:
        # No consumer hours: every zone is open, and so is the unknown one.
        every = await _ready_zones(conn, campaign_id)
        zones = ZoneFilter(
            frozenset(z for z in every if z is not None),
            (lambda _phone: True) if None in every else None,
        )
    found: list[tuple[float, int, str]] = []
    open_zones = sorted(zones.open_zones)
    if open_zones:
        # One statement: a range per zone (each served by the pick index), merged by SQLite.
        part = (
            f"SELECT * FROM ({_PICK} AND timezone = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?)"
        )
        sql = " UNION ALL ".join([part] * len(open_zones))
        params: list[object] = []
        for zone in open_zones:
            params.extend((campaign_id, zone, now, limit))
        async with conn.execute(sql, params) as cursor:
            found.extend(
                (r["next_attempt_at"], r["id"], r["phone"]) for r in await cursor.fetchall()
            )
    if zones.unknown_ok is not None:
        # Unknown zone: the fallback is per number, so look at a few more than needed.
        sql = (
            f"{_PICK} AND timezone IS NULL AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?"
        )
        async with conn.execute(sql, (campaign_id, now, limit * 4)) as cursor:
            found.extend(
                (r["next_attempt_at"], r["id"], r["phone"])
                for r in await cursor.fetchall()
                if zones.unknown_ok(r["phone"])
            )
    found.sort()
    return [(record_id, phone) for _, record_id, phone in found[:limit]]


async def peek(
    db: Database, campaign_id: int, limit: int, now: float, zones: ZoneFilter | None = None
) -> list[tuple[int, str]]:
    """What `take_records` would pick now, without taking it."""
    return await _candidates(db.conn, campaign_id, limit, now, zones)


async def take_records(
    db: Database,
    campaign_id: int,
    pbx: str,
    limit: int,
    now: float,
    zones: ZoneFilter | None = None,
    media: str = "agent",
) -> list[PlacedAttempt]:
    """Pick up to `limit` records that are due, in enabled lists and (with `zones`) inside
    their consumer hours; mark them in progress and create their attempts (whose person
    gets `media`: an agent or a message), all in one transaction."""
    if limit <= 0:
        return []
    placed: list[PlacedAttempt] = []
    async with db.transaction() as conn:
        picked = await _candidates(conn, campaign_id, limit, now, zones)
        if not picked:
            return []
        # A few statements per batch, not three per record: each statement is a round
        # trip to SQLite's thread, which cost more than the rest of placing a call.
        await conn.executemany(
            "UPDATE records SET state = 'in_progress', attempts = attempts + 1 WHERE id = ?",
            [(record_id,) for record_id, _ in picked],
        )
        for start in range(0, len(picked), _INSERT_CHUNK):
            chunk = picked[start : start + _INSERT_CHUNK]
            # The channel id names the attempt, whose id the insert gives: a unique
            # placeholder first, the real one right after.
            token = secrets.token_hex(4)
            rows = await conn.execute_fetchall(
                "INSERT INTO attempts (campaign_id, record_id, pbx, channel_id, phone, placed_at, "
                "media) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                + " RETURNING id, record_id",
                [
                    value
                    for record_id, phone in chunk
                    for value in (
                        campaign_id, record_id, pbx, f"pick-{token}-{record_id}", phone, now, media
                    )
                ],
            )  # fmt: skip
            attempt_of = {int(r["record_id"]): int(r["id"]) for r in rows}
            for record_id, phone in chunk:
                attempt_id = attempt_of[record_id]
                channel_id = channel_id_for(attempt_id)
                placed.append(PlacedAttempt(attempt_id, campaign_id, record_id, channel_id, phone))
        await conn.executemany(
            "UPDATE attempts SET channel_id = ? WHERE id = ?",
            [(attempt.channel_id, attempt.id) for attempt in placed],
        )
    return placed


async def any_callable(
    db: Database, campaign_id: int, now: float, zones: ZoneFilter | None
) -> bool:
    """Whether at least one record could be picked now (due, list enabled, in hours)."""
    return bool(await peek(db, campaign_id, 1, now, zones))


async def ready_zones(db: Database, campaign_id: int) -> list[str | None]:
    """The time zones of a campaign's ready records (None: unknown zone)."""
    return await _ready_zones(db.conn, campaign_id)


async def _ready_zones(conn: aiosqlite.Connection, campaign_id: int) -> list[str | None]:
    async with conn.execute(
        "SELECT DISTINCT timezone FROM records WHERE campaign_id = ? AND state = 'ready' "
        "AND list_enabled = 1",
        (campaign_id,),
    ) as cursor:
        return [r["timezone"] for r in await cursor.fetchall()]


async def settle_checks(
    db: Database,
    allowed: list[tuple[PlacedAttempt, dict[str, Any]]],
    refused: list[tuple[PlacedAttempt, str, float | None, str | None]],
) -> None:
    """After the last check of a batch: store why each call was allowed (and the rules
    pack version, the record's "rules_pack"), and undo the refused ones (given back on
    their next number when one is named; given back for later, no sooner than their
    retry time when they have one; filtered; or out of attempts)."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE attempts SET compliance = ?, rules_pack = ? WHERE id = ?",
            [
                (json.dumps(record), str(record.get("rules_pack", "")), attempt.id)
                for attempt, record in allowed
            ],
        )
        for attempt, refusal, retry_at, next_phone in refused:
            await conn.execute("DELETE FROM attempts WHERE id = ?", (attempt.id,))
            if next_phone is not None:
                # Given back to be dialed on the customer's next number.
                await conn.execute(
                    "UPDATE records SET state = 'ready', attempts = attempts - 1, phone = ? "
                    "WHERE id = ?",
                    (next_phone, attempt.record_id),
                )
            elif refusal == "later":
                await conn.execute(
                    "UPDATE records SET state = 'ready', attempts = attempts - 1, "
                    "next_attempt_at = max(next_attempt_at, ?) WHERE id = ?",
                    (retry_at or 0.0, attempt.record_id),
                )
            else:
                state = "max_calls" if refusal == "max_calls" else "filtered"
                await conn.execute(
                    "UPDATE records SET state = ?, reason = ?, attempts = attempts - 1 "
                    "WHERE id = ?",
                    (state, "" if state == "max_calls" else refusal, attempt.record_id),
                )


async def forget_unsent(db: Database, attempt: PlacedAttempt) -> None:
    """The Originate was never sent (PBX not connected): undo the attempt and the pick."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM attempts WHERE id = ?", (attempt.id,))
        await conn.execute(
            "UPDATE records SET state = 'ready', attempts = attempts - 1 WHERE id = ?",
            (attempt.record_id,),
        )


async def mark(db: Database, attempt_id: int, state: str, **values: Any) -> None:
    allowed = {"answered_at", "connected_at", "queue", "agent", "agent_interface"}
    assert set(values) <= allowed
    sets = "".join(f", {k} = ?" for k in values)
    async with db.transaction() as conn:
        await conn.execute(
            f"UPDATE attempts SET state = ?{sets} WHERE id = ? AND state != 'ended'",
            (state, *values.values(), attempt_id),
        )


async def finish(db: Database, ended: CallEnded) -> tuple[int, str, str] | None:
    """Store the attempt's outcome and settle its record: the agent's classification if
    one was given during the call, else the technical result's default classification
    and retry rule. Returns the campaign id, the number and the record's new state, or
    None if the attempt was already ended (a second report is ignored)."""
    return (await finish_many(db, [ended]))[0]


async def finish_many(
    db: Database, ended: Sequence[CallEnded]
) -> list[tuple[int, str, str] | None]:
    """`finish` for several attempts in one transaction: calls that end together are
    stored together, with a few statements for the whole batch (each statement is a
    round trip to SQLite's thread, and ten per call cost more than the call)."""
    if not ended:
        return []
    async with db.transaction() as conn:
        rows = await _ending(conn, sorted({one.attempt_id for one in ended}))
        settings = await _settings_of(conn, {int(r["campaign_id"]) for r in rows.values()})
        # Each record's numbers, where its next attempt's number depends on them.
        phones_of = {aid: _phones(r) for aid, r in rows.items()}
        counted = {
            int(rows[one.attempt_id]["record_id"])
            for one in ended
            if one.attempt_id in rows
            and numbers.worth_counting(
                settings[int(rows[one.attempt_id]["campaign_id"])],
                phones_of[one.attempt_id],
                one.result,
            )
        }
        tallies = await _number_tallies(conn, sorted(counted))
        results: list[tuple[int, str, str] | None] = []
        attempt_updates: list[tuple[Any, ...]] = []
        record_updates: list[tuple[Any, ...]] = []
        dnc_adds: list[tuple[Any, ...]] = []
        for one in ended:
            # Not live (unknown, or already ended: also a second report in this batch).
            row = rows.pop(one.attempt_id, None)
            if row is None:
                results.append(None)
                continue
            campaign = settings[int(row["campaign_id"])]
            attempts = int(row["record_attempts"])
            outcome: outcomes.RecordOutcome | None = None
            classification = row["classification"]
            if row["classified_by"]:
                try:
                    outcome = outcomes.by_agent(
                        campaign, attempts, row["classification"], one.at,
                        row["callback_at"], row["callback_agent"],
                    )  # fmt: skip
                except outcomes.ClassificationRefused:
                    # The campaign's classifications changed during the call: the default
                    # applies.
                    outcome = None
            if outcome is None:
                record_id = int(row["record_id"])
                record_numbers = (
                    numbers.RecordNumbers(
                        phones_of[one.attempt_id], str(row["phone"]), tallies.get(record_id, {})
                    )
                    if record_id in counted
                    else None
                )
                outcome = outcomes.at_call_end(
                    campaign, attempts, one.result, one.at, record_numbers
                )
                classification = outcome.classification
            attempt_updates.append(
                (
                    one.result, one.cause, one.cause_code, one.sip_status,
                    int(one.times_known), one.queue, one.agent, one.at,
                    one.ring_s, one.wait_s, one.talk_s, classification, one.attempt_id,
                )
            )  # fmt: skip
            record_updates.append(
                (
                    outcome.state, outcome.next_attempt_at, outcome.classification,
                    outcome.reason, outcome.callback_agent, outcome.state, one.at,
                    one.result, outcome.phone, row["record_id"],
                )
            )  # fmt: skip
            if outcome.add_to_dnc:
                dnc_adds.append((row["campaign_id"], row["phone"], one.at))
            results.append((int(row["campaign_id"]), str(row["phone"]), outcome.state))
        await conn.executemany(
            "UPDATE attempts SET state = 'ended', result = ?, cause = ?, cause_code = ?, "
            "sip_status = ?, times_known = ?, queue = coalesce(?, queue), "
            "agent = coalesce(?, agent), ended_at = ?, "
            "ring_s = ?, wait_s = ?, talk_s = ?, classification = ? "
            "WHERE id = ?",
            attempt_updates,
        )
        # As _apply does, plus the record's last technical result and the number its
        # next attempt dials.
        await conn.executemany(
            "UPDATE records SET state = ?, next_attempt_at = ?, classification = ?, reason = ?, "
            "callback_agent = ?, handled_at = CASE WHEN ? = 'ready' THEN NULL ELSE ? END, "
            "last_result = ?, phone = coalesce(?, phone) WHERE id = ?",
            record_updates,
        )
        if dnc_adds:
            await conn.executemany(
                "INSERT OR IGNORE INTO dnc (campaign_id, phone, source, added_at) "
                "VALUES (?, ?, 'agent', ?)",
                dnc_adds,
            )
    return results


async def set_sip_status(db: Database, attempt_id: int, sip_status: int) -> None:
    """The SIP response of an ended attempt's customer leg, learnt after it ended."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE attempts SET sip_status = ? WHERE id = ? AND sip_status IS NULL",
            (sip_status, attempt_id),
        )


async def _ending(conn: aiosqlite.Connection, attempt_ids: list[int]) -> dict[int, Any]:
    """The attempts among these that are still live, with their record's attempt count."""
    found: dict[int, Any] = {}
    for start in range(0, len(attempt_ids), _INSERT_CHUNK):
        chunk = attempt_ids[start : start + _INSERT_CHUNK]
        rows = await conn.execute_fetchall(
            "SELECT a.id, a.campaign_id, a.record_id, a.phone, a.classification, "
            "a.classified_by, a.callback_at, a.callback_agent, r.attempts AS record_attempts, "
            "r.phone AS record_phone, r.phones AS record_phones "
            "FROM attempts a JOIN records r ON r.id = a.record_id "
            f"WHERE a.id IN ({', '.join('?' * len(chunk))}) AND a.state != 'ended'",
            chunk,
        )
        found.update((int(r["id"]), r) for r in rows)
    return found


def _phones(row: Any) -> tuple[str, ...]:
    """The record's numbers, `phone` first (a record stored before it had others: its
    one number)."""
    stored = json.loads(row["record_phones"] or "[]")
    return tuple(str(p) for p in stored) if stored else (str(row["record_phone"]),)


async def _number_tallies(
    conn: aiosqlite.Connection, record_ids: Sequence[int]
) -> dict[int, dict[str, numbers.NumberTally]]:
    """Per record, per number: its attempts, the latest one's result, and whether one
    was INVALID."""
    found: dict[int, dict[str, numbers.NumberTally]] = {}
    for start in range(0, len(record_ids), _INSERT_CHUNK):
        chunk = list(record_ids[start : start + _INSERT_CHUNK])
        rows = await conn.execute_fetchall(
            "SELECT t.record_id, t.phone, t.n, t.invalid, a.result FROM ("
            "SELECT record_id, phone, count(*) AS n, max(result = 'INVALID') AS invalid, "
            "max(id) AS latest FROM attempts "
            f"WHERE record_id IN ({', '.join('?' * len(chunk))}) GROUP BY record_id, phone"
            ") t JOIN attempts a ON a.id = t.latest",
            chunk,
        )
        for r in rows:
            found.setdefault(int(r["record_id"]), {})[str(r["phone"])] = numbers.NumberTally(
                int(r["n"]), r["result"], bool(r["invalid"])
            )
    return found


async def number_tallies(
    db: Database, record_ids: Sequence[int]
) -> dict[int, dict[str, numbers.NumberTally]]:
    """`_number_tallies` for the reads of the details page."""
    return await _number_tallies(db.conn, record_ids)


async def _settings_of(
    conn: aiosqlite.Connection, campaign_ids: set[int]
) -> dict[int, CampaignSettings]:
    if not campaign_ids:
        return {}
    ids = sorted(campaign_ids)
    rows = await conn.execute_fetchall(
        f"SELECT * FROM campaigns WHERE id IN ({', '.join('?' * len(ids))})", ids
    )
    return {int(r["id"]): campaign_from_row(r).settings for r in rows}


async def _settings_and_attempts(
    conn: aiosqlite.Connection, record_id: int
) -> tuple[CampaignSettings, int]:
    found = await conn.execute_fetchall(
        "SELECT c.*, r.attempts AS record_attempts FROM records r "
        "JOIN campaigns c ON c.id = r.campaign_id WHERE r.id = ?",
        (record_id,),
    )
    row = next(iter(found))
    return campaign_from_row(row).settings, int(row["record_attempts"])


async def _apply(
    conn: aiosqlite.Connection,
    record_id: int,
    campaign_id: int,
    phone: str,
    outcome: outcomes.RecordOutcome,
    now: float,
) -> None:
    await conn.execute(
        "UPDATE records SET state = ?, next_attempt_at = ?, classification = ?, reason = ?, "
        "callback_agent = ?, handled_at = CASE WHEN ? = 'ready' THEN NULL ELSE ? END "
        "WHERE id = ?",
        (
            outcome.state,
            outcome.next_attempt_at,
            outcome.classification,
            outcome.reason,
            outcome.callback_agent,
            outcome.state,
            now,
            record_id,
        ),
    )
    if outcome.add_to_dnc:
        await conn.execute(
            "INSERT OR IGNORE INTO dnc (campaign_id, phone, source, added_at) "
            "VALUES (?, ?, 'agent', ?)",
            (campaign_id, phone, now),
        )


async def campaign_of(db: Database, attempt_id: int) -> int | None:
    row = await db.fetchone("SELECT campaign_id FROM attempts WHERE id = ?", (attempt_id,))
    return int(row["campaign_id"]) if row is not None else None


class NotClassifiable(ValueError):
    """The attempt cannot take a classification now (unknown, not answered, superseded)."""


async def classify(
    db: Database,
    attempt_id: int,
    code: str,
    agent: str,
    now: float,
    callback_at: float | None = None,
    callback_agent: str | None = None,
) -> dict[str, Any]:
    """The agent's classification of a call, during or after it. A call still connected
    keeps it until it ends; an ended one settles its record at once."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT a.*, (SELECT max(id) FROM attempts WHERE record_id = a.record_id) AS latest "
            "FROM attempts a WHERE a.id = ?",
            (attempt_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise LookupError(f"no attempt {attempt_id}")
        if row["state"] in ("placed", "answered", "queued"):
            raise NotClassifiable(f"attempt {attempt_id} has not reached an agent")
        if row["state"] == "ended" and row["connected_at"] is None:
            raise NotClassifiable(f"attempt {attempt_id} never reached an agent")
        if row["latest"] != attempt_id:
            raise NotClassifiable(f"the record has been dialed again since attempt {attempt_id}")
        settings, attempts = await _settings_and_attempts(conn, row["record_id"])
        # Validates the code and the callback, whatever the call's state.
        outcome = outcomes.by_agent(settings, attempts, code, now, callback_at, callback_agent)
        # After-call work: from the call's end to this classification; one made during
        # the call took none.
        ended_at = row["ended_at"] if row["state"] == "ended" else None
        wrapup_s = max(0.0, now - ended_at) if ended_at is not None else 0.0
        await conn.execute(
            "UPDATE attempts SET classification = ?, classified_by = ?, classified_at = ?, "
            "callback_at = ?, callback_agent = ?, wrapup_s = ? WHERE id = ?",
            (code, agent, now, callback_at, callback_agent, wrapup_s, attempt_id),
        )
        if row["state"] == "ended":
            await _apply(conn, row["record_id"], row["campaign_id"], row["phone"], outcome, now)
    return {
        "attempt_id": attempt_id,
        "classification": code,
        "record_state": outcome.state if row["state"] == "ended" else "in_progress",
        "next_attempt_at": outcome.next_attempt_at or None,
    }


@dataclass(frozen=True)
class UnfinishedAttempt(PlacedAttempt):
    """An attempt a previous run left in flight, with what that run stored of it:
    Asterisk will not tell an earlier answer again."""

    placed_at: float
    state: str
    answered_at: float | None
    connected_at: float | None
    agent: str | None
    queue: str | None


async def unfinished(db: Database, pbx: str) -> list[UnfinishedAttempt]:
    rows = await db.fetchall(
        "SELECT id, campaign_id, record_id, channel_id, phone, placed_at, state, "
        "answered_at, connected_at, agent, queue FROM attempts "
        "WHERE state != 'ended' AND pbx = ? ORDER BY id",
        (pbx,),
    )
    return [UnfinishedAttempt(**dict(r)) for r in rows]


async def list_for(
    db: Database, campaign_id: int, limit: int = 200, media: str | None = None
) -> list[dict[str, Any]]:
    """The campaign's latest attempts, newest first; only those of `media` if given."""
    rows = await db.fetchall(
        "SELECT a.*, r.name AS record_name FROM attempts a JOIN records r ON r.id = a.record_id "
        "WHERE a.campaign_id = ? AND (? IS NULL OR a.media = ?) ORDER BY a.id DESC LIMIT ?",
        (campaign_id, media, media, limit),
    )
    return [
        {
            **dict(r),
            "compliance": json.loads(r["compliance"]),
            "times_known": bool(r["times_known"]),
        }
        for r in rows
    ]


async def recent(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT a.*, c.name AS campaign_name FROM attempts a "
        "JOIN campaigns c ON c.id = a.campaign_id ORDER BY a.id DESC LIMIT ?",
        (limit,),
    )
    return [dict(r) for r in rows]


async def reschedule_record(db: Database, record_id: int, at: float) -> None:
    """Move a ready record's next attempt (into its calling window)."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE records SET next_attempt_at = ? WHERE id = ? AND state = 'ready'",
            (at, record_id),
        )


async def _answered_abandoned(
    db: Database, campaign_id: int, since: float | None
) -> tuple[int, int]:
    """Persons answered (SUCCESS or ABANDONED) and abandoned among the campaign's
    attempts that ended after `since` (None: since its first attempt)."""
    row = await db.fetchone(
        "SELECT sum(result IN ('SUCCESS', 'ABANDONED')) AS answered, "
        "sum(result = 'ABANDONED') AS abandoned FROM attempts "
        "WHERE campaign_id = ? AND state = 'ended' AND (? IS NULL OR ended_at > ?)",
        (campaign_id, since, since),
    )
    if row is None:
        return 0, 0
    return int(row["answered"] or 0), int(row["abandoned"] or 0)


async def abandonment(db: Database, campaign_id: int, now: float) -> dict[str, dict[str, Any]]:
    """Abandoned calls over live-answered ones (answered by a person: SUCCESS or
    ABANDONED), over the rolling last 24 hours and 30 days."""
    found: dict[str, dict[str, Any]] = {}
    for label, seconds in (("24h", 86_400), ("30d", 30 * 86_400)):
        answered, abandoned = await _answered_abandoned(db, campaign_id, now - seconds)
        found[label] = {
            "answered": answered,
            "abandoned": abandoned,
            "pct": round(100.0 * abandoned / answered, 2) if answered else 0.0,
        }
    return found


async def life_abandonment(db: Database, campaign_id: int) -> tuple[int, int]:
    """(answered persons, abandoned) over the campaign's whole life: what its
    abandonment cap (pbx_dialer.pacing.cap) starts from when the dialer (re)starts."""
    return await _answered_abandoned(db, campaign_id, None)


async def recent_dials(
    db: Database, record_ids: Sequence[int], since: float
) -> dict[int, list[tuple[str, float, bool]]]:
    """Each record's dials placed since `since`: (phone, placed_at, reached a person),
    oldest first, for the rolling per-number caps."""
    found: dict[int, list[tuple[str, float, bool]]] = {}
    for start in range(0, len(record_ids), 500):
        chunk = list(record_ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        rows = await db.fetchall(
            "SELECT record_id, phone, placed_at, connected_at IS NOT NULL AS talked "
            f"FROM attempts WHERE record_id IN ({marks}) AND placed_at >= ? "
            "ORDER BY placed_at",
            [*chunk, since],
        )
        for r in rows:
            found.setdefault(int(r["record_id"]), []).append(
                (str(r["phone"]), float(r["placed_at"]), bool(r["talked"]))
            )
    return found


async def abandon_counts(db: Database, campaign_id: int) -> tuple[int, int, int]:
    """(answered persons, abandoned, machine verdicts) over the campaign's whole life:
    what its abandonment cap starts from (pbx_dialer.pacing.cap)."""
    row = await db.fetchone(
        "SELECT sum(result IN ('SUCCESS', 'ABANDONED')) AS answered, "
        "sum(result = 'ABANDONED') AS abandoned, sum(result = 'MACHINE') AS machines "
        "FROM attempts WHERE campaign_id = ? AND state = 'ended'",
        (campaign_id,),
    )
    if row is None:
        return 0, 0, 0
    return int(row["answered"] or 0), int(row["abandoned"] or 0), int(row["machines"] or 0)


async def abandon_buckets(
    db: Database, campaign_id: int, since: float, bucket_s: float
) -> list[tuple[float, int, int, int]]:
    """The same counts among attempts that ended after `since`, per `bucket_s` of their
    end time: (bucket start, answered, abandoned, machines), oldest first."""
    rows = await db.fetchall(
        "SELECT CAST(ended_at / ? AS INTEGER) AS bucket, "
        "sum(result IN ('SUCCESS', 'ABANDONED')) AS answered, "
        "sum(result = 'ABANDONED') AS abandoned, sum(result = 'MACHINE') AS machines "
        "FROM attempts WHERE campaign_id = ? AND state = 'ended' AND ended_at > ? "
        "AND result IN ('SUCCESS', 'ABANDONED', 'MACHINE') GROUP BY bucket ORDER BY bucket",
        (bucket_s, campaign_id, since),
    )
    return [
        (int(r["bucket"]) * bucket_s, int(r["answered"]), int(r["abandoned"]), int(r["machines"]))
        for r in rows
    ]
