"""scripts/fuzz_timings.py: the response-time summary printed after a fuzz run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fuzz_timings.py"


def summarise(tmp_path: Path, log: str) -> str:
    path = tmp_path / "access.log"
    path.write_text(log, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_prints_percentiles_and_names_the_slowest_requests(tmp_path: Path) -> None:
    lines = [f"{ms} 200 GET /api/v1/specialists" for ms in range(1, 101)]
    lines.append("5078 422 POST /api/v1/diagnoses")
    out = summarise(tmp_path, "\n".join(lines) + "\n")
    assert "101 requests, p50 51 ms, p95 96 ms, p99 100 ms, max 5078 ms" in out
    slowest = out.splitlines()[1:]
    assert slowest[0].split() == ["5078", "ms", "422", "POST", "/api/v1/diagnoses"]
    assert len(slowest) == 5


def test_skips_lines_that_are_not_requests_and_reports_an_empty_log(tmp_path: Path) -> None:
    out = summarise(tmp_path, "[2026-12-05] worker booted\n\n")
    assert "no requests logged" in out
