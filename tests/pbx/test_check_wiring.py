"""`pbx-dialer check` against a wrongly wired Asterisk: each mistake is one line.

The instance is started as shipped, then its files are edited and reloaded, as a PBX
admin would get it wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pbx_dialer.campaigns.model import CampaignSettings
from pbx_dialer.storage import campaigns
from pbx_dialer.storage.db import Database
from pbx_dialer.testing.asterisk import AsteriskInstance, RawAmi
from tests.pbx.test_cli import run, shipped_sounds, write_config

pytestmark = pytest.mark.pbx


async def _campaigns(tmp_path: Path, *queues: str) -> None:
    db = await Database.open(str(tmp_path / "dialer.sqlite3"))
    try:
        for index, queue in enumerate(queues):
            await campaigns.create(db, CampaignSettings(name=f"c{index}", queue=queue), 0.0)
    finally:
        await db.close()


def _config(asterisk: AsteriskInstance, tmp_path: Path, extra: str) -> Path:
    return write_config(
        tmp_path,
        ami_port=asterisk.ami_port,
        username=asterisk.dialer_user,
        secret=asterisk.dialer_secret,
        extra=extra,
    )


async def test_each_wiring_problem_is_one_line(asterisk: AsteriskInstance, tmp_path: Path) -> None:
    etc = asterisk.instance_dir / "etc"
    # Another [dialer-connect] in the admin's own dialplan: Asterisk merges the two.
    extensions = etc / "extensions.conf"
    extensions.write_text(
        extensions.read_text() + "\n[dialer-connect]\nexten => 1234,1,NoOp(mine)\n"
    )
    # dialer-preview left out of the included file.
    dialplan = etc / "extensions_dialer.conf"
    text = dialplan.read_text()
    text = re.sub(r"(?ms)^\[dialer-preview\].*?(?=^\[|\Z)", "", text)
    assert "[dialer-preview]" not in text
    dialplan.write_text(text)
    assert "reloaded" in (await asterisk.cli("dialplan reload")).lower()
    # The dialer's AMI user without `originate`.
    manager = etc / "manager.conf"
    manager.write_text(
        manager.read_text().replace(
            "write = originate,call,agent,reporting", "write = call,agent,reporting"
        )
    )
    await asterisk.cli("manager reload")
    await _campaigns(tmp_path, "sales", "no-such-queue")
    sounds = shipped_sounds(tmp_path)
    config = _config(
        asterisk, tmp_path, f'sounds_dir = "{sounds}"\nsafe_harbour = "our-own-message"\n'
    )

    result = await run("check", "--config", str(config))

    assert result.code == 1, result
    assert "Traceback" not in result.err, result.err
    lines = result.err.splitlines()
    expected = [
        "error: [main] AMI user 'dialer' may not run Originate: add originate to write=",
        "error: [main] context 'dialer-connect' has extensions the shipped "
        "extensions_dialer.conf does not give it (1234): it was merged with another",
        "error: [main] context 'dialer-preview' is not in the dialplan",
        "error: [main] campaign 'c1': queue 'no-such-queue' does not exist on this Asterisk",
        f"error: [main] safe_harbour sound 'our-own-message' is missing: no {sounds}/en/"
        "our-own-message.{wav,gsm,ulaw,alaw,sln,g722}",
    ]
    assert len(lines) == len(expected), result.err
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), (line, start)
    assert "no wiring problem" not in result.out


async def _own_sounds(asterisk: AsteriskInstance) -> str:
    """This Asterisk's sounds directory as Asterisk names it: every test's Asterisk has
    its own data directory, with the shipped recordings in sounds/en/ (AsteriskInstance)."""
    ami = await RawAmi.connect(asterisk.ami_host, asterisk.ami_port)
    try:
        await ami.login(asterisk.simulator_user, asterisk.simulator_secret, events="off")
        data = (await ami.action("Getvar", Variable="ASTDATADIR"))["Value"]
    finally:
        await ami.close()
    assert data, "Asterisk names no data directory"
    assert asterisk.installation is not None
    shipped = asterisk.installation.host_path(f"{data}/sounds/en/dialer-safe-harbour.wav")
    assert shipped.is_file(), shipped
    return f"{data}/sounds"


async def test_without_sounds_dir_the_dialplan_finds_the_sound(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    """Asterisk 22 refuses STAT() over AMI but runs it in [dialer-check-sound]: a stock
    Asterisk wired as shipped passes with the default safe_harbour and no sounds_dir."""
    sounds = await _own_sounds(asterisk)
    found = await run("check", "--config", str(_config(asterisk, tmp_path, "")))
    assert found.code == 0, found
    assert found.err == ""
    assert found.out.splitlines()[-1] == "ok: no wiring problem found on main"

    missing = await run(
        "check", "--config", str(_config(asterisk, tmp_path, 'safe_harbour = "no-such-sound"\n'))
    )
    assert missing.code == 1, missing
    assert missing.err.splitlines() == [
        f"error: [main] safe_harbour sound 'no-such-sound' is missing: no {sounds}/en/"
        "no-such-sound.{wav,gsm,ulaw,alaw,sln,g722}"
    ]

    # Without func_env.so STAT() is no function at all: the dialplan says it cannot tell.
    assert "Unloaded" in await asterisk.cli("module unload func_env.so")
    unknown = await run("check", "--config", str(_config(asterisk, tmp_path, "")))
    assert unknown.code == 1, unknown
    assert unknown.err.splitlines() == [
        "error: [main] cannot tell whether safe_harbour sound 'dialer-safe-harbour' is in "
        f"{sounds}/en/dialer-safe-harbour.{{wav,gsm,ulaw,alaw,sln,g722}}: STAT() does not "
        "work in its dialplan: load func_env.so"
    ]


async def test_without_the_check_context_the_sound_is_not_checked_in_one_line(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    dialplan = asterisk.instance_dir / "etc" / "extensions_dialer.conf"
    text = re.sub(r"(?ms)^\[dialer-check-sound\].*?(?=^\[|\Z)", "", dialplan.read_text())
    assert "[dialer-check-sound]" not in text
    dialplan.write_text(text)
    assert "reloaded" in (await asterisk.cli("dialplan reload")).lower()

    result = await run("check", "--config", str(_config(asterisk, tmp_path, "")))

    assert result.code == 1, result
    assert result.err.splitlines() == [
        "error: [main] context 'dialer-check-sound' is not in the dialplan: "
        '#include "extensions_dialer.conf" (the shipped one) and dialplan reload '
        "(so the safe_harbour sound 'dialer-safe-harbour' is not checked)"
    ]


async def test_dialer_outbound_without_trunk_is_refused_by_check_and_serve(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path,
        ami_port=1,
        secret="x",
        extra='dial_template = "Local/{number}@dialer-outbound"\n',
    )
    text = config.read_text().replace('dial_template = "Local/{number}@sim-pstn"\n', "")
    config.write_text(text)
    for command in ("check", "serve"):
        result = await run(command, "--config", str(config))
        assert result.code == 2, result
        assert result.err.splitlines() == [
            f'pbx-dialer: {config} [[pbx]] main.trunk: must be set (e.g. "PJSIP/trunk") '
            "because dial_template 'Local/{number}@dialer-outbound' goes through dialer-outbound"
        ]
