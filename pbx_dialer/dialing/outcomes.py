"""What becomes of a record after an attempt: handled, tried again, called back, out of
attempts, or on the do-not-call list. Pure: the caller gives the time.

Two moments decide it. When the call ends, the technical result's default
classification applies (`result_classifications`), with the per-result retry rule for
when and how often to try again. When the agent classifies the call (during or after
wrap-up), the classification's outcome replaces that decision.

MACHINE (an answering machine, from message campaigns with AMD) is a result like the
others: new campaigns map it to RETRY with a rule of its own (model.default_retry_rules);
a campaign stored before it existed has neither, so its record is done (max_calls).

Alternate numbers (pbx_dialer.dialing.numbers): when the record is tried again, the
outcome names the number its next attempt dials. An INVALID result, whose default
classification is final (WRONG_NUMBER), is tried again on the record's next number
when one is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.dialing.numbers import NEXT_NUMBER_DELAY_S, RecordNumbers, next_number

DEFAULT_RETRY_DELAY_S = 3600


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    state: str  # ready, handled, max_calls, filtered
    next_attempt_at: float = 0.0
    classification: str | None = None
    reason: str = ""
    add_to_dnc: bool = False
    callback_agent: str | None = None
    # The number the next attempt dials (None: the record's number stays).
    phone: str | None = None


def at_call_end(
    settings: CampaignSettings,
    attempts: int,
    result: str,
    ended_at: float,
    numbers: RecordNumbers | None = None,
) -> RecordOutcome:
    """The record's outcome from the call's technical result. With `numbers` (the
    record's numbers and what each got), a retry goes to the number the campaign's
    rule picks, and the record is out of calls when no number may be dialed any more."""
    code = settings.result_classifications.get(result)
    item = settings.classification(code) if code else None
    kind = item["outcome"] if item else ("final" if result == "SUCCESS" else "retry")
    if kind == "final":
        if (
            result == "INVALID"
            and numbers is not None
            and result in settings.next_number_on
            and attempts < settings.max_attempts
        ):
            other = next_number(settings, numbers.after(result), result)
            if other is not None:
                return RecordOutcome(
                    "ready", ended_at + NEXT_NUMBER_DELAY_S, classification=code, phone=other
                )
        return RecordOutcome("handled", classification=code)
    if kind == "dnc":
        return RecordOutcome("filtered", classification=code, reason="DNC", add_to_dnc=True)
    rule = settings.retry_rules.get(result)
    if rule is None:
        # No rule for this result: try again only if the classification says how soon.
        if item is None or "retry_delay_s" not in item:
            return RecordOutcome("max_calls", classification=code)
        rule = {"delay_s": item["retry_delay_s"], "max_attempts": settings.max_attempts}
    allowed = min(int(rule.get("max_attempts", 1)), settings.max_attempts)
    if attempts >= allowed:
        return RecordOutcome("max_calls", classification=code)
    delay = float(rule.get("delay_s", DEFAULT_RETRY_DELAY_S))
    if numbers is None:
        return RecordOutcome("ready", ended_at + delay, classification=code)
    phone = next_number(settings, numbers.after(result), result)
    if phone is None:
        return RecordOutcome("max_calls", classification=code)
    return RecordOutcome("ready", ended_at + delay, classification=code, phone=phone)


class ClassificationRefused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def by_agent(
    settings: CampaignSettings,
    attempts: int,
    code: str,
    now: float,
    callback_at: float | None = None,
    callback_agent: str | None = None,
) -> RecordOutcome:
    item = settings.classification(code)
    if item is None:
        codes = ", ".join(c["code"] for c in settings.classifications)
        raise ClassificationRefused("code", f"{code!r} is not one of this campaign's ({codes})")
    kind = item["outcome"]
    if kind != "callback" and (callback_at is not None or callback_agent is not None):
        raise ClassificationRefused("callback_at", f"{code} is not a callback classification")
    if kind == "final":
        return RecordOutcome("handled", classification=code)
    if kind == "dnc":
        return RecordOutcome("filtered", classification=code, reason="DNC", add_to_dnc=True)
    if kind == "callback":
        if callback_at is None:
            raise ClassificationRefused("callback_at", "a callback needs callback_at")
        if callback_at <= now:
            raise ClassificationRefused("callback_at", "must be in the future")
        # A promised callback is kept even when the attempts allowance is spent.
        return RecordOutcome(
            "ready", callback_at, classification=code, callback_agent=callback_agent
        )
    if attempts >= settings.max_attempts:
        return RecordOutcome("max_calls", classification=code)
    delay = float(item.get("retry_delay_s", DEFAULT_RETRY_DELAY_S))
    return RecordOutcome("ready", now + delay, classification=code)
