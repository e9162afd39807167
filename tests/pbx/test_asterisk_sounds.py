"""The project's recordings (asterisk/sounds/*) are playable by name in language en, next
to Asterisk's own sounds."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from pbx_dialer.testing.asterisk import AsteriskInstance

pytestmark = pytest.mark.pbx


async def test_shipped_sounds_are_indexed_in_english_beside_asterisks_own(
    tmp_path: Path,
) -> None:
    with wave.open(str(tmp_path / "pbxd-test-greeting.wav"), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 800)
    async with AsteriskInstance(sounds_dir=tmp_path) as asterisk:
        ours = await asterisk.cli("core show sound pbxd-test-greeting")
        theirs = await asterisk.cli("core show sound silence/1")
    assert "Language en:" in ours and "Format: slin" in ours, ours
    assert "Language en:" in theirs, theirs
