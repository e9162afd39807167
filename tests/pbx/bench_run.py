"""Running a bench script the way a person does, for the tests that keep it working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_bench(script: str, *args: str) -> tuple[str, list[str], dict[str, Any]]:
    """Run bench/`script` with `args`: its output, its lines, and its last line's JSON."""
    out = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    figures: dict[str, Any] = json.loads(lines[-1])
    return out.stdout, lines, figures
