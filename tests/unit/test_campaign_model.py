"""Campaign status transitions and settings validation."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from pbx_dialer.campaigns.model import (
    TRANSITIONS,
    Campaign,
    CampaignSettings,
    CampaignStatus,
    Control,
    TransitionRefused,
    ValidationError,
    next_status,
)

ALL_PAIRS = list(itertools.product(CampaignStatus, Control))
ALLOWED = [(s, c) for s, c in ALL_PAIRS if c in TRANSITIONS[s]]
REFUSED = [(s, c) for s, c in ALL_PAIRS if c not in TRANSITIONS[s]]


def test_transition_table_is_the_documented_one() -> None:
    # Pinned so a change to the lifecycle is a deliberate, reviewed edit.
    assert {
        (s.value, c.value): t.value for s in TRANSITIONS for c, t in TRANSITIONS[s].items()
    } == {
        ("draft", "play"): "active",
        ("draft", "stop"): "stopped",
        ("active", "pause"): "paused",
        ("active", "stop"): "stopped",
        ("active", "complete"): "completed",
        ("paused", "play"): "active",
        ("paused", "stop"): "stopped",
        ("paused", "complete"): "completed",
        ("completed", "reopen"): "paused",
    }
    assert set(TRANSITIONS) == set(CampaignStatus)


@pytest.mark.parametrize(("status", "control"), ALLOWED, ids=[f"{s}-{c}" for s, c in ALLOWED])
def test_allowed_transition(status: CampaignStatus, control: Control) -> None:
    assert next_status(status, control) is TRANSITIONS[status][control]


@pytest.mark.parametrize(("status", "control"), REFUSED, ids=[f"{s}-{c}" for s, c in REFUSED])
def test_refused_transition_says_what_and_what_is_allowed(
    status: CampaignStatus, control: Control
) -> None:
    with pytest.raises(TransitionRefused) as info:
        next_status(status, control)
    message = str(info.value)
    assert message.startswith(f"cannot {control.value} a {status.value} campaign (allowed: ")
    allowed = ", ".join(c.value for c in TRANSITIONS[status]) or "none"
    assert message.endswith(f"(allowed: {allowed})")


def test_stopped_is_final_and_completed_only_reopens() -> None:
    with pytest.raises(TransitionRefused, match=r"\(allowed: none\)"):
        next_status(CampaignStatus.STOPPED, Control.PLAY)
    with pytest.raises(TransitionRefused, match=r"\(allowed: reopen\)"):
        next_status(CampaignStatus.COMPLETED, Control.PLAY)
    assert next_status(CampaignStatus.COMPLETED, Control.REOPEN) is CampaignStatus.PAUSED


def test_from_json_valid_with_defaults() -> None:
    settings = CampaignSettings.from_json({"name": "Spring", "queue": "sales", "max_lines": 3})
    assert settings == CampaignSettings(name="Spring", queue="sales", max_lines=3)
    assert settings.ring_timeout_s == 30
    assert settings.missing_to_start() == []
    assert CampaignSettings(name="x").missing_to_start() == ["queue"]


def _errors(data: Any, base: CampaignSettings | None = None) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        CampaignSettings.from_json(data, base)
    # The message is the readable join of the per-field errors.
    assert str(info.value) == "; ".join(f"{k}: {v}" for k, v in info.value.errors.items())
    return info.value.errors


def test_every_wrong_type_and_unknown_field_named_at_once() -> None:
    errors = _errors(
        {
            "name": 5,
            "queue": ["sales"],
            "max_lines": "3",
            "ring_timeout_s": 30.5,
            "queue_priority": True,  # bool is an int in Python; not in JSON terms
            "colour": "blue",
        }
    )
    assert errors == {
        "name": "must be a string",
        "queue": "must be a string",
        "max_lines": "must be a whole number",
        "ring_timeout_s": "must be a whole number",
        "queue_priority": "must be a whole number",
        "colour": "unknown field",
    }


@pytest.mark.parametrize("field", ["max_lines", "ring_timeout_s", "queue_timeout_s"])
def test_bool_is_not_an_int(field: str) -> None:
    assert _errors({"name": "x", field: True}) == {field: "must be a whole number"}


def test_missing_name() -> None:
    assert _errors({"queue": "sales"}) == {"name": "is required"}


def test_not_an_object() -> None:
    assert _errors(["name"]) == {"body": "expected a JSON object"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ring_timeout_s", 14, "must be between 15 and 120 seconds"),
        ("ring_timeout_s", 121, "must be between 15 and 120 seconds"),
        ("max_lines", 0, "must be between 1 and 1000"),
        ("max_lines", 1001, "must be between 1 and 1000"),
        ("queue_timeout_s", 0, "must be between 1 and 3600 seconds"),
        ("queue_priority", 101, "must be between -100 and 100"),
        ("queue_priority", -101, "must be between -100 and 100"),
        ("queue", "sales queue", "must be an Asterisk queue name (letters, digits, . _ -)"),
        (
            "dial_mode",
            "robocall",
            "must be one of preview, progressive, agent_first, power, predictive, agentless",
        ),
        ("caller_id", "x\nAction: Hangup", "must be at most 80 printable characters"),
        ("caller_id", "x" * 81, "must be at most 80 printable characters"),
        ("pbx", "no such/pbx", "must name a configured PBX"),
        ("name", "   ", "must be 1-120 printable characters"),
        ("name", "a\tb", "must be 1-120 printable characters"),
        ("name", "n" * 121, "must be 1-120 printable characters"),
        ("abandon_rule", "fcc", "must be one of tcpa, ofcom"),
        ("abandon_rule", 3, "must be a string"),
        ("amd_false_positive_pct", -0.5, "must be between 0 and 100"),
        ("amd_false_positive_pct", 100.5, "must be between 0 and 100"),
        ("amd_false_positive_pct", "2", "must be a number"),
    ],
)
def test_out_of_range_values_named(field: str, value: object, message: str) -> None:
    data = {"name": "ok", field: value}
    assert _errors(data) == {field: message}


def test_boundaries_accepted() -> None:
    settings = CampaignSettings.from_json(
        {"name": "b", "ring_timeout_s": 15, "max_lines": 1000, "queue_priority": -100}
    )
    assert (settings.ring_timeout_s, settings.max_lines, settings.queue_priority) == (
        15,
        1000,
        -100,
    )
    assert CampaignSettings.from_json({"name": "b", "ring_timeout_s": 120}).ring_timeout_s == 120


def test_the_abandonment_rule_is_tcpa_unless_the_campaign_chooses_ofcom() -> None:
    assert CampaignSettings(name="x").abandon_rule == "tcpa"
    settings = CampaignSettings.from_json(
        {"name": "uk", "abandon_rule": "ofcom", "amd_false_positive_pct": 2}
    )
    assert (settings.abandon_rule, settings.amd_false_positive_pct) == ("ofcom", 2.0)
    assert isinstance(settings.amd_false_positive_pct, float)
    assert settings.to_json()["abandon_rule"] == "ofcom"


def test_several_range_errors_reported_together() -> None:
    errors = _errors({"name": "x", "ring_timeout_s": 5, "max_lines": 0})
    assert set(errors) == {"ring_timeout_s", "max_lines"}


def test_edit_applies_on_base_and_is_validated() -> None:
    base = CampaignSettings(name="Spring", queue="sales", max_lines=2)
    edited = CampaignSettings.from_json({"max_lines": 5}, base)
    assert edited == CampaignSettings(name="Spring", queue="sales", max_lines=5)
    # An edit needs no name, but its values are still checked against the whole.
    assert _errors({"ring_timeout_s": 10}, base) == {
        "ring_timeout_s": "must be between 15 and 120 seconds"
    }
    assert base.max_lines == 2  # frozen: the base is never modified


def test_campaign_to_json_flattens_settings() -> None:
    campaign = Campaign(
        id=3,
        status=CampaignStatus.PAUSED,
        settings=CampaignSettings(name="c", queue="q"),
        created_at=1.0,
        updated_at=2.0,
    )
    data = campaign.to_json()
    assert data["status"] == "paused"
    assert data["name"] == "c"
    assert data["queue"] == "q"
    assert data["ring_timeout_s"] == 30
    assert (data["id"], data["created_at"], data["updated_at"]) == (3, 1.0, 2.0)
