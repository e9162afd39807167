"""Alternate numbers: which of a record's numbers (up to 10, `phone` first) its next
attempt dials. Pure: the caller gives what each number got so far.

The campaign's rule (CampaignSettings.next_number_on) names the technical results
after which the next attempt moves on to the record's next number, wrapping around;
() keeps the record on its number. A number that reached the campaign's cap
(max_attempts_per_number, 0: none) is passed over, and one the network called invalid
is never dialed again for that record. The record's own cap stays max_attempts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pbx_dialer import phones as phones_rule
from pbx_dialer.campaigns.model import CampaignSettings

# An invalid number retried on the next one: the person was never disturbed, so the
# next number is tried soon rather than after a retry rule's delay.
NEXT_NUMBER_DELAY_S = 60


@dataclass(frozen=True, slots=True)
class NumberTally:
    """What one of a record's numbers got: attempts, the latest result, and whether the
    network ever called it invalid."""

    attempts: int = 0
    last_result: str | None = None
    invalid: bool = False


@dataclass(frozen=True, slots=True)
class RecordNumbers:
    """A record's numbers in order, the one just dialed, and each one's tally (with the
    attempt that just ended counted, its result not yet stored)."""

    phones: tuple[str, ...]
    current: str
    tallies: Mapping[str, NumberTally]

    def after(self, result: str) -> RecordNumbers:
        """The tallies with the ended attempt's result taken in."""
        was = self.tallies.get(self.current, NumberTally(attempts=1))
        tallies = dict(self.tallies)
        tallies[self.current] = NumberTally(
            was.attempts, result, was.invalid or result == "INVALID"
        )
        return RecordNumbers(self.phones, self.current, tallies)


def may_dial(settings: CampaignSettings, tally: NumberTally) -> bool:
    """Whether a number may still be dialed for its record."""
    cap = settings.max_attempts_per_number
    return not tally.invalid and (cap == 0 or tally.attempts < cap)


def next_number(settings: CampaignSettings, numbers: RecordNumbers, result: str) -> str | None:
    """The number the record's next attempt dials after `result` (its tallies already
    counting it), or None when none may be dialed any more.

    With the result in the rule, the search starts after the number just dialed and
    comes back to it last; otherwise it starts at that number. With the rule empty the
    record stays on its number for as long as that one may be dialed."""
    phones = numbers.phones if numbers.current in numbers.phones else (numbers.current,)
    at = phones.index(numbers.current)
    if not settings.next_number_on:
        order: Sequence[str] = (numbers.current,)
    elif result in settings.next_number_on:
        order = (*phones[at + 1 :], *phones[: at + 1])
    else:
        order = (*phones[at:], *phones[:at])
    for phone in order:
        # A number the phone-number rule refuses (stored before it existed) is passed
        # over: the dial gate would refuse it anyway.
        usable = phone == numbers.current or phones_rule.refusal(phone) is None
        if usable and may_dial(settings, numbers.tallies.get(phone, NumberTally())):
            return phone
    return None


def worth_counting(settings: CampaignSettings, phones: Sequence[str], result: str) -> bool:
    """Whether the next number depends on the tallies at all (several numbers, a cap
    per number, or an invalid number not to dial again): otherwise they need not be
    read."""
    return len(phones) > 1 or settings.max_attempts_per_number > 0 or result == "INVALID"
