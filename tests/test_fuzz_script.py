"""scripts/fuzz sends tens of thousands of requests from 127.0.0.1: every
per-address limit the JSON API applies must be lifted for the run, or a
schema-valid request meets a 429 and the run fails for the limit, not the code
(the full run of 2026-12-05 did, on GET /api/v1/statistics/{measure})."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PER_IP = re.compile(r"\b([A-Z][A-Z_]*_PER_IP)\b")


def api_limits() -> set[str]:
    """Per-address settings named by the API's modules (and by the search
    API's bot rules, which read theirs through a constant)."""
    sources = [*ROOT.glob("sekispe/*/api.py"), ROOT / "sekispe/search/bots.py"]
    return {name for path in sources for name in PER_IP.findall(path.read_text())}


def lifted() -> set[str]:
    script = (ROOT / "scripts/fuzz").read_text()
    return set(re.findall(r"^export ([A-Z_]+_PER_IP)=\d{7,}$", script, re.MULTILINE))


def test_the_api_limits_are_found():
    assert {"SEARCH_API_PER_IP", "STATISTICS_API_PER_IP"} <= api_limits()


def test_the_fuzz_run_lifts_every_per_address_limit_of_the_api():
    assert api_limits() - lifted() == set()
