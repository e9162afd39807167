"""The agent-first and agentless dial modes: their settings, pacing, MACHINE outcomes, and
how the dialer runs and stores their calls."""

from __future__ import annotations

from typing import Any, cast

import pytest

from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.ami.tracker import CALL_AGENT, CALL_AGENT_FIRST, CALL_MESSAGE
from pbx_dialer.calls import AgentState
from pbx_dialer.campaigns.model import Campaign, CampaignSettings, CampaignStatus, ValidationError
from pbx_dialer.campaigns.service import CampaignService
from pbx_dialer.dialing import outcomes
from pbx_dialer.dialing.engine import Dialer, LiveCall, call_kind, media_of
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing import PacingSnapshot, Progressive, policy_for
from pbx_dialer.pacing.agentless import Agentless
from pbx_dialer.storage.db import Database


def snapshot(**values: int) -> PacingSnapshot:
    base: dict[str, Any] = {
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


class _OnePbx:
    """What `Dialer.snapshot` asks of a PBX: its name and the agents of a queue."""

    name = "main"

    def agents(self, queue: str) -> list[AgentState]:
        return [AgentState(queue, "Local/7001@sim-agents", "Agent 7001", 1, False, False)]


def test_message_calls_do_not_hold_back_a_campaign_sharing_their_queue() -> None:
    """A progressive and an agentless campaign share queue sales. The message calls
    ringing or playing wait for no agent, so the progressive campaign still sees its
    one idle agent as free; its own ringing call does count."""
    dialer = Dialer(
        cast(Database, None), {}, cast(CampaignService, None), Notifier(), clock=lambda: 9.0
    )
    progressive = Campaign(
        1, CampaignStatus.ACTIVE, CampaignSettings(name="p", queue="sales"), 0.0, 0.0
    )
    agentless = Campaign(
        2,
        CampaignStatus.ACTIVE,
        CampaignSettings(name="a", queue="sales", dial_mode="agentless", max_lines=5),
        0.0,
        0.0,
    )
    pbx = cast(Pbx, _OnePbx())
    dialer.snapshot(agentless, pbx)  # the dialer learns that both use queue sales
    for attempt_id, phase in ((10, "ringing"), (11, "waiting"), (12, "ringing")):
        dialer.live[attempt_id] = LiveCall(
            attempt_id, 2, "main", "5551201", phase, 1.0, media="message"
        )
    seen = dialer.snapshot(progressive, pbx)
    assert (seen.agents_idle, seen.calls_ringing, seen.calls_waiting) == (1, 0, 0)
    assert Progressive().calls_to_place(seen) == 1
    assert dialer.snapshot(agentless, pbx).calls_live == 3
    dialer.live[20] = LiveCall(20, 1, "main", "5550101", "ringing", 2.0)
    assert dialer.snapshot(progressive, pbx).calls_ringing == 1
    assert dialer.live[10].to_json()["media"] == "message"
