"""One phone-number rule for every door: the records API, CSV imports, CRM feeds and the
DNC lists read a number the same way (E.164 from the campaign's default region), so a
DNC entry cannot be bypassed by writing the number another way, and emergency, service,
short and premium-rate numbers are refused with the same words everywhere."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer import phones
from pbx_dialer.crm.parse import parse_item
from pbx_dialer.http import keys
from pbx_dialer.phones import PhoneNormalizer
from tests.unit.test_lists import new_campaign

Client = TestClient[web.Request, web.Application]

# How people write one New York number (region US), as the bypass report typed them.
SAME_NUMBER = (
    "+12125550151",
    "2125550151",
    "12125550151",
    "1 212 555 0151",
    "(212) 555-0151",
    "212.555.0151",
    "+1 (212) 555-0151",
    " 212-555-0151 ",
)
NEVER_DIALED = (
    ("911", "emergency or service number"),
    ("112", "emergency or service number"),
    ("999", "emergency or service number"),
    ("411", "emergency or service number"),
    ("211", "emergency or service number"),
    ("988", "emergency or service number"),
    ("+19005551234", "premium-rate number"),
    ("9005551234", "premium-rate number"),
    ("0012125550151", "not a valid number for region US"),
    ("5550151", "not a valid number for region US"),
    ("1-800-FLOWERS", "not a phone number"),
    ("2125550151\n", None),  # stripped: the newline never reaches Asterisk
)


@pytest.mark.parametrize("written", SAME_NUMBER)
def test_every_door_reads_one_number_the_same_way(written: str) -> None:
    assert phones.to_e164(written, "US") == "+12125550151"
    assert phones.blocklist_e164(written, "US") == "+12125550151"
    assert PhoneNormalizer("US").check(written).e164 == "+12125550151"
    assert parse_item({"phone": written}, "US").phone == "+12125550151"


@pytest.mark.parametrize(("written", "words"), NEVER_DIALED)
def test_numbers_never_dialed_are_refused_with_the_same_words_everywhere(
    written: str, words: str | None
) -> None:
    if words is None:
        assert phones.to_e164(written, "US") == "+12125550151"
        return
    with pytest.raises(phones.BadNumber, match=words) as api:
        phones.to_e164(written, "US")
    with pytest.raises(phones.BadNumber) as csv:
        PhoneNormalizer("US").check(written)
    assert str(csv.value) == str(api.value)
    with pytest.raises(ValueError, match=words):
        parse_item({"phone": written}, "US")


def test_the_dial_gate_refuses_stored_numbers_no_door_would_take() -> None:
    assert phones.refusal("+12125550151") is None
    assert phones.refusal("+442079460958") is None
    for stored in ("911", "5550151", "+1911", "+19005551234", "2125550151", "+1212555015１"):
        assert phones.refusal(stored) is not None, stored


def test_short_number_lists_are_per_country_and_configurable() -> None:
    with pytest.raises(phones.BadNumber, match="emergency"):
        phones.to_e164("999", "GB")
    with pytest.raises(phones.BadNumber, match="emergency"):
        phones.to_e164("111", "GB")
    try:
        phones.set_refused_short({"GB": frozenset({"118118"})})
        with pytest.raises(phones.BadNumber, match="emergency"):
            phones.to_e164("118118", "GB")
        # 112 stays refused whatever the configuration says.
        with pytest.raises(phones.BadNumber, match="emergency"):
            phones.to_e164("112", "FR")
    finally:
        phones.set_refused_short(phones.DEFAULT_REFUSED_SHORT)


async def test_api_records_are_stored_in_e164_and_a_dnc_entry_blocks_every_writing(
    api: Client,
) -> None:
    cid = await new_campaign(api)
    blocked = await api.post("/api/dnc", json={"phones": ["+12125550151"]})
    assert blocked.status == 200, await blocked.text()
    for index, written in enumerate(SAME_NUMBER[1:4]):
        response = await api.post(
            f"/api/campaigns/{cid}/records",
            json={"records": [{"phone": written, "name": f"Writing {index}"}]},
        )
        assert response.status == 201, await response.text()
    body = await (await api.get(f"/api/campaigns/{cid}/records")).json()
    stored = [(r["phone"], r["state"], r["reason"]) for r in body["records"]]
    assert stored == [("+12125550151", "filtered", "DNC")] * 3


@pytest.mark.parametrize(("written", "words"), [w for w in NEVER_DIALED if w[1] is not None])
async def test_api_refuses_numbers_never_dialed_and_adds_nothing(
    api: Client, written: str, words: str
) -> None:
    cid = await new_campaign(api)
    response = await api.post(
        f"/api/campaigns/{cid}/records",
        json={"records": [{"phone": "+12125550152"}, {"phone": written}]},
    )
    assert response.status == 422
    body = await response.json()
    assert words in body["fields"]["records[1].phone"]
    listed = await (await api.get(f"/api/campaigns/{cid}/records")).json()
    assert listed["records"] == []  # all or nothing


async def test_api_keeps_a_records_other_numbers_in_e164(api: Client) -> None:
    cid = await new_campaign(api)
    response = await api.post(
        f"/api/campaigns/{cid}/records",
        json={"records": [{"phone": "2125550151", "phones": ["(212) 555-0152", "+12125550151"]}]},
    )
    assert response.status == 201, await response.text()
    row = await api.app[keys.db_key].fetchone(
        "SELECT phone, phones, timezone FROM records WHERE campaign_id = ?", (cid,)
    )
    assert row is not None
    assert row["phone"] == "+12125550151"
    assert row["phones"] == '["+12125550151", "+12125550152"]'
    assert row["timezone"] == "America/New_York"
    refused = await api.post(
        f"/api/campaigns/{cid}/records",
        json={"records": [{"phone": "2125550153", "phones": ["911"]}]},
    )
    assert refused.status == 422
    assert "emergency" in (await refused.json())["fields"]["records[0].phones[0]"]
