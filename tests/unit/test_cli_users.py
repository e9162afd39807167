"""`pbx-dialer create-admin` and `create-token` as real processes on a real database."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pbx_dialer.auth.model import Role
from pbx_dialer.auth.service import AuthService
from pbx_dialer.storage.db import Database

ROOT = Path(__file__).resolve().parents[2]


async def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbx_dialer", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def config(tmp_path: Path) -> Path:
    path = tmp_path / "dialer.toml"
    path.write_text(f'[database]\npath = "{tmp_path / "users.sqlite3"}"\n', encoding="utf-8")
    return path


async def auth_of(tmp_path: Path) -> tuple[Database, AuthService]:
    db = await Database.open(str(tmp_path / "users.sqlite3"))
    return db, AuthService(db, lambda: 1_800_000_000.0, lifetime_s=3600, idle_s=3600)


async def test_create_admin_then_log_in_with_it(tmp_path: Path) -> None:
    cfg = str(config(tmp_path))
    code, out, err = await run(
        "create-admin", "--config", cfg, "--username", "boss", "--password-stdin",
        stdin="the first admin password\n",
    )  # fmt: skip
    assert code == 0, err
    assert out == "admin 'boss' created\n"
    db, auth = await auth_of(tmp_path)
    try:
        session = await auth.log_in("boss", "the first admin password", "127.0.0.1")
        assert session.user.role is Role.ADMIN and session.user.all_campaigns
    finally:
        await db.close()


async def test_refusals_are_one_line_and_store_nothing(tmp_path: Path) -> None:
    cfg = str(config(tmp_path))
    base = ("create-admin", "--config", cfg, "--password-stdin")
    code, _, err = await run(*base, "--username", "boss", stdin="short\n")
    assert code == 2 and err == "pbx-dialer: password: must be at least 10 characters\n"
    code, _, err = await run(*base, "--username", "no spaces", stdin="long enough password\n")
    assert code == 2 and err.startswith("pbx-dialer: --username: ") and err.count("\n") == 1
    await run(*base, "--username", "boss", stdin="long enough password\n")
    code, _, err = await run(*base, "--username", "boss", stdin="another long password\n")
    assert code == 2 and "exists already" in err and "--reset" in err
    code, _, err = await run(
        "create-admin", "--config", str(tmp_path / "missing.toml"), "--username", "x",
        "--password-stdin", stdin="long enough password\n",
    )  # fmt: skip
    assert code == 2 and "no such configuration file" in err
    db, auth = await auth_of(tmp_path)
    try:
        session = await auth.log_in("boss", "long enough password", "127.0.0.1")
        assert session.user.username == "boss", "the refused second run changed nothing"
    finally:
        await db.close()


async def test_reset_sets_a_new_password_and_create_token_prints_a_working_token(
    tmp_path: Path,
) -> None:
    cfg = str(config(tmp_path))
    base = ("create-admin", "--config", cfg, "--username", "boss", "--password-stdin")
    await run(*base, stdin="long enough password\n")
    code, out, err = await run(*base, "--reset", stdin="a different password\n")
    assert code == 0, err
    assert "new password set" in out
    code, out, err = await run("create-token", "--config", cfg, "--username", "boss")
    assert code == 0, err
    token = out.strip()
    code, _, err = await run("create-token", "--config", cfg, "--username", "nobody")
    assert code == 2 and err == "pbx-dialer: no user named 'nobody'\n"
    db, auth = await auth_of(tmp_path)
    try:
        user = await auth.token_user(token)
        assert user is not None and user.username == "boss"
        session = await auth.log_in("boss", "a different password", "127.0.0.1")
        assert session.user.id == user.id
    finally:
        await db.close()
