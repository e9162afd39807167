"""Which live messages a user gets (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from pbx_dialer.auth.model import Role, User
from pbx_dialer.auth.visibility import campaign_of, may_receive, visible

ADMIN = User(1, "root", Role.ADMIN)
SUP_A = User(2, "sup", Role.SUPERVISOR, all_campaigns=False, campaign_ids=frozenset({1}))
VIEWER_ALL = User(3, "viewer", Role.VIEWER)
AGENT_A = User(4, "agent", Role.AGENT, False, frozenset({1}), agent_interface="PJSIP/7001")


@pytest.mark.parametrize(
    ("message", "campaign"),
    [
        ({"type": "call", "campaign_id": 2, "attempt_id": 9}, 2),
        ({"type": "campaign", "campaign": {"id": 2, "name": "B"}}, 2),
        ({"type": "live_feed", "feed": {"campaign_id": 2}}, 2),
        ({"type": "import", "import": {"campaign_id": 2, "project_id": None}}, 2),
        ({"type": "pbx", "name": "main"}, None),
    ],
)
def test_the_campaign_a_message_is_about(message: dict[str, Any], campaign: int | None) -> None:
    assert campaign_of(message) == campaign


def test_campaign_messages_follow_the_profile() -> None:
    for kind in ("call", "attempt_ended", "transfer"):
        about_b = {"type": kind, "campaign_id": 2}
        about_a = {"type": kind, "campaign_id": 1}
        assert may_receive(ADMIN, about_b) and may_receive(VIEWER_ALL, about_b)
        assert not may_receive(SUP_A, about_b) and not may_receive(AGENT_A, about_b)
        assert may_receive(SUP_A, about_a) and may_receive(AGENT_A, about_a)


def test_messages_without_a_campaign_are_decided_by_type() -> None:
    pbx = {"type": "pbx", "name": "main", "state": "ready"}
    assert all(may_receive(u, pbx) for u in (ADMIN, SUP_A, VIEWER_ALL, AGENT_A))
    mine = {"type": "agent", "interface": "PJSIP/7001", "queue": "sales"}
    other = {"type": "agent", "interface": "PJSIP/7002", "queue": "sales"}
    assert may_receive(AGENT_A, mine) and not may_receive(AGENT_A, other)
    assert may_receive(SUP_A, other) and not may_receive(VIEWER_ALL, other)
    cancelled = {"type": "call_cancelled", "attempt_id": 5}
    assert may_receive(VIEWER_ALL, cancelled) and not may_receive(SUP_A, cancelled)
    project_import = {"type": "import", "import": {"campaign_id": None, "project_id": 3}}
    assert may_receive(VIEWER_ALL, project_import) and not may_receive(SUP_A, project_import)
    unknown = {"type": "something_new", "secret": 1}
    assert may_receive(ADMIN, unknown)
    assert not any(may_receive(u, unknown) for u in (SUP_A, VIEWER_ALL, AGENT_A))


def test_visible_keeps_the_profiles_rows_only() -> None:
    rows: list[dict[str, Any]] = [
        {"campaign_id": 1, "x": "a"},
        {"campaign_id": 2, "x": "b"},
        {"x": "none"},
    ]
    assert visible(SUP_A, rows) == [{"campaign_id": 1, "x": "a"}]
    assert visible(ADMIN, rows) == rows[:2]
