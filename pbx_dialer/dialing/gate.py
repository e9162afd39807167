"""The dial gate: every call the dialer places passes here, and only here.

Two steps, both in this module:

* `admit` decides, from stored facts, whether each picked number may be dialed now
  (`pbx_dialer.dialing.compliance`: the number itself, the DNC lists, the attempt
  allowance, the calling rules and hours) and remembers each number it let through, for
  `ADMISSION_S` seconds;
* `place` originates calls, and only calls whose (record, number) it admitted moments
  before: a request it did not admit is refused (`NotAdmitted`) and never reaches
  Asterisk, whatever path built it.

The dial loop (progressive, power, predictive, agentless, agent first, retries) and the
agent desk (preview, callbacks for one agent) both come through `admit` then `place`;
tests/unit/test_dial_gate.py checks that nothing else in the tree originates a
customer's call, and that each path's calls were admitted.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from pbx_dialer.ami.pbx import CallRequest, Pbx
from pbx_dialer.campaigns.model import Campaign
from pbx_dialer.dialing import compliance
from pbx_dialer.dialing.compliance import Verdict
from pbx_dialer.storage.db import Database

log = logging.getLogger(__name__)

# An admission is good for this long: the Originate follows the check at once in the
# dial loop, and after at most a rate-token wait on the desk.
ADMISSION_S = 15.0


class NotAdmitted(Exception):
    """The gate did not admit this number for this record: no call was placed."""


@dataclass(frozen=True, slots=True)
class GateCall:
    """One call to place: the record it is for, and the Originate request."""

    record_id: int
    request: CallRequest


class DialGate:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._admitted: dict[tuple[int, str], float] = {}
        # The last (record, number) pairs this gate sent to a PBX, in order: what tests
        # read to show that each dial path goes through it.
        self.placed: deque[tuple[int, str]] = deque(maxlen=10_000)

    async def admit(
        self, campaign: Campaign, picked: Sequence[tuple[int, str]], now: float
    ) -> list[Verdict]:
        """The verdict for each (record id, phone) of a pick, in order; each allowed one
        may be placed within ADMISSION_S."""
        verdicts = await compliance.check_many(self.db, campaign, picked, now)
        self._expire(now)
        for (record_id, phone), verdict in zip(picked, verdicts, strict=True):
            if verdict.allowed:
                self._admitted[(record_id, phone)] = now + ADMISSION_S
        return verdicts

    async def admit_one(
        self, campaign: Campaign, record_id: int, phone: str, now: float
    ) -> Verdict:
        return (await self.admit(campaign, [(record_id, phone)], now))[0]

    async def place(
        self, pbx: Pbx, calls: Sequence[GateCall], now: float
    ) -> list[Exception | None]:
        """Originate the admitted calls (`Pbx.place_calls`); per call, in order, None
        when it was placed, else why not (NotAdmitted, or the PBX's refusal)."""
        outcomes: list[Exception | None] = [None] * len(calls)
        admitted: list[tuple[int, CallRequest]] = []
        for index, call in enumerate(calls):
            key = (call.record_id, call.request.number)
            until = self._admitted.pop(key, None)
            if until is None or until < now:
                log.error(
                    "attempt %s: %s was not admitted by the dial gate; not dialed",
                    call.request.attempt_id,
                    call.request.number,
                )
                outcomes[index] = NotAdmitted(
                    f"{call.request.number} was not admitted by the dial gate"
                )
                continue
            admitted.append((index, call.request))
            self.placed.append(key)
        if admitted:
            results = await pbx.place_calls([request for _, request in admitted])
            for (index, _), result in zip(admitted, results, strict=True):
                outcomes[index] = result
        return outcomes

    def _expire(self, now: float) -> None:
        if len(self._admitted) > 1000:
            self._admitted = {k: t for k, t in self._admitted.items() if t >= now}
