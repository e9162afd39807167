"""The agent desk's pure rules: interfaces in URLs, the auto-dial countdown, what a
sweep does with a reservation, and when a promised callback goes to anyone."""

from __future__ import annotations

import pytest

from pbx_dialer.agents import rules
from pbx_dialer.agents.rules import ReservationView, sweep_action


@pytest.mark.parametrize(
    ("text", "interface"),
    [
        ("PJSIP~7001", "PJSIP/7001"),
        ("PJSIP/7001", "PJSIP/7001"),
        ("Local~7001@sim-agents", "Local/7001@sim-agents"),
        ("SIP~agent.jane", "SIP/agent.jane"),
    ],
)
def test_interfaces_in_urls(text: str, interface: str) -> None:
    assert rules.interface_from_url(text) == interface
    assert rules.interface_from_url(rules.interface_to_url(interface)) == interface


@pytest.mark.parametrize(
    "text", ["", "7001", "PJSIP~", "~7001", "PJSIP~70 01", "PJSIP~7001\nAction: Hangup", "P~a~b"]
)
def test_what_is_not_an_interface_is_refused_with_the_form_expected(text: str) -> None:
    with pytest.raises(rules.BadInterface, match="PJSIP~7001"):
        rules.interface_from_url(text)


def test_autodial_and_countdown() -> None:
    assert rules.autodial_at(100.0, 0) is None
    assert rules.countdown(150.0, None) is None
    at = rules.autodial_at(100.0, 15)
    assert at == 115.0
    assert rules.countdown(104.5, at) == 10.5
    assert rules.countdown(200.0, at) == 0.0


def view(
    present: bool = True, open_: bool = True, autodial: float | None = None
) -> ReservationView:
    return ReservationView(
        reserved_at=1000.0, autodial_at=autodial, agent_present=present, campaign_open=open_
    )


def test_a_reservation_is_kept_dialed_or_released() -> None:
    assert sweep_action(view(), 1001.0) == "keep"
    assert sweep_action(view(autodial=1010.0), 1009.9) == "keep"
    assert sweep_action(view(autodial=1010.0), 1010.0) == "dial"
    # The agent left the queue, or the campaign was paused or changed mode: given back,
    # even when its timer ran out meanwhile.
    assert sweep_action(view(present=False, autodial=1010.0), 1020.0) == "release"
    assert sweep_action(view(open_=False), 1001.0) == "release"
    # A page left open does not hold a record for ever.
    assert sweep_action(view(), 1000.0 + rules.RESERVATION_MAX_S - 1) == "keep"
    assert sweep_action(view(), 1000.0 + rules.RESERVATION_MAX_S) == "release"


def test_a_promised_callback_waits_for_its_agent_then_goes_to_anyone() -> None:
    due = 5000.0
    assert not rules.callback_for_anyone(due, due)
    assert not rules.callback_for_anyone(due + rules.AGENT_CALLBACK_WAIT_S - 1, due)
    assert rules.callback_for_anyone(due + rules.AGENT_CALLBACK_WAIT_S, due)
