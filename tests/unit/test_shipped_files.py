"""The files we ship for users: the compose file and the example settings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pbx_dialer.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_config_accepts_the_compose_file() -> None:
    tool = shutil.which("docker-compose")
    assert tool is not None, "docker-compose is not installed (make system-deps installs it)"
    done = subprocess.run(
        [tool, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_example_settings_load() -> None:
    settings = load_settings(ROOT / "pbx-dialer.example.toml", env={})
    assert settings.pbx[0].name == "main"
    assert settings.pbx[0].username == "dialer"


def test_compose_points_at_the_example_settings() -> None:
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "/app/pbx-dialer.example.toml" in compose
