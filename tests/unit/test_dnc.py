"""Do-not-call lists: global and per campaign, by API and CSV; adding a number filters
waiting records; `is_blocked` before each dial."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import dnc as dnc_http
from pbx_dialer.http import keys
from pbx_dialer.phones import BadNumber
from pbx_dialer.phones import blocklist_e164 as normalise
from pbx_dialer.records.dnc_file import BadFile, parse_dnc_csv
from pbx_dialer.storage import dnc as dnc_rows
from pbx_dialer.storage import records as record_rows
from tests.unit.test_lists import add, new_campaign, open_db

Client = TestClient[web.Request, web.Application]
CSV = {"Content-Type": "text/csv"}


async def states(api: Client, cid: int) -> dict[str, tuple[str, str]]:
    body = await (await api.get(f"/api/campaigns/{cid}/records")).json()
    return {r["phone"]: (r["state"], r["reason"]) for r in body["records"]}


def test_normalise_to_e164_in_a_region() -> None:
    assert normalise(" (202) 555-0101 ", "US") == "+12025550101"
    assert normalise("06 12 34 56 78", "FR") == "+33612345678"
    assert normalise("+33 6 12 34 56 78", "US") == "+33612345678"
    for raw in ("", "abc", "12", "+1202555010\r\n1"):
        with pytest.raises(BadNumber):
            normalise(raw, "US")


def test_parse_csv_reports_bad_lines_and_repeats() -> None:
    data = "\ufeffName;Phone\nA;202-555-0101\nB;nope\n\nC;+1 202 555 0101\nD;2025550102\n"
    parsed = parse_dnc_csv(data.encode("utf-8"), "US")
    assert parsed.phones == ["+12025550101", "+12025550102"]
    assert [(b.line, b.value) for b in parsed.invalid] == [(3, "nope")]
    assert parsed.repeated == 1
    # No header: a single column of numbers; Windows-1252 bytes decode.
    plain = parse_dnc_csv("2025550103\r\n2025550104\r\n".encode("cp1252"), "US")
    assert plain.phones == ["+12025550103", "+12025550104"]
    latin = parse_dnc_csv("nom,téléphone,phone\né,x,2025550105\n".encode("cp1252"), "US")
    assert latin.phones == ["+12025550105"]
    with pytest.raises(BadFile, match="no phone column"):
        parse_dnc_csv(b"name,email\nA,a@b\n", "US")
    with pytest.raises(BadFile, match="empty"):
        parse_dnc_csv(b"", "US")
    with pytest.raises(BadFile, match="NUL"):
        parse_dnc_csv(b"phone\n\x00\n", "US")


async def test_is_blocked_checks_global_and_own_list(tmp_path: Path) -> None:
    db, cid = await open_db(tmp_path)
    try:
        await dnc_rows.add_many(db, 0, ["+12025550101"], "api", 1.0)
        await dnc_rows.add_many(db, cid, ["+12025550102"], "api", 1.0)
        assert await dnc_rows.is_blocked(db, cid, "+12025550101")
        assert await dnc_rows.is_blocked(db, cid, "+12025550102")
        assert not await dnc_rows.is_blocked(db, cid + 1, "+12025550102")
        assert not await dnc_rows.is_blocked(db, cid, "+12025550103")
        plan = await db.fetchall(
            "EXPLAIN QUERY PLAN SELECT 1 FROM dnc WHERE campaign_id IN (0, ?) AND phone = ?",
            (cid, "+1"),
        )
        assert "PRIMARY KEY" in " ".join(str(r[3]) for r in plan)
        # A record the dialer finds blocked right before dialing is filtered.
        await record_rows.add_many(db, cid, [record_rows.NewRecord("+12025550109")], 1.0)
        rid = (await record_rows.list_for(db, cid))[0].id
        assert await record_rows.mark_filtered(db, rid, "DNC")
        assert not await record_rows.mark_filtered(db, rid, "DNC")
    finally:
        await db.close()


async def test_campaign_dnc_filters_waiting_records_of_that_campaign_only(api: Client) -> None:
    cid = await new_campaign(api)
    other = await new_campaign(api, "Other")
    phones = ["+12025550101", "+12025550102", "+12025550103", "+12025550104"]
    await add(api, cid, [{"phone": p} for p in phones])
    await add(api, other, [{"phone": "+12025550101"}])
    db = api.app[keys.db_key]
    async with db.transaction() as conn:
        # A scheduled retry, a call in progress, a settled record.
        await conn.execute(
            "UPDATE records SET attempts = 1, next_attempt_at = 9e12 WHERE phone = '+12025550102'"
        )
        await conn.execute("UPDATE records SET state = 'in_progress' WHERE phone = '+12025550103'")
        await conn.execute("UPDATE records SET state = 'handled' WHERE phone = '+12025550104'")

    response = await api.post(
        f"/api/campaigns/{cid}/dnc",
        json={"phones": ["(202) 555-0101", "202 555 0102", "2025550103", "+12025550104"]},
    )
    assert response.status == 200
    assert await response.json() == {
        "campaign_id": cid,
        "added": 4,
        "already": 0,
        "filtered_records": 2,
    }
    assert await states(api, cid) == {
        "+12025550101": ("filtered", "DNC"),
        "+12025550102": ("filtered", "DNC"),
        "+12025550103": ("in_progress", ""),  # its call finishes; the dial check stops more
        "+12025550104": ("handled", ""),
    }
    assert await states(api, other) == {"+12025550101": ("ready", "")}
    again = await api.post(f"/api/campaigns/{cid}/dnc", json={"phones": ["2025550101"]})
    assert (await again.json())["already"] == 1
    # A record added later with a blocked number is stored filtered.
    await add(api, cid, [{"phone": "+12025550101", "name": "again"}])
    inventory = await (await api.get(f"/api/campaigns/{cid}/inventory")).json()
    assert inventory["states"]["filtered"] == 3


async def test_global_dnc_filters_every_campaign(api: Client) -> None:
    a = await new_campaign(api, "A")
    b = await new_campaign(api, "B")
    await add(api, a, [{"phone": "+12025550101"}, {"phone": "+12025550102"}])
    await add(api, b, [{"phone": "+12025550101"}])
    response = await api.post("/api/dnc", json={"phones": ["+12025550101"]})
    assert await response.json() == {
        "campaign_id": 0,
        "added": 1,
        "already": 0,
        "filtered_records": 2,
    }
    assert await states(api, a) == {
        "+12025550101": ("filtered", "DNC"),
        "+12025550102": ("ready", ""),
    }
    assert await states(api, b) == {"+12025550101": ("filtered", "DNC")}


async def test_region_defaults_to_the_campaigns(api: Client) -> None:
    cid = await new_campaign(api, default_region="FR")
    added = await api.post(f"/api/campaigns/{cid}/dnc", json={"phones": ["06 12 34 56 78"]})
    assert (await added.json())["added"] == 1
    one = await api.get(f"/api/campaigns/{cid}/dnc/+33612345678")
    assert (await one.json())["phone"] == "+33612345678"
    us = await api.post("/api/dnc?region=GB", json={"phones": ["020 7946 0018"]})
    assert (await us.json())["added"] == 1
    assert (await api.get("/api/dnc/+442079460018")).status == 200
    bad = await api.post("/api/dnc?region=XX", json={"phones": ["1"]})
    assert bad.status == 422
    assert list((await bad.json())["fields"]) == ["region"]


async def test_invalid_numbers_reject_the_whole_request(api: Client) -> None:
    response = await api.post("/api/dnc", json={"phones": ["2025550101", "abc", 7]})
    assert response.status == 422
    assert (await response.json())["fields"] == {
        "phones[1]": "'abc' is not a phone number (digits, optionally after +)",
        "phones[2]": "must be a string",
    }
    bodies: list[object] = [{}, {"phones": []}, {"phones": "2025550101"}, [1]]
    for body in bodies:
        refused = await api.post("/api/dnc", json=body)
        assert (await refused.json())["fields"] == {
            "phones": "must be a non-empty array of phone numbers"
        }
    listed = await (await api.get("/api/dnc")).json()
    assert listed["total"] == 0
    assert (await api.post("/api/campaigns/99/dnc", json={"phones": ["1"]})).status == 404


async def test_list_get_remove_and_delete(api: Client) -> None:
    numbers = [f"20255501{n:02d}" for n in range(12)]
    await api.post("/api/dnc", json={"phones": numbers})
    page = await (await api.get("/api/dnc?limit=5&offset=10")).json()
    assert page["total"] == 12
    assert [x["phone"] for x in page["numbers"]] == ["+12025550110", "+12025550111"]
    found = await (await api.get("/api/dnc?phone=%2B120255501?1")).json()
    assert [x["phone"] for x in found["numbers"]] == ["+12025550101", "+12025550111"]
    removed = await api.post("/api/dnc/remove", json={"phones": ["2025550100", "2025550199"]})
    assert (await removed.json())["removed"] == 1
    assert (await api.delete("/api/dnc/+12025550101")).status == 200
    gone = await api.delete("/api/dnc/+12025550101")
    assert gone.status == 404
    assert (await gone.json())["error"] == "+12025550101 is not on this do-not-call list"
    assert (await api.get("/api/dnc/+12025550101")).status == 404
    assert (await api.get("/api/dnc/12")).status == 422
    assert (await (await api.get("/api/dnc")).json())["total"] == 10
    assert (await api.get("/api/dnc?limit=0")).status == 422


async def test_csv_upload_reports_lines_and_download_round_trips(api: Client) -> None:
    cid = await new_campaign(api)
    await add(api, cid, [{"phone": "+12025550101"}])
    data = "phone,name\n202-555-0101,A\nbad,B\n2025550102,C\n2025550101,D\n,E\n12,F\n"
    response = await api.post(f"/api/campaigns/{cid}/dnc.csv", data=data.encode(), headers=CSV)
    assert response.status == 200
    assert await response.json() == {
        "campaign_id": cid,
        "added": 2,
        "already": 0,
        "filtered_records": 1,
        "repeated": 1,
        "invalid_count": 3,
        "invalid": [
            {
                "line": 3,
                "value": "bad",
                "reason": "'bad' is not a phone number (digits, optionally after +)",
            },
            {"line": 6, "value": "", "reason": "is empty"},
            {"line": 7, "value": "12", "reason": "'12' is not a possible number for region US"},
        ],
    }
    download = await api.get(f"/api/campaigns/{cid}/dnc.csv")
    assert download.status == 200
    assert download.content_type == "text/csv"
    lines = (await download.text()).splitlines()
    assert lines[0] == "phone,source,added_at"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["+12025550101", "csv"],
        ["+12025550102", "csv"],
    ]
    # Uploading the downloaded file adds nothing new.
    again = await api.post(
        f"/api/campaigns/{cid}/dnc.csv", data=(await download.read()), headers=CSV
    )
    assert (await again.json())["already"] == 2
    assert (await (await api.get("/api/dnc.csv")).text()) == "phone,source,added_at\r\n"


async def test_csv_upload_refusals(api: Client) -> None:
    wrong_type = await api.post(
        "/api/dnc.csv", data=b"phone\n2025550101\n", headers={"Content-Type": "application/json"}
    )
    assert wrong_type.status == 415
    no_column = await api.post("/api/dnc.csv", data=b"name,email\nA,a@b\n", headers=CSV)
    assert no_column.status == 422
    assert "no phone column" in (await no_column.json())["fields"]["body"]
    huge_field = b"phone\n" + b"1" * 200_000 + b"\n"
    refused = await api.post("/api/dnc.csv", data=huge_field, headers=CSV)
    assert refused.status == 422
    assert (await (await api.get("/api/dnc")).json())["total"] == 0
    # Larger than the JSON body limit: files are read up to their own limit.
    big = b"phone\n" + b"".join(b"+1202555%04d\n" % n for n in range(10_000)) * 10
    accepted = await api.post("/api/dnc.csv", data=io.BytesIO(big), headers=CSV)
    assert accepted.status == 200
    assert await accepted.json() == {
        "campaign_id": 0,
        "added": 10_000,
        "already": 0,
        "filtered_records": 0,
        "repeated": 90_000,
        "invalid_count": 0,
        "invalid": [],
    }


async def test_csv_upload_over_the_size_limit_adds_nothing(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dnc_http, "MAX_CSV_BYTES", 100)
    data = b"phone\n" + b"2025550101\n" * 20
    response = await api.post("/api/dnc.csv", data=data, headers=CSV)
    assert response.status == 413
    assert (await response.json())["error"] == "the file is larger than 100 bytes"
    assert (await (await api.get("/api/dnc")).json())["total"] == 0


async def test_ids_beyond_sqlite_integers_are_not_found(api: Client) -> None:
    huge = "29553238698608622204959823568568320"
    for path in (f"/api/campaigns/{huge}/dnc/+12025550101", f"/api/campaigns/{huge}/dnc"):
        response = await api.get(path)
        assert response.status == 404, path
    cid = await new_campaign(api)
    edit = await api.patch(f"/api/campaigns/{cid}/lists/{huge}", json={"enabled": False})
    assert edit.status == 404
