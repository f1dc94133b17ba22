"""The search benchmark's logic runs end to end on a small data set (no timing asserts)."""

from __future__ import annotations

import pytest

from sekispe.devtools.bench import planb, search_page
from sekispe.devtools.bench import search as bench

pytestmark = pytest.mark.django_db


def test_query_mix_is_fixed_and_covers_every_category():
    mix = bench.build_queries(1000, seed=1)
    assert mix == bench.build_queries(1000, seed=1)
    assert {category for category, _ in mix} == set(bench.CATEGORY_WEIGHTS)
    texts = " ".join(qs for _, qs in mix)
    assert "max_fee=30000" in texts
    assert "include_not_accepting=true" in texts
    assert "first_free=true" in texts


def test_bench_reports_every_figure_and_all_queries_succeed(tmp_path):
    report = bench.run_search_bench(listings=300, queries=50, seed=2, progress=False)

    for key in (
        "date",
        "vendor",
        "db_version",
        "listings",
        "visible_listings",
        "queries",
        "statuses",
        "healthz_statuses",
        "index_build_ms",
        "cold_first_request_ms",
        "search",
        "categories",
        "healthz",
        "p50_ratio",
        "targets",
        "seed_time_s",
    ):
        assert key in report, key
    assert report["listings"] == 300
    assert report["queries"] == 50
    assert report["statuses"] == {"200": 50}
    assert report["healthz_statuses"] == {"200": 50}
    assert report["search"]["n"] == 50
    for figures in [report["search"], report["healthz"], *report["categories"].values()]:
        assert {"p50_ms", "p95_ms", "p99_ms"} <= figures.keys()
    assert set(report["targets"]) == {
        "search_p95_ms",
        "search_p50_over_healthz_p50",
        "change_log_queries_per_search",
    }
    assert report["per_request"]["requests"] == 50
    assert report["seed_time_s"]["seeded"] == 300
    assert set(report["phases_s"]) == {"seed", "exposure_ledger", "api_mix"}

    # The page against the API, on the index the mix used (as the worker does).
    report["page"] = search_page.measure_page(bench.build_queries(20, 2), repeats=1, reset=False)
    assert report["page"]["statuses"] == {"page 200": 20, "api 200": 20}
    report["targets"].update(report["page"]["targets"])

    text = bench.format_report(report, "sqlite")
    assert "search (all)" in text and "/healthz" in text
    assert "search page vs API" in text
    verdicts = text.split("Targets (issue 18)")[1].splitlines()[1:]
    assert len(verdicts) == len(report["targets"]) == 4
    assert all(line.endswith((": PASS", ": FAIL")) for line in verdicts)
    for name in report["targets"]:
        assert bench.TARGET_LABELS[name][0] in text
    path = bench.write_report(report, "test", tmp_path)
    assert path.name == "search-test.json"
    assert "/healthz" in bench.format_comparison({"test": report})


def _planb_report(timed: int) -> dict:
    summary = {"all": {"n": timed, "p50_ms": 180.0, "p95_ms": 400.0}}
    return {
        "listings": 50_000,
        "queries": 60,
        "no_index": {"search": summary},
        "trgm_gin": {"search": summary},
    }


def test_plan_b_prints_one_verdict_line():
    report = _planb_report(60)
    report["targets"] = planb.targets(report)
    assert report["targets"]["plan_b_measured"]["pass"] is True  # docs/search-plan-b.md exists
    line = planb.format_verdict(report)
    assert line.startswith("Plan B") and line.endswith(": PASS")
    short = _planb_report(59)
    short["targets"] = planb.targets(short)
    assert planb.format_verdict(short).endswith(": FAIL")


def test_plan_b_drops_only_its_own_scratch_databases(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/my_planb_bench")
    url = "postgres://postgres@127.0.0.1:5432/"
    assert planb.scratch_name_ok("planb_bench", url)
    assert planb.scratch_name_ok("scale_planb", url)
    assert not planb.scratch_name_ok("sekispe", url)
    assert not planb.scratch_name_ok("my_planb_bench", url)
