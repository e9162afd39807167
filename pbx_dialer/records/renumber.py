"""Once, at start-up: records stored before the one phone-number rule existed.

Records added through the API were stored as typed (`2125550151`, `0012125550151`,
`911`); CSV and CRM records were already E.164. Each record's numbers are read again by
`pbx_dialer.phones` in its campaign's default region: a number the rule reads is stored
in E.164 (and a DNC entry then blocks it), numbers no door would take now are dropped
from its list (its first usable number becomes `phone`), and a waiting record with no
usable number left is filtered (`invalid_number`; its number is kept as typed, so
nothing stored is lost). DNC entries
were always stored in E.164 and need nothing. The dial gate refuses such numbers
anyway; this makes the inventory tell the truth.
"""

from __future__ import annotations

import logging

from pbx_dialer.phones import BadNumber, InvalidRegion, PhoneNormalizer
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database

log = logging.getLogger(__name__)

UPGRADE = "phones_e164"
BATCH = 5000


async def upgrade(db: Database, now: float) -> tuple[int, int]:
    """Run the upgrade if it is still due; (renumbered, filtered) records."""
    if not await record_rows.upgrade_pending(db, UPGRADE):
        return 0, 0
    readers: dict[str, PhoneNormalizer | None] = {}
    renumbered_total = unusable_total = 0
    after = 0
    while batch := await record_rows.numbers_after(db, after, BATCH):
        after = batch[-1].id
        renumbered: list[tuple[int, str, list[str]]] = []
        unusable: list[tuple[int, str]] = []
        for stored in batch:
            if stored.region not in readers:
                try:
                    readers[stored.region] = PhoneNormalizer(stored.region)
                except InvalidRegion:
                    readers[stored.region] = None
            reader = readers[stored.region] or readers.setdefault("US", PhoneNormalizer("US"))
            assert reader is not None
            numbers: list[str] = []
            for raw in [stored.phone, *stored.phones]:
                try:
                    e164 = reader.check(raw).e164
                except BadNumber:
                    continue
                if e164 not in numbers:
                    numbers.append(e164)
            if not numbers:
                unusable.append((stored.id, "invalid_number"))
            elif numbers[0] != stored.phone or numbers != stored.phones:
                renumbered.append((stored.id, numbers[0], numbers))
        await record_rows.rewrite_numbers(db, renumbered, unusable)
        renumbered_total += len(renumbered)
        unusable_total += len(unusable)
    await record_rows.upgrade_done(db, UPGRADE, now)
    if renumbered_total or unusable_total:
        log.warning(
            "phone numbers: %d records renumbered to E.164, %d filtered (invalid_number)",
            renumbered_total,
            unusable_total,
        )
    return renumbered_total, unusable_total
