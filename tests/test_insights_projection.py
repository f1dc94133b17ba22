"""The 2030 projection on known series, the margin counting and the line chart."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sekispe.insights.charts import line_chart
from sekispe.insights.pages import Series
from sekispe.insights.projection import (
    COMPOUND,
    LINEAR,
    compound,
    linear,
    months_until,
    projection_tally,
)
from sekispe.insights.tally import Tally, month_end, months_between, next_month


def test_an_exact_line_is_continued_exactly():
    assert linear([100, 110, 120, 130], 3) == [140, 150, 160]


@given(
    start=st.integers(0, 40_000),
    slope=st.integers(-50, 500),
    n=st.integers(2, 24),
    ahead=st.integers(1, 60),
)
def test_any_exact_line_is_continued(start, slope, n, ahead):
    series = [start + slope * x for x in range(n)]
    expected = [max(start + slope * x, 0) for x in range(n, n + ahead)]
    assert linear(series, ahead) == expected


def test_an_exact_geometric_series_is_continued_at_its_rate():
    assert compound([1000, 1100, 1210, 1331], 2) == [1464, 1611]


@given(first=st.integers(1, 10_000), rate=st.floats(0.9, 1.1), n=st.integers(2, 24))
def test_any_geometric_series_keeps_its_rate(first, rate, n):
    series = [first * rate**k for k in range(n)]
    (next_value,) = compound(series, 1)
    assert next_value == pytest.approx(first * rate**n, abs=1)


@pytest.mark.parametrize("series", [[], [5000]])
def test_a_short_or_empty_series_gives_no_projection(series):
    assert linear(series, 12) == []
    assert compound(series, 12) == []


def test_compound_needs_a_positive_start_and_linear_never_goes_below_zero():
    assert compound([0, 10, 20], 3) == []
    assert linear([30, 20, 10], 3) == [0, 0, 0]


def test_the_projection_runs_from_the_last_24_complete_months_to_december_2030():
    active = Tally("registrants.active")
    months = months_between(dt.date(2022, 1, 1), dt.date(2026, 11, 1))
    for n, month in enumerate(months):
        active.set(10_000 + 100 * n, month=month)
    # The current month (as of today) is left out of the fit.
    active.set(1, month=dt.date(2026, 11, 1))
    out = projection_tally([active], dt.date(2026, 11, 22))
    linear_cells = {m: v for (m, _p, _t, k), v in out.counts.items() if k == LINEAR}
    compound_cells = {m: v for (m, _p, _t, k), v in out.counts.items() if k == COMPOUND}
    assert min(linear_cells) == dt.date(2026, 11, 1)
    assert max(linear_cells) == dt.date(2030, 12, 1)
    # October 2026 was month 57 (10,000 + 5,700); November 2026 is one step on.
    assert linear_cells[dt.date(2026, 11, 1)] == 15_800
    assert linear_cells[dt.date(2030, 12, 1)] == 15_700 + 100 * 50
    assert compound_cells[dt.date(2030, 12, 1)] > 15_700


def test_no_history_gives_no_projection():
    assert projection_tally([Tally("registrants.active")], dt.date(2026, 11, 22)).counts == {}


def test_month_helpers():
    assert next_month(dt.date(2026, 1, 31)) == dt.date(2026, 2, 1)
    assert month_end(dt.date(2024, 2, 10)) == dt.date(2024, 2, 29)
    assert months_until(dt.date(2030, 10, 1), dt.date(2030, 12, 31)) == [
        dt.date(2030, 11, 1),
        dt.date(2030, 12, 1),
    ]


@given(
    units=st.lists(
        st.tuples(
            st.sets(st.sampled_from(["01", "13", "47"])),
            st.sets(st.sampled_from(["1", "2"])),
        ),
        max_size=20,
    )
)
def test_a_margin_counts_each_unit_once_however_many_cells_it_is_in(units):
    tally = Tally("supply.listed")
    for prefectures, themes in units:
        tally.add(prefectures=prefectures, themes=themes)
    for p in ("", "01", "13", "47"):
        for t in ("", "1", "2"):
            expected = sum((not p or p in ps) and (not t or t in ts) for ps, ts in units)
            assert tally.counts.get((None, p, t, ""), 0) == expected


def test_a_monthly_measure_refuses_a_unit_without_a_month():
    with pytest.raises(ValueError, match="needs a month"):
        Tally("demand.searches").add(n=1)


def test_the_line_chart_fits_a_phone_and_draws_the_target():
    series = [
        Series("active", "登録者数", ((dt.date(2025, 1, 1), 100), (dt.date(2026, 1, 1), 200))),
        Series("linear", "線形", ((dt.date(2030, 12, 1), 600),), dashed=True),
    ]
    chart = line_chart("c", "推移", series, 50_000, "目標")
    assert chart is not None
    assert chart.width <= 358  # a 390 px screen less the page margins: never scaled down
    assert chart.target_y is not None and chart.target_y < chart.bottom
    assert [line.key for line in chart.lines] == ["active", "linear"]
    assert line_chart("c", "推移", [], None) is None
