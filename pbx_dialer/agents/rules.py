"""The agent desk's rules, pure: when a reservation runs out, when a callback promised by
one agent goes to anyone, and how an agent's interface appears in a URL. No I/O, no
clock: the caller gives `now`."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A reservation the agent neither accepts nor skips is given back after this long, so a
# record is never held by a page left open (with an auto-dial timer it is dialed first).
RESERVATION_MAX_S = 600.0
# A record an agent skipped is not offered to that same agent again for this long.
SKIP_EXCLUDE_S = 300.0
# A callback promised by one agent waits this long after it is due for that agent;
# then anyone may take it (the agent was away or never idle meanwhile).
AGENT_CALLBACK_WAIT_S = 900.0

# Queue member interfaces: tech/resource, e.g. PJSIP/7001 or Local/7001@sim-agents.
_INTERFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}/[A-Za-z0-9_.@+-]{1,80}\Z")


class BadInterface(ValueError):
    """Not an agent interface the desk knows how to dial."""


def interface_from_url(text: str) -> str:
    """`PJSIP~7001` in a URL path is the interface `PJSIP/7001` (a slash cannot be in
    one path segment); the slash form is accepted too, e.g. in a query parameter."""
    interface = text.replace("~", "/", 1)
    if not _INTERFACE_RE.match(interface):
        raise BadInterface(f"{text!r} is not an agent interface such as PJSIP~7001 (tech~resource)")
    return interface


def interface_to_url(interface: str) -> str:
    return interface.replace("/", "~", 1)


def autodial_at(reserved_at: float, autodial_s: int) -> float | None:
    """When a reservation is dialed by itself (None: the campaign has no timer)."""
    return reserved_at + autodial_s if autodial_s > 0 else None


def countdown(now: float, autodial: float | None) -> float | None:
    """Seconds left before the auto-dial, never negative (None: no timer)."""
    return None if autodial is None else max(0.0, autodial - now)


@dataclass(frozen=True)
class ReservationView:
    """What the desk knows of a reservation when it sweeps."""

    reserved_at: float
    autodial_at: float | None
    agent_present: bool  # the agent is logged in to the campaign's queue
    campaign_open: bool  # the campaign is active and still in preview mode


def sweep_action(view: ReservationView, now: float) -> str:
    """What to do with a reservation now: "dial" (its timer ran out), "release" (the
    agent or the campaign went away, or it is too old), or "keep"."""
    if not view.campaign_open or not view.agent_present:
        return "release"
    if view.autodial_at is not None and now >= view.autodial_at:
        return "dial"
    if now - view.reserved_at >= RESERVATION_MAX_S:
        return "release"
    return "keep"


def callback_for_anyone(now: float, due_at: float) -> bool:
    """Whether a callback promised by one agent may now go to anyone."""
    return now >= due_at + AGENT_CALLBACK_WAIT_S
