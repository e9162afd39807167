"""The campaign: a reusable set of dialing settings, and the one place its status changes."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, fields, replace
from typing import Any


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"


class Control(enum.StrEnum):
    """What a supervisor (or the scheduler) does to a campaign."""

    PLAY = "play"  # start, or unpause
    PAUSE = "pause"
    STOP = "stop"
    COMPLETE = "complete"  # no record left to dial


# status -> control -> new status. Anything not listed is refused.
TRANSITIONS: dict[CampaignStatus, dict[Control, CampaignStatus]] = {
    CampaignStatus.DRAFT: {
        Control.PLAY: CampaignStatus.ACTIVE,
        Control.STOP: CampaignStatus.STOPPED,
    },
    CampaignStatus.ACTIVE: {
        Control.PAUSE: CampaignStatus.PAUSED,
        Control.STOP: CampaignStatus.STOPPED,
        Control.COMPLETE: CampaignStatus.COMPLETED,
    },
    CampaignStatus.PAUSED: {
        Control.PLAY: CampaignStatus.ACTIVE,
        Control.STOP: CampaignStatus.STOPPED,
        Control.COMPLETE: CampaignStatus.COMPLETED,
    },
    CampaignStatus.STOPPED: {},
    CampaignStatus.COMPLETED: {},
}


class TransitionRefused(ValueError):
    pass


def next_status(current: CampaignStatus, control: Control) -> CampaignStatus:
    target = TRANSITIONS[current].get(control)
    if target is None:
        allowed = ", ".join(c.value for c in TRANSITIONS[current]) or "none"
        raise TransitionRefused(
            f"cannot {control.value} a {current.value} campaign (allowed: {allowed})"
        )
    return target


DIAL_MODES = ("progressive",)
_QUEUE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CALLER_ID_RE = re.compile(r"^[^\x00-\x1f\x7f]{0,80}$")


@dataclass(frozen=True)
class CampaignSettings:
    """Settings a supervisor edits; validated as a whole."""

    name: str
    queue: str = ""
    queue_priority: int = 0
    dial_mode: str = "progressive"
    max_lines: int = 1
    ring_timeout_s: int = 30
    queue_timeout_s: int = 30
    caller_id: str = ""
    pbx: str = ""

    @classmethod
    def from_json(cls, data: Any, base: CampaignSettings | None = None) -> CampaignSettings:
        """Build from a JSON object; raises ValidationError naming each bad field."""
        if not isinstance(data, dict):
            raise ValidationError({"body": "expected a JSON object"})
        known = {f.name: f for f in fields(cls)}
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                errors[key] = "unknown field"
                continue
            expected = int if known[key].type in ("int", int) else str
            if expected is int and (not isinstance(value, int) or isinstance(value, bool)):
                errors[key] = "must be a whole number"
            elif expected is str and not isinstance(value, str):
                errors[key] = "must be a string"
            else:
                values[key] = value
        if errors:
            raise ValidationError(errors)
        if base is None:
            if "name" not in values:
                raise ValidationError({"name": "is required"})
            settings = cls(**values)
        else:
            settings = replace(base, **values)
        settings.validate()
        return settings

    def validate(self) -> None:
        errors: dict[str, str] = {}
        if not self.name.strip() or len(self.name) > 120 or any(ord(c) < 32 for c in self.name):
            errors["name"] = "must be 1-120 printable characters"
        if self.queue and not _QUEUE_RE.match(self.queue):
            errors["queue"] = "must be an Asterisk queue name (letters, digits, . _ -)"
        if not -100 <= self.queue_priority <= 100:
            errors["queue_priority"] = "must be between -100 and 100"
        if self.dial_mode not in DIAL_MODES:
            errors["dial_mode"] = f"must be one of {', '.join(DIAL_MODES)}"
        if not 1 <= self.max_lines <= 1000:
            errors["max_lines"] = "must be between 1 and 1000"
        if not 15 <= self.ring_timeout_s <= 120:
            errors["ring_timeout_s"] = "must be between 15 and 120 seconds"
        if not 1 <= self.queue_timeout_s <= 3600:
            errors["queue_timeout_s"] = "must be between 1 and 3600 seconds"
        if not _CALLER_ID_RE.match(self.caller_id):
            errors["caller_id"] = "must be at most 80 printable characters"
        if self.pbx and not re.match(r"^[A-Za-z0-9_-]{1,32}$", self.pbx):
            errors["pbx"] = "must name a configured PBX"
        if errors:
            raise ValidationError(errors)

    def missing_to_start(self) -> list[str]:
        """What a Draft still needs before it may dial."""
        return ["queue"] if not self.queue else []


class ValidationError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class Campaign:
    id: int
    status: CampaignStatus
    settings: CampaignSettings
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        for f in fields(CampaignSettings):
            data[f.name] = getattr(self.settings, f.name)
        return data
