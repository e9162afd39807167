"""The AMI action builders: exact headers, and no way to smuggle a second action in a value."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pbx_dialer.ami import actions
from pbx_dialer.ami.actions import UnsafeAmiValue


def test_originate_carries_async_channel_ids_action_id_and_timeout_in_ms() -> None:
    action = actions.originate(
        channel="PJSIP/5550101@trunk",
        context="dialer-connect",
        exten="s",
        channel_id="att-42",
        timeout_s=30,
        caller_id="Sales <5551000>",
        variables={"ATTEMPT": "42", "CAMPAIGN": "7"},
    )
    assert action == {
        "Action": "Originate",
        "ActionID": "originate/att-42",
        "Channel": "PJSIP/5550101@trunk",
        "Context": "dialer-connect",
        "Exten": "s",
        "Priority": "1",
        "Async": "true",
        "Timeout": "30000",
        "ChannelId": "att-42",
        "OtherChannelId": "att-42-2",
        "CallerID": "Sales <5551000>",
        # A list: panoramisk writes one `Variable:` header per item.
        "Variable": ["ATTEMPT=42", "CAMPAIGN=7"],
    }


def test_originate_fractional_timeout_and_optional_headers_left_out() -> None:
    action = actions.originate(
        channel="Local/1@x", context="c", exten="s", channel_id="a", timeout_s=2.5
    )
    assert action["Timeout"] == "2500"
    assert "CallerID" not in action
    assert "Variable" not in action


def test_action_id_round_trip() -> None:
    assert actions.originate_action_id("abc") == "originate/abc"
    assert actions.channel_id_from_action_id("originate/abc") == "abc"
    assert actions.channel_id_from_action_id("action/xyz/1/2") is None
    assert actions.channel_id_from_action_id("originate") is None


def test_simple_builders() -> None:
    assert actions.ping() == {"Action": "Ping"}
    assert actions.core_show_channels() == {"Action": "CoreShowChannels"}
    assert actions.queue_status() == {"Action": "QueueStatus"}
    assert actions.queue_status("sales") == {"Action": "QueueStatus", "Queue": "sales"}
    assert actions.queue_add("sales", "Local/7001@agents", "Agent 7001") == {
        "Action": "QueueAdd",
        "Queue": "sales",
        "Interface": "Local/7001@agents",
        "MemberName": "Agent 7001",
    }
    assert actions.queue_add("sales", "L/1", "A", "Custom:agent1")["StateInterface"] == (
        "Custom:agent1"
    )
    assert actions.queue_remove("sales", "L/1") == {
        "Action": "QueueRemove",
        "Queue": "sales",
        "Interface": "L/1",
    }
    assert actions.queue_pause("sales", "L/1", True, "lunch") == {
        "Action": "QueuePause",
        "Queue": "sales",
        "Interface": "L/1",
        "Paused": "true",
        "Reason": "lunch",
    }
    assert actions.queue_pause("sales", "L/1", False) == {
        "Action": "QueuePause",
        "Queue": "sales",
        "Interface": "L/1",
        "Paused": "false",
    }
    assert actions.set_device_state("Custom:agent7001", "NOT_INUSE") == {
        "Action": "Setvar",
        "Variable": "DEVICE_STATE(Custom:agent7001)",
        "Value": "NOT_INUSE",
    }
    assert actions.hangup("PJSIP/x-0001") == {"Action": "Hangup", "Channel": "PJSIP/x-0001"}


def _originate_with(field: str, bad: str) -> actions.Action:
    kwargs: dict[str, object] = {
        "channel": "PJSIP/1@trunk",
        "context": "c",
        "exten": "s",
        "channel_id": "a",
        "timeout_s": 30,
        "caller_id": "x",
        "variables": {"K": "v"},
    }
    if field == "variable name":
        kwargs["variables"] = {bad: "v"}
    elif field == "variable value":
        kwargs["variables"] = {"K": bad}
    else:
        kwargs[field] = bad
    return actions.originate(**kwargs)  # type: ignore[arg-type]


BUILDERS: list[tuple[str, Callable[[str], actions.Action]]] = [
    *[
        (f"originate {f}", lambda bad, f=f: _originate_with(f, bad))
        for f in (
            "channel",
            "context",
            "exten",
            "channel_id",
            "caller_id",
            "variable name",
            "variable value",
        )
    ],
    ("queue_status", lambda bad: actions.queue_status(bad)),
    ("queue_add queue", lambda bad: actions.queue_add(bad, "i", "m")),
    ("queue_add interface", lambda bad: actions.queue_add("q", bad, "m")),
    ("queue_add member", lambda bad: actions.queue_add("q", "i", bad)),
    ("queue_add state", lambda bad: actions.queue_add("q", "i", "m", bad)),
    ("queue_remove queue", lambda bad: actions.queue_remove(bad, "i")),
    ("queue_remove interface", lambda bad: actions.queue_remove("q", bad)),
    ("queue_pause queue", lambda bad: actions.queue_pause(bad, "i", True)),
    ("queue_pause interface", lambda bad: actions.queue_pause("q", bad, True)),
    ("queue_pause reason", lambda bad: actions.queue_pause("q", "i", True, bad)),
    ("set_device_state device", lambda bad: actions.set_device_state(bad, "INUSE")),
    ("set_device_state state", lambda bad: actions.set_device_state("Custom:a", bad)),
    ("hangup", lambda bad: actions.hangup(bad)),
]


@pytest.mark.parametrize("bad_char", ["\r", "\n", "\x00"], ids=["CR", "LF", "NUL"])
@pytest.mark.parametrize(("label", "build"), BUILDERS, ids=[b[0] for b in BUILDERS])
def test_line_break_or_nul_in_any_value_is_refused(
    label: str, build: Callable[[str], actions.Action], bad_char: str
) -> None:
    # The classic injection: end the header and start a second action.
    bad = f"x{bad_char}Action: Hangup"
    with pytest.raises(UnsafeAmiValue, match="line break or NUL"):
        build(bad)


def test_unsafe_value_is_a_value_error() -> None:
    # Callers that validate input catch ValueError; this must be one.
    assert issubclass(UnsafeAmiValue, ValueError)


def test_queue_add_can_log_an_agent_in_paused() -> None:
    action = actions.queue_add("sales", "Local/7001@sim-agents", "Agent 7001", paused=True)
    assert action["Paused"] == "true"
    assert "Paused" not in actions.queue_add("sales", "Local/7001@sim-agents", "Agent 7001")
