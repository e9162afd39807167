"""Which live messages and which parts of a snapshot a user may see. Pure.

A message about a campaign goes only to users whose Campaigns profile includes it.
Messages without a campaign are decided by their type: the PBX link state is for
everyone; agent activity for supervisors, admins and the agent themself; a type not
known here only for admins (fail closed: a new message type leaks nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pbx_dialer.auth.model import Role, User

_FOR_EVERYONE = frozenset({"pbx", "pbx_warning", "snapshot_done"})
_AGENT_TYPES = frozenset({"agent", "agent_left"})
# Where a message names its campaign: at the top, or inside its one object.
_NESTED = ("campaign", "feed", "import", "call", "attempt", "transfer")


def campaign_of(message: dict[str, Any]) -> int | None:
    """The campaign a message is about, if it names one."""
    if isinstance(message.get("campaign_id"), int):
        return int(message["campaign_id"])
    for key in _NESTED:
        inner = message.get(key)
        if isinstance(inner, dict):
            if isinstance(inner.get("campaign_id"), int):
                return int(inner["campaign_id"])
            if key == "campaign" and isinstance(inner.get("id"), int):
                return int(inner["id"])
    return None


def may_receive(user: User, message: dict[str, Any]) -> bool:
    kind = message.get("type")
    campaign_id = campaign_of(message)
    if campaign_id is not None:
        return user.may_see(campaign_id)
    if kind == "import":
        # An import into a project (no campaign) may have fed any campaign.
        return user.all_campaigns and user.role is not Role.AGENT
    if kind in _FOR_EVERYONE:
        return True
    if kind in _AGENT_TYPES:
        return user.may_steer or (
            user.agent_interface is not None and message.get("interface") == user.agent_interface
        )
    if kind == "call_cancelled":
        # One naming only its attempt (none do now): whose campaign it was is unknown.
        return user.all_campaigns
    return user.is_admin


def visible(user: User, items: Iterable[dict[str, Any]], key: str = "campaign_id") -> list[Any]:
    """The items (dicts naming their campaign under `key`) this user may see."""
    return [item for item in items if isinstance(item.get(key), int) and user.may_see(item[key])]
