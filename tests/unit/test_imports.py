"""CSV import through the HTTP API of a real server on loopback: uploads, progress, the
reject file, duplicates, DNC, project routing, failed imports leaving nothing behind."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.http import keys
from pbx_dialer.storage import imports as import_rows

Client = TestClient[web.Request, web.Application]
ROOT = Path(__file__).resolve().parent.parent.parent


async def campaign(api: Client, name: str = "Imports", **settings: Any) -> int:
    resp = await api.post("/api/campaigns", json={"name": name, "queue": "sales", **settings})
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def upload(api: Client, path: str, data: bytes, **query: str) -> aiohttp.ClientResponse:
    return await api.post(
        path, data=io.BytesIO(data), params=query, headers={"Content-Type": "text/csv"}
    )


async def finished(api: Client, import_id: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = await (await api.get(f"/api/imports/{import_id}")).json()
        if body["state"] != "running":
            return dict(body)
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def run_import(api: Client, campaign_id: int, data: bytes, **query: str) -> dict[str, Any]:
    resp = await upload(api, f"/api/campaigns/{campaign_id}/imports", data, **query)
    assert resp.status == 202, await resp.text()
    return await finished(api, (await resp.json())["id"])


async def rows(api: Client, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    db = api.app[keys.db_key]
    return [tuple(r) for r in await db.fetchall(sql, params)]


async def rejects(api: Client, import_id: int) -> list[list[str]]:
    resp = await api.get(f"/api/imports/{import_id}/rejects.csv")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    text = (await resp.read()).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


HOSTILE = (
    "Customer ID;First Name;Last Name;Phone;Mobile;TZ;Notes;Region\r\n"
    "A1;Ann;Lee;(212) 555-0100;;;call after 5;north\r\n"  # 2 good
    "A2;Bob;Ray;212-555-0101\r\n"  # 3 ragged
    'A3;=HYPERLINK("http://x");Evil;212 555 0102;;;@SUM(A1);north\r\n'  # 4 formula name: kept
    'A4;Cy;"Line\nBreak";2125550103;;;;\r\n'  # 5-6 LF in a cell
    "A5;Di;Nul\x00;2125550104;;;;\r\n"  # 7 NUL
    "A6;Ed;Big;2125550105;;;" + "n" * 1_000_000 + ";\r\n"  # 8 a 1 MB cell
    "A7;Fay;Bad;12345;;;;\r\n"  # 9 invalid phone
    "A8;Gus;Dup;(212) 555-0100;;;;\r\n"  # 10 same phone as line 2
    "A1;Hal;DupId;2125550106;;;;\r\n"  # 11 same external id as line 2
    "A9;Ida;Two;2125550107;+1 212 555 0108;America/Chicago;;south\r\n"  # 12 good, 2 numbers
    "=1+1;Jo;Bad;555;;;;\r\n"  # 13 formula id, bad phone: defused in rejects
)


async def test_hostile_file_exact_report_good_rows_kept(api: Client) -> None:
    cid = await campaign(api)
    data = "\ufeff".encode() + HOSTILE.encode("utf-8")
    report = await run_import(api, cid, data, filename="leads.csv")
    assert report["state"] == "done", report
    assert report["encoding"] == "utf-8-sig"
    assert report["delimiter"] == ";"
    assert report["bytes_done"] == report["bytes_total"] == len(data)
    counts = {k: report[k] for k in ("rows_read", "accepted", "rejected", "duplicates", "filtered")}
    assert counts == {"rows_read": 11, "accepted": 3, "rejected": 6, "duplicates": 2, "filtered": 0}
    (lst,) = report["lists"]
    assert lst["campaign_id"] == cid
    stored = await rows(
        api,
        "SELECT external_id, phone, name, state, timezone, tz_source, notes, phones, custom, "
        "list_id FROM records WHERE campaign_id = ? ORDER BY id",
        cid,
    )
    assert stored == [
        (
            "A1",
            "+12125550100",
            "Ann Lee",
            "ready",
            "America/New_York",
            "phone",
            "call after 5",
            '["+12125550100"]',
            '{"Region":"north"}',
            lst["id"],
        ),
        (
            "A3",
            "+12125550102",
            '=HYPERLINK("http://x") Evil',
            "ready",
            "America/New_York",
            "phone",
            "@SUM(A1)",
            '["+12125550102"]',
            '{"Region":"north"}',
            lst["id"],
        ),
        (
            "A9",
            "+12125550107",
            "Ida Two",
            "ready",
            "America/Chicago",
            "column",
            "",
            '["+12125550107","+12125550108"]',
            '{"Region":"south"}',
            lst["id"],
        ),
    ]
    assert await rows(
        api, "SELECT name, source, enabled FROM contact_lists WHERE id = ?", lst["id"]
    ) == [(f"leads.csv (import {report['id']})", "csv", 1)]
    table = await rejects(api, report["id"])
    assert table[0] == ["line", "reason", "raw"]
    assert [(r[0], r[1]) for r in table[1:]] == [
        ("3", "row has 4 cells, the header has 8"),
        ("5", "control character U+000A in column 'Last Name'"),
        ("7", "control character U+0000 in column 'Last Name'"),
        ("8", "cell longer than 65536 characters"),
        ("9", "phone in column 'Phone': '12345' is not a valid number for region US"),
        ("10", "duplicate phone +12125550100: line 2 of this file"),
        ("11", "duplicate external id A1: line 2 of this file"),
        ("13", "phone in column 'Phone': '555' is not a valid number for region US"),
    ]
    by_line = {r[0]: r[2] for r in table[1:]}
    assert by_line["7"] == "A5;Di;Nul\\x00;2125550104;;;;"
    # Formula-looking raw rows are defused with a leading apostrophe.
    assert by_line["13"] == "'=1+1;Jo;Bad;555;;;;"
    assert len(by_line["8"]) <= 2000


async def test_duplicates_against_the_campaign_and_dnc_filtered(api: Client) -> None:
    cid = await campaign(api)
    first = await run_import(api, cid, b"phone,id\n2125550100,X1\n2125550101,X2\n")
    assert first["accepted"] == 2
    db = api.app[keys.db_key]
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO dnc (campaign_id, phone, added_at) VALUES (0, '+12125550102', 0)"
        )
        await conn.execute(
            f"INSERT INTO dnc (campaign_id, phone, added_at) VALUES ({cid}, '+12125550103', 0)"
        )
    second = await run_import(
        api,
        cid,
        b"phone,id\n2125550100,X9\n2125550109,X2\n2125550102,X3\n2125550103,X4\n2125550104,X5\n",
    )
    assert {k: second[k] for k in ("accepted", "rejected", "duplicates", "filtered")} == {
        "accepted": 1,
        "rejected": 0,
        "duplicates": 2,
        "filtered": 2,
    }
    assert [r[1] for r in (await rejects(api, second["id"]))[1:]] == [
        f"duplicate phone +12125550100: already in campaign {cid}",
        f"duplicate external id X2: already in campaign {cid}",
    ]
    assert await rows(
        api,
        "SELECT phone, state, reason FROM records WHERE campaign_id = ? AND list_id = ? "
        "ORDER BY id",
        cid,
        second["lists"][0]["id"],
    ) == [
        ("+12125550102", "filtered", "DNC"),
        ("+12125550103", "filtered", "DNC"),
        ("+12125550104", "ready", ""),
    ]


async def test_failed_imports_leave_the_campaign_as_it_was(api: Client) -> None:
    cid = await campaign(api)
    before = await rows(api, "SELECT count(*) FROM contact_lists")
    cases: list[tuple[str, bytes, int, dict[str, Any]]] = [
        ("/api/campaigns/999/imports", b"phone\n2125550100\n", 404, {"error": "no campaign 999"}),
        (
            f"/api/campaigns/{cid}/imports",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00",
            422,
            {
                "error": "the file is not text (too many control bytes)",
                "fields": {"file": "not text"},
            },
        ),
        (
            f"/api/campaigns/{cid}/imports",
            b"name,email\nAnn,a@x\n",
            422,
            {
                "error": "no phone column: name one phone, phone1, mobile, number... or pass a "
                "mapping",
                "fields": {"file": "no phone column"},
            },
        ),
        (
            f"/api/campaigns/{cid}/imports",
            b"",
            422,
            {"error": "the file is empty", "fields": {"file": "empty"}},
        ),
    ]
    for path, data, status, body in cases:
        resp = await upload(api, path, data)
        assert (resp.status, await resp.json()) == (status, body), path
    resp = await upload(
        api, f"/api/campaigns/{cid}/imports", b"tel\n1\n", mapping='{"phone": "Fax"}'
    )
    assert resp.status == 422
    assert (await resp.json())["fields"] == {"mapping.phone": "no column 'Fax' in the header"}
    assert (await api.post(f"/api/campaigns/{cid}/stop")).status == 200
    resp = await upload(api, f"/api/campaigns/{cid}/imports", b"phone\n2125550100\n")
    assert resp.status == 409
    assert await rows(api, "SELECT count(*) FROM contact_lists") == before
    assert await rows(api, "SELECT count(*) FROM records") == [(0,)]
    assert await rows(api, "SELECT count(*) FROM imports") == [(0,)]


async def test_a_failure_midway_takes_back_what_was_stored(api: Client) -> None:
    cid = await campaign(api)
    report = await run_import(api, cid, b"phone\n2125550100\n2125550101\n")
    db_path = api.app[keys.db_key].path
    # As the server does when a worker dies: the import is failed and undone.
    conn = import_rows.connect(db_path)
    try:
        import_rows.fail(conn, report["id"], "worker killed", time.time())
    finally:
        conn.close()
    again = await (await api.get(f"/api/imports/{report['id']}")).json()
    assert (again["state"], again["error"], again["lists"]) == ("failed", "worker killed", [])
    assert await rows(api, "SELECT count(*) FROM records WHERE campaign_id = ?", cid) == [(0,)]


async def test_project_routes_each_record(api: Client) -> None:
    north = await campaign(api, "North")
    south = await campaign(api, "South", default_region="GB")
    stopped = await campaign(api, "Stopped")
    assert (await api.post(f"/api/campaigns/{stopped}/stop")).status == 200
    rules = [
        {"field": "region", "equals": "north", "campaign_id": north},
        {"field": "region", "equals": "south", "campaign_id": south},
        {"field": "region", "equals": "east", "campaign_id": stopped},
    ]
    bad = await api.post("/api/projects", json={"name": "P", "rules": [{"field": "region"}]})
    assert bad.status == 422 and "rules[0]" in (await bad.json())["fields"]
    unknown = await api.post(
        "/api/projects",
        json={"name": "P", "rules": [{"field": "r", "equals": "x", "campaign_id": 999}]},
    )
    assert (await unknown.json())["fields"] == {"rules": "no campaign 999"}
    created = await api.post("/api/projects", json={"name": "P", "rules": rules})
    assert created.status == 201, await created.text()
    project_id = (await created.json())["id"]
    assert (await (await api.get(f"/api/projects/{project_id}")).json())["rules"] == rules
    data = (
        b"phone,region\n2125550100,North\n020 7946 0018,south\n2125550101,east\n2125550102,west\n"
    )
    resp = await upload(api, f"/api/projects/{project_id}/imports", data)
    assert resp.status == 202
    report = await finished(api, (await resp.json())["id"])
    assert (report["accepted"], report["rejected"]) == (2, 2)
    assert {lst["campaign_id"] for lst in report["lists"]} == {north, south}
    assert await rows(api, "SELECT campaign_id, phone FROM records ORDER BY id") == [
        (north, "+12125550100"),
        (south, "+442079460018"),
    ]
    assert [(r[0], r[1]) for r in (await rejects(api, report["id"]))[1:]] == [
        ("4", f"routed to campaign {stopped}, which is stopped"),
        ("5", "no routing rule matches and the project has no default campaign"),
    ]
    assert (await upload(api, "/api/projects/999/imports", data)).status == 404


async def test_multipart_upload_and_unknown_import(api: Client) -> None:
    cid = await campaign(api)
    form = aiohttp.FormData()
    form.add_field("file", b"Tel,Who\n2125550100,Ann\n", filename="crm.csv")
    form.add_field("mapping", '{"phone": "Tel", "name": "Who"}')
    resp = await api.post(f"/api/campaigns/{cid}/imports", data=form)
    assert resp.status == 202
    report = await finished(api, (await resp.json())["id"])
    assert (report["accepted"], report["filename"]) == (1, "crm.csv")
    assert await rows(api, "SELECT name FROM records") == [("Ann",)]
    assert (await api.get("/api/imports/999")).status == 404
    assert (await api.get("/api/imports/999/rejects.csv")).status == 404


async def test_a_50_mb_file_with_progress(api: Client, tmp_path: Path) -> None:
    cid = await campaign(api)
    # 50 MB in big custom cells keeps the row count (and the test) small.
    filler = "z" * 30_000
    lines = ["phone,info"] + [f"212200{n:04d},{filler}" for n in range(1750)]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > 50_000_000
    resp = await upload(api, f"/api/campaigns/{cid}/imports", data)
    assert resp.status == 202
    import_id = (await resp.json())["id"]
    seen = await (await api.get(f"/api/imports/{import_id}")).json()
    assert seen["bytes_total"] == len(data)
    report = await finished(api, import_id)
    assert report["bytes_done"] == len(data)
    assert (report["rows_read"], report["accepted"], report["rejected"]) == (1750, 1750, 0)


def test_bench_runs_small() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import.py"), "--rows", "2000"],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == {
        "rows",
        "seconds",
        "rows_per_s",
        "peak_rss_mb",
        "api_p99_ms",
        "pick_ms_10k",
        "pick_ms_1m",
    }
    assert result["rows"] == 2000
    assert result["rows_per_s"] > 0 and result["peak_rss_mb"] > 0
    assert "baseline" in out.stdout


# Duplicates across batches, within a batch, against the campaign, and DNC: the same
# report whatever the batch size (the writer process sees one batch at a time).
BATCHED = (
    "id,name,phone\n"
    "E1,Ann,2125550100\n"  # 2 kept
    "E2,Bob,2125550101\n"  # 3 kept
    "E3,Cy,2125550100\n"  # 4 same phone as line 2
    "E1,Di,2125550102\n"  # 5 same id as line 2
    "E4,Ed,2125550199\n"  # 6 on the campaign's DNC list: filtered
    "E5,Fay,2125550150\n"  # 7 already in the campaign
    "E6,Gus,2125550103\n"  # 8 kept
    "E6,Hal,2125550103\n"  # 9 same phone and id as line 8
    "E7,Ida,2125550104\n"  # 10 kept
)


async def _batched_import(
    tmp_path: Path, batch: int
) -> tuple[list[Any], list[Any], dict[str, Any]]:
    from pbx_dialer.imports import worker
    from pbx_dialer.storage.db import Database

    db_path = str(tmp_path / f"batch{batch}.sqlite3")
    db = await Database.open(db_path)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO campaigns (id, name, created_at, updated_at) VALUES (7, 'B', 0, 0)"
            )
            await conn.execute(
                "INSERT INTO records (campaign_id, phone, created_at) VALUES (7, '+12125550150', 0)"
            )
            await conn.execute(
                "INSERT INTO dnc (campaign_id, phone, added_at) VALUES (7, '+12125550199', 0)"
            )
        import_id = await import_rows.create(
            db, campaign_id=7, project_id=None, filename="b.csv", bytes_total=1, now=0.0
        )
        csv_path = tmp_path / f"batch{batch}.csv"
        csv_path.write_text(BATCHED)
        job = worker.Job(db_path, import_id, str(csv_path), "b", campaign_id=7, batch=batch)
        assert await asyncio.to_thread(worker.run, job) == "done"
        stored = [
            tuple(r)
            for r in await db.fetchall(
                "SELECT external_id, phone, state, reason FROM records "
                "WHERE list_id IS NOT NULL ORDER BY id"
            )
        ]
        rejected = [
            tuple(r)
            for r in await db.fetchall(
                "SELECT line, reason FROM import_rejects WHERE import_id = ? ORDER BY line",
                (import_id,),
            )
        ]
        report = await import_rows.get(db, import_id)
        assert report is not None
        return stored, rejected, report
    finally:
        await db.close()


async def test_duplicates_found_across_batches_whatever_their_size(tmp_path: Path) -> None:
    stored = [
        ("E1", "+12125550100", "ready", ""),
        ("E2", "+12125550101", "ready", ""),
        ("E4", "+12125550199", "filtered", "DNC"),
        ("E6", "+12125550103", "ready", ""),
        ("E7", "+12125550104", "ready", ""),
    ]
    for batch in (1, 2, 3, 1000):
        records, rejected, report = await _batched_import(tmp_path, batch)
        assert records == stored, batch
        assert [line for line, _ in rejected] == [4, 5, 7, 9], batch
        assert rejected[2] == (7, "duplicate phone +12125550150: already in campaign 7")
        assert rejected[0][1].startswith("duplicate phone +12125550100: "), batch
        assert rejected[1][1].startswith("duplicate external id E1: "), batch
        if batch == 1000:
            assert rejected[0][1].endswith("line 2 of this file")
        if batch == 1:
            assert rejected[3][1] == "duplicate phone +12125550103: earlier in this file"
        assert (report["rows_read"], report["accepted"], report["duplicates"]) == (9, 4, 4)
        assert (report["filtered"], report["rejected"], report["state"]) == (1, 0, "done")
