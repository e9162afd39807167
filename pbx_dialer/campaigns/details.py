"""What the campaign details page shows, in a supervisor's words.

The nested pie. Outer ring, from each record's stored state (storage/records.py):
  Handled      state handled: a final classification was reached (by the agent, or the
               technical result's default classification).
  Max. Calls   state max_calls: the attempt allowance is spent without a final outcome.
  Filtered     states filtered and cancelled: taken out without (more) dialing: DNC,
               the last compliance check, or cancelled by a supervisor.
  Not Handled  states ready and in_progress: still to be dialed, or on a call now.
Inner ring, behind each outer segment:
  Handled      the classification (SALE, CONTACTED, ...).
  Max. Calls   the last technical result (BUSY, NOANSWER, ...).
  Filtered     the reason (DNC, ...) or CANCELLED.
  Not Handled  the current customer result (NEW, DIALING, CALLBACK, ON CALL, HELD).

Numbers (the Customers tab): each of the record's numbers, `phone` first, with its
attempts, its latest technical result, and which one the next attempt dials (the
record's current number, while it is still to be dialed).

Current Customer Result (the Customers tab and the Not Handled ring):
  NEW        ready, never dialed yet            Time: the first attempt's due time
  DIALING    ready, dialed before, attempts remain  Time: the next attempt
  CALLBACK   ready, an agent asked for a callback   Time: the callback
  ON CALL    a call to the customer is on now      Time: when it was placed
  HELD       ready, but its contact list is disabled (kept, not dialed)   Time: none
  CALL       handled: reached, with a final classification   Time: when handled
  MAX CALLS  out of attempts                     Time: when it was settled
  FILTERED   filtered (the reason says why)      Time: when it was settled, if dialed
  CANCELLED  cancelled by a supervisor           Time: when cancelled

Periods: today (since midnight in the call centre's zone), 24h, 7d, or custom
(since, and until or now). Real-time metrics: see `agent_counts` and `dial_level`.
Everything above the service class is pure: no I/O, `now` is an argument.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pbx_dialer.calls import AgentState
from pbx_dialer.campaigns.model import Campaign, CampaignSettings
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.dialing.numbers import NumberTally
from pbx_dialer.records.inventory import fold
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import details as detail_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage import transfers as transfer_rows
from pbx_dialer.storage.records import RecordFilter

OUTER = (
    ("handled", "Handled"),
    ("max_calls", "Max. Calls"),
    ("filtered", "Filtered"),
    ("not_handled", "Not Handled"),
)
_OUTER_OF_STATE = {
    "handled": "handled",
    "max_calls": "max_calls",
    "filtered": "filtered",
    "cancelled": "filtered",
    "ready": "not_handled",
    "in_progress": "not_handled",
}
CUSTOMER_RESULTS = (
    "NEW",
    "DIALING",
    "CALLBACK",
    "ON CALL",
    "HELD",
    "CALL",
    "MAX CALLS",
    "FILTERED",
    "CANCELLED",
)
RESULT_LABELS = {
    "NEW": "New",
    "DIALING": "Dialing",
    "CALLBACK": "Callback",
    "ON CALL": "On call",
    "HELD": "Held (list disabled)",
}
PERIODS = ("today", "24h", "7d", "custom")
MEDIA = ("all", *detail_rows.MEDIA_TYPES)
# An agent whose call of the campaign ended less than this long ago and who has not
# classified it yet is in wrap-up (after-call work). Campaigns have no wrap-up setting
# and the queue tracker does not know the queue's wrapuptime, so it is one constant.
WRAPUP_S = 30.0
# Asterisk device states of a member busy with a call: in use, busy, ringing, ringing
# while in use, on hold.
_ON_CALL_STATES = frozenset({2, 3, 6, 7, 8})
_DAY_S = 86_400.0
# From this many records on, the pie is read on a connection of its own and reused
# for a while (it reads every record: about 2 s at 1M).
BIG_CAMPAIGN = 20_000
PIE_REUSE_FACTOR = 5.0
# Big campaigns' pie groups by (database, campaign): until when they are reused, and
# the computation under way.
_PIES: dict[tuple[str, int], tuple[float, list[dict[str, Any]]]] = {}
_PIES_RUNNING: dict[tuple[str, int], asyncio.Future[list[dict[str, Any]]]] = {}
# Abandonment figures that took longer than this to read are reused for a while.
SLOW_READ_S = 0.02
_ABANDONMENT: dict[tuple[str, int, float], tuple[float, dict[str, Any]]] = {}


def _pct(part: int, total: int) -> float:
    return round(100.0 * part / total, 2) if total else 0.0


def customer_result(
    state: str,
    attempts: int,
    list_enabled: bool,
    classification: str | None,
    settings: CampaignSettings,
) -> str:
    """The Current Customer Result of a record (see the module's docstring)."""
    if state == "ready":
        if not list_enabled:
            return "HELD"
        item = settings.classification(classification) if classification else None
        if item is not None and item["outcome"] == "callback":
            return "CALLBACK"
        return "DIALING" if attempts > 0 else "NEW"
    return {
        "in_progress": "ON CALL",
        "handled": "CALL",
        "max_calls": "MAX CALLS",
        "filtered": "FILTERED",
        "cancelled": "CANCELLED",
    }.get(state, state.upper())


def numbers_of(row: dict[str, Any], tallies: dict[str, NumberTally]) -> list[dict[str, Any]]:
    """Each of a record's numbers with its attempts and latest result; `next` marks the
    one its next attempt dials (none once the record is no longer dialed)."""
    found = []
    for phone in row["phones"]:
        tally = tallies.get(phone, NumberTally())
        found.append(
            {
                "phone": phone,
                "attempts": tally.attempts,
                "last_result": tally.last_result,
                "next": row["state"] == "ready" and phone == row["phone"],
            }
        )
    return found


def customer_time(row: dict[str, Any], result: str, live_since: float | None) -> dict[str, Any]:
    """The Time column: when the record was handled (settled), or its next attempt."""
    if result == "HELD":
        # Not dialed while its list is disabled, whatever its due time says.
        return {"time": None, "time_kind": "held"}
    if result in ("NEW", "DIALING", "CALLBACK"):
        return {"time": row["next_attempt_at"], "time_kind": "next"}
    if result == "ON CALL":
        return {"time": live_since, "time_kind": "since"}
    if result == "CANCELLED":
        return {"time": row["cancelled_at"], "time_kind": "handled"}
    return {"time": row["handled_at"], "time_kind": "handled"}


def pie(groups: Iterable[dict[str, Any]], settings: CampaignSettings) -> dict[str, Any]:
    """The nested pie from grouped record counts (storage.details.pie_groups)."""
    outer = {key: 0 for key, _ in OUTER}
    inner: dict[str, dict[str, int]] = {key: {} for key, _ in OUTER}
    for g in groups:
        state, count = str(g["state"]), int(g["n"])
        segment = _OUTER_OF_STATE.get(state)
        if segment is None:
            continue
        if segment == "handled":
            part = g["classification"] or "UNCLASSIFIED"
        elif segment == "max_calls":
            part = g["last_result"] or "NOT DIALED"
        elif segment == "filtered":
            part = "CANCELLED" if state == "cancelled" else (g["reason"] or "FILTERED")
        else:
            part = customer_result(
                state,
                1 if g["dialed"] else 0,
                bool(g["list_enabled"]),
                g["classification"],
                settings,
            )
        outer[segment] += count
        inner[segment][part] = inner[segment].get(part, 0) + count
    total = sum(outer.values())
    classified = {c["code"]: c["label"] for c in settings.classifications}
    labels = {
        "handled": classified,
        "max_calls": {},  # technical results are shown as they are (BUSY, NOANSWER)
        "filtered": {"CANCELLED": "Cancelled", "DNC": "Do not call"},
        "not_handled": RESULT_LABELS,
    }
    segments = []
    for key, label in OUTER:
        parts = [
            {
                "key": part,
                "label": labels[key].get(part, part),
                "count": n,
                "pct": _pct(n, total),
            }
            for part, n in sorted(inner[key].items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        segments.append(
            {
                "key": key,
                "label": label,
                "count": outer[key],
                "pct": _pct(outer[key], total),
                "parts": parts,
            }
        )
    return {"total": total, "segments": segments}


class BadQuery(ValueError):
    """A query parameter with its reason; answered 400 naming the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def moment(raw: str | None, field: str) -> float | None:
    """An ISO 8601 date-time with its UTC offset, or epoch seconds; None when absent."""
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(value) or not 0 <= value < 1e11:
            raise BadQuery(field, "must be epoch seconds from 0 to 1e11")
        return value
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise BadQuery(
            field, f"not an ISO 8601 date-time nor epoch seconds: {raw[:40]!r}"
        ) from None
    if parsed.tzinfo is None:
        raise BadQuery(field, "must carry its UTC offset, e.g. 2026-11-23T18:00:00+01:00")
    return parsed.timestamp()


@dataclass(frozen=True)
class Period:
    name: str
    since: float
    until: float  # exclusive

    def to_json(self) -> dict[str, Any]:
        return {"period": self.name, "since": self.since, "until": self.until}


def period(
    name: str | None, since_raw: str | None, until_raw: str | None, now: float, day_start: float
) -> Period:
    """The time window a tab asks for. Named periods end now; custom needs `since`."""
    name = name or "today"
    if name not in PERIODS:
        raise BadQuery("period", "must be one of " + ", ".join(PERIODS))
    since, until = moment(since_raw, "since"), moment(until_raw, "until")
    if name != "custom":
        for field, value in (("since", since), ("until", until)):
            if value is not None:
                raise BadQuery(field, "only with period=custom")
        start = {"today": day_start, "24h": now - _DAY_S, "7d": now - 7 * _DAY_S}[name]
        # Anything stored up to and including now.
        return Period(name, start, now + 1.0)
    if since is None:
        raise BadQuery("since", "period=custom needs since")
    end = until if until is not None else now + 1.0
    if end <= since:
        raise BadQuery("until", "must be after since")
    return Period(name, since, end)


def media_filter(raw: str | None) -> str | None:
    """The media type asked for; None for all."""
    value = raw or "all"
    if value not in MEDIA:
        raise BadQuery("media", "must be one of " + ", ".join(MEDIA))
    return None if value == "all" else value


def agent_counts(
    agents: Sequence[AgentState], in_wrapup: set[str], now: float | None = None
) -> dict[str, int]:
    """Agents of the queue: logged in, and of those: paused, on a call, in wrap-up and
    idle (the rest: free for a call). Wrap-up is the queue's (LastCall + wrap-up time,
    at `now`) when the PBX told one, else: no call, last call of the campaign not
    classified yet (see WRAPUP_S); `in_wrapup` holds those agents' names or interfaces."""
    counts = {"logged_in": 0, "idle": 0, "on_call": 0, "wrapup": 0, "paused": 0}
    for agent in agents:
        if not agent.logged_in:
            continue
        counts["logged_in"] += 1
        if agent.paused:
            counts["paused"] += 1
        elif agent.in_call or agent.status in _ON_CALL_STATES:
            counts["on_call"] += 1
        elif (
            agent.in_wrapup(now)
            if now is not None and agent.wrapup_until > 0
            else agent.name in in_wrapup or agent.interface in in_wrapup
        ):
            counts["wrapup"] += 1
        else:
            counts["idle"] += 1
    return counts


def dial_level(lines: int, agents_working: int) -> float | None:
    """Lines the campaign holds (ringing, waiting or talking) per working agent (logged
    in and not paused): 1.0 is one call per agent, above 1 the campaign overdials. None
    when no agent works (no level to speak of)."""
    if agents_working <= 0:
        return None
    return round(lines / agents_working, 2)


class CampaignDetails:
    """Reads for the details page; it changes nothing (steering uses the campaign API)."""

    def __init__(self, campaigns: CampaignService, dialer: Dialer) -> None:
        self.campaigns = campaigns
        self.dialer = dialer
        self.db = campaigns.db

    async def day_start(self, campaign: Campaign, now: float) -> float:
        return transfer_rows.day_start(now, await self.campaigns.zone(campaign))

    async def pie(self, campaign: Campaign) -> dict[str, Any]:
        """The pie now; for a big campaign, one computed at most PIE_REUSE_FACTOR times
        its own duration ago (every open page asks again at each change), and one
        computation at a time whoever asks."""
        total = sum((await self.campaigns.record_counts(campaign.id)).values())
        if total < BIG_CAMPAIGN:
            groups = await detail_rows.pie_groups(self.db, campaign.id)
            return {"campaign_id": campaign.id, **pie(groups, campaign.settings)}
        key = (self.db.path, campaign.id)
        cached = _PIES.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return {"campaign_id": campaign.id, **pie(cached[1], campaign.settings)}
        running = _PIES_RUNNING.get(key)
        if running is None:
            running = asyncio.ensure_future(self._big_pie_groups(key))
            _PIES_RUNNING[key] = running
            running.add_done_callback(lambda _: _PIES_RUNNING.pop(key, None))
        groups = await asyncio.shield(running)
        return {"campaign_id": campaign.id, **pie(groups, campaign.settings)}

    async def _big_pie_groups(self, key: tuple[str, int]) -> list[dict[str, Any]]:
        started = time.monotonic()
        groups = await detail_rows.pie_groups(self.db, key[1], own_reader=True)
        took = time.monotonic() - started
        _PIES[key] = (time.monotonic() + max(1.0, PIE_REUSE_FACTOR * took), groups)
        return groups

    async def customers(
        self, campaign: Campaign, where: RecordFilter, limit: int, offset: int
    ) -> dict[str, Any]:
        now = self.campaigns.clock()
        rows, total = await detail_rows.customers(self.db, campaign.id, where, now, limit, offset)
        ids = [int(r["id"]) for r in rows]
        live = await detail_rows.live_attempts(self.db, ids)
        tallies = await attempt_rows.number_tallies(self.db, ids)
        items = []
        for row in rows:
            result = customer_result(
                row["state"],
                int(row["attempts"]),
                bool(row["list_enabled"]),
                row["classification"],
                campaign.settings,
            )
            items.append(
                {
                    "id": row["id"],
                    "name": row["name"],
                    "phones": numbers_of(row, tallies.get(int(row["id"]), {})),
                    "result": result,
                    **customer_time(row, result, live.get(int(row["id"]))),
                    "call_result": row["last_result"],
                    "classification": row["classification"],
                    "external_id": row["external_id"],
                    "reason": row["reason"],
                    "state": row["state"],
                    "attempts": row["attempts"],
                    # Records have no dial mode of their own: the campaign's applies.
                    "dial_mode": None,
                }
            )
        return {
            "campaign_id": campaign.id,
            "dial_mode": campaign.settings.dial_mode,
            "customers": items,
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    async def record_attempts(self, campaign: Campaign, record_id: int) -> dict[str, Any] | None:
        found = await detail_rows.record_attempts(self.db, campaign.id, record_id)
        if found is None:
            return None
        return {"campaign_id": campaign.id, "record_id": record_id, "attempts": found}

    async def delivery(
        self, campaign: Campaign, window: Period, media: str | None, limit: int
    ) -> dict[str, Any]:
        found = await detail_rows.delivery(
            self.db, campaign.id, window.since, window.until, media, limit
        )
        return {
            "campaign_id": campaign.id,
            **window.to_json(),
            "media": media or "all",
            **found,
        }

    async def record_status(self, campaign: Campaign, window: Period) -> dict[str, Any]:
        now = self.campaigns.clock()
        loaded = await detail_rows.records_loaded(self.db, campaign.id, window.since, window.until)
        groups = await record_rows.inventory_counts(self.db, campaign.id, now)
        return {
            "campaign_id": campaign.id,
            **window.to_json(),
            "loaded": loaded,
            "loaded_total": sum(int(r["n"]) for r in loaded),
            "inventory": {"at": now, **fold(groups)},
        }

    async def realtime(self, campaign: Campaign) -> dict[str, Any]:
        """The campaign's calls and its queue's agents now, and its abandonment."""
        now = self.campaigns.clock()
        settings = campaign.settings
        pbx = self.dialer.pbxs.get(settings.pbx or self.dialer.default_pbx)
        agents = pbx.agents(settings.queue) if pbx is not None else []
        waiting = len(pbx.queues.waiting(settings.queue)) if pbx is not None else 0
        wrapup = set(await detail_rows.unclassified_since(self.db, campaign.id, now - WRAPUP_S))
        counts = agent_counts(agents, wrapup, now)
        calls = [c for c in self.dialer.live.values() if c.campaign_id == campaign.id]
        phases = {p: sum(1 for c in calls if c.phase == p) for p in ("ringing", "waiting")}
        talking = len(calls) - phases["ringing"] - phases["waiting"]
        today = await self.day_start(campaign, now)
        abandonment = await self._abandonment(campaign.id, now, today)
        return {
            "campaign_id": campaign.id,
            "at": now,
            "day_start": today,
            "status": campaign.status.value,
            "queue": settings.queue,
            "agents": counts,
            "calls": {
                "ringing": phases["ringing"],
                "waiting": phases["waiting"],
                "talking": talking,
                "queue_waiting": waiting,
            },
            "lines": len(calls),
            "max_lines": settings.max_lines,
            "dial_level": dial_level(len(calls), counts["logged_in"] - counts["paused"]),
            "abandonment": {**abandonment, "max_pct": settings.max_abandon_pct},
        }

    async def _abandonment(self, campaign_id: int, now: float, today: float) -> dict[str, Any]:
        """Today's and the last 30 days' abandonment. Both read every attempt of those
        days, and the metrics are asked for at each change on every open page: when
        reading took long, the figures are reused for a few times as long."""
        key = (self.db.path, campaign_id, today)
        cached = _ABANDONMENT.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        started = time.monotonic()
        found = {
            "today": await detail_rows.abandonment_since(self.db, campaign_id, today),
            "30d": (await attempt_rows.abandonment(self.db, campaign_id, now))["30d"],
        }
        took = time.monotonic() - started
        if took > SLOW_READ_S:
            _ABANDONMENT[key] = (time.monotonic() + PIE_REUSE_FACTOR * took, found)
        return found
