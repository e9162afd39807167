"""Where the files shipped with pbx-dialer are, for the dialer and its test runtime."""

from __future__ import annotations

from pathlib import Path

# The shipped Asterisk configuration (extensions_dialer.conf, manager.conf, sounds/...).
PROJECT_CONF_DIR = Path(__file__).resolve().parents[1] / "asterisk"
