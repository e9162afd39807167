"""A campaign's inventory: how many records are in each state and when the ready ones
come due. Pure: the storage hands over grouped counts, the caller hands over `now`.

States (every record is in exactly one):
  not_handled  ready, never dialed, due now
  retry_due    ready, dialed before, due now
  scheduled    ready, next attempt in the future
  in_progress, handled, max_calls, filtered, cancelled  as stored

Bands (what the dialer still has to do):
  completed    handled + max_calls + filtered + cancelled: nothing more will be dialed
  ready_now    ready and due, in an enabled list
  due_0_15     ready, due in (0, 15] minutes, in an enabled list
  due_15_30    ready, due in (15, 30] minutes, in an enabled list
  due_30_plus  ready, due later than 30 minutes, in an enabled list
  in_progress  on a call now
  list_disabled  ready but in a disabled list (kept, not dialed)
completed + ready_now + due_* + in_progress + list_disabled = total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FINAL_STATES = ("handled", "max_calls", "filtered", "cancelled")
STATES = ("not_handled", "retry_due", "scheduled", "in_progress", *FINAL_STATES)
BANDS = (
    "completed",
    "ready_now",
    "due_0_15",
    "due_15_30",
    "due_30_plus",
    "in_progress",
    "list_disabled",
)
BAND_EDGES_S = (15 * 60, 30 * 60)


@dataclass(frozen=True, slots=True)
class StateCount:
    """One group of the storage's count: records of one state and list flag."""

    state: str
    list_enabled: bool
    total: int
    fresh_due: int  # never dialed and due now
    due_now: int
    due_0_15: int
    due_15_30: int


def fold(groups: list[StateCount]) -> dict[str, Any]:
    states = dict.fromkeys(STATES, 0)
    bands = dict.fromkeys(BANDS, 0)
    for g in groups:
        if g.state == "ready":
            states["not_handled"] += g.fresh_due
            states["retry_due"] += g.due_now - g.fresh_due
            states["scheduled"] += g.total - g.due_now
            if not g.list_enabled:
                bands["list_disabled"] += g.total
                continue
            bands["ready_now"] += g.due_now
            bands["due_0_15"] += g.due_0_15
            bands["due_15_30"] += g.due_15_30
            bands["due_30_plus"] += g.total - g.due_now - g.due_0_15 - g.due_15_30
        elif g.state == "in_progress":
            states["in_progress"] += g.total
            bands["in_progress"] += g.total
        else:
            states[g.state] = states.get(g.state, 0) + g.total
            bands["completed"] += g.total
    return {"total": sum(states.values()), "bands": bands, "states": states}
