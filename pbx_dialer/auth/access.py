"""Who may use which route: one table, default deny.

Each route of the router (method and path template) has one rule: what the user's role
must allow (`Need`) and how the route's object is checked against the user's Campaigns
profile (`Scope`). A route missing from the table is refused to everyone, so a route
added without an entry fails the access-matrix test instead of leaking.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pbx_dialer.auth.model import Role, User


class Need(StrEnum):
    PUBLIC = "public"  # no log-in: the log-in page, health check, static files
    USER = "user"  # any logged-in user
    VIEW = "view"  # read: admin, supervisor, viewer
    STEER = "steer"  # change campaigns and their records: admin, supervisor
    ADMIN = "admin"  # users, hour codes, the global DNC list
    AGENT = "agent"  # the agent desk: agents (their own interface), supervisors, admins
    CLASSIFY = "classify"  # agents (their own calls), supervisors, admins


class Scope(StrEnum):
    NONE = "none"  # not about a campaign
    CAMPAIGN = "campaign"  # {id} is a campaign: hidden ones answer 404
    ATTEMPT = "attempt"  # {id} is an attempt of some campaign
    IMPORT = "import"  # {id} is an import into a campaign (or a project)
    ALL = "all"  # spans campaigns (projects, creating one): needs the all-campaigns profile
    LIST = "list"  # the campaign list: needs the Campaigns privilege; filtered by the handler
    FILTERED = "filtered"  # shows several campaigns: the handler filters to the profile
    AGENT_SELF = "agent_self"  # {agent} is an interface: an agent acts only as themself


_ROLES: dict[Need, frozenset[Role]] = {
    Need.USER: frozenset(Role),
    Need.VIEW: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.VIEWER}),
    Need.STEER: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Need.ADMIN: frozenset({Role.ADMIN}),
    Need.AGENT: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}),
    Need.CLASSIFY: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}),
}


@dataclass(frozen=True)
class Rule:
    need: Need
    scope: Scope = Scope.NONE

    def role_allows(self, role: Role) -> bool:
        return self.need is Need.PUBLIC or role in _ROLES[self.need]


PUBLIC = Rule(Need.PUBLIC)
C = "/api/campaigns/{id}"
_VIEW_C = Rule(Need.VIEW, Scope.CAMPAIGN)
_STEER_C = Rule(Need.STEER, Scope.CAMPAIGN)

RULES: dict[tuple[str, str], Rule] = {
    # Log-in, health, documentation, static files.
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/api/openapi.json"): PUBLIC,
    ("POST", "/logout"): Rule(Need.USER),
    ("GET", "/api/me"): Rule(Need.USER),
    # Live status page, its data and the websocket (messages filtered per user).
    ("GET", "/"): Rule(Need.VIEW, Scope.FILTERED),
    ("GET", "/api/status"): Rule(Need.VIEW, Scope.FILTERED),
    ("GET", "/ws"): Rule(Need.USER, Scope.FILTERED),
    # Campaigns.
    ("GET", "/api/campaigns"): Rule(Need.VIEW, Scope.LIST),
    ("POST", "/api/campaigns"): Rule(Need.STEER, Scope.ALL),
    ("GET", C): _VIEW_C,
    ("PATCH", C): _STEER_C,
    ("POST", f"{C}/clone"): Rule(Need.STEER, Scope.ALL),
    ("POST", f"{C}/suspend"): _STEER_C,
    ("POST", f"{C}/resume"): _STEER_C,
    ("POST", f"{C}/play"): _STEER_C,
    ("POST", f"{C}/pause"): _STEER_C,
    ("POST", f"{C}/stop"): _STEER_C,
    ("GET", f"{C}/history"): _VIEW_C,
    ("GET", f"{C}/why"): _VIEW_C,
    ("GET", f"{C}/stats"): _VIEW_C,
    ("GET", f"{C}/records/{{record_id}}/why"): _VIEW_C,
    ("GET", f"{C}/records"): _VIEW_C,
    ("POST", f"{C}/records"): _STEER_C,
    ("POST", f"{C}/records/cancel"): _STEER_C,
    ("GET", f"{C}/attempts"): _VIEW_C,
    ("GET", f"{C}/inventory"): _VIEW_C,
    ("GET", f"{C}/transfers"): _VIEW_C,
    ("GET", f"{C}/lists"): _VIEW_C,
    ("POST", f"{C}/lists"): _STEER_C,
    ("PATCH", f"{C}/lists/{{list_id}}"): _STEER_C,
    ("GET", f"{C}/feed"): _VIEW_C,
    ("PUT", f"{C}/feed"): _STEER_C,
    ("DELETE", f"{C}/feed"): _STEER_C,
    ("POST", f"{C}/imports"): _STEER_C,
    ("GET", "/campaigns/{id}/import"): _STEER_C,
    # A campaign's own do-not-call list.
    ("GET", f"{C}/dnc"): _VIEW_C,
    ("POST", f"{C}/dnc"): _STEER_C,
    ("POST", f"{C}/dnc/remove"): _STEER_C,
    ("GET", f"{C}/dnc.csv"): _VIEW_C,
    ("POST", f"{C}/dnc.csv"): _STEER_C,
    ("GET", f"{C}/dnc/{{phone}}"): _VIEW_C,
    ("DELETE", f"{C}/dnc/{{phone}}"): _STEER_C,
    # The global do-not-call list: phone numbers of people, not campaign data.
    ("GET", "/api/dnc"): Rule(Need.STEER),
    ("POST", "/api/dnc"): Rule(Need.ADMIN),
    ("POST", "/api/dnc/remove"): Rule(Need.ADMIN),
    ("GET", "/api/dnc.csv"): Rule(Need.STEER),
    ("POST", "/api/dnc.csv"): Rule(Need.ADMIN),
    ("GET", "/api/dnc/{phone}"): Rule(Need.STEER),
    ("DELETE", "/api/dnc/{phone}"): Rule(Need.ADMIN),
    # Attempts and imports belong to a campaign.
    ("POST", "/api/attempts/{id}/classify"): Rule(Need.CLASSIFY, Scope.ATTEMPT),
    ("GET", "/api/imports/{id}"): Rule(Need.VIEW, Scope.IMPORT),
    ("GET", "/api/imports/{id}/rejects.csv"): Rule(Need.VIEW, Scope.IMPORT),
    # Projects route records to any campaign: only for the all-campaigns profile.
    ("GET", "/api/projects"): Rule(Need.VIEW, Scope.ALL),
    ("POST", "/api/projects"): Rule(Need.STEER, Scope.ALL),
    ("GET", "/api/projects/{id}"): Rule(Need.VIEW, Scope.ALL),
    ("PATCH", "/api/projects/{id}"): Rule(Need.STEER, Scope.ALL),
    ("POST", "/api/projects/{id}/imports"): Rule(Need.STEER, Scope.ALL),
    # Hour codes: settings of the call centre.
    ("GET", "/api/hour-codes"): Rule(Need.VIEW),
    ("POST", "/api/hour-codes"): Rule(Need.ADMIN),
    ("GET", "/api/hour-codes/{id}"): Rule(Need.VIEW),
    ("PATCH", "/api/hour-codes/{id}"): Rule(Need.ADMIN),
    ("DELETE", "/api/hour-codes/{id}"): Rule(Need.ADMIN),
    ("GET", "/api/hour-codes/{id}/check"): Rule(Need.VIEW),
    # Campaign details page and its data (http/details.py).
    ("GET", "/campaigns/{id}"): _VIEW_C,
    ("GET", f"{C}/pie"): _VIEW_C,
    ("GET", f"{C}/customers"): _VIEW_C,
    ("GET", f"{C}/records/{{record_id}}/attempts"): _VIEW_C,
    ("GET", f"{C}/delivery"): _VIEW_C,
    ("GET", f"{C}/record-status"): _VIEW_C,
    ("GET", f"{C}/realtime"): _VIEW_C,
    ("GET", "/api/attempts/{id}/recording"): Rule(Need.VIEW, Scope.ATTEMPT),
    # Campaigns dashboard and table (http/pages.py, http/dashboard.py): the campaign list.
    ("GET", "/campaigns"): Rule(Need.VIEW, Scope.LIST),
    ("GET", "/campaigns/table"): Rule(Need.VIEW, Scope.LIST),
    ("GET", "/campaigns/new"): Rule(Need.STEER, Scope.ALL),
    ("GET", "/campaigns/{id}/edit"): _STEER_C,
    ("GET", "/ws/dashboard"): Rule(Need.VIEW, Scope.LIST),
    ("GET", "/api/dashboard"): Rule(Need.VIEW, Scope.LIST),
    # The agent desk (http/agents.py): {agent} is the interface with ~ for the slash.
    ("GET", "/agent"): Rule(Need.AGENT),
    ("GET", "/api/agents/{agent}/desk"): Rule(Need.AGENT, Scope.AGENT_SELF),
    ("POST", "/api/agents/{agent}/next"): Rule(Need.AGENT, Scope.AGENT_SELF),
    ("POST", "/api/agents/{agent}/accept"): Rule(Need.AGENT, Scope.AGENT_SELF),
    ("POST", "/api/agents/{agent}/skip"): Rule(Need.AGENT, Scope.AGENT_SELF),
    # Users (admins only).
    ("GET", "/admin/users"): Rule(Need.ADMIN),
    ("GET", "/api/users"): Rule(Need.ADMIN),
    ("POST", "/api/users"): Rule(Need.ADMIN),
    ("GET", "/api/users/{id}"): Rule(Need.ADMIN),
    ("PATCH", "/api/users/{id}"): Rule(Need.ADMIN),
    ("POST", "/api/users/{id}/password"): Rule(Need.ADMIN),
    ("GET", "/api/users/{id}/tokens"): Rule(Need.ADMIN),
    ("POST", "/api/users/{id}/tokens"): Rule(Need.ADMIN),
    ("DELETE", "/api/users/{id}/tokens/{token_id}"): Rule(Need.ADMIN),
}


def rule_for(method: str, template: str) -> Rule | None:
    """The rule of a route; None when the route has none (it is then refused)."""
    return RULES.get(("GET" if method == "HEAD" else method, template))


def agent_in_url(segment: str) -> str:
    """`PJSIP~7001` in a URL is the interface `PJSIP/7001`."""
    return segment.replace("~", "/", 1)


def scope_hides(user: User, scope: Scope, agent: str | None = None) -> str | None:
    """Why a route that needs no look-up is refused to this user (403), or None."""
    if (
        scope is Scope.AGENT_SELF
        and user.role is Role.AGENT
        and (agent is None or agent_in_url(agent) != user.agent_interface)
    ):
        return "an agent may act only as their own agent interface"
    if scope is Scope.ALL and not user.all_campaigns:
        return "your Campaigns profile does not cover every campaign"
    if scope is Scope.LIST and not user.may_list_campaigns:
        return "you do not have the Campaigns privilege (the campaign list)"
    return None
