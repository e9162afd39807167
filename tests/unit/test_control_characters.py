"""No value with a control character reaches Asterisk or an import: `$` in a Python
regex matches before a final newline, so every validator anchors with `\\Z` or uses
fullmatch. A trailing "\\n" in a queue, caller ID or message once passed validation and
made the AMI layer refuse every Originate of the campaign.

Hypothesis feeds every settings field that reaches Asterisk (or the number rules) a
valid value with control characters put before, inside or after it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbx_dialer.agents.rules import BadInterface, interface_from_url
from pbx_dialer.auth.forms import INTERFACE_RE, USERNAME_RE
from pbx_dialer.campaigns.model import CampaignSettings, ValidationError

# A valid value of each field that goes to Asterisk (or decides the numbers' zone).
GOOD: dict[str, str] = {
    "queue": "sales",
    "caller_id": "Acme <2125550100>",
    "message": "custom/promo",
    "transfer_key": "1",
    "default_region": "US",
    "auto_start": "09:00",
    "auto_stop": "18:30",
    "pbx": "main",
    "start_date": "2027-01-04",
    "end_date": "2027-02-01",
    "calling_rules": "US",
}
CONTROL = st.text(alphabet=st.sampled_from("\n\r\x00\t\x1b\x7f"), min_size=1, max_size=3)


def base() -> CampaignSettings:
    return CampaignSettings(name="Controls", **GOOD)  # type: ignore[arg-type]


def test_the_good_values_pass() -> None:
    base().validate()


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(sorted(GOOD)), bad=CONTROL, where=st.sampled_from(["pre", "mid", "post"])
)
def test_a_control_character_anywhere_is_refused_by_name(field: str, bad: str, where: str) -> None:
    good = GOOD[field]
    value = {"pre": bad + good, "mid": good[:1] + bad + good[1:], "post": good + bad}[where]
    with pytest.raises(ValidationError) as refused:
        CampaignSettings.from_json({field: value}, base=base())
    assert field in refused.value.errors


@pytest.mark.parametrize("value", ["alice\n", "alice bob", "al\x00ice", "\talice"])
def test_a_username_with_spaces_or_control_characters_is_refused(value: str) -> None:
    assert USERNAME_RE.match(value) is None


@pytest.mark.parametrize("value", ["PJSIP/7001\n", "PJSIP/70 01", "PJSIP/7001\r", "SIP/\x007001"])
def test_an_agent_interface_with_spaces_or_control_characters_is_refused(value: str) -> None:
    assert INTERFACE_RE.match(value) is None
    with pytest.raises(BadInterface):
        interface_from_url(value)
