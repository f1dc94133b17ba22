"""The search benchmark's scale part runs end to end at a tiny size (no timing asserts).

The web and writer processes are real subprocesses on the test database, so
the data must be committed (transaction=True) and the snapshot folder shared.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from sekispe.devtools.bench import search as bench
from sekispe.devtools.bench import search_scale
from sekispe.devtools.bench.search_process import mapping_memory, smaps_rollup
from sekispe.devtools.scratchdb import SCRATCH_ENV
from sekispe.search import index as ix

SCALE_TARGETS = {
    "writes_p95_ratio",
    "freshness_max_s",
    "freshness_p95_s",
    "freshness_busy_max_s",
    "memory_uss_mb",
    "memory_pss_mb",
    "memory_peak_ratio",
    "first_search_s",
    "build_s",
}


def test_targets_follow_the_issue_at_its_two_sizes():
    small, large = search_scale.scale_targets(50_000), search_scale.scale_targets(1_000_000)
    assert small["memory_mb"] == 150 and large["memory_mb"] == 600
    assert small["build_s"] == 5 and large["build_s"] == 60
    assert small["first_search_s"] == 1 and large["first_search_s"] == 3
    assert search_scale.scale_targets(10_000) == small
    assert bench.target_p95_ms(50_000) == 10 and bench.target_p95_ms(1_000_000) == 20
    middle = search_scale.scale_targets(200_000)
    assert small["memory_mb"] < middle["memory_mb"] < large["memory_mb"]


def test_memory_is_read_from_proc():
    rollup = smaps_rollup()
    assert rollup["Uss"] > 0 and rollup["Pss"] > 0
    assert rollup["Uss"] == rollup["Private_Clean"] + rollup["Private_Dirty"]
    assert mapping_memory(os.getpid(), "no-such-mapping")["Rss"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prebuild", [False, True], ids=["build-in-scale", "prebuilt"])
def test_scale_report_has_every_target_with_a_verdict(tmp_path, monkeypatch, prebuild):
    """`prebuilt`: the path the worker takes above 200,000 listings, where the
    snapshot is built once before the mix and the scale part reuses it."""
    monkeypatch.setattr(settings, "SEARCH_SNAPSHOT_DIR", str(tmp_path / "snapshots"))
    monkeypatch.setattr(settings, "SEARCH_API_PER_IP", (10**9, 3600))
    # The children check they are on the scratch database, as the bench worker does.
    monkeypatch.setenv(SCRATCH_ENV, str(connection.settings_dict["NAME"]))
    if connection.vendor == "postgresql":
        # The children connect by DATABASE_URL: point it at the test database.
        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        monkeypatch.setenv("DATABASE_URL", f"{url}/{connection.settings_dict['NAME']}")
    else:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{connection.settings_dict['NAME']}")
    try:
        report = bench.run_search_bench(
            listings=300, queries=50, seed=3, progress=False, prebuild=prebuild
        )
        scale = search_scale.run_scale(
            bench.build_queries(50, 3),
            seed=3,
            write_seconds=2.0,
            freshness_changes=4,
            build_runs=1,
            progress=False,
            prebuilt=report.pop("prebuilt", None),
        )
    finally:
        ix.reset_index()

    assert report["cold_first_request_maps_snapshot"] is prebuild
    assert ("snapshot_build" in report["phases_s"]) is prebuild
    assert len(scale["build"]["runs_s"]) == 1
    assert scale["start"]["status"] == 200

    assert set(scale["targets"]) == SCALE_TARGETS
    for name, target in scale["targets"].items():
        assert isinstance(target["pass"], bool), name
        assert {"target", "value"} <= target.keys(), name
    assert scale["freshness"]["changes"] == 4
    assert scale["freshness"]["timed_out"] == 0
    busy = scale["freshness_busy"]
    assert busy["changes"] == 4 and busy["timed_out"] == 0
    # The web process searched all along, and its poller still applied the changes.
    assert busy["searches_meanwhile"] > 0
    assert busy["deltas"]["delta_max_ms"] is not None
    assert scale["poller_running"] is True
    assert scale["reads_with_writes"]["statuses"].keys() == {"200"}
    assert sum(scale["writes"]["counts"].values()) >= 1
    assert scale["build"]["columns"]["text_blob"]["bytes_per_listing"] > 0
    for name in ("web", "web2"):
        assert scale["memory"][name]["uss_mb"] > 0
        assert scale["memory"][name]["pss_mb"] > 0
        assert scale["memory"][name]["snapshot_mapping"]["Rss"] > 0

    report["scale"] = scale
    report["targets"].update(scale["targets"])
    text = bench.format_report(report, "test")
    assert "freshness over 4 changes" in text
    assert "freshness while the web process searches without pause" in text
    assert "bytes per listing by column" in text
    verdicts = text.split("Targets (issue 18)")[1].splitlines()[1:]
    assert len(verdicts) == len(report["targets"])
    for name in report["targets"]:
        assert any(
            line.strip().startswith(bench.TARGET_LABELS[name][0])
            and line.endswith((": PASS", ": FAIL"))
            for line in verdicts
        ), name
