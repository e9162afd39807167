"""What becomes of a record after an attempt: pure rules."""

from __future__ import annotations

import pytest

from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.dialing.outcomes import ClassificationRefused, at_call_end, by_agent

SETTINGS = CampaignSettings(name="c", queue="sales", max_attempts=3)


def test_success_defaults_to_contacted_and_handled() -> None:
    outcome = at_call_end(SETTINGS, 1, "SUCCESS", 100.0)
    assert (outcome.state, outcome.classification) == ("handled", "CONTACTED")


def test_busy_is_retried_after_its_delay_until_its_allowance() -> None:
    first = at_call_end(SETTINGS, 1, "BUSY", 100.0)
    assert (first.state, first.next_attempt_at) == ("ready", 700.0)
    assert at_call_end(SETTINGS, 3, "BUSY", 100.0).state == "max_calls"
    # FAILED allows 2 attempts by default, whatever max_attempts says.
    assert at_call_end(SETTINGS, 2, "FAILED", 100.0).state == "max_calls"


def test_result_without_a_rule_follows_its_default_classification() -> None:
    settings = CampaignSettings(name="c", retry_rules={})
    # RETRY says how soon: an hour.
    retry = at_call_end(settings, 1, "NOANSWER", 0.0)
    assert (retry.state, retry.next_attempt_at) == ("ready", 3600.0)
    assert at_call_end(settings, 3, "NOANSWER", 0.0).state == "max_calls"
    final = CampaignSettings(
        name="c", retry_rules={}, result_classifications={"NOANSWER": "NOT_INTERESTED"}
    )
    assert at_call_end(final, 1, "NOANSWER", 0.0).state == "handled"


def test_agent_classifications() -> None:
    assert by_agent(SETTINGS, 1, "SALE", 50.0).state == "handled"
    retry = by_agent(SETTINGS, 1, "RETRY", 50.0)
    assert (retry.state, retry.next_attempt_at) == ("ready", 3650.0)
    assert by_agent(SETTINGS, 3, "RETRY", 50.0).state == "max_calls"
    dnc = by_agent(SETTINGS, 1, "DNC", 50.0)
    assert (dnc.state, dnc.add_to_dnc, dnc.reason) == ("filtered", True, "DNC")
    callback = by_agent(
        SETTINGS, 3, "CALLBACK", 50.0, callback_at=900.0, callback_agent="Agent 7001"
    )
    # Kept even with the attempts spent: it was promised to the customer.
    assert (callback.state, callback.next_attempt_at, callback.callback_agent) == (
        "ready",
        900.0,
        "Agent 7001",
    )


@pytest.mark.parametrize(
    ("code", "callback_at", "field", "message"),
    [
        ("NOPE", None, "code", "'NOPE' is not one of this campaign's"),
        ("CALLBACK", None, "callback_at", "a callback needs callback_at"),
        ("CALLBACK", 10.0, "callback_at", "must be in the future"),
        ("SALE", 900.0, "callback_at", "SALE is not a callback classification"),
    ],
)
def test_refused_classifications(
    code: str, callback_at: float | None, field: str, message: str
) -> None:
    with pytest.raises(ClassificationRefused) as refused:
        by_agent(SETTINGS, 1, code, 50.0, callback_at=callback_at)
    assert refused.value.field == field and str(refused.value).startswith(message)
