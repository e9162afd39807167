"""Records stored as typed before the one phone-number rule are read again once at
start-up: E.164 where the rule reads them (so the DNC list blocks them), filtered where
no door would take them now, never lost."""

from __future__ import annotations

import json
from pathlib import Path

from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.records import renumber
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import dnc as dnc_rows
from pbx_dialer.storage.db import Database

TYPED = {
    "2125550151": ["2125550151"],  # as the API stored it
    "12125550152": ["12125550152", "(212) 555-0153"],
    "0012125550154": ["0012125550154"],  # not a number in region US
    "911": ["911"],
    "5550101": ["5550101", "+12125550155"],  # a usable second number
    "+12125550156": ["+12125550156"],  # already E.164: untouched
}


async def test_typed_numbers_become_e164_or_filtered_once(tmp_path: Path) -> None:
    db = await Database.open(str(tmp_path / "old.sqlite3"))
    try:
        campaign = await campaign_rows.create(db, CampaignSettings(name="Old"), 1.0)
        async with db.transaction() as conn:
            for phone, phones in TYPED.items():
                await conn.execute(
                    "INSERT INTO records (campaign_id, phone, name, phones, created_at) "
                    "VALUES (?, ?, '', ?, 1.0)",
                    (campaign.id, phone, json.dumps(phones)),
                )
        await dnc_rows.add_many(db, 0, ["+12125550151"], "api", 1.0)

        assert await renumber.upgrade(db, 2.0) == (3, 2)
        rows = await db.fetchall("SELECT phone, phones, state, reason FROM records ORDER BY id")
        found = [(r["phone"], json.loads(r["phones"]), r["state"], r["reason"]) for r in rows]
        assert found == [
            ("+12125550151", ["+12125550151"], "filtered", "DNC"),
            ("+12125550152", ["+12125550152", "+12125550153"], "ready", ""),
            ("0012125550154", ["0012125550154"], "filtered", "invalid_number"),
            ("911", ["911"], "filtered", "invalid_number"),
            ("+12125550155", ["+12125550155"], "ready", ""),
            ("+12125550156", ["+12125550156"], "ready", ""),
        ]
        # Once: a later start finds nothing to do.
        assert await renumber.upgrade(db, 3.0) == (0, 0)
    finally:
        await db.close()
