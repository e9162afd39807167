"""bench/live.py runs end to end at a tiny size: it starts its own Asterisk, every ended
call reaches every viewer, and its last line is the JSON the issue asks for."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pbx
BENCH = Path(__file__).resolve().parents[2] / "bench" / "live.py"


def test_bench_delivers_every_ended_call_to_every_viewer_and_ends_with_its_figures() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--viewers", "3", "--seconds", "2", "--rate", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) == {"viewers", "p50_ms", "p99_ms", "server_cpu_pct"}
    assert figures["viewers"] == 3
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["server_cpu_pct"] > 0
    # Calls ended while it dialed, and each of them reached each of the 3 viewers.
    published = re.search(r"calls ended and published: (\d+) in", out.stdout)
    measured = re.search(r"(\d+) deliveries measured; (\d+) panel fetches", out.stdout)
    assert published is not None and measured is not None, out.stdout
    ended = int(published.group(1))
    assert ended >= 5
    assert int(measured.group(1)) == 3 * ended
    # The viewers fetched changed panels, as the dashboard page does.
    assert int(measured.group(2)) > 0
    assert "WARNING" not in out.stdout
    assert any(
        line.startswith("p99 AMI event -> viewer:") and "goal <= 200 ms" in line for line in lines
    )
