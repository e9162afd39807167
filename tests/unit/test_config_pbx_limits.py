"""The [[pbx]] settings of calls per second and queue wrap-up times."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbx_dialer.config import ConfigError, load_settings


def test_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[[pbx]]\nname = 'a'\n", encoding="utf-8")
    settings = load_settings(path, env={})
    assert settings.pbx[0].max_calls_per_second == 10.0
    assert settings.pbx[0].queue_wrapup_s == {}


def test_values_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[[pbx]]\nname = 'a'\nmax_calls_per_second = 2\n"
        "queue_wrapup_s = { sales = 3, support = 12.5 }\n",
        encoding="utf-8",
    )
    pbx = load_settings(path, env={}).pbx[0]
    assert pbx.max_calls_per_second == 2.0
    assert pbx.queue_wrapup_s == {"sales": 3, "support": 12.5}


def test_env_overrides_the_rate(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[[pbx]]\nname = 'a'\n", encoding="utf-8")
    settings = load_settings(path, env={"PBX_DIALER_PBX_A_MAX_CALLS_PER_SECOND": "4.5"})
    assert settings.pbx[0].max_calls_per_second == 4.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_calls_per_second = 0", "[[pbx]] a.max_calls_per_second: must be > 0"),
        ("max_calls_per_second = -2", "[[pbx]] a.max_calls_per_second: must be > 0"),
        ("max_calls_per_second = 'fast'", "a.max_calls_per_second: expected float, got str"),
        ("queue_wrapup_s = { sales = -1 }", "a.queue_wrapup_s.sales: must be a number"),
        ("queue_wrapup_s = { sales = 'long' }", "a.queue_wrapup_s.sales: must be a number"),
        ("queue_wrapup_s = { sales = true }", "a.queue_wrapup_s.sales: must be a number"),
        ("queue_wrapup_s = 3", "a.queue_wrapup_s: expected dict, got int"),
    ],
)
def test_mistakes_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[[pbx]]\nname = 'a'\n{text}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
