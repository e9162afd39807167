"""Who a user is and what they may see.

Roles, from most to least power: an admin manages settings, users and roles; a supervisor
watches and steers campaigns; an agent takes calls on the agent page; a viewer only looks.
A user's Campaigns profile limits which campaigns they see at all (all of them, or a
list), and the Campaigns privilege decides whether they may see the campaign list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    VIEWER = "viewer"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    # The Campaigns profile: every campaign, or only those listed.
    all_campaigns: bool = True
    campaign_ids: frozenset[int] = field(default_factory=frozenset)
    # The Campaigns privilege: whether the campaign list (dashboard, table) is shown at all.
    may_list_campaigns: bool = True
    # The agent's queue member interface (e.g. "PJSIP/7001"), for agents.
    agent_interface: str | None = None
    display_name: str = ""
    # The API token's name when the request came with one (None: a log-in session).
    token_name: str | None = None

    @property
    def actor(self) -> str:
        """Who did it, for the audit trail (histories, classified_by): the logged-in user,
        or the user's named API token; never anything the client says."""
        if self.token_name is None:
            return self.username
        return f"{self.username} (token {self.token_name})"

    def may_see(self, campaign_id: int) -> bool:
        """Whether this user's Campaigns profile includes the campaign."""
        return self.all_campaigns or campaign_id in self.campaign_ids

    @property
    def may_steer(self) -> bool:
        """Start, pause, stop, suspend, edit campaigns and their records."""
        return self.role in (Role.ADMIN, Role.SUPERVISOR)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
