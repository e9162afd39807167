"""bench/live.py runs end to end at a tiny size: it starts its own Asterisk, every ended
call reaches every viewer, and its last line is the JSON the issue asks for."""

from __future__ import annotations

import re

import pytest

from tests.pbx.bench_run import run_bench

pytestmark = pytest.mark.pbx


def test_bench_delivers_every_ended_call_to_every_viewer_and_ends_with_its_figures() -> None:
    stdout, lines, figures = run_bench("live.py", "--viewers", "3", "--seconds", "2", "--rate", "5")
    assert set(figures) == {"viewers", "p50_ms", "p99_ms", "server_cpu_pct"}
    assert figures["viewers"] == 3
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["server_cpu_pct"] > 0
    # Calls ended while it dialed, and each of them reached each of the 3 viewers.
    published = re.search(r"calls ended and published: (\d+) in", stdout)
    measured = re.search(r"(\d+) deliveries measured; (\d+) panel fetches", stdout)
    assert published is not None and measured is not None, stdout
    ended = int(published.group(1))
    assert ended >= 5
    assert int(measured.group(1)) == 3 * ended
    # The viewers fetched changed panels, as the dashboard page does.
    assert int(measured.group(2)) > 0
    assert "WARNING" not in stdout
    assert any(
        line.startswith("p99 AMI event -> viewer:") and "goal <= 200 ms" in line for line in lines
    )
