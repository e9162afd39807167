"""The agent-first and agentless dial modes: their settings, pacing, MACHINE outcomes, and
how the dialer runs and stores their calls."""

from __future__ import annotations

import pytest

from pbx_dialer.ami.tracker import CALL_AGENT, CALL_AGENT_FIRST, CALL_MESSAGE
from pbx_dialer.campaigns.model import CampaignSettings, ValidationError
from pbx_dialer.dialing import outcomes
from pbx_dialer.dialing.engine import call_kind, media_of
from pbx_dialer.pacing import PacingSnapshot, Progressive, policy_for
from pbx_dialer.pacing.agentless import Agentless


def snapshot(**values: int) -> PacingSnapshot:
    base = {
        "agents_logged_in": 0,
        "agents_idle": 0,
        "agents_wrapup": 0,
        "calls_ringing": 0,
        "calls_waiting": 0,
        "calls_live": 0,
        "max_lines": 10,
    }
    return PacingSnapshot(now=1000.0, **{**base, **values})


def test_both_modes_can_start() -> None:
    for mode in ("agent_first", "agentless"):
        settings = CampaignSettings.from_json({"name": "x", "queue": "sales", "dial_mode": mode})
        assert settings.missing_to_start() == []


def test_message_settings_have_defaults_and_are_checked() -> None:
    settings = CampaignSettings.from_json({"name": "x"})
    assert (settings.message, settings.transfer_key, settings.amd) == ("demo-congrats", "1", False)
    ok = CampaignSettings.from_json(
        {"name": "x", "message": "custom/spring-promo", "transfer_key": "*", "amd": True}
    )
    assert (ok.message, ok.transfer_key, ok.amd) == ("custom/spring-promo", "*", True)
    assert CampaignSettings.from_json({"name": "x", "transfer_key": ""}).transfer_key == ""


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("message", "promo,1", "must be an Asterisk sound name"),
        ("message", "a&b", "must be an Asterisk sound name"),
        ("message", "../../etc/passwd", "must be an Asterisk sound name"),
        ("message", "", "must be an Asterisk sound name"),
        ("transfer_key", "12", "must be one key 0-9 or *"),
        ("transfer_key", "#", "must be one key 0-9 or *"),
        ("amd", "yes", "must be true or false"),
    ],
)
def test_bad_message_settings_are_named(field: str, value: object, reason: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CampaignSettings.from_json({"name": "x", field: value})
    assert list(refused.value.errors) == [field]
    assert refused.value.errors[field].startswith(reason)


def test_machine_has_a_retry_rule_and_a_default_classification() -> None:
    settings = CampaignSettings(name="x", max_attempts=3)
    first = outcomes.at_call_end(settings, 1, "MACHINE", 5000.0)
    assert first == outcomes.RecordOutcome("ready", 5000.0 + 3600, classification="RETRY")
    # The rule allows two attempts for a machine.
    assert outcomes.at_call_end(settings, 2, "MACHINE", 5000.0).state == "max_calls"


def test_machine_rules_may_be_set_per_campaign() -> None:
    settings = CampaignSettings.from_json(
        {
            "name": "x",
            "max_attempts": 5,
            "retry_rules": {"MACHINE": {"delay_s": 60, "max_attempts": 4}},
            "result_classifications": {"MACHINE": "CONTACTED"},
        }
    )
    # A machine that got the message may count as contacted: then it is final.
    assert outcomes.at_call_end(settings, 1, "MACHINE", 0.0).state == "handled"
    retrying = CampaignSettings.from_json(
        {"name": "y", "max_attempts": 5, "retry_rules": {"MACHINE": {"delay_s": 60}}}
    )
    outcome = outcomes.at_call_end(retrying, 1, "MACHINE", 0.0)
    assert outcome.state == "max_calls", "max_attempts of a rule defaults to 1"
    with pytest.raises(ValidationError) as refused:
        CampaignSettings.from_json({"name": "z", "retry_rules": {"FAX": {"delay_s": 1}}})
    assert "MACHINE" in refused.value.errors["retry_rules.FAX"]


def test_agentless_pacing_fills_the_free_lines_without_agents() -> None:
    policy = policy_for("agentless")
    assert isinstance(policy, Agentless)
    assert policy.calls_to_place(snapshot(max_lines=5)) == 5
    assert policy.calls_to_place(snapshot(max_lines=5, calls_live=3)) == 2
    assert policy.calls_to_place(snapshot(max_lines=5, calls_live=7)) == 0


def test_agent_first_pacing_is_one_call_per_idle_agent_counting_queued_calls() -> None:
    policy = policy_for("agent_first")
    assert isinstance(policy, Progressive)
    assert policy.calls_to_place(snapshot(agents_logged_in=3, agents_idle=3)) == 3
    # Two calls of the campaign already wait in the queue for those agents.
    queued = snapshot(agents_logged_in=3, agents_idle=3, calls_waiting=2, calls_live=2)
    assert policy.calls_to_place(queued) == 1
    assert policy.calls_to_place(snapshot(agents_logged_in=2, agents_idle=0)) == 0
    assert policy.calls_to_place(snapshot(agents_idle=0)) == 0


def test_each_mode_runs_its_calls_its_way_and_stores_its_media() -> None:
    assert [call_kind(m) for m in ("progressive", "agent_first", "agentless", "predictive")] == [
        CALL_AGENT,
        CALL_AGENT_FIRST,
        CALL_MESSAGE,
        CALL_AGENT,
    ]
    assert [media_of(m) for m in ("power", "agent_first", "agentless")] == [
        "agent",
        "agent",
        "message",
    ]


def test_a_campaign_stored_before_machine_existed_does_not_retry_machines() -> None:
    old = CampaignSettings(name="x", retry_rules={}, result_classifications={})
    assert outcomes.at_call_end(old, 1, "MACHINE", 0.0).state == "max_calls"
