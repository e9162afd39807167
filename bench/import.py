"""Benchmark: import a generated CSV through a real server and report rows/s, peak RSS,
the API's p99 latency meanwhile, and the time to pick the next record at 10k and at the
imported size. Also times a baseline (plain executemany of the same rows, no checks).

    .venv/bin/python bench/import.py [--rows 1000000]

The last line of output is one JSON object:
{"rows", "seconds", "rows_per_s", "peak_rss_mb", "api_p99_ms", "pick_ms_10k", "pick_ms_1m"}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pbx_dialer.storage import attempts as attempt_rows  # noqa: E402
from pbx_dialer.storage.db import Database  # noqa: E402

# Real US area codes: generated numbers are valid, spread over many time zones.
_AREA_TEXT = (
    "201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 229 "
    "231 234 239 240 248 251 252 253 254 256 260 262 267 269 270 276 281 301 302 303 304 "
    "305 307 308 309 310 312 313 314 315 316 317 318 319 320 321 323 325 330 334 336 337 "
    "339 347 351 352 360 361 386 401 402 404 405 406 407 408 409 410 412 413 414 415 417 "
    "419 423 424 425 430 432 434 435 440 442 443 469 470 475 478 479 480 484 501 502 503 "
    "504 505 507 508 509 510 512 513 515 516 517 518 520 530 540 541 551 559 561 562 563 "
    "567 570 571 573 574 575 580 585 586 601 602 603 605 606 607 608 609 610 612 614 615 "
    "616 617 618 619 620 623 626 630 631 636 641 646 650 651 660 661 662 678 682 701 702 "
    "703 704 706 707 708 712 713 714 715 716 717 718 719 720 724 727 731 732 734 740 754 "
    "757 760 762 763 765 769 770 772 773 774 775 779 781 785 786 801 802 803 804 805 806 "
    "808 810 812 813 814 815 816 817 818 828 830 831 832 843 845 847 848 850 856 857 858 "
    "859 860 862 863 864 865 870 878 901 903 904 906 907 908 909 910 912 913 914 915 916 "
    "917 918 919 920 925 928 931 936 937 940 941 947 949 951 952 954 956 970 971 972 973 "
    "978 979 980 985 989"
)
AREAS = _AREA_TEXT.split(" ")


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """A CRM export: sequential customer ids, random valid US numbers, a custom column."""
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("customer_id,first_name,last_name,phone,mobile,city,notes\n")
        for i in range(rows):
            area = rnd.choice(AREAS)
            f.write(
                f"C{i:08d},John,Smith{i % 1000},({area}) {rnd.randint(200, 999)}-"
                f"{rnd.randint(0, 9999):04d},,Springfield,\n"
            )


# --- the server, in its own process -----------------------------------------------------


def api_token(db_path: str) -> str:
    """An admin with an API token in a fresh database (the API needs a log-in)."""
    from pbx_dialer.auth.model import Role, User
    from pbx_dialer.auth.service import AuthService

    async def make() -> str:
        db = await Database.open(db_path)
        try:
            auth = AuthService(db, time.time, lifetime_s=3600, idle_s=3600)
            admin = User(id=0, username="bench", role=Role.ADMIN)
            user_id = await auth.create_user(admin, os.urandom(16).hex())
            return (await auth.new_token(user_id, "bench"))[1]
        finally:
            await db.close()

    return asyncio.run(make())


def serve(db_path: str, port: int) -> None:
    from aiohttp import web

    from pbx_dialer.config import DatabaseSettings, DialerSettings, PbxSettings, Settings
    from pbx_dialer.http.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings = Settings(
        database=DatabaseSettings(path=db_path),
        pbx=(PbxSettings(port=closed_port, secret="unused", connect_timeout=0.5),),
        dialer=DialerSettings(tick_seconds=0.2),
    )
    web.run_app(create_app(settings), host="127.0.0.1", port=port, print=None)


def descendants(pid: int) -> list[int]:
    found = [pid]
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    found.extend(descendants(int(child)))
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pids: list[int], field: str = "VmRSS") -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
    return total / 1024


# --- measurements -----------------------------------------------------------------------


async def run_import(port: int, csv_path: Path, token: str) -> dict[str, float]:
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as resp:
                    break
            await asyncio.sleep(0.05)
        async with http.post(
            f"{base}/api/campaigns", json={"name": "Bench", "queue": "sales"}
        ) as resp:
            campaign_id = (await resp.json())["id"]
        latencies: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            while not done.is_set():
                t0 = time.perf_counter()
                async with http.get(f"{base}/api/campaigns/{campaign_id}") as r:
                    await r.read()
                latencies.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(0.01)

        started = time.perf_counter()
        with csv_path.open("rb") as body:
            async with http.post(
                f"{base}/api/campaigns/{campaign_id}/imports",
                data=body,
                params={"filename": "bench.csv"},
                headers={"Content-Type": "text/csv"},
            ) as resp:
                assert resp.status == 202, await resp.text()
                import_id = (await resp.json())["id"]
        uploaded = time.perf_counter()
        prober = asyncio.create_task(probe())
        while True:
            async with http.get(f"{base}/api/imports/{import_id}") as resp:
                report = await resp.json()
            if report["state"] != "running":
                break
            await asyncio.sleep(0.1)
        ended = time.perf_counter()
        done.set()
        await prober
    assert report["state"] == "done", report
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return {
        "campaign_id": campaign_id,
        "seconds": ended - started,
        "upload_s": uploaded - started,
        "accepted": report["accepted"],
        "rejected": report["rejected"],
        "duplicates": report["duplicates"],
        "rows_read": report["rows_read"],
        "api_p99_ms": p99,
        "api_samples": len(latencies),
    }


def pick_ms(db_path: str, campaign_id: int) -> tuple[float, float]:
    """The dial loop's own pick (`attempts.peek`, what `take_records` selects), as the
    engine runs it: one index range per time zone of the campaign, zones looked up once
    (the engine reuses them for 30 s). Returns (median pick ms, zone look-up ms)."""

    async def measure() -> tuple[float, float]:
        db = await Database.open(db_path)
        try:
            t0 = time.perf_counter()
            zones = await attempt_rows.ready_zones(db, campaign_id)
            zones_ms = (time.perf_counter() - t0) * 1000
            known = attempt_rows.ZoneFilter(
                frozenset(z for z in zones if z is not None),
                (lambda _phone: True) if None in zones else None,
            )
            times = []
            for _ in range(200):
                t0 = time.perf_counter()
                await attempt_rows.peek(db, campaign_id, 10, time.time(), known)
                times.append((time.perf_counter() - t0) * 1000)
            return statistics.median(times), zones_ms
        finally:
            await db.close()

    return asyncio.run(measure())


def small_campaign(db_path: str, rows: int, like: int) -> int:
    """A 10k campaign whose records spread over the same time zones, in the same
    proportions, as the imported campaign `like`: the two picks do the same work."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=10000")
    shares = conn.execute(
        "SELECT timezone, count(*) FROM records WHERE campaign_id = ? GROUP BY timezone", (like,)
    ).fetchall()
    total = sum(n for _, n in shares) or 1
    zones = [z for z, n in shares for _ in range(max(1, round(n * rows / total)))][:rows]
    conn.execute("BEGIN IMMEDIATE")
    campaign_id = conn.execute(
        "INSERT INTO campaigns (name, created_at, updated_at) VALUES ('Pick 10k', 0, 0)"
    ).lastrowid
    conn.executemany(
        "INSERT INTO records (campaign_id, phone, timezone, created_at) VALUES (?, ?, ?, 0)",
        (
            (campaign_id, f"+1212{n:07d}", zones[n % len(zones)] if zones else None)
            for n in range(rows)
        ),
    )
    conn.execute("COMMIT")
    conn.close()
    assert campaign_id is not None
    return campaign_id


def baseline(csv_path: Path, db_path: str) -> float:
    """The same rows stored with a plain executemany, no checks: the floor of the schema."""

    async def migrate() -> None:
        db = await Database.open(db_path)
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO campaigns (name, created_at, updated_at) VALUES ('Base', 0, 0)"
            )
        await db.close()

    asyncio.run(migrate())
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    with csv_path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        batch: list[tuple[str, ...]] = []
        for row in reader:
            batch.append((row[3], f"{row[1]} {row[2]}", row[0], row[5]))
            if len(batch) == 50_000:
                _store(conn, batch)
                batch = []
        _store(conn, batch)
    conn.close()
    return time.perf_counter() - started


def _store(conn: sqlite3.Connection, batch: list[tuple[str, ...]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO records (campaign_id, phone, name, external_id, custom, created_at) "
        "VALUES (1, ?, ?, ?, ?, 0)",
        batch,
    )
    conn.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory(prefix="pbx-bench-") as tmp:
        csv_path = Path(tmp) / "bench.csv"
        t0 = time.perf_counter()
        generate(csv_path, args.rows)
        print(
            f"generated {args.rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        db_path = str(Path(tmp) / "bench.sqlite3")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        token = api_token(db_path)
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", db_path, str(port)],
            stdout=subprocess.DEVNULL,
        )
        peak = [0.0]

        async def measure() -> dict[str, float]:
            async def sample() -> None:
                while True:
                    peak[0] = max(peak[0], rss_mb(descendants(server.pid)))
                    await asyncio.sleep(0.02)

            sampler = asyncio.create_task(sample())
            server_cpu = cpu_s(server.pid)
            try:
                found = await run_import(port, csv_path, token)
            finally:
                sampler.cancel()
            # The server's own CPU meanwhile (mostly answering the probe) competes with
            # the import's two processes for the two cores.
            found["server_cpu_s"] = cpu_s(server.pid) - server_cpu
            return found

        try:
            result = asyncio.run(measure())
            peak_rss = max(peak[0], rss_mb([server.pid], "VmHWM"))
        finally:
            server.terminate()
            server.wait(timeout=30)
        rows_per_s = args.rows / result["seconds"]
        print(
            f"import: {result['rows_read']} rows read, {result['accepted']} accepted, "
            f"{result['rejected']} rejected, {result['duplicates']} duplicates "
            f"in {result['seconds']:.2f} s (upload {result['upload_s']:.2f} s): "
            f"{rows_per_s:,.0f} rows/s"
        )
        print(f"peak RSS (server + import worker): {peak_rss:.0f} MB")
        print(
            f"API p99 during the import: {result['api_p99_ms']:.1f} ms "
            f"over {result['api_samples']} GET /api/campaigns/{{id}}; the server used "
            f"{result['server_cpu_s']:.1f} s of CPU meanwhile; load average "
            f"{os.getloadavg()[0]:.2f}"
        )
        small = small_campaign(db_path, 10_000, int(result["campaign_id"]))
        pick_small, zones_small = pick_ms(db_path, small)
        pick_big, zones_big = pick_ms(db_path, int(result["campaign_id"]))
        print(
            f"pick (next 10 due records, the dial loop's own query): {pick_small:.3f} ms at "
            f"10k, {pick_big:.3f} ms at {result['accepted']:.0f}; looking up the campaign's "
            f"zones (every 30 s): {zones_small:.1f} ms at 10k, "
            f"{zones_big:.1f} ms at {result['accepted']:.0f}"
        )
        base_s = baseline(csv_path, str(Path(tmp) / "baseline.sqlite3"))
        print(
            f"baseline (plain executemany of the same rows, no checks, same schema): "
            f"{base_s:.2f} s, {args.rows / base_s:,.0f} rows/s"
        )
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "seconds": round(result["seconds"], 2),
                    "rows_per_s": round(rows_per_s),
                    "peak_rss_mb": round(peak_rss, 1),
                    "api_p99_ms": round(result["api_p99_ms"], 2),
                    "pick_ms_10k": round(pick_small, 4),
                    "pick_ms_1m": round(pick_big, 4),
                }
            )
        )


if __name__ == "__main__":
    main()
