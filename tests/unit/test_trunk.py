"""`[[pbx]] trunk`: validated, required by dialer-outbound, sent in every Originate."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbx_dialer.ami.pbx import CallRequest, Pbx
from pbx_dialer.ami.tracker import CALL_AGENT, CALL_AGENT_FIRST, CALL_MESSAGE
from pbx_dialer.config import ConfigError, PbxSettings, load_settings


def _load(tmp_path: Path, pbx: str) -> PbxSettings:
    path = tmp_path / "dialer.toml"
    path.write_text(f"[[pbx]]\nname = 'main'\n{pbx}", encoding="utf-8")
    return load_settings(path, env={}).pbx[0]


def _error(tmp_path: Path, pbx: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, pbx)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("trunk", ["PJSIP/trunk", "IAX2/carrier", "IAX2/user:pw@10.0.0.1"])
def test_a_trunk_is_tech_slash_resource(tmp_path: Path, trunk: str) -> None:
    assert _load(tmp_path, f"trunk = '{trunk}'\n").trunk == trunk


@pytest.mark.parametrize(
    "trunk",
    [
        "trunk",  # no technology
        "PJSIP/",  # no resource
        "PJSIP/a b",
        "PJSIP/a,30",  # would become a second Dial() argument
        "PJSIP/a&PJSIP/b",  # a second channel
        "PJSIP/trunk\\n",  # `$` would match before this newline: fullmatch does not
        "PJSIP/tr\\u0007unk",
    ],
)
def test_a_bad_trunk_is_one_line_naming_the_setting(tmp_path: Path, trunk: str) -> None:
    message = _error(tmp_path, f'trunk = "{trunk}"\n')
    assert "[[pbx]] main.trunk: " in message
    assert "must be tech/resource" in message


def test_dialer_outbound_without_a_trunk_names_both_settings(tmp_path: Path) -> None:
    message = _error(tmp_path, "dial_template = 'Local/{number}@dialer-outbound'\n")
    assert "[[pbx]] main.trunk: must be set" in message
    assert "dial_template 'Local/{number}@dialer-outbound'" in message


def test_dialer_outbound_with_a_trunk_is_fine(tmp_path: Path) -> None:
    pbx = _load(
        tmp_path, "dial_template = 'Local/{number}@dialer-outbound'\ntrunk = 'PJSIP/carrier'\n"
    )
    assert pbx.trunk == "PJSIP/carrier"


def test_default_safe_harbour_is_the_shipped_sound() -> None:
    assert PbxSettings().safe_harbour == "dialer-safe-harbour"
    shipped = Path(__file__).resolve().parents[2] / "asterisk" / "sounds"
    assert (shipped / "dialer-safe-harbour.wav").is_file()


def test_a_safe_harbour_that_is_not_a_sound_name_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "safe_harbour = 'a,b'\n")
    assert "[[pbx]] main.safe_harbour: 'a,b' must be a sound name" in message
    assert _load(tmp_path, "safe_harbour = ''\n").safe_harbour == ""


def _variables(settings: PbxSettings, kind: str) -> list[str]:
    pbx = Pbx(settings, on_event=lambda _pbx, _event: None)
    request = CallRequest(
        attempt_id=7,
        channel_id="pbxd-7-ab",
        number="5551234",
        ring_timeout_s=25.0,
        variables={"DIALER_ATTEMPT": "7"},
        kind=kind,
        queue_wait_s=40.0,
    )
    action, _timeout = pbx._originate(request)
    variables = action["Variable"]
    assert isinstance(variables, list)
    return variables


@pytest.mark.parametrize("kind", [CALL_AGENT, CALL_AGENT_FIRST, CALL_MESSAGE])
def test_every_originate_carries_the_trunk_and_ring_timeout(kind: str) -> None:
    settings = PbxSettings(dial_template="Local/{number}@dialer-outbound", trunk="PJSIP/carrier")
    variables = _variables(settings, kind)
    # Inherited, so the agent-first call's Dial() of the customer passes them on.
    assert "_DIALER_TRUNK=PJSIP/carrier" in variables
    assert "_DIALER_RING_TIMEOUT=25" in variables
    assert not any(v.startswith("DIALER_RING_TIMEOUT=") for v in variables)


def test_no_trunk_no_trunk_variables() -> None:
    assert _variables(PbxSettings(), CALL_AGENT) == ["DIALER_ATTEMPT=7"]
    first = _variables(PbxSettings(), CALL_AGENT_FIRST)
    assert "DIALER_RING_TIMEOUT=25" in first
    assert not any("DIALER_TRUNK" in v for v in first)
