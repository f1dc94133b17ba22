"""The insights benchmark runs end to end on a tiny data set (no timing asserts)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls import include, path, reverse

from sekispe.devtools.bench import insights as bench
from sekispe.diagnosis.models import Diagnosis
from sekispe.insights import urls as insights_urls
from sekispe.search.models import SearchDemand

pytestmark = pytest.mark.django_db(transaction=False)

TINY = bench.Sizes(
    registrants=60,
    courses=200,
    listings=15,
    diagnoses=120,
    inquiries=40,
    searches=400,
    declarations=12,
    events=3,
    requests=1,
)


def test_every_insights_route_is_found_and_the_report_prints_every_figure(tmp_path):
    report = bench.run_insights_bench(
        TINY,
        seed=3,
        progress=False,
        refresh_runs=2,
        warmups=0,
        prefectures=("13",),
        links_per_route=1,
    )

    counts = report["seeded"]["counts"]
    assert counts["registrants"] == TINY.registrants
    assert counts["diagnoses"] == Diagnosis.objects.count() == TINY.diagnoses
    assert counts["inquiries"] == TINY.inquiries
    assert counts["declarations"] == TINY.declarations
    # The log holds counts: they add up to the searches asked for.
    assert sum(SearchDemand.objects.values_list("searches", flat=True)) == TINY.searches

    refresh = report["refresh"]
    assert len(refresh["runs_s"]) == 2
    assert refresh["best_s"] == min(refresh["runs_s"])
    assert refresh["cells"] > 0

    # Pages are discovered from the URL resolver, so every named route is timed.
    timed_paths = {page["path"] for page in report["pages"].values()}
    for pattern in insights_urls.urlpatterns:
        assert reverse(f"insights:{pattern.name}") in timed_paths, pattern.name
    # Every route with arguments was reached through a link or a linked value.
    assert report["skipped_routes"] == []
    assert report["failed_pages"] == {}
    for page in report["pages"].values():
        assert page["statuses"] == {"200": TINY.requests}
        assert {"first_ms", "p50_ms", "p95_ms"} <= page.keys()
    assert set(report["targets"]) == {"refresh_s", "worst_page_p95_ms"}

    text = bench.format_report(report, "test")
    assert "refresh_insights():" in text and "best" in text
    assert "worst_page_p95_ms" in text and "refresh_s" in text
    assert "insights:overview" in text
    assert bench.write_report(report, "test", tmp_path).name == "insights-test.json"
    assert "**refresh, best**" in bench.format_comparison({"test": report})


def test_sizes_round_trip_as_flags():
    args = TINY.args()
    assert args[args.index("--diagnoses") + 1] == "120"
    assert len(args) == 2 * len(TINY.__dict__)


def _tables(request):
    return HttpResponse(
        '<a href="/statistics/tables/a.csv">a</a> <a href="/statistics/tables/b.csv">b</a>'
    )


def _table(request, table):
    return HttpResponse(f"{table}\n1\n", content_type="text/csv")


def _table_api(request, measure):
    return HttpResponse("{}", status=200 if measure == "a" else 404)


def _prefecture(request, code):
    return HttpResponse(code)


# The pages are found from whatever URL configuration is live: a signed-in page, a
# route taking a table name (timed through the links to it) and one a prefecture.
urlpatterns = [
    path("api/v1/statistics/<str:measure>", _table_api),
    path("insights/map/", include(([path("", _tables, name="map")], "insights_map"))),
    path(
        "statistics/",
        include(
            (
                [
                    path("tables/", _tables, name="tables"),
                    path("tables/<slug:table>.csv", _table, name="table_csv"),
                    path("prefectures/<str:code>/", _prefecture, name="prefecture"),
                ],
                "opendata",
            )
        ),
    ),
]


@pytest.mark.urls(__name__)
def test_routes_with_arguments_are_timed_through_prefecture_codes_and_links():
    pages, skipped = bench.discover_pages(prefectures=("13", "47"))
    paths = {page.path: page for page in pages}
    assert "/statistics/tables/" in paths and paths["/statistics/tables/"].public
    assert {"/statistics/prefectures/13/", "/statistics/prefectures/47/"} <= paths.keys()
    assert not paths["/insights/map/"].public
    assert sorted(route.path for route in skipped) == [
        "/api/v1/statistics/<str:measure>",
        "/statistics/tables/<slug:table>.csv",
    ]

    extra, untimed = bench.linked_pages(pages, skipped)
    # The API route nothing links to is tried with the values the links carried.
    assert sorted(page.path for page in extra) == [
        "/api/v1/statistics/a",
        "/statistics/tables/a.csv",
        "/statistics/tables/b.csv",
    ]
    assert untimed == []
    timed = bench.time_pages([*pages, *extra], requests=1, progress=False)
    assert all(t["statuses"] == {"200": 1} for t in timed.values())
