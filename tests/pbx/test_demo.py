"""`make demo` runs `python -m pbx_dialer demo`: it must dial, show it, and stop cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

pytestmark = pytest.mark.pbx
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def children_named(parent: int, name: str) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent and comm == name:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


async def test_demo_dials_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """The demo starts Asterisk, simulated agents and customers, the server and a
    campaign; its URL serves the live status with attempts arriving; Ctrl-C (SIGINT)
    stops everything, Asterisk included."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbx_dialer", "demo", "--port", str(port), "--records", "8",
        "--agents", "3", "--database", str(tmp_path / "demo.sqlite3"),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(120):
            while True:
                line = (await proc.stdout.readline()).decode()
                assert line, "demo exited early:\n" + "".join(output)
                output.append(line)
                if f"http://127.0.0.1:{port}/" in line:
                    break
        asterisks = children_named(proc.pid, "asterisk")
        assert asterisks, "the demo runs its own Asterisk"
        login = re.search(r"log in as '(\w+)' with password '([^']+)'", "".join(output))
        assert login, "the demo prints its admin's log-in:\n" + "".join(output)
        # The session cookie comes from 127.0.0.1: only an "unsafe" jar keeps it.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            credentials = {"username": login.group(1), "password": login.group(2)}
            async with http.post(f"http://127.0.0.1:{port}/login", json=credentials) as response:
                assert response.status == 200, await response.text()
            async with asyncio.timeout(60):
                while True:
                    async with http.get(f"http://127.0.0.1:{port}/api/status") as response:
                        status = json.loads(await response.text())
                    if any(a["state"] == "ended" for a in status["attempts"]):
                        break
                    await asyncio.sleep(0.5)
            async with http.get(f"http://127.0.0.1:{port}/") as response:
                assert response.status == 200
                assert "Demo wave 1" in await response.text()
        assert status["pbx"][0]["state"] == "ready"
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            rest = (await proc.stdout.read()).decode()
            code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, rest
    assert "demo stopped." in rest
    assert "Traceback" not in "".join(output) + rest
    assert not any(alive(pid) for pid in asterisks), "Asterisk outlived the demo"
