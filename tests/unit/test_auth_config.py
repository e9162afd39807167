"""The log-in settings of [server]: secure cookies and session lengths."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbx_dialer.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dialer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_secure_cookies_and_a_shift_long_session(tmp_path: Path) -> None:
    server = load_settings(write(tmp_path, ""), env={}).server
    assert server.secure_cookies is True
    assert server.session_hours == 12.0 and server.session_idle_minutes == 120.0


def test_plain_http_operators_turn_secure_cookies_off(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nsecure_cookies = false\nsession_hours = 8\n")
    server = load_settings(path, env={}).server
    assert server.secure_cookies is False and server.session_hours == 8.0
    env = {"PBX_DIALER_SERVER_SECURE_COOKIES": "no"}
    assert load_settings(write(tmp_path, ""), env=env).server.secure_cookies is False


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[server]\nsecure_cookies = "yes"\n', "[server].secure_cookies: expected bool, got str"),
        ("[server]\nsession_hours = 0\n", "[server].session_hours: must be > 0"),
        ("[server]\nsession_idle_minutes = -5\n", "[server].session_idle_minutes: must be > 0"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(write(tmp_path, text), env={})
    assert words in str(refused.value)
