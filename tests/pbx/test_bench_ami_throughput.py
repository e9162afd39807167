"""bench/ami_throughput.py runs end to end on a small number of calls: it starts its own
Asterisk, both runs place every call, and its last line is the JSON the issue asks for."""

from __future__ import annotations

import pytest

from tests.pbx.bench_run import run_bench

pytestmark = pytest.mark.pbx


def test_bench_places_every_call_and_ends_with_its_figures() -> None:
    stdout, lines, figures = run_bench("ami_throughput.py", "--calls", "300", "--lines", "50")
    assert set(figures) == {"raw_per_s", "dialer_per_s", "ratio", "cpu_ms_per_call"}
    assert figures["raw_per_s"] > 0 and figures["dialer_per_s"] > 0
    assert figures["cpu_ms_per_call"] > 0
    assert figures["ratio"] == pytest.approx(figures["dialer_per_s"] / figures["raw_per_s"], 0.01)
    # Every call of both runs completed: [sim-null] hangs up before answering, so the raw
    # script sees Failure responses and the dialer stores FAILED attempts.
    assert "raw AMI script: 300 originates" in stdout
    assert "results {'Failure': 300}" in stdout
    assert "dialer: 300 attempts stored as ended of 300 (0 cancelled)" in stdout
    assert "results {'FAILED': 300}" in stdout
    assert "WARNING" not in stdout
    # The goals are stated with an honest verdict, whichever it is.
    assert any(line.startswith("ratio dialer/raw:") and "goal >= 0.8" in line for line in lines)
    assert any(line.startswith("dialer CPU per call:") for line in lines)
