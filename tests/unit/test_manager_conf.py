"""asterisk/manager.conf lets through to the dialer's AMI user every event the trackers
read, and only its own channels' Newchannel/Newstate/Hangup: an event missing from the
list would never reach the dialer, silently."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from pbx_dialer.ami import actions, tracker
from pbx_dialer.ami.tracker import QueueTracker
from pbx_dialer.storage.attempts import channel_id_for

MANAGER_CONF = Path(__file__).resolve().parents[2] / "asterisk" / "manager.conf"
# Entries of a QueueStatus reply: sent to whoever asked, never filtered.
REPLY_ONLY = {"QueueMember", "QueueEntry"}


def dialer_filters() -> list[tuple[dict[str, str], str]]:
    """The [dialer] section's advanced event filters: ({criterion: argument}, value)."""
    section = ""
    filters: list[tuple[dict[str, str], str]] = []
    for raw in MANAGER_CONF.read_text(encoding="utf-8").splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "dialer" and line.startswith("eventfilter"):
            left, _, value = line.partition("=")
            assert left.startswith("eventfilter("), f"not an advanced filter: {raw!r}"
            criteria = dict(re.findall(r"(\w+)\(([^()]*)\)", left))
            filters.append((criteria, value.strip()))
    return filters


def read_by_trackers() -> set[str]:
    """Every event name the trackers act on: CallTracker's handlers, and the names
    QueueTracker.feed compares against (read from its source, so a name added there
    without its constant is caught too)."""
    queue_names = set(re.findall(r'"([A-Z][A-Za-z]+)"', inspect.getsource(QueueTracker.feed)))
    names = set(tracker._HANDLERS) | queue_names | QueueTracker.EVENTS
    # The same list Pbx asks its AMI client for.
    assert names == tracker.EVENTS_READ
    return names


def test_every_event_the_trackers_read_is_let_through() -> None:
    filters = dialer_filters()
    assert filters, "the dialer user has no event filter"
    let_through = {c["name"] for c, _ in filters if c.get("action", "include") == "include"}
    missing = read_by_trackers() - REPLY_ONLY - let_through
    assert not missing, f"events the trackers read but manager.conf drops: {sorted(missing)}"
    # The connection's own: FullyBooted ends the login, Shutdown the connection.
    assert {"FullyBooted", "Shutdown"} <= let_through


def test_channel_events_are_narrowed_to_the_dialers_own_channels() -> None:
    def narrowing(action: str) -> set[tuple[str, str | None, str | None, str]]:
        return {
            (c["name"], c.get("header"), c.get("method"), value)
            for c, value in dialer_filters()
            if "header" in c and c.get("action", "include") == action
        }

    included, excluded = narrowing("include"), narrowing("exclude")
    # The prefix every attempt's channel id starts with, and the suffix of the second
    # half of a Local channel (OtherChannelId), which the trackers never follow.
    channel_id = channel_id_for(42)
    own = ("Uniqueid", "starts_with", "pbxd-")
    assert included == {
        ("Newchannel", *own),
        ("Newstate", *own),
        ("Hangup", *own),
        # The customer's own leg behind a Local channel, known by the attempt it carries.
        ("Hangup", "ChanVariable", "regex", "^DIALER_ATTEMPT=[0-9]"),
        ("LocalOptimizationBegin", "LocalOneUniqueid", "starts_with", "pbxd-"),
    }
    assert excluded == {
        (name, "Uniqueid", "ends_with", "-2") for name in ("Newchannel", "Newstate", "Hangup")
    }
    originate = actions.originate(
        channel="Local/1@x", context="c", exten="s", channel_id=channel_id, timeout_s=30
    )
    assert channel_id.startswith("pbxd-") and not channel_id.endswith("-2")
    assert originate["OtherChannelId"] == f"{channel_id}-2"
