"""`pbx-dialer check` and `serve` as real processes against a real Asterisk.

Every expected failure must end in one line on stderr, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from pbx_dialer.paths import PROJECT_CONF_DIR
from pbx_dialer.testing.asterisk import AsteriskInstance

pytestmark = pytest.mark.pbx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_config(
    tmp_path: Path,
    *,
    ami_port: int,
    secret: str,
    username: str = "dialer",
    http_port: int | None = None,
    extra: str = "",
) -> Path:
    path = tmp_path / "dialer.toml"
    path.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {http_port or _free_port()}

[database]
path = "{tmp_path / "dialer.sqlite3"}"

[[pbx]]
name = "main"
host = "127.0.0.1"
port = {ami_port}
username = "{username}"
secret = "{secret}"
dial_template = "Local/{{number}}@sim-pstn"
connect_timeout = 2.0
reconnect_min = 0.2
reconnect_max = 1.0
{extra}""",
        encoding="utf-8",
    )
    return path


def _env() -> dict[str, str]:
    # Only the file decides: no PBX_DIALER_* from the developer's shell.
    return {k: v for k, v in os.environ.items() if not k.startswith("PBX_DIALER_")}


@dataclass
class Finished:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


async def run(*args: str, timeout: float = 20) -> Finished:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pbx_dialer",
        *args,
        cwd=ROOT,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode(), err.decode())


def assert_one_line(result: Finished, *needles: str) -> str:
    assert "Traceback" not in result.err, result.err
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    for needle in needles:
        assert needle in line, line
    return line


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    listening: str


@pytest.fixture
async def serving() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Kills whatever `serve` a test left running, so no process outlives it."""
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def start_serve(config: Path, procs: list[asyncio.subprocess.Process]) -> Served:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pbx_dialer",
        "serve",
        "--config",
        str(config),
        cwd=ROOT,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    procs.append(proc)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 15)
    return Served(proc, line.decode())


async def stop_serve(served: Served) -> Finished:
    served.proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(served.proc.communicate(), 15)
    assert served.proc.returncode is not None
    return Finished(served.proc.returncode, served.listening + out.decode(), err.decode())


async def test_check_ok(asterisk: AsteriskInstance, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        ami_port=asterisk.ami_port,
        username=asterisk.dialer_user,
        secret=asterisk.dialer_secret,
        extra=f'sounds_dir = "{shipped_sounds(tmp_path)}"\n',
    )
    result = await run("check", "--config", str(config))
    assert result.code == 0, result
    assert result.out.splitlines() == [
        f"ok: [main] AMI {asterisk.dialer_user}@127.0.0.1:{asterisk.ami_port}: connected",
        "ok: no wiring problem found on main",
    ]
    assert result.err == ""


def shipped_sounds(tmp_path: Path) -> Path:
    """A sounds dir as the dialer sees it (`sounds_dir`) with the shipped sounds in en/."""
    sounds = tmp_path / "sounds"
    (sounds / "en").mkdir(parents=True)
    for sound in (PROJECT_CONF_DIR / "sounds").glob("*.wav"):
        shutil.copy(sound, sounds / "en" / sound.name)
    return sounds


async def test_check_wrong_secret(asterisk: AsteriskInstance, tmp_path: Path) -> None:
    config = write_config(
        tmp_path, ami_port=asterisk.ami_port, username=asterisk.dialer_user, secret="wrong"
    )
    result = await run("check", "--config", str(config))
    assert result.code != 0
    assert_one_line(result, "login refused", asterisk.dialer_user)


async def test_serve_wrong_secret_exits_2(asterisk: AsteriskInstance, tmp_path: Path) -> None:
    config = write_config(
        tmp_path, ami_port=asterisk.ami_port, username=asterisk.dialer_user, secret="wrong"
    )
    result = await run("serve", "--config", str(config))
    assert result.code == 2, result
    line = assert_one_line(result, "login refused", asterisk.dialer_user)
    assert line.startswith("pbx-dialer: [main] ")
    assert "listening" not in result.out


async def test_check_unreachable(tmp_path: Path) -> None:
    port = _free_port()
    config = write_config(tmp_path, ami_port=port, secret="x")
    result = await run("check", "--config", str(config))
    assert result.code != 0
    assert_one_line(result, "cannot connect", f"127.0.0.1:{port}")


async def test_serve_starts_without_asterisk_and_stops_on_sigterm(
    tmp_path: Path, serving: list[asyncio.subprocess.Process]
) -> None:
    http_port = _free_port()
    config = write_config(tmp_path, ami_port=_free_port(), secret="x", http_port=http_port)
    served = await start_serve(config, serving)
    assert served.listening == f"pbx-dialer listening on http://127.0.0.1:{http_port}/\n"
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{http_port}/healthz") as response,
    ):
        # Up, but honest: AMI is not connected.
        assert response.status == 503
        body = await response.json()
    assert body["ok"] is False
    assert "cannot connect" in body["ami"]["main"]
    result = await stop_serve(served)
    assert result.code == 0, result
    assert "Traceback" not in result.err, result.err
    # The AMI problem is reported as log lines, and the server starts anyway.
    assert "cannot connect" in result.err
    assert "starting anyway" in result.err


async def test_serve_healthz_ok(
    asterisk: AsteriskInstance, tmp_path: Path, serving: list[asyncio.subprocess.Process]
) -> None:
    http_port = _free_port()
    config = write_config(
        tmp_path,
        ami_port=asterisk.ami_port,
        username=asterisk.dialer_user,
        secret=asterisk.dialer_secret,
        http_port=http_port,
    )
    served = await start_serve(config, serving)
    assert "listening on" in served.listening
    body: dict[str, object] = {}
    status = 0
    async with aiohttp.ClientSession() as session:
        # The web server may answer before its own AMI connection is READY.
        for _ in range(100):
            async with session.get(f"http://127.0.0.1:{http_port}/healthz") as response:
                status = response.status
                body = json.loads(await response.text())
            if status == 200:
                break
            await asyncio.sleep(0.1)
    assert status == 200, body
    assert body["ok"] is True
    assert body["database"] == "ok"
    result = await stop_serve(served)
    assert result.code == 0, result
    assert "Traceback" not in result.err, result.err


async def test_malformed_toml(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server\nport = 1\n", encoding="utf-8")
    for command in ("check", "serve"):
        result = await run(command, "--config", str(config))
        assert result.code == 2, result
        line = assert_one_line(result, str(config), "malformed TOML")
        assert line.startswith("pbx-dialer: ")


async def test_missing_config_file(tmp_path: Path) -> None:
    config = tmp_path / "absent.toml"
    for command in ("check", "serve"):
        result = await run(command, "--config", str(config))
        assert result.code == 2, result
        assert_one_line(result, str(config), "no such configuration file")
