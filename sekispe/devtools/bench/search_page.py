"""Search page benchmark: the HTML page `/specialists/` against the JSON API
`/api/v1/specialists` over the same seeded query mix (issue 18).

The API's p95 is the floor the page is measured against: both run the same
search on the same index, so whatever the page costs above it is rendering.
Target: page p95 <= 2x API p95 at 50,000 listings, judged on the median of
`--repeats` runs (each run times page and API interleaved under the same load;
the first run starts with cold caches).

Runs on the current database, which must be a scratch one (its name contains
"bench", or it is the orchestrator's scratch database):

    DATABASE_URL=sqlite:////tmp/html_bench.sqlite3 .venv/bin/sekispe migrate
    DATABASE_URL=sqlite:////tmp/html_bench.sqlite3 DJANGO_SETTINGS_MODULE=sekispe.settings.dev \\
        .venv/bin/python -m sekispe.devtools.bench.search_page --listings 50000

Seeding happens once: a database that already holds exactly `--listings`
listings is reused, so a second run measures without re-seeding.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

from sekispe.devtools import scratchdb
from sekispe.devtools.scratchdb import latency_summary

# The seeding and the query mix are search.py's (imported late: that module
# loads models, and `python -m` imports this one before django.setup()).

PAGE_PATH = "/specialists/"
API_PATH = "/api/v1/specialists"
TARGET_RATIO = 2.0


def _check_scratch() -> None:
    """Never seed demo specialists into someone's real database."""
    from django.conf import settings

    name = str(settings.DATABASES["default"]["NAME"])
    if "bench" not in name and name != os.environ.get(scratchdb.SCRATCH_ENV):
        raise SystemExit(
            f"refusing to run on {name!r}: point DATABASE_URL at a scratch database "
            "whose name contains 'bench' (e.g. sqlite:////tmp/html_bench.sqlite3)"
        )


def ensure_seeded(listings: int, seed: int, *, progress: bool = True) -> dict[str, Any]:
    """Seed `listings` demo specialists unless the database already holds them."""
    from sekispe.devtools.bench.search import seed_exposure_ledger, seed_listings
    from sekispe.listings.models import Listing

    existing = Listing.objects.count()
    if existing == listings:
        return {"reused": True}
    if existing:
        raise SystemExit(f"the database holds {existing} listings, not {listings}: use a new file")
    seeded = seed_listings(listings, seed, progress=progress)
    return {"reused": False, "seed_time_s": seeded, "ledger_rows": seed_exposure_ledger(seed)}


def _time_mix(
    client: Any, queries: list[tuple[str, str]], headers: dict[str, str]
) -> tuple[dict[str, list[int]], dict[str, list[int]], dict[str, int]]:
    """Page and API interleaved, query by query, so both see the same load;
    nanoseconds by query category."""
    page_ns: dict[str, list[int]] = {}
    api_ns: dict[str, list[int]] = {}
    statuses: dict[str, int] = {}
    for category, qs in queries:
        started = time.perf_counter_ns()
        response = client.get(f"{PAGE_PATH}?{qs}", headers=headers)
        page_ns.setdefault(category, []).append(time.perf_counter_ns() - started)
        key = f"page {response.status_code}"
        statuses[key] = statuses.get(key, 0) + 1
        started = time.perf_counter_ns()
        response = client.get(f"{API_PATH}?{qs}")
        api_ns.setdefault(category, []).append(time.perf_counter_ns() - started)
        key = f"api {response.status_code}"
        statuses[key] = statuses.get(key, 0) + 1
    return page_ns, api_ns, statuses


def _all(by_category: dict[str, list[int]]) -> list[int]:
    return [v for values in by_category.values() for v in values]


def measure_page(
    queries: list[tuple[str, str]],
    *,
    repeats: int = 3,
    language: str = "ja",
    htmx: bool = False,
    profile: int = 0,
    reset: bool = True,
) -> dict[str, Any]:
    """Time the page and the API over `queries`, `repeats` times; best of each.

    `profile`: print the top N functions of a cProfile over one more pass of
    page requests (not timed). `reset=False` keeps the index this process
    already holds (`sekispe bench search` measures the page right after the
    API: at 1,000,000 listings another build would cost minutes)."""
    from django.test import Client

    from sekispe.devtools.bench.search import build_queries
    from sekispe.search import index as ix

    client = Client()
    if language != "ja":
        client.cookies["django_language"] = language
    headers = {"HX-Request": "true"} if htmx else {}
    if reset:
        ix.reset_index()
    client.get(f"{API_PATH}?theme=1")  # builds the index outside the timings
    # Warm code paths (URL resolver, templates, connection) with another mix.
    _time_mix(client, build_queries(50, seed=999_983), headers)

    runs = []
    statuses: dict[str, int] = {}
    for _ in range(repeats):
        page_ns, api_ns, counted = _time_mix(client, queries, headers)
        page, api = latency_summary(_all(page_ns)), latency_summary(_all(api_ns))
        runs.append(
            {
                "page": page,
                "api": api,
                "p95_ratio": round(page["p95_ms"] / api["p95_ms"], 2),
                "categories": {
                    c: {"page": latency_summary(page_ns[c]), "api": latency_summary(api_ns[c])}
                    for c in page_ns
                },
            }
        )
        for key, value in counted.items():
            statuses[key] = statuses.get(key, 0) + value
    # Each run times page and API interleaved under the same load, so the
    # verdict takes the median run's ratio (a ratio across runs would pair a
    # quiet moment of one with a busy moment of the other).
    median = sorted(runs, key=lambda r: r["p95_ratio"])[len(runs) // 2]
    page, api, ratio = median["page"], median["api"], median["p95_ratio"]

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _category, qs in queries:
            client.get(f"{PAGE_PATH}?{qs}", headers=headers)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(profile)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(profile)

    return {
        "queries": len(queries),
        "repeats": repeats,
        "language": language,
        "htmx": htmx,
        "statuses": statuses,
        "page": page,
        "api": api,
        "runs": runs,
        "p95_ratio": round(ratio, 2),
        "target": {"page_p95_over_api_p95": TARGET_RATIO, "pass": ratio <= TARGET_RATIO},
        "targets": {
            "page_p95_over_api_p95": {
                "target": TARGET_RATIO,
                "value": round(ratio, 2),
                "pass": ratio <= TARGET_RATIO,
            }
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def run_page_bench(
    *,
    listings: int,
    queries: int = 500,
    seed: int = 1,
    repeats: int = 3,
    language: str = "ja",
    htmx: bool = False,
    profile: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Seed the current (scratch) database if needed, then measure; the report."""
    from django.conf import settings

    from sekispe.devtools.bench.search import build_queries
    from sekispe.listings.models import Listing

    _check_scratch()
    seeded = ensure_seeded(listings, seed, progress=progress)
    # Snapshot files of this run only, and no per-address API limit: one
    # client sends every request, and the bench would time refusals.
    snapshots = tempfile.mkdtemp(prefix="sekispe-bench-page-")
    settings.SEARCH_SNAPSHOT_DIR = snapshots
    settings.SEARCH_API_PER_IP = (10**9, 3600)
    try:
        report = measure_page(
            build_queries(queries, seed),
            repeats=repeats,
            language=language,
            htmx=htmx,
            profile=profile,
        )
    finally:
        import shutil

        from sekispe.search import index as ix

        ix.reset_index()
        shutil.rmtree(snapshots, ignore_errors=True)
    report["listings"] = Listing.objects.count()
    report["seed"] = seeded
    return report


def format_page_report(report: dict[str, Any]) -> str:
    verdict = "PASS" if report["target"]["pass"] else "FAIL"
    page, api = report["page"], report["api"]
    mode = "htmx partial" if report["htmx"] else "full page"
    return "\n".join(
        [
            f"search page vs API: {report['listings']:,} listings, {report['queries']} queries "
            f"x {report['repeats']} (median run), language {report['language']}, {mode}, "
            f"load {report['load_average']}",
            f"  page {PAGE_PATH}: p50 {page['p50_ms']:.2f} ms  p95 {page['p95_ms']:.2f} ms"
            f"  p99 {page['p99_ms']:.2f} ms",
            f"  API  {API_PATH}: p50 {api['p50_ms']:.2f} ms  p95 {api['p95_ms']:.2f} ms"
            f"  p99 {api['p99_ms']:.2f} ms",
            f"  page p95 / API p95 = {report['p95_ratio']:.2f} (target <= {TARGET_RATIO:g}): "
            f"{verdict}",
            "  each run (the first one starts with cold caches): "
            + "; ".join(
                f"page p95 {r['page']['p95_ms']:.2f} / API p95 {r['api']['p95_ms']:.2f}"
                f" = {r['p95_ratio']:.2f}"
                for r in report["runs"]
            ),
            "  p95 by category in the last run (page / API, ms): "
            + ", ".join(
                f"{c} {v['page']['p95_ms']:.1f}/{v['api']['p95_ms']:.1f}"
                for c, v in report["runs"][-1]["categories"].items()
            ),
            f"  statuses: {report['statuses']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--language", choices=["ja", "en"], default="ja")
    parser.add_argument("--htmx", action="store_true", help="time the htmx partial")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sekispe.settings.dev")
    django.setup()
    report = run_page_bench(
        listings=args.listings,
        queries=args.queries,
        seed=args.seed,
        repeats=args.repeats,
        language=args.language,
        htmx=args.htmx,
        profile=args.profile,
        progress=not args.no_progress,
    )
    print(format_page_report(report))
    return 0 if report["target"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
