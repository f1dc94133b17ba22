"""`sekispe bench matching` on a tiny population: the report's shape and the
targets for (c); the metrics' definitions on hand-made numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import call_command

from sekispe.devtools.bench import matching as mb
from sekispe.search import fairness


@pytest.fixture(scope="module")
def report():
    return mb.run_matching_bench(registrants=1500, searches=800, seed=3, progress=False)


def test_the_report_holds_every_figure_for_the_three_orderings(report):
    assert report["population"]["registrants"] == 1500
    # About 30% listed, and most of those visible.
    assert 0.25 < report["population"]["listed"] / 1500 < 0.35
    assert 0 < report["population"]["visible"] <= report["population"]["listed"]
    assert report["model"]["searches"] == 800
    assert set(report["results"]) == {"a", "b", "c"}
    for result in report["results"].values():
        for key in (
            "ndcg_at_10",
            "ndcg_at_10_points",
            "ndcg_at_10_incl_full",
            "exposure_gini_within_tier",
            "exposure_gini_per_search_tier",
            "inquiry_gini_within_tier",
            "inquiry_gini_within_tier_chance",
            "inquiry_gini_per_search_tier",
            "top_1pct_inquiry_share",
            "over_capacity",
            "inquiries",
        ):
            assert result[key] is not None, key
        assert 0 <= result["exposure_gini_within_tier"] <= 1
        assert 0 < result["inquiries"] < 800  # at most one inquiry per search
    assert set(report["targets"]) == {
        "ndcg_ratio_c_over_a",
        "ndcg_at_10_points_c",
        "exposure_gini_within_tier_c",
        "inquiry_gini_within_tier_c_vs_b",
        "top_1pct_inquiry_share_c",
        "over_capacity_c",
    }
    assert "(c) sekispe policy" in mb.format_report(report)
    assert report["model"]["inquiry_gain"] == fairness.INQUIRY_GAIN
    assert mb.format_markdown(report).count("\n") == len(mb._COLUMNS) + 1


def test_the_policy_meets_its_targets_and_the_baselines_show_why(report):
    a, b, c = (report["results"][k] for k in "abc")
    # The inquiry targets are set at full scale (24,000 registrants); on this tiny
    # population a handful of inquiries decide them, so only the rest must pass.
    structural = ("ndcg_ratio_c_over_a", "exposure_gini_within_tier_c", "over_capacity_c")
    assert all(report["targets"][name]["pass"] for name in structural), report["targets"]
    # Relevance order is the reference; every ordering keeps the tiers.
    assert a["ndcg_at_10"] == a["ndcg_at_10_points"] == 1.0
    assert b["ndcg_at_10"] == c["ndcg_at_10"] == 1.0
    # A fixed order concentrates exposure; only (c) never overloads anyone.
    # (c) spends some exposure balance on inquiry balance (fairness.INQUIRY_GAIN),
    # and still spreads exposure more evenly than a fixed order.
    assert a["exposure_gini_within_tier"] > c["exposure_gini_within_tier"]
    assert c["over_capacity"] == 0 < a["over_capacity"]
    assert c["top_1pct_inquiry_share"] < a["top_1pct_inquiry_share"]


def test_every_target_is_printed_with_its_verdict(report):
    text = mb.format_report(report).split("targets for (c):")[1]
    for target in report["targets"].values():
        assert isinstance(target["pass"], bool)
        line = next(line for line in text.splitlines() if target["text"] in line)
        assert line.rstrip().endswith("PASS" if target["pass"] else "FAIL")
    # (c)'s inquiry Gini is compared with (b)'s, whatever it is.
    vs_b = report["targets"]["inquiry_gini_within_tier_c_vs_b"]
    assert vs_b["target"] == report["results"]["b"]["inquiry_gini_within_tier"]
    assert report["targets"]["top_1pct_inquiry_share_c"]["target"] == 0.12
    assert report["targets"]["ndcg_at_10_points_c"]["target"] == 0.97


def test_the_chance_level_of_the_inquiry_gini():
    # Equal fair shares and as many inquiries as listings: about Poisson(1) each,
    # whose Gini is E|X - Y| / 2 = e^-2 (I0(2) + I1(2)) = 0.52.
    deserved = np.ones(2000)
    chance = mb.chance_inquiry_gini(deserved, 2000, seed=1)
    assert 0.49 < chance < 0.55
    # Many more inquiries than listings: close to perfectly even.
    assert mb.chance_inquiry_gini(deserved, 2_000_000, seed=1) < 0.03
    assert mb.chance_inquiry_gini(deserved, 0, seed=1) == 0.0


def test_the_same_seed_gives_the_same_report():
    one = mb.run_matching_bench(registrants=300, searches=200, seed=5, progress=False)
    two = mb.run_matching_bench(registrants=300, searches=200, seed=5, progress=False)
    assert one["results"] == two["results"]


def test_the_command_prints_the_table_and_writes_json(tmp_path, capsys):
    call_command(
        "bench", "matching", "--registrants", "300", "--searches", "200", "--no-progress",
        "--output-dir", str(tmp_path),
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "NDCG@10" in out and "(c) sekispe policy" in out
    data = json.loads((tmp_path / "matching.json").read_text(encoding="utf-8"))
    assert data["population"]["registrants"] == 300
    assert (tmp_path / "matching.md").read_text(encoding="utf-8").startswith("| measure |")


def test_gini_and_weighted_gini():
    assert mb.gini(np.array([1.0, 1.0, 1.0])) == 0.0
    assert mb.gini(np.array([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)
    # Exposure proportional to the fair share is perfectly fair, whatever the shares.
    assert mb.weighted_gini(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(
        0.0
    )
    assert mb.weighted_gini(np.array([0.0, 6.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)


def test_ndcg():
    assert mb.ndcg(np.array([2, 1, 0]), np.array([0, 1, 2]), exponential=True) == 1.0
    worse = mb.ndcg(np.array([0, 1, 2]), np.array([0, 1, 2]), exponential=True)
    assert 0 < worse < 1
    assert mb.ndcg(np.array([0, 0]), np.array([0, 0]), exponential=True) is None


def test_the_inquiry_cap_counterfactual_hides_whoever_reached_it():
    population = mb.build_population(1500, seed=3)
    capped = mb.simulate(population, searches=800, seed=3, progress=False, inquiry_cap=(1, 365))
    plain = mb.simulate(population, searches=800, seed=3, progress=False)
    # Over the whole period nobody in (c) gets a second inquiry once capped at one,
    # while without the cap somebody does; (a) and (b) never see the cap.
    assert capped["runs"]["c"].inquiries.max() == 1
    assert plain["runs"]["c"].inquiries.max() > 1
    assert np.array_equal(capped["runs"]["a"].inquiries, plain["runs"]["a"].inquiries)
    report = mb.run_matching_bench(
        registrants=300, searches=200, seed=5, inquiry_cap=(2, 30.0), progress=False
    )
    assert report["model"]["inquiry_cap"] == {"inquiries": 2, "days": 30.0}
    assert "(c) capped at 2 inquiries per 30 days" in mb.format_report(report)
