"""When a live campaign pauses or unpauses by itself, and how long a failing CRM waits.
Pure: no I/O, no clock of its own."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# A failing CRM is retried after poll_s * 2^failures, at most this long.
MAX_BACKOFF_S = 300.0


class PauseReason(enum.StrEnum):
    """Why the feed holds its campaign paused (stored in live_feeds.auto_paused)."""

    NO_AGENTS = "no-agents"
    NO_RECORDS = "no-records"
    OUTSIDE_WINDOW = "outside-window"


REASON_WORDS = {
    PauseReason.NO_AGENTS: "no agents logged in to its queue",
    PauseReason.NO_RECORDS: "no new records to dial",
    PauseReason.OUTSIDE_WINDOW: "no record inside its calling window",
}


@dataclass(frozen=True, slots=True)
class Situation:
    """What the feed knows of its campaign at one instant."""

    status: str  # the campaign's status
    auto_paused: str  # live_feeds.auto_paused: "" or the PauseReason that paused it
    last_action_by_feed: bool  # the campaign's latest control action is the feed's own
    agents_logged_in: int | None  # None: the PBX is not connected, so unknown
    has_ready: bool  # a record is ready to dial now (new, or a retry that is due)
    # None until calling windows exist (pbx_dialer/campaigns/hours.py): never pauses.
    any_in_window: bool | None = None


class Move(enum.Enum):
    NOTHING = "nothing"
    PAUSE = "pause"  # pause with `reason`
    PLAY = "play"  # unpause: the reason it paused for is gone
    RECORD = "record"  # only store `reason` (paused by the feed, for another reason now)
    FORGET = "forget"  # clear auto_paused: someone else controls the campaign now


@dataclass(frozen=True, slots=True)
class Decision:
    move: Move
    reason: PauseReason | None = None


def pause_reason(s: Situation) -> PauseReason | None:
    """The first reason to hold the campaign, or None when it may dial."""
    if s.agents_logged_in is not None and s.agents_logged_in <= 0:
        return PauseReason.NO_AGENTS
    if not s.has_ready:
        return PauseReason.NO_RECORDS
    if s.any_in_window is False:
        return PauseReason.OUTSIDE_WINDOW
    return None


def decide(s: Situation) -> Decision:
    """The feed pauses only an Active campaign, and unpauses only a campaign it paused
    itself and that nobody touched since: a supervisor's Pause or Stop always wins."""
    if s.status == "active":
        if s.agents_logged_in is None:
            return Decision(Move.FORGET if s.auto_paused else Move.NOTHING)
        reason = pause_reason(s)
        if reason is not None:
            return Decision(Move.PAUSE, reason)
        return Decision(Move.FORGET if s.auto_paused else Move.NOTHING)
    if s.status != "paused" or not s.auto_paused:
        return Decision(Move.FORGET if s.auto_paused else Move.NOTHING)
    if not s.last_action_by_feed:
        # Paused by the feed, then a supervisor acted on it: theirs now.
        return Decision(Move.FORGET)
    if s.agents_logged_in is None:
        return Decision(Move.NOTHING)
    reason = pause_reason(s)
    if reason is None:
        return Decision(Move.PLAY)
    if reason.value != s.auto_paused:
        return Decision(Move.RECORD, reason)
    return Decision(Move.NOTHING)


def backoff_s(poll_s: float, failures: int) -> float:
    """Delay before the next poll after `failures` failures in a row."""
    if failures <= 0:
        return poll_s
    return min(poll_s * 2.0 ** min(failures, 30), max(MAX_BACKOFF_S, poll_s))
