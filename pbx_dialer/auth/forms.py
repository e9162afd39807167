"""Reading a user's settings from a JSON body or the command line. Pure: every problem
is named by field, nothing is stored here."""

from __future__ import annotations

import re
from typing import Any

from pbx_dialer.auth.model import Role
from pbx_dialer.auth.passwords import WeakPassword, check_strength

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")
# A queue member interface as Asterisk names it, e.g. PJSIP/7001 or Local/7001@agents.
INTERFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*/[A-Za-z0-9_.@+-]{1,80}\Z")
FIELDS = frozenset(
    {
        "username",
        "password",
        "display_name",
        "role",
        "all_campaigns",
        "campaign_ids",
        "may_list_campaigns",
        "agent_interface",
        "disabled",
    }
)


def username_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return "is required"
    if not USERNAME_RE.match(value):
        return "1-64 letters, digits and . _ @ - (starting with a letter or digit)"
    return None


def password_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "is required (a string)"
    try:
        check_strength(value)
    except WeakPassword as exc:
        return str(exc)
    return None


def parse_user(body: object, *, creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of a user to create (all required ones) or to change (any subset),
    and the problems found, by field."""
    if not isinstance(body, dict):
        return {}, {"body": "must be a JSON object"}
    found: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in sorted(set(body) - FIELDS):
        errors[key] = "unknown field"
    if creating or "username" in body:
        if not creating:
            errors["username"] = "cannot be changed"
        elif (problem := username_problem(body.get("username"))) is not None:
            errors["username"] = problem
        else:
            found["username"] = body["username"]
    if creating or "password" in body:
        if not creating:
            errors["password"] = "is changed with POST /api/users/{id}/password"
        elif (problem := password_problem(body.get("password"))) is not None:
            errors["password"] = problem
        else:
            found["password"] = body["password"]
    if creating or "role" in body:
        role = body.get("role")
        if not isinstance(role, str) or role not in {r.value for r in Role}:
            errors["role"] = "must be one of " + ", ".join(r.value for r in Role)
        else:
            found["role"] = Role(role)
    if "display_name" in body:
        name = body["display_name"]
        if not isinstance(name, str) or len(name) > 80:
            errors["display_name"] = "must be text of at most 80 characters"
        else:
            found["display_name"] = name.strip()
    for flag in ("all_campaigns", "may_list_campaigns", "disabled"):
        if flag in body:
            if not isinstance(body[flag], bool):
                errors[flag] = "must be true or false"
            else:
                found[flag] = body[flag]
    if "campaign_ids" in body:
        ids = body["campaign_ids"]
        if (
            not isinstance(ids, list)
            or len(ids) > 10_000
            or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)
        ):
            errors["campaign_ids"] = "must be a list of campaign ids"
        else:
            found["campaign_ids"] = frozenset(ids)
    if "agent_interface" in body:
        interface = body["agent_interface"]
        if interface is None or interface == "":
            found["agent_interface"] = None
        elif not isinstance(interface, str) or not INTERFACE_RE.match(interface):
            errors["agent_interface"] = "must be a queue member interface like PJSIP/7001"
        else:
            found["agent_interface"] = interface
    return found, errors
