"""Typed AMI messages: what the rest of the dialer sees instead of panoramisk's objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

HeaderValue = str | list[str]


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """One AMI event. `at` is Asterisk's Timestamp header (timestampevents=yes),
    or the dialer's receive time when Asterisk sent none."""

    name: str
    at: float
    headers: Mapping[str, HeaderValue] = field(repr=False)

    def get(self, key: str, default: str = "") -> str:
        value = self.headers.get(key.lower(), default)
        return value[-1] if isinstance(value, list) else value

    def variables(self, prefix: str = "") -> dict[str, str]:
        """Channel variables listed by manager.conf `channelvars`:
        `ChanVariable: NAME=value` (or `DestChanVariable` for the second channel)."""
        raw = self.headers.get(f"{prefix}chanvariable".lower())
        if raw is None:
            return {}
        items = raw if isinstance(raw, list) else [raw]
        result: dict[str, str] = {}
        for item in items:
            name, sep, value = item.partition("=")
            if sep:
                result[name] = value
        return result

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "headers": dict(self.headers)}


def event_from_headers(headers: Mapping[str, Any], received_at: float) -> AmiEvent:
    lowered: dict[str, HeaderValue] = {}
    for key, value in headers.items():
        lowered[str(key).lower()] = (
            [str(v) for v in value] if isinstance(value, list) else str(value)
        )
    name = lowered.get("event", "")
    if isinstance(name, list):
        name = name[0]
    stamp = lowered.get("timestamp")
    at = received_at
    if isinstance(stamp, str):
        try:
            at = float(stamp)
        except ValueError:
            at = received_at
    return AmiEvent(name=name, at=at, headers=lowered)


def event_name(text: str) -> str:
    """The name of an event as received ("Event: Hangup\r\n..."), read without parsing
    the rest: enough to drop the events nobody listens to."""
    end = text.find("\r", 7)
    return text[7:end] if end >= 0 else text[7:]


def parse_event(text: str, received_at: float) -> AmiEvent:
    """One event as received (its header lines, CRLF-separated) in a single pass: header
    names lowered, a repeated header (ChanVariable) kept as a list of its values."""
    headers: dict[str, HeaderValue] = {}
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        key = key.lower()
        if key == "result":
            value = unquote(value).strip()  # as panoramisk reads it (AGI results are quoted)
        old = headers.get(key)
        if old is None:
            headers[key] = value
        elif isinstance(old, list):
            old.append(value)
        else:
            headers[key] = [old, value]
    name = headers.get("event", "")
    if isinstance(name, list):
        name = name[0]
    at = received_at
    stamp = headers.get("timestamp")
    if isinstance(stamp, str):
        try:
            at = float(stamp)
        except ValueError:
            at = received_at
    return AmiEvent(name=name, at=at, headers=headers)


def parse_response(text: str) -> AmiResponse:
    """A direct reply as received ("Response: Success\r\n..."), read in one pass like
    `parse_event`; success as panoramisk reads it (Success or Follows)."""
    headers = parse_event(text, 0.0).headers
    status = headers.get("response", "")
    message = headers.get("message", "")
    return AmiResponse(
        success=status in ("Success", "Follows"),
        message=message[-1] if isinstance(message, list) else message,
        headers=headers,
    )


def event_from_json(data: Mapping[str, Any]) -> AmiEvent:
    return event_from_headers(data["headers"], float(data["at"]))


@dataclass(frozen=True, slots=True)
class AmiResponse:
    """The direct reply to an action: Response: Success/Error plus its headers."""

    success: bool
    message: str
    headers: Mapping[str, HeaderValue] = field(repr=False)

    def get(self, key: str, default: str = "") -> str:
        value = self.headers.get(key.lower(), default)
        return value[-1] if isinstance(value, list) else value
