"""Search latency benchmark: a fixed, seeded query mix against the real API.

Two halves:
- `run_search_bench` seeds the *current* database with demo specialists and
  times a query mix through `/api/v1/specialists` in-process with Django's test
  client, interleaved with `/healthz` as the baseline for "a request that does
  one trivial query". The smoke test calls it against the test database.
- `run_scratch_benchmarks` is what `sekispe bench search` does: for each
  database it creates a scratch database (a temporary SQLite file, or
  `sekispe_bench` on the PostgreSQL server), re-runs this command in a
  subprocess pointed at it with `DATABASE_URL`, and drops it afterwards. The
  subprocess is what keeps the user's own database out of reach: Django's
  connection settings are fixed at startup, so a fresh process is the only
  clean way to point every connection at the scratch database.

Targets (issue 18, on the 2-core bench machine): search p95 <= 10 ms at 50,000
listings (<= 20 ms above, the 1,000,000 figure), search p50 at most 2x the
/healthz p50 (search should cost little more than the request itself), and
free-text p95 <= 30 ms. The worker then runs the scale part (search_scale.py):
build, start, memory, reads under writes and freshness, in separate processes.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from sekispe.devtools import scratchdb
from sekispe.devtools.bench import replicate, search_page, search_scale
from sekispe.devtools.demo.listings import DEMO_ANCHOR, generate_specialists, write_demo_specialists
from sekispe.devtools.scratchdb import latency_summary, prepare_worker_database, run_workers
from sekispe.reference import data

TARGET_P50_RATIO = 2.0
TARGET_TEXT_P95_MS = 30.0
# The page against the API (search_page.py): queries per run, runs (median taken).
PAGE_QUERIES = 300
PAGE_REPEATS = 3
# Search requests whose SQL is counted (after the timed mix, warm).
PER_REQUEST_SAMPLE = 200
SCRATCH_PG_NAME = "sekispe_bench"
# Listings seeded through the normal write path; the rest are copies (replicate.py).
SEED_BASE = 50_000


def target_p95_ms(listings: int) -> float:
    """10 ms up to 50,000 listings, 20 ms beyond (the issue's 1,000,000 figure)."""
    return 10.0 if listings <= 50_000 else 20.0


SEARCH_PATH = "/api/v1/specialists"
HEALTH_PATH = "/healthz"

# Share of each kind of query in the mix. Location + theme dominates, as it is
# the first thing the search page asks for; the rest cover every other filter.
CATEGORY_WEIGHTS: dict[str, float] = {
    "region_theme": 18,
    "prefecture_theme": 18,
    "region_theme_industry": 12,
    "text": 16,
    "fee_cap": 10,
    "first_free": 8,
    "include_not_accepting": 6,
    "deep_page": 12,
}

TEXT_QUERIES = (
    "ランサム",
    "ランサムウェア",
    "クラウド",
    "規程",
    "インシデント",
    "らんさむ",  # hiragana: must match katakana text
    "ｸﾗｳﾄﾞ",  # half-width: must match after NFKC
    "クラウド テレワーク",
    "ランサムウェア 製造業",
    "標的型 訓練",
    "情報資産台帳",
    "security action",
    "サプライチェーン",
    "ISMS",
    "脆弱性診断",
    "佐藤",
    "中小企業診断士",
)

FEE_CAPS: tuple[dict[str, Any], ...] = (
    {"form": ["visit"], "max_fee": 30000},
    {"max_fee": 10000},
    {"form": ["online"], "max_fee": 10000},
    {"form": ["training"], "max_fee": 50000},
    {"form": ["visit", "online"], "max_fee": 20000},
)

BROAD_QUERIES: tuple[dict[str, Any], ...] = (
    {},
    {"region": "kanto"},
    {"theme": [1]},
    {"form": ["online"]},
    {"include_not_accepting": "true"},
)

# Industries SMEs ask about most (manufacturing, retail, construction, care, IT, services).
INDUSTRY_DEMAND: dict[str, float] = {"E": 5, "I": 4, "D": 3, "P": 3, "G": 2, "R": 2, "H": 1}


# --- the query mix ------------------------------------------------------------------


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _location(rng: random.Random) -> dict[str, Any]:
    """A prefecture or a block, chosen where people live (demand follows registrants)."""
    pref = _pick(rng, data.REGISTRANTS_2021)
    if rng.random() < 0.5:
        return {"prefecture": [pref]}
    block = next(p.block for p in data.PREFECTURES if p.code == pref)
    return {"region": block}


def _themes(rng: random.Random) -> list[int]:
    return sorted(rng.sample(range(1, 6), 2 if rng.random() < 0.2 else 1))


def build_queries(count: int, seed: int) -> list[tuple[str, str]]:
    """`count` (category, query string) pairs; the same seed gives the same mix."""
    rng = random.Random(seed * 7919 + 17)
    blocks = [b.code for b in data.BLOCKS]
    mix: list[tuple[str, str]] = []
    for _ in range(count):
        category = _pick(rng, CATEGORY_WEIGHTS)
        params: dict[str, Any]
        if category == "region_theme":
            params = {"region": rng.choice(blocks), "theme": _themes(rng)}
        elif category == "prefecture_theme":
            params = {"prefecture": [_pick(rng, data.REGISTRANTS_2021)], "theme": _themes(rng)}
        elif category == "region_theme_industry":
            params = {
                "region": rng.choice(blocks),
                "theme": _themes(rng),
                "industry": [_pick(rng, INDUSTRY_DEMAND)],
            }
        elif category == "text":
            params = {"q": rng.choice(TEXT_QUERIES)}
            if rng.random() < 0.4:
                params |= _location(rng)
        elif category == "fee_cap":
            params = dict(rng.choice(FEE_CAPS))
            if rng.random() < 0.5:
                params |= _location(rng)
        elif category == "first_free":
            params = {"first_free": "true"} | _location(rng)
            if rng.random() < 0.5:
                params["theme"] = _themes(rng)
        elif category == "include_not_accepting":
            params = {"include_not_accepting": "true", "theme": _themes(rng)} | _location(rng)
        else:  # deep_page: someone paging far into a broad result list
            params = dict(rng.choice(BROAD_QUERIES)) | {"page": rng.randint(50, 200)}
        mix.append((category, urllib.parse.urlencode(params, doseq=True)))
    return mix


# --- seeding and measuring ------------------------------------------------------------


def seed_listings(
    count: int, seed: int, *, progress: bool = True, base: int | None = SEED_BASE
) -> dict[str, Any]:
    """Write `count` demo specialists into the current database; seconds taken.

    Only `base` of them (all when None or larger) go through the normal write
    path; the rest are SQL copies of those (replicate.py): 1,000,000 written
    one by one would take 40-45 minutes."""
    started = time.perf_counter()
    written_count = count if base is None else max(1, min(count, base))
    items = generate_specialists(written_count, seed, DEMO_ANCHOR)
    generated = time.perf_counter()
    write_demo_specialists(
        items,
        actor_label="bench",
        source={"bench": True, "seed": seed},
        progress=progress,
        desc="seed",
    )
    written = time.perf_counter()
    copied = replicate.replicate(count, progress=progress)
    finished = time.perf_counter()
    return {
        "generate_s": round(generated - started, 2),
        "write_s": round(written - generated, 2),
        "seeded": written_count,
        "replicated": copied["copied"],
        "replicate_s": round(finished - written, 2),
        "total_s": round(finished - started, 2),
    }


def seed_exposure_ledger(seed: int) -> int:
    """A ledger row for every listing, as after months of searches, so the bench
    orders with a full snapshot (and pays for building it). Returns the rows."""
    from sekispe.listings.models import Listing
    from sekispe.search import exposure

    ids = np.array(sorted(Listing.objects.values_list("id", flat=True)), dtype=np.int64)
    rng = np.random.default_rng(seed)
    deserved = rng.gamma(2.0, 20.0, ids.size)
    exposure.write_deltas(
        ids,
        np.maximum(deserved + rng.normal(0, 3.0, ids.size), 0),
        deserved,
        rng.poisson(deserved * 2.5),
        rng.poisson(0.3, ids.size),
    )
    return int(ids.size)


# Above this many listings the in-process figures skip a second full build
# (minutes at 1,000,000): the scale part times the build that is the target.
REBUILD_UP_TO = 200_000


def measure(
    queries: list[tuple[str, str]], *, progress: bool = True, keep_snapshot: bool = False
) -> dict[str, Any]:
    """Time every query and an interleaved /healthz; the current database must be seeded.

    `keep_snapshot`: a snapshot was just built (large sizes): the first
    request maps it instead of building again."""
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from sekispe.listings.models import Listing
    from sekispe.search import index as ix

    client = Client()
    today = timezone.localdate()

    # The first search builds the in-memory index (or maps the snapshot the
    # bench just built): time it apart from the mix.
    ix.reset_index(files=not keep_snapshot)
    started = time.perf_counter_ns()
    first = client.get(f"{SEARCH_PATH}?theme=1")
    cold_ns = time.perf_counter_ns() - started
    if first.status_code != 200:
        raise RuntimeError(f"first search failed: HTTP {first.status_code}")
    listing_count = Listing.objects.count()
    build_ns = None
    if listing_count <= REBUILD_UP_TO:
        started = time.perf_counter_ns()
        ix.build_index(today)
        build_ns = time.perf_counter_ns() - started
    visible = Listing.objects.visible(today).count()

    # Warm up code paths (URL resolver, serialisers, connection) outside the timings.
    for _category, qs in build_queries(50, seed=999_983):
        client.get(f"{SEARCH_PATH}?{qs}")
        client.get(HEALTH_PATH)

    search_ns: dict[str, list[int]] = {}
    health_ns: list[int] = []
    statuses: Counter[int] = Counter()
    health_statuses: Counter[int] = Counter()
    matches: dict[str, list[int]] = {}
    for category, qs in tqdm(
        queries, desc="queries", unit="q", file=sys.stderr, disable=None if progress else True
    ):
        url = f"{SEARCH_PATH}?{qs}"
        started = time.perf_counter_ns()
        response = client.get(url)
        elapsed = time.perf_counter_ns() - started
        search_ns.setdefault(category, []).append(elapsed)
        statuses[response.status_code] += 1
        if response.status_code == 200:
            matches.setdefault(category, []).append(response.json()["count"])

        started = time.perf_counter_ns()
        health = client.get(HEALTH_PATH)
        health_ns.append(time.perf_counter_ns() - started)
        health_statuses[health.status_code] += 1

    # Text queries in the mix reuse a few popular terms, so most hit the
    # index's per-term cache. Time each distinct one again with the cache
    # emptied, to show the worst case a never-seen term costs.
    uncached_ns: list[int] = []
    for qs in sorted({qs for category, qs in queries if category == "text"}):
        index = ix.get_index(today)
        index.term_cache.clear()
        index.page_cache.clear()  # else a repeated query's ranked page answers
        started = time.perf_counter_ns()
        client.get(f"{SEARCH_PATH}?{qs}")
        uncached_ns.append(time.perf_counter_ns() - started)

    per_request = measure_request_queries(client, queries[:PER_REQUEST_SAMPLE])

    all_search = [v for values in search_ns.values() for v in values]
    overall = latency_summary(all_search)
    p95_limit = target_p95_ms(listing_count)
    healthz = latency_summary(health_ns)
    ratio = overall["p50_ms"] / healthz["p50_ms"] if healthz["p50_ms"] else float("inf")
    categories = {}
    for category in CATEGORY_WEIGHTS:
        if category in search_ns:
            counts = matches.get(category, [0])
            categories[category] = latency_summary(search_ns[category]) | {
                "median_matches": int(np.median(counts)),
                "empty_share": round(sum(c == 0 for c in counts) / len(counts), 3),
            }
    report = {
        "date": timezone.now().isoformat(timespec="seconds"),
        "vendor": connection.vendor,
        "db_version": scratchdb.db_version(connection),
        "listings": listing_count,
        "visible_listings": visible,
        "queries": len(queries),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "healthz_statuses": {str(k): v for k, v in sorted(health_statuses.items())},
        "index_build_ms": None if build_ns is None else round(build_ns / 1e6, 1),
        "cold_first_request_ms": round(cold_ns / 1e6, 1),
        "cold_first_request_maps_snapshot": keep_snapshot,
        "search": overall,
        "categories": categories,
        "healthz": healthz,
        "text_uncached": latency_summary(uncached_ns) | {"distinct_queries": len(uncached_ns)},
        "p50_ratio": round(ratio, 2),
        "per_request": per_request,
        "targets": {
            "search_p95_ms": {
                "target": p95_limit,
                "value": overall["p95_ms"],
                "pass": overall["p95_ms"] <= p95_limit,
            },
            "change_log_queries_per_search": {
                "target": 0,
                "value": per_request["change_log_queries_per_search"],
                "pass": per_request["change_log_queries_per_search"] == 0,
            },
        },
        "machine": scratchdb.machine(),
    }
    if listing_count <= 50_000:
        # The issue sets this one at 50,000 only; above, the ratio is a figure.
        report["targets"]["search_p50_over_healthz_p50"] = {
            "target": TARGET_P50_RATIO,
            "value": round(ratio, 2),
            "pass": ratio <= TARGET_P50_RATIO,
        }
    return report


def measure_request_queries(client: Any, queries: list[tuple[str, str]]) -> dict[str, Any]:
    """SQL statements per search request once warm (issue 18, "Per request"):
    asking the change log for the generation on every search is what the
    issue wants gone; whatever else a request asks (sessions, exposure) is
    reported beside it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        for _category, qs in queries:
            client.get(f"{SEARCH_PATH}?{qs}")
    statements = [q["sql"] for q in captured.captured_queries]
    n = max(len(queries), 1)
    change_log = sum("core_searchchange" in sql for sql in statements)
    return {
        "requests": len(queries),
        "sql_per_search": round(len(statements) / n, 2),
        "change_log_queries_per_search": round(change_log / n, 2),
    }


def run_search_bench(
    *,
    listings: int,
    queries: int,
    seed: int,
    progress: bool = True,
    seed_base: int | None = SEED_BASE,
    prebuild: bool = False,
) -> dict[str, Any]:
    """Seed the current (empty) database and measure; returns the report.

    `prebuild`: time the snapshot build (search_scale.measure_build) before
    the mix, which then maps it; the scale part reuses that figure. At
    1,000,000 listings each build costs minutes, and this saves one."""
    from django.utils import timezone

    seeded = seed_listings(listings, seed, progress=progress, base=seed_base)
    started = time.perf_counter()
    ledger_rows = seed_exposure_ledger(seed)
    ledger_s = time.perf_counter() - started
    build = None
    if prebuild:
        from sekispe.search import index as ix

        ix.reset_index()
        build = search_scale.measure_build(timezone.localdate(), 1, progress=progress)
    build_s = time.perf_counter() - started - ledger_s
    report = measure(build_queries(queries, seed), progress=progress, keep_snapshot=prebuild)
    measured_s = time.perf_counter() - started - ledger_s - build_s
    report["seed"] = seed
    report["seed_time_s"] = seeded
    report["exposure_ledger_rows"] = ledger_rows
    report["phases_s"] = {
        "seed": seeded["total_s"],
        "exposure_ledger": round(ledger_s, 1),
        **({"snapshot_build": round(build_s, 1)} if build else {}),
        "api_mix": round(measured_s, 1),
    }
    if build:
        report["prebuilt"] = build
    return report


# --- reporting ----------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def format_report(report: dict[str, Any], label: str) -> str:
    seed = report["seed_time_s"]
    lines = [
        f"Search benchmark: {label} ({report['db_version']}), {report['listings']:,} listings "
        f"({report['visible_listings']:,} visible), {report['queries']:,} queries, "
        f"{report['machine']['cpus']} CPUs, {report['date']}"
        + (f", load {report['load_average']}" if "load_average" in report else "")
        + (f", code {report['code']}" if "code" in report else ""),
        f"seed {seed['total_s']:.1f} s (generate {seed['generate_s']:.1f} s, "
        f"write {seed['write_s']:.1f} s"
        + (
            f", copy {seed['replicate_s']:.1f} s of {seed['replicated']:,}"
            if seed.get("replicated")
            else ""
        )
        + "); index build "
        + (
            f"{report['index_build_ms']:,.0f} ms"
            if report["index_build_ms"] is not None
            else "not repeated"
        )
        + f" (cold first request {report['cold_first_request_ms']:,.0f} ms"
        + (
            ", mapping the snapshot just built)"
            if report.get("cold_first_request_maps_snapshot")
            else ")"
        ),
        "",
        f"{'category':<24}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'matches':>9}",
    ]

    def row(name: str, s: dict[str, Any], matches: str = "") -> str:
        return (
            f"{name:<24}{s['n']:>6}{s['p50_ms']:>9.2f}{s['p95_ms']:>9.2f}{s['p99_ms']:>9.2f}"
            f"{s['max_ms']:>9.2f}{matches:>9}"
        )

    for name, s in report["categories"].items():
        lines.append(row(name, s, str(s["median_matches"])))
    lines.append(row("search (all)", report["search"]))
    lines.append(row("/healthz", report["healthz"]))
    lines.append(row("text, term cache empty", report["text_uncached"]))
    lines += [
        "",
        f"search p50 / healthz p50 = {report['p50_ratio']:.2f}x",
        f"HTTP statuses: search {report['statuses']}, healthz {report['healthz_statuses']}",
    ]
    per_request = report.get("per_request")
    if per_request:
        lines.append(
            f"per search request (warm, {per_request['requests']} requests): "
            f"{per_request['sql_per_search']:.2f} SQL statements, of which "
            f"{per_request['change_log_queries_per_search']:.2f} ask the change log"
        )
    if "page" in report:
        lines += [
            "",
            search_page.format_page_report(report["page"] | {"listings": report["listings"]}),
        ]
    if "scale" in report:
        lines += search_scale.format_scale(report["scale"])
    if "phases_s" in report:
        lines += [
            "",
            "phases: "
            + ", ".join(f"{name} {seconds:,.1f} s" for name, seconds in report["phases_s"].items()),
        ]
    lines += ["", f"Targets (issue 18) at {report['listings']:,} listings:"]
    lines += format_targets(report["targets"])
    return "\n".join(lines)


# What each target measures, its unit and how it compares, for the printed verdicts.
TARGET_LABELS: dict[str, tuple[str, str]] = {
    "search_p95_ms": ("search p95 (API, one process)", "ms"),
    "search_p50_over_healthz_p50": ("search p50 / /healthz p50", "x"),
    "text_p95_ms": ("free-text search p95", "ms"),
    "change_log_queries_per_search": ("change-log queries per search request", ""),
    "page_p95_over_api_p95": ("page /specialists/ p95 / API p95", "x"),
    "writes_p95_ratio": ("search p95 with 1 write/s / without", "x"),
    "freshness_max_s": ("a change visible in another process, max", "s"),
    "freshness_p95_s": ("a change visible in another process, p95", "s"),
    "freshness_busy_max_s": ("the same while it searches without pause, max", "s"),
    "memory_uss_mb": ("memory per web process, USS", "MB"),
    "memory_pss_mb": ("memory per web process, PSS", "MB"),
    "memory_peak_ratio": ("peak memory during updates / steady", "x"),
    "first_search_s": ("a new process's first search", "s"),
    "build_s": ("full snapshot build", "s"),
}


def format_targets(targets: dict[str, dict[str, Any]]) -> list[str]:
    """One line per target: what, the figure, the limit and PASS or FAIL."""
    lines = []
    for name, target in targets.items():
        label, unit = TARGET_LABELS.get(name, (name, ""))
        value = target["value"]
        shown = (
            f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
        )
        unit_text = f" {unit}" if unit else ""
        lines.append(
            f"  {label:<44} {shown:>10}{unit_text:<3} (target ≤ {target['target']:g}{unit_text}): "
            f"{_verdict(target['pass'])}"
        )
    return lines


def write_report(report: dict[str, Any], label: str, out_dir: Path) -> Path:
    return scratchdb.write_report(report, f"search-{label}.json", out_dir)


def format_comparison(reports: dict[str, dict[str, Any]]) -> str:
    """One table, p50/p95 per database, for docs/benchmarks.md."""
    labels = list(reports)
    header = "| | " + " | ".join(f"{lb} p50 | {lb} p95" for lb in labels) + " |"
    lines = [header, "|---" * (1 + 2 * len(labels)) + "|"]
    names = list(next(iter(reports.values()))["categories"])
    for name in [*names, "search (all)", "/healthz"]:
        cells = []
        for report in reports.values():
            s = (
                report["search"]
                if name == "search (all)"
                else report["healthz"]
                if name == "/healthz"
                else report["categories"].get(name)
            )
            cells.append(f"{s['p50_ms']:.2f} | {s['p95_ms']:.2f}" if s else "– | –")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the subprocess on a scratch database (sekispe/devtools/scratchdb.py) --------------------


def run_scratch_benchmarks(
    *,
    databases: list[str],
    postgres_url: str | None,
    listings: int,
    queries: int,
    seed: int,
    out_dir: Path,
    progress: bool,
    echo: Callable[[str], None],
    scratch_name: str = SCRATCH_PG_NAME,
    scale_args: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the worker once per database against a scratch copy; return the reports.

    `scratch_name`: the PostgreSQL scratch database (dropped and created), so
    two people benchmarking on one server do not drop each other's."""
    return run_workers(
        "search",
        databases=databases,
        postgres_url=postgres_url,
        pg_name=scratch_name,
        worker_args=[
            "--listings",
            str(listings),
            "--queries",
            str(queries),
            "--seed",
            str(seed),
            *(scale_args or []),
        ],
        out_dir=out_dir,
        progress=progress,
        echo=echo,
    )


def _code_version() -> str:
    """The commit measured, "+dirty" when the search code differs from it."""
    import subprocess

    root = Path(__file__).resolve().parents[3]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sekispe/search", "sekispe/core"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def worker(
    label: str,
    *,
    listings: int,
    queries: int,
    seed: int,
    out_dir: Path,
    progress: bool,
    scale: bool = True,
    write_seconds: float = search_scale.WRITE_SECONDS,
    build_runs: int = 0,
    seed_base: int | None = SEED_BASE,
    page_queries: int = PAGE_QUERIES,
) -> dict[str, Any]:
    """Inside the subprocess: check we are on the scratch database, migrate, seed,
    measure in this process, then (`scale`) across processes (search_scale.py)."""
    import tempfile

    from django.conf import settings

    from sekispe.listings.models import Listing

    migrate_s = prepare_worker_database("seed", must_be_empty=Listing)
    # Snapshot files of this run only: the shared folder may hold another
    # database's, and reset_index() deletes what it finds there.
    snapshots = tempfile.mkdtemp(prefix="sekispe-bench-snapshots-")
    settings.SEARCH_SNAPSHOT_DIR = snapshots
    # One address sends every search: the per-address API limit would answer
    # 429 and the bench would time refusals.
    settings.SEARCH_API_PER_IP = (10**9, 3600)
    try:
        report = run_search_bench(
            listings=listings,
            queries=queries,
            seed=seed,
            progress=progress,
            seed_base=seed_base,
            prebuild=scale and listings > REBUILD_UP_TO,
        )
        text = report["categories"].get("text", {}).get("p95_ms", 0.0)
        report["targets"]["text_p95_ms"] = {
            "target": TARGET_TEXT_P95_MS,
            "value": text,
            "pass": text <= TARGET_TEXT_P95_MS,
        }
        phases = report.setdefault("phases_s", {})
        if page_queries:
            # The page on the index the API mix just used: no second build.
            started = time.perf_counter()
            report["page"] = search_page.measure_page(
                build_queries(page_queries, seed), repeats=PAGE_REPEATS, reset=False
            )
            phases["page"] = round(time.perf_counter() - started, 1)
            report["targets"].update(report["page"]["targets"])
        if scale:
            runs = build_runs or (3 if listings <= 200_000 else 1)
            started = time.perf_counter()
            report["scale"] = search_scale.run_scale(
                build_queries(queries, seed),
                seed=seed,
                write_seconds=write_seconds,
                build_runs=runs,
                progress=progress,
                prebuilt=report.pop("prebuilt", None),
            )
            phases["scale"] = round(time.perf_counter() - started, 1)
            report["targets"].update(report["scale"]["targets"])
    finally:
        import shutil

        from sekispe.search import index as ix

        ix.reset_index()
        shutil.rmtree(snapshots, ignore_errors=True)
    report["label"] = label
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    report["code"] = _code_version()
    report["migrate_s"] = round(migrate_s, 2)
    report["generated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_report(report, label, out_dir)
    return report
