"""Why a campaign is not dialing right now, in a supervisor's words.

Built from what the dialer itself looks at before it places a call, so the answer is
the dialer's real reason, not a guess. Each reason has a stable `code` for programs and
a `text` for people.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pbx_dialer.campaigns import hours, timezones
from pbx_dialer.campaigns.model import Campaign, CampaignStatus
from pbx_dialer.dialing import compliance
from pbx_dialer.dialing.engine import Dialer
from pbx_dialer.pacing import CAP_ALERT, AbandonmentCap, PacingPolicy
from pbx_dialer.pacing.cap import counts_text, span_text
from pbx_dialer.storage import dnc as dnc_rows
from pbx_dialer.storage import hour_codes as hour_code_rows
from pbx_dialer.storage.db import Database


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def reason(code: str, text: str) -> dict[str, str]:
    return {"code": code, "text": text}


# Reasons that slow a campaign down without stopping its calls.
PACE_CODES = ("abandon_cap",)


def cap_reason(policy: PacingPolicy | None) -> dict[str, str] | None:
    """The campaign's abandonment cap (pbx_dialer.pacing.cap), by its rule: at the cap
    (the campaign also shows the alert), or holding a power or predictive campaign to
    one call per idle agent near it; None when it does neither."""
    if not isinstance(policy, AbandonmentCap):
        return None
    at_cap = policy.at_cap()
    if at_cap is not None:
        return reason(
            "abandon_cap",
            f"{CAP_ALERT} ({span_text(policy, at_cap)}): {counts_text(policy, at_cap)}: "
            "one call per idle agent, no extra calls, until the rate is under the cap",
        )
    if not policy.overdials or not policy.holds_to_progressive():
        return None
    state = policy.binding()
    return reason(
        "abandon_cap",
        f"abandonment cap ({span_text(policy, state)}): {counts_text(policy, state)}: "
        "one call per idle agent until more answers come",
    )


async def campaign_reasons(
    db: Database, dialer: Dialer, campaign: Campaign, now: float
) -> list[dict[str, str]]:
    reasons: list[dict[str, str]] = []
    settings = campaign.settings
    status = campaign.status
    if status is CampaignStatus.DRAFT:
        missing = settings.missing_to_start()
        text = "draft: not started yet"
        reasons.append(
            reason("draft", text + (f" (missing {', '.join(missing)})" if missing else ""))
        )
    elif status is CampaignStatus.PAUSED:
        suspension = campaign.suspension
        if suspension is not None:
            until = f"until {_when(suspension.until)}" if suspension.until else "until resumed"
            reasons.append(reason("suspended", f"suspended {until}"))
        else:
            last = await db.fetchone(
                "SELECT actor, at, detail FROM campaign_actions WHERE campaign_id = ? "
                "AND action IN ('pause', 'suspend') ORDER BY id DESC LIMIT 1",
                (campaign.id,),
            )
            who = f" by {last['actor']} at {_when(last['at'])}" if last else ""
            detail = f" ({last['detail']})" if last and last["detail"] else ""
            reasons.append(reason("paused", f"paused{who}{detail}"))
    elif status in (CampaignStatus.STOPPED, CampaignStatus.COMPLETED):
        reasons.append(reason(status.value, f"{status.value}: it will not dial again"))
    pbx_name = settings.pbx or dialer.default_pbx
    pbx = dialer.pbxs.get(pbx_name)
    if pbx is None:
        reasons.append(reason("pbx_unknown", f"no PBX named {pbx_name!r} is configured"))
    elif not pbx.ready:
        reasons.append(reason("pbx_down", pbx.describe()))
    else:
        agents = pbx.agents(settings.queue)
        logged_in = [a for a in agents if a.logged_in]
        if settings.dial_mode == "agentless":
            pass  # a message campaign needs no agent: the message is the call
        elif not logged_in:
            reasons.append(
                reason("no_agents", f"no agent is logged in to queue {settings.queue!r}")
            )
        elif not any(a.idle_at(now) for a in agents):
            paused = sum(1 for a in logged_in if a.paused)
            # In wrap-up, the queue gives them no call until it is over.
            wrapup = sum(1 for a in logged_in if a.in_wrapup(now))
            aside = [f"{paused} paused"] if paused else []
            aside += [f"{wrapup} in wrap-up"] if wrapup else []
            reasons.append(
                reason(
                    "agents_busy",
                    f"all {len(logged_in)} agents of queue {settings.queue!r} are busy"
                    + (f" ({', '.join(aside)})" if aside else ""),
                )
            )
        if dialer.inbound_waiting_too_long(campaign, pbx, now):
            reasons.append(
                reason(
                    "inbound_waiting",
                    f"inbound callers have waited more than {settings.inbound_wait_limit_s} s "
                    f"in queue {settings.queue!r}: they go first",
                )
            )
        held = dialer.held_until(pbx.name)
        if held > now:
            reasons.append(reason("pbx_refusing", f"{pbx.name} refused the last call; retrying"))
    if settings.cc_hour_code_id:
        codes = await hour_code_rows.get_many(db, {settings.cc_hour_code_id})
        centre = codes.get(settings.cc_hour_code_id)
        if centre is not None:
            verdict = hours.check(centre, datetime.fromtimestamp(now, UTC), role="call_centre")
            if not verdict.open:
                reasons.append(reason("call_centre_closed", verdict.reason))
    if status is CampaignStatus.ACTIVE:
        capped = cap_reason(dialer.policy_of(campaign.id))
        if capped is not None:
            reasons.append(capped)
    live = sum(1 for c in dialer.live.values() if c.campaign_id == campaign.id)
    if live >= settings.max_lines:
        reasons.append(reason("throttle", f"all {settings.max_lines} lines are in use"))
    row = await db.fetchone(
        "SELECT count(*) AS ready, sum(next_attempt_at <= ?) AS due, "
        "min(CASE WHEN next_attempt_at > ? THEN next_attempt_at END) AS next_due "
        "FROM records WHERE campaign_id = ? AND state = 'ready'",
        (now, now, campaign.id),
    )
    ready, due_now, next_due = (
        (row["ready"], row["due"] or 0, row["next_due"]) if row else (0, 0, None)
    )
    if ready == 0:
        reasons.append(reason("no_records", "no record is left to dial"))
    elif due_now == 0 and next_due is not None:
        reasons.append(reason("retry_not_due", f"no record is due before {_when(next_due)}"))
    return reasons


def as_json(reasons: list[dict[str, str]], live_calls: int) -> dict[str, Any]:
    """`placing_calls` is false when something stops new calls right now (a reason
    that only slows them, like the abandonment cap, does not)."""
    stopping = [r for r in reasons if r["code"] not in PACE_CODES]
    return {"placing_calls": not stopping, "live_calls": live_calls, "reasons": reasons}


async def record_reasons(
    db: Database, dialer: Dialer, campaign: Campaign, record_id: int, now: float
) -> list[dict[str, str]] | None:
    """Why this record is not being dialed now (empty: it is, or it is next in line).
    None when the campaign has no such record."""
    row = await db.fetchone(
        "SELECT r.*, l.name AS list_name FROM records r "
        "LEFT JOIN contact_lists l ON l.id = r.list_id WHERE r.id = ? AND r.campaign_id = ?",
        (record_id, campaign.id),
    )
    if row is None:
        return None
    state = row["state"]
    if state == "in_progress":
        return []
    if state == "handled":
        return [reason("handled", "handled: no more attempts needed")]
    if state == "max_calls":
        return [
            reason(
                "attempts_exhausted",
                f"attempts exhausted ({row['attempts']} made, last result {row['last_result']})",
            )
        ]
    if state == "filtered":
        return [reason("filtered", f"filtered ({row['reason'] or 'not callable'})")]
    if state == "cancelled":
        return [reason("cancelled", f"cancelled ({row['reason'] or 'by a supervisor'})")]
    reasons: list[dict[str, str]] = []
    if not row["list_enabled"]:
        reasons.append(reason("list_disabled", f"its list {row['list_name']!r} is disabled"))
    if await dnc_rows.is_blocked(db, campaign.id, row["phone"]):
        reasons.append(reason("dnc", f"{row['phone']} is on a do-not-call list"))
    if row["next_attempt_at"] > now:
        reasons.append(
            reason("retry_not_due", f"next attempt not due until {_when(row['next_attempt_at'])}")
        )
    reasons.extend(await _hours_reasons(db, campaign, row["timezone"], row["phone"], now))
    # The dial gate's own decision for the rules pack, not a second reading of it.
    verdict = await compliance.check(db, campaign, record_id, row["phone"], now)
    ruled = verdict.record.get("rules")
    if isinstance(ruled, dict) and not ruled.get("allowed", True):
        reasons.append(reason("calling_rules", str(ruled["reason"])))
    for item in await campaign_reasons(db, dialer, campaign, now):
        if item["code"] not in ("no_records", "retry_not_due"):
            reasons.append(item)
    return reasons


async def _hours_reasons(
    db: Database, campaign: Campaign, zone: str | None, phone: str, now: float
) -> list[dict[str, str]]:
    settings = campaign.settings
    ids = {i for i in (settings.cc_hour_code_id, settings.consumer_hour_code_id) if i}
    if not ids:
        return []
    codes = await hour_code_rows.get_many(db, ids)
    moment = datetime.fromtimestamp(now, UTC)
    found = []
    consumer = codes.get(settings.consumer_hour_code_id or 0)
    if consumer is not None:
        verdict = hours.check(
            consumer, moment, zone=zone, candidates=timezones.candidate_zones(phone)
        )
        if not verdict.open:
            found.append(reason("consumer_hours", verdict.reason))
    centre = codes.get(settings.cc_hour_code_id or 0)
    if centre is not None:
        verdict = hours.check(centre, moment, role="call_centre")
        if not verdict.open:
            found.append(reason("call_centre_closed", verdict.reason))
    return found
