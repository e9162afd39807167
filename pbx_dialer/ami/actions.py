"""Small named builders, one per AMI action the dialer sends. Pure: they only make dicts.

Every value is checked for CR/LF: a newline in a header would let a record's
field inject a second AMI action.
"""

from __future__ import annotations

from collections.abc import Mapping

Action = dict[str, str | list[str]]
# Every action built here: `pbx-dialer check` makes sure the dialer's AMI user may run
# them (a unit test keeps this list in step with the builders).
SENT = (
    "Originate",
    "Ping",
    "CoreShowChannels",
    "QueueStatus",
    "QueueAdd",
    "QueueRemove",
    "QueuePause",
    "Setvar",
    "Hangup",
)


class UnsafeAmiValue(ValueError):
    """A value that would break out of its AMI header."""


def _clean(name: str, value: object) -> str:
    text = str(value)
    if any(ch in text for ch in "\r\n\x00"):
        raise UnsafeAmiValue(f"{name} contains a line break or NUL, refused: {text!r}")
    return text


def originate_action_id(channel_id: str) -> str:
    return f"originate/{channel_id}"


def channel_id_from_action_id(action_id: str) -> str | None:
    prefix, sep, channel_id = action_id.partition("/")
    return channel_id if sep and prefix == "originate" else None


def originate(
    *,
    channel: str,
    context: str,
    exten: str,
    channel_id: str,
    timeout_s: float,
    caller_id: str = "",
    variables: Mapping[str, str] | None = None,
) -> Action:
    """An asynchronous Originate: Asterisk answers `Success` at once and later sends
    OriginateResponse with the same ActionID. ChannelId is pre-assigned so every event of
    the customer leg can be matched to its attempt without waiting for Newchannel."""
    action: Action = {
        "Action": "Originate",
        "ActionID": _clean("ActionID", originate_action_id(channel_id)),
        "Channel": _clean("Channel", channel),
        "Context": _clean("Context", context),
        "Exten": _clean("Exten", exten),
        "Priority": "1",
        "Async": "true",
        "Timeout": str(int(timeout_s * 1000)),
        "ChannelId": _clean("ChannelId", channel_id),
        # Local channels get a second leg; name it too, so it never collides.
        "OtherChannelId": _clean("OtherChannelId", f"{channel_id}-2"),
    }
    if caller_id:
        action["CallerID"] = _clean("CallerID", caller_id)
    if variables:
        action["Variable"] = [
            f"{_clean('Variable name', k)}={_clean(f'Variable {k}', v)}"
            for k, v in variables.items()
        ]
    return action


def ping() -> Action:
    return {"Action": "Ping"}


def core_show_channels() -> Action:
    return {"Action": "CoreShowChannels"}


def queue_status(queue: str = "") -> Action:
    action: Action = {"Action": "QueueStatus"}
    if queue:
        action["Queue"] = _clean("Queue", queue)
    return action


def queue_add(
    queue: str, interface: str, member_name: str, state_interface: str = "", paused: bool = False
) -> Action:
    action: Action = {
        "Action": "QueueAdd",
        "Queue": _clean("Queue", queue),
        "Interface": _clean("Interface", interface),
        "MemberName": _clean("MemberName", member_name),
    }
    if paused:
        # Logged in already paused, so no call can reach the agent in between.
        action["Paused"] = "true"
    if state_interface:
        action["StateInterface"] = _clean("StateInterface", state_interface)
    return action


def queue_remove(queue: str, interface: str) -> Action:
    return {
        "Action": "QueueRemove",
        "Queue": _clean("Queue", queue),
        "Interface": _clean("Interface", interface),
    }


def queue_pause(queue: str, interface: str, paused: bool, reason: str = "") -> Action:
    action: Action = {
        "Action": "QueuePause",
        "Queue": _clean("Queue", queue),
        "Interface": _clean("Interface", interface),
        "Paused": "true" if paused else "false",
    }
    if reason:
        action["Reason"] = _clean("Reason", reason)
    return action


def set_device_state(device: str, state: str) -> Action:
    """Custom device states (e.g. `Custom:agent7001`) back simulated agents' presence."""
    return {
        "Action": "Setvar",
        "Variable": f"DEVICE_STATE({_clean('device', device)})",
        "Value": _clean("state", state),
    }


def hangup(channel: str) -> Action:
    return {"Action": "Hangup", "Channel": _clean("Channel", channel)}
