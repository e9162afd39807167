"""The OpenAPI document matches the real routes, and schemathesis finds no server error."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]
ROOT = Path(__file__).resolve().parents[2]


def _template(path: str) -> str:
    # aiohttp's "{id:\d+}" is OpenAPI's "{id}".
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def _api_routes(app: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if not path.startswith("/api/") or path == "/api/openapi.json":
            continue
        if route.method == "HEAD":
            continue
        # Routes with an alternation ({control:play|pause|stop}) are one per value.
        match = re.search(r"\{(\w+):([a-z_|]+)\}", path)
        if match:
            for value in match.group(2).split("|"):
                routes.add((route.method.lower(), _template(path.replace(match.group(0), value))))
        else:
            routes.add((route.method.lower(), _template(path)))
    return routes


async def test_every_api_route_is_documented_and_nothing_else(api: Client) -> None:
    response = await api.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented == _api_routes(api.app)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _admin_token(config: Path) -> str:
    """An admin and its API token, made with the commands an operator uses."""
    admin = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbx_dialer", "create-admin", "--config", str(config),
        "--username", "fuzz", "--password-stdin",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    out, _ = await admin.communicate(b"a long enough password\n")
    assert admin.returncode == 0, out
    maker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbx_dialer", "create-token", "--config", str(config),
        "--username", "fuzz", stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    out, _ = await maker.communicate()
    assert maker.returncode == 0, out
    return out.decode().strip()


async def test_schemathesis_finds_no_server_error(tmp_path: Path) -> None:
    """The real server (no Asterisk behind it: the API must not need one) is fuzzed from
    its own OpenAPI document; any 5xx fails."""
    tool = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which(
        "schemathesis"
    )
    assert tool is not None, "schemathesis is not installed (make python-deps installs it)"
    port, ami = _free_port(), _free_port()
    config = tmp_path / "dialer.toml"
    config.write_text(
        f'[server]\nport = {port}\n[database]\npath = "{tmp_path / "st.sqlite3"}"\n'
        f'[[pbx]]\nport = {ami}\nsecret = "x"\nconnect_timeout = 0.5\n',
        encoding="utf-8",
    )
    token = await _admin_token(config)
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbx_dialer", "serve", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    assert server.stdout is not None
    try:
        async with asyncio.timeout(30):
            while b"listening on" not in await server.stdout.readline():
                pass
        fuzz = await asyncio.create_subprocess_exec(
            tool, "run", f"http://127.0.0.1:{port}/api/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            # Revoking the token it runs with would leave the rest of the run at 401.
            "--exclude-path", "/api/users/{id}/tokens/{token_id}",
            "--checks", "not_a_server_error", "--max-examples", "25",
            "--phases", "examples,coverage,fuzzing", "--workers", "1",
            "--suppress-health-check", "all",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
            env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        async with asyncio.timeout(600):
            output, _ = await fuzz.communicate()
        report = output.decode(errors="replace")
        assert fuzz.returncode == 0, report[-6000:]
        assert "Server error" not in report
    finally:
        server.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            await server.communicate()
