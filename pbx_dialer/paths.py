"""Where the files shipped with pbx-dialer are, for the dialer and its test runtime."""

from __future__ import annotations

from pathlib import Path

# The shipped Asterisk configuration (extensions_dialer.conf, manager.conf, sounds/...).
PROJECT_CONF_DIR = Path(__file__).resolve().parents[1] / "asterisk"
# The formats Asterisk's Playback finds for a sound named without extension (the
# recordings shipped in asterisk/sounds/, the safe-harbour check).
SOUND_FORMATS = ("wav", "gsm", "ulaw", "alaw", "sln", "g722")
