"""The campaign: a reusable set of dialing settings, and the one place its status changes."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

from pbx_dialer.pacing.rules import ABANDON_RULES
from pbx_dialer.rules import load_pack


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
    REOPEN = "reopen"  # records or a callback came for a Completed campaign


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
    # New work (records, a callback) reopens it Paused: a supervisor resumes it.
    CampaignStatus.COMPLETED: {Control.REOPEN: CampaignStatus.PAUSED},
}

# A Stopped campaign is over for good: no edit, no new record, no callback. A Completed
# one may still be edited, and new records or a callback reopen it.
EDITABLE = frozenset(s for s in CampaignStatus if s is not CampaignStatus.STOPPED)
TAKES_RECORDS = EDITABLE


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


# Every dial mode a campaign may be set to. The engine places calls for those in
# DIALER_READY_MODES; a campaign set to another one cannot start yet.
DIAL_MODES = ("preview", "progressive", "agent_first", "power", "predictive", "agentless")
DIALER_READY_MODES = ("progressive", "power", "predictive", "preview", "agent_first", "agentless")
RESULTS = (
    "SUCCESS", "BUSY", "NOANSWER", "CONGESTION", "FAILED", "INVALID", "ABANDONED", "MACHINE",
)  # fmt: skip
OUTCOMES = ("final", "retry", "callback", "dnc")
_QUEUE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
_CALLER_ID_RE = re.compile(r"^[^\x00-\x1f\x7f]{0,80}\Z")
_CODE_RE = re.compile(r"^[A-Z0-9_]{1,32}\Z")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z")
_REGION_RE = re.compile(r"^[A-Z]{2}\Z")
# A sound file name without extension, as Playback() takes it (no , | & that would split it).
_SOUND_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_/-]{0,199}\Z")
_KEY_RE = re.compile(r"^[0-9*]?\Z")
# After these, a record with other numbers is tried on the next one.
NEXT_NUMBER_ON = ("NOANSWER", "BUSY", "INVALID")
# Results after which a record is tried on another number: SUCCESS ends the record.
NEXT_NUMBER_RESULTS = tuple(r for r in RESULTS if r != "SUCCESS")


def default_classifications() -> tuple[dict[str, Any], ...]:
    return (
        {"code": "CONTACTED", "label": "Contacted", "outcome": "final"},
        {"code": "SALE", "label": "Sale", "outcome": "final"},
        {"code": "NOT_INTERESTED", "label": "Not interested", "outcome": "final"},
        {"code": "CALLBACK", "label": "Call back", "outcome": "callback"},
        {"code": "RETRY", "label": "Try again later", "outcome": "retry", "retry_delay_s": 3600},
        {"code": "WRONG_NUMBER", "label": "Wrong number", "outcome": "final"},
        {"code": "DNC", "label": "Do not call", "outcome": "dnc"},
    )


def default_result_classifications() -> dict[str, str]:
    return {
        "SUCCESS": "CONTACTED",
        "BUSY": "RETRY",
        "NOANSWER": "RETRY",
        "CONGESTION": "RETRY",
        "FAILED": "RETRY",
        # The network says the number does not exist: calling it again reaches nobody.
        "INVALID": "WRONG_NUMBER",
        "ABANDONED": "RETRY",
        "MACHINE": "RETRY",
    }


def default_retry_rules() -> dict[str, dict[str, int]]:
    # A busy line is tried again soon; an unanswered one later in the day.
    return {
        "BUSY": {"delay_s": 600, "max_attempts": 3},
        "NOANSWER": {"delay_s": 1800, "max_attempts": 3},
        "CONGESTION": {"delay_s": 300, "max_attempts": 3},
        "FAILED": {"delay_s": 3600, "max_attempts": 2},
        "ABANDONED": {"delay_s": 900, "max_attempts": 3},
        # An answering machine took the message: try once more for the person.
        "MACHINE": {"delay_s": 3600, "max_attempts": 2},
    }


@dataclass(frozen=True)
class CampaignSettings:
    """A reusable set of dialing settings; validated as a whole."""

    name: str
    description: str = ""
    queue: str = ""
    queue_priority: int = 0
    # Stop dialing while an inbound caller of the queue has waited this long (0: never).
    inbound_wait_limit_s: int = 0
    dial_mode: str = "progressive"
    max_lines: int = 1  # throttle: concurrent lines
    dispatch_per_min: int = 0  # new calls per minute; 0 = no limit
    max_abandon_pct: float = 3.0
    # Which rule the cap counts by (pbx_dialer.pacing.rules): "tcpa" (persons answered,
    # 30 days) or "ofcom" (live calls, 24 hours, AMD false positives counted as
    # abandoned); and, for Ofcom, the campaign's measured share of AMD machine verdicts
    # that were in fact persons.
    abandon_rule: str = "tcpa"
    amd_false_positive_pct: float = 0.0
    ring_timeout_s: int = 30
    queue_timeout_s: int = 30
    caller_id: str = ""
    recording: bool = False
    agent_notes: str = ""
    # Preview mode: seconds an agent may look at a reserved record before it is dialed
    # for them (0: no timer, the agent accepts or skips).
    preview_autodial_s: int = 0
    max_attempts: int = 3
    retry_rules: dict[str, dict[str, int]] = field(default_factory=default_retry_rules)
    classifications: tuple[dict[str, Any], ...] = field(default_factory=default_classifications)
    result_classifications: dict[str, str] = field(default_factory=default_result_classifications)
    cc_hour_code_id: int | None = None
    consumer_hour_code_id: int | None = None
    default_region: str = "US"
    start_date: str | None = None
    end_date: str | None = None
    auto_start: str | None = None
    auto_stop: str | None = None
    pbx: str = ""
    # Agentless message campaigns: the Asterisk sound played to whoever answers, the key
    # that sends the person to the campaign's queue ("" = none), answering-machine detection.
    message: str = "demo-congrats"
    transfer_key: str = "1"
    amd: bool = False
    # Calling rules of the rules pack (pbx_dialer.rules): a rule set ("US", "CA", "GB",
    # "none"), or "auto": the set of the default region's country ("none" if the pack
    # has none). The per-number caps the campaign opts into (e.g. "per_7d_7", Reg F).
    calling_rules: str = "auto"
    number_caps: tuple[str, ...] = ()
    # Alternate numbers (pbx_dialer.dialing.numbers): the technical results after which
    # the next attempt dials the record's next number (() = always its first number),
    # and the attempts allowed per number (0 = no cap but max_attempts).
    next_number_on: tuple[str, ...] = NEXT_NUMBER_ON
    max_attempts_per_number: int = 0

    @classmethod
    def from_json(cls, data: Any, base: CampaignSettings | None = None) -> CampaignSettings:
        """Build from a JSON object (all fields for a new campaign, any for an edit);
        raises ValidationError naming each bad field."""
        if not isinstance(data, dict):
            raise ValidationError({"body": "expected a JSON object"})
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for key, value in data.items():
            kind = _FIELD_KINDS.get(key)
            if kind is None:
                errors[key] = "unknown field"
                continue
            problem = _type_problem(kind, value)
            if problem:
                errors[key] = problem
            else:
                values[key] = tuple(value) if key in _TUPLE_FIELDS else value
        if errors:
            raise ValidationError(errors)
        for key in ("max_abandon_pct", "amd_false_positive_pct"):
            if key in values:
                values[key] = float(values[key])
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
        if len(self.description) > 2000:
            errors["description"] = "must be at most 2000 characters"
        if self.queue and not _QUEUE_RE.match(self.queue):
            errors["queue"] = "must be an Asterisk queue name (letters, digits, . _ -)"
        if not -100 <= self.queue_priority <= 100:
            errors["queue_priority"] = "must be between -100 and 100"
        if not 0 <= self.inbound_wait_limit_s <= 3600:
            errors["inbound_wait_limit_s"] = "must be between 0 (off) and 3600 seconds"
        if self.dial_mode not in DIAL_MODES:
            errors["dial_mode"] = f"must be one of {', '.join(DIAL_MODES)}"
        if not 1 <= self.max_lines <= 1000:
            errors["max_lines"] = "must be between 1 and 1000"
        if not 0 <= self.dispatch_per_min <= 100_000:
            errors["dispatch_per_min"] = "must be between 0 (no limit) and 100000"
        if not 0 < self.max_abandon_pct <= 100:
            errors["max_abandon_pct"] = "must be more than 0 and at most 100"
        if self.abandon_rule not in ABANDON_RULES:
            errors["abandon_rule"] = f"must be one of {', '.join(ABANDON_RULES)}"
        if not 0 <= self.amd_false_positive_pct <= 100:
            errors["amd_false_positive_pct"] = "must be between 0 and 100"
        if not 15 <= self.ring_timeout_s <= 120:
            errors["ring_timeout_s"] = "must be between 15 and 120 seconds"
        if not 1 <= self.queue_timeout_s <= 3600:
            errors["queue_timeout_s"] = "must be between 1 and 3600 seconds"
        if not _CALLER_ID_RE.match(self.caller_id):
            errors["caller_id"] = "must be at most 80 printable characters"
        if len(self.agent_notes) > 10_000:
            errors["agent_notes"] = "must be at most 10000 characters"
        if not 0 <= self.preview_autodial_s <= 600:
            errors["preview_autodial_s"] = "must be between 0 (off) and 600 seconds"
        if not 1 <= self.max_attempts <= 100:
            errors["max_attempts"] = "must be between 1 and 100"
        errors.update(_retry_rule_errors(self.retry_rules))
        errors.update(_classification_errors(self.classifications, self.result_classifications))
        for key in ("cc_hour_code_id", "consumer_hour_code_id"):
            value = getattr(self, key)
            # SQLite integers stop at 2**63 - 1: a bigger id cannot name anything stored.
            if value is not None and not 1 <= value < 2**63:
                errors[key] = "must be the id of an hour code"
        if not _REGION_RE.match(self.default_region):
            errors["default_region"] = "must be a two-letter country code such as US or GB"
        for key in ("start_date", "end_date"):
            value = getattr(self, key)
            if value is not None and not _valid_date(value):
                errors[key] = "must be a date YYYY-MM-DD"
        if (
            self.start_date
            and self.end_date
            and "start_date" not in errors
            and "end_date" not in errors
            and self.end_date < self.start_date
        ):
            errors["end_date"] = "must not be before start_date"
        for key in ("auto_start", "auto_stop"):
            value = getattr(self, key)
            if value is not None and not _TIME_RE.match(value):
                errors[key] = "must be a time HH:MM (24 h)"
        if self.pbx and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", self.pbx):
            errors["pbx"] = "must name a configured PBX"
        if not _SOUND_RE.match(self.message) or ".." in self.message:
            errors["message"] = "must be an Asterisk sound name, e.g. demo-congrats or custom/promo"
        if not _KEY_RE.match(self.transfer_key):
            errors["transfer_key"] = 'must be one key 0-9 or *, or "" for no transfer'
        errors.update(_calling_rule_errors(self.calling_rules, self.number_caps))
        unknown = [r for r in self.next_number_on if r not in NEXT_NUMBER_RESULTS]
        if unknown or len(set(self.next_number_on)) != len(self.next_number_on):
            errors["next_number_on"] = "must list results, each once, of " + ", ".join(
                NEXT_NUMBER_RESULTS
            )
        if not 0 <= self.max_attempts_per_number <= 100:
            errors["max_attempts_per_number"] = "must be between 0 (no cap) and 100"
        if errors:
            raise ValidationError(errors)

    def rule_set(self) -> str:
        """The rules pack's set this campaign is dialed under ("none": no pack rules)."""
        if self.calling_rules != "auto":
            return self.calling_rules
        region = self.default_region.upper()
        return region if region in load_pack().sets else "none"

    def missing_to_start(self) -> list[str]:
        """What a Draft still needs before it may dial, in words."""
        missing = []
        if not self.queue:
            missing.append("queue")
        if self.dial_mode not in DIALER_READY_MODES:
            missing.append(f"an engine for dial mode {self.dial_mode!r} (not available yet)")
        return missing

    def classification(self, code: str) -> dict[str, Any] | None:
        return next((c for c in self.classifications if c["code"] == code), None)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["classifications"] = list(self.classifications)
        data["number_caps"] = list(self.number_caps)
        data["next_number_on"] = list(self.next_number_on)
        return data


def _calling_rule_errors(rule_set: str, caps: tuple[str, ...]) -> dict[str, str]:
    pack = load_pack()
    errors: dict[str, str] = {}
    if rule_set != "auto" and rule_set not in pack.sets:
        errors["calling_rules"] = "must be auto or one of " + ", ".join(sorted(pack.sets))
    unknown = [c for c in caps if not isinstance(c, str) or c not in pack.caps]
    if unknown or len(set(caps)) != len(caps):
        errors["number_caps"] = "must name caps of the rules pack, each once: " + ", ".join(
            sorted(pack.caps)
        )
    return errors


def _valid_date(value: str) -> bool:
    if not _DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# JSON type of each settings field: how `from_json` checks what it is given.
_FIELD_KINDS: dict[str, str] = {
    "name": "str",
    "description": "str",
    "queue": "str",
    "queue_priority": "int",
    "inbound_wait_limit_s": "int",
    "dial_mode": "str",
    "max_lines": "int",
    "dispatch_per_min": "int",
    "max_abandon_pct": "number",
    "abandon_rule": "str",
    "amd_false_positive_pct": "number",
    "ring_timeout_s": "int",
    "queue_timeout_s": "int",
    "caller_id": "str",
    "recording": "bool",
    "agent_notes": "str",
    "preview_autodial_s": "int",
    "max_attempts": "int",
    "retry_rules": "object",
    "classifications": "array",
    "result_classifications": "object",
    "cc_hour_code_id": "int?",
    "consumer_hour_code_id": "int?",
    "default_region": "str",
    "start_date": "str?",
    "end_date": "str?",
    "auto_start": "str?",
    "auto_stop": "str?",
    "pbx": "str",
    "message": "str",
    "transfer_key": "str",
    "amd": "bool",
    "calling_rules": "str",
    "number_caps": "array",
    "next_number_on": "array",
    "max_attempts_per_number": "int",
}
_TUPLE_FIELDS = ("classifications", "number_caps", "next_number_on")


def _type_problem(kind: str, value: Any) -> str:
    if kind.endswith("?"):
        if value is None:
            return ""
        kind = kind[:-1]
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "int" and not is_int:
        return "must be a whole number"
    if kind == "number" and not (is_int or isinstance(value, float)):
        return "must be a number"
    if kind == "str" and not isinstance(value, str):
        return "must be a string"
    if kind == "bool" and not isinstance(value, bool):
        return "must be true or false"
    if kind == "object" and not isinstance(value, dict):
        return "must be a JSON object"
    if kind == "array" and not isinstance(value, list):
        return "must be a JSON array"
    return ""


def _retry_rule_errors(rules: dict[str, dict[str, int]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for result, rule in rules.items():
        where = f"retry_rules.{result}"
        if result not in RESULTS or result == "SUCCESS":
            errors[where] = f"must be one of {', '.join(RESULTS[1:])}"
        elif not isinstance(rule, dict) or set(rule) - {"delay_s", "max_attempts"}:
            errors[where] = 'must be {"delay_s": seconds, "max_attempts": n}'
        else:
            delay = rule.get("delay_s", 0)
            most = rule.get("max_attempts", 1)
            if (
                not isinstance(delay, int)
                or isinstance(delay, bool)
                or not 0 <= delay <= 30 * 86400
            ):
                errors[f"{where}.delay_s"] = "must be 0 to 2592000 seconds"
            if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= 100:
                errors[f"{where}.max_attempts"] = "must be between 1 and 100"
    return errors


def _classification_errors(
    classifications: tuple[dict[str, Any], ...], mapping: dict[str, str]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    codes: set[str] = set()
    for index, item in enumerate(classifications):
        where = f"classifications[{index}]"
        if not isinstance(item, dict):
            errors[where] = "must be an object"
            continue
        unknown = set(item) - {"code", "label", "outcome", "retry_delay_s"}
        code, label, outcome = item.get("code"), item.get("label"), item.get("outcome")
        if unknown:
            errors[where] = f"unknown field {sorted(unknown)[0]!r}"
        elif not isinstance(code, str) or not _CODE_RE.match(code):
            errors[f"{where}.code"] = "must be 1-32 of A-Z, 0-9 and _"
        elif code in codes:
            errors[f"{where}.code"] = f"{code} is listed twice"
        elif not isinstance(label, str) or not label.strip() or len(label) > 80:
            errors[f"{where}.label"] = "must be 1-80 characters"
        elif outcome not in OUTCOMES:
            errors[f"{where}.outcome"] = f"must be one of {', '.join(OUTCOMES)}"
        else:
            delay = item.get("retry_delay_s", 0)
            if not isinstance(delay, int) or isinstance(delay, bool) or delay < 0:
                errors[f"{where}.retry_delay_s"] = "must be a whole number of seconds"
            codes.add(code)
    for result, code in mapping.items():
        where = f"result_classifications.{result}"
        if result not in RESULTS:
            errors[where] = f"must be one of {', '.join(RESULTS)}"
        elif code not in codes:
            errors[where] = f"{code!r} is not one of the campaign's classifications"
    return errors


class ValidationError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class Suspension:
    """Why a Paused campaign waits: until a time (then it resumes by itself) or until a
    supervisor resumes it; optionally an email reminder about resuming."""

    until: float | None = None
    reminder_at: float | None = None
    reminder_to: str | None = None
    reminder_sent_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "resume_at": self.until,
            "reminder_at": self.reminder_at,
            "reminder_to": self.reminder_to,
            "reminder_sent_at": self.reminder_sent_at,
        }


@dataclass(frozen=True)
class CampaignAlert:
    """Why the dialer paused the campaign by itself; it stays until the status changes."""

    text: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "at": self.at}


@dataclass(frozen=True)
class Campaign:
    id: int
    status: CampaignStatus
    settings: CampaignSettings
    created_at: float
    updated_at: float
    suspension: Suspension | None = None
    cloned_from: int | None = None
    live: bool = False
    alert: CampaignAlert | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "suspended": self.suspension is not None,
            "suspension": self.suspension.to_json() if self.suspension else None,
            "cloned_from": self.cloned_from,
            "live": self.live,
            "alert": self.alert.to_json() if self.alert else None,
        }
        data.update(self.settings.to_json())
        return data
