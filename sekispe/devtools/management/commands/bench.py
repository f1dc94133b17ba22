"""`sekispe bench search|import|matching|expiry|similarity|mailing|insights|planb`: benchmarks that never touch your database.

`search`: search latency at 50,000 listings. `import`: the registry and course
imports at 50,000 + 300,000 rows. `expiry`: the daily expire-registrations at
300,000 expiries with a concurrent listing save. These run on scratch databases: SQLite
always; PostgreSQL too when DATABASE_URL points at PostgreSQL (or with
--databases sqlite,postgres --postgres-url ...). `matching`: fairness and
relevance of the result ordering, simulated in memory (no database) with the
production ranking code. `similarity`: the deemed-attendance copy check's
false refusals on 50 honest descriptions, edited copies and the peer check's
cost (in memory). `mailing`: queueing a registrant mailing to 50,000 people
(scratch databases, like expiry). `insights`: the insights refresh and every
policy and statistics page at 50,000 registrants, 200,000 diagnoses, 20,000
inquiries and 1,000,000 searches (scratch databases). `planb`: the search query
mix as SQL on PostgreSQL with and without a trigram index (docs/search-plan-b.md),
in its own scratch database (planb_bench, or --scratch-name). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sekispe.devtools import scratchdb
from sekispe.devtools.bench import expiry as expiry_bench
from sekispe.devtools.bench import imports as import_bench
from sekispe.devtools.bench import insights as insights_bench
from sekispe.devtools.bench import mailing as mailing_bench
from sekispe.devtools.bench import matching as matching_bench
from sekispe.devtools.bench import search as bench
from sekispe.devtools.bench import similarity as similarity_bench
from sekispe.devtools.bench.replicate import NUMBERS
from sekispe.lib.env import env_str

KNOWN = ("sqlite", "postgres")


class Command(BaseCommand):
    help = (
        "Benchmark against scratch databases (never your own). search: seeds --listings "
        "demo specialists, runs a fixed query mix and compares with /healthz. import: "
        "generates a registry and a course extract and times import-registry and "
        "import-courses (fresh, again, updated). matching: simulates SME searches and "
        "inquiries over a synthetic population and compares three orderings (in memory). "
        "expiry: seeds --records active registrations that ran out yesterday and times "
        "expire-registrations while another thread saves a listing. insights: seeds the "
        "policy view's population and times refresh-insights and every insights page."
    )
    # The orchestrator never touches the configured database, so skip the checks
    # that would; the worker migrates its scratch database itself.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "target",
            choices=[
                "search",
                "import",
                "matching",
                "expiry",
                "similarity",
                "mailing",
                "insights",
                "planb",
            ],
            help="what to benchmark",
        )
        parser.add_argument(
            "--listings",
            type=int,
            default=None,
            help=f"search (default 50,000) and insights (default {insights_bench.LISTINGS:,})",
        )
        parser.add_argument(
            "--queries", type=int, default=1_200, help="search only; at least 1,000"
        )
        parser.add_argument("--registry-rows", type=int, default=50_000, help="import only")
        parser.add_argument("--course-rows", type=int, default=300_000, help="import only")
        parser.add_argument("--records", type=int, default=expiry_bench.RECORDS, help="expiry only")
        parser.add_argument(
            "--recipients", type=int, default=mailing_bench.RECIPIENTS, help="mailing only"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=0,
            help="expiry only (default: the service's EXPIRY_BATCH_SIZE)",
        )
        parser.add_argument(
            "--registrants",
            type=int,
            default=None,
            help=f"matching (default {matching_bench.REGISTRANTS:,}; about 30%% are listed) and "
            f"insights (default {insights_bench.REGISTRANTS:,})",
        )
        parser.add_argument(
            "--searches",
            type=int,
            default=None,
            help=f"matching (default {matching_bench.SEARCHES:,}) and insights "
            f"(default {insights_bench.SEARCHES:,}, as search-demand counts)",
        )
        for flag, default, what in (
            ("courses", insights_bench.COURSES, "course rows"),
            ("diagnoses", insights_bench.DIAGNOSES, "diagnoses"),
            ("inquiries", insights_bench.INQUIRIES, "inquiries"),
            ("declarations", insights_bench.DECLARATIONS, "SECURITY ACTION declarations"),
            ("events", insights_bench.EVENTS, "consultation events"),
            ("requests", insights_bench.REQUESTS, "timed requests per page"),
        ):
            parser.add_argument(
                f"--{flag}", type=int, default=default, help=f"insights only: {what}"
            )
        parser.add_argument(
            "--unlimited-capacity",
            action="store_true",
            help="matching only: the counterfactual where nobody is ever full",
        )
        parser.add_argument(
            "--inquiry-cap",
            type=int,
            default=None,
            metavar="K",
            help="matching only: the counterfactual where (c) also hides whoever "
            "received K inquiries in the last --inquiry-cap-days days",
        )
        parser.add_argument(
            "--inquiry-cap-days",
            type=float,
            default=30.0,
            help="matching only: the window of --inquiry-cap (default 30)",
        )
        parser.add_argument(
            "--scratch-name",
            default="",
            help="search only: the PostgreSQL scratch database to drop and create "
            "(default sekispe_bench); give each person benchmarking on one server their own",
        )
        parser.add_argument(
            "--write-seconds",
            type=float,
            default=30.0,
            help="search only: how long the reads run without, then with, a write a second",
        )
        parser.add_argument(
            "--build-runs",
            type=int,
            default=0,
            help="search only: full snapshot builds timed (best of; default 3, 1 above 200,000)",
        )
        parser.add_argument(
            "--seed-base",
            type=int,
            default=bench.SEED_BASE,
            help="search only: listings seeded through the normal write path "
            f"(default {bench.SEED_BASE:,}); the rest up to --listings are SQL copies of them, "
            "with new registration numbers (0: seed every listing)",
        )
        parser.add_argument(
            "--page-queries",
            type=int,
            default=bench.PAGE_QUERIES,
            help="search only: queries of the page-against-API measurement per run "
            f"(default {bench.PAGE_QUERIES}; 0 skips it)",
        )
        parser.add_argument(
            "--planb-queries",
            type=int,
            default=60,
            help="planb only: queries of the mix timed (each costs about a second with facets)",
        )
        parser.add_argument(
            "--planb-rounds", type=int, default=2, help="planb only: runs per query (best of)"
        )
        parser.add_argument(
            "--no-scale",
            action="store_true",
            help="search only: skip the multi-process part (build, start, memory, writes, "
            "freshness)",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--databases",
            default="",
            help="comma-separated: sqlite,postgres (default: sqlite, plus postgres when "
            "DATABASE_URL is a PostgreSQL URL)",
        )
        parser.add_argument(
            "--postgres-url",
            default="",
            help="server for the scratch database sekispe_bench / sekispe_bench_import / "
            "sekispe_bench_expiry (default: DATABASE_URL)",
        )
        parser.add_argument("--output-dir", default="bench-results")
        parser.add_argument(
            "--check", action="store_true", help="exit with status 1 when a target is missed"
        )
        parser.add_argument("--no-progress", action="store_true")
        # Internal: set by the orchestrator when it re-runs this command on a scratch DB.
        parser.add_argument("--worker", default="", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        out_dir = Path(options["output_dir"])
        progress = not options["no_progress"]
        if options["target"] == "import":
            self._import(options, out_dir, progress)
            return
        if options["target"] == "matching":
            self._matching(options, out_dir, progress)
            return
        if options["target"] == "expiry":
            self._expiry(options, out_dir, progress)
            return
        if options["target"] == "mailing":
            self._mailing(options, out_dir, progress)
            return
        if options["target"] == "insights":
            self._insights(options, out_dir, progress)
            return
        if options["target"] == "planb":
            self._planb(options, out_dir, progress)
            return
        if options["target"] == "similarity":
            report = similarity_bench.run(options["seed"], self.stdout.write, progress)
            path = scratchdb.write_report(report, "similarity.json", out_dir)
            self.stdout.write(f"report: {path}")
            return
        if options["listings"] is None:
            options["listings"] = 50_000
        if options["worker"]:
            report = bench.worker(
                options["worker"],
                listings=options["listings"],
                queries=options["queries"],
                seed=options["seed"],
                out_dir=out_dir,
                progress=progress,
                scale=not options["no_scale"],
                write_seconds=options["write_seconds"],
                build_runs=options["build_runs"],
                seed_base=options["seed_base"] or None,
                page_queries=options["page_queries"],
            )
            self.stdout.write(bench.format_report(report, options["worker"]))
            return

        if options["queries"] < 1000 or options["listings"] < 1:
            raise CommandError("--queries must be at least 1,000 and --listings at least 1")
        if options["listings"] > NUMBERS or options["seed_base"] < 0:
            raise CommandError(
                f"--listings can be at most {NUMBERS:,} (six-digit registration numbers) "
                "and --seed-base not negative"
            )
        databases, postgres_url = self._databases(options)

        try:
            reports = bench.run_scratch_benchmarks(
                databases=databases,
                postgres_url=postgres_url,
                listings=options["listings"],
                queries=options["queries"],
                seed=options["seed"],
                out_dir=out_dir,
                progress=progress,
                echo=self.stdout.write,
                scratch_name=options["scratch_name"] or bench.SCRATCH_PG_NAME,
                scale_args=[
                    "--write-seconds",
                    str(options["write_seconds"]),
                    "--build-runs",
                    str(options["build_runs"]),
                    "--seed-base",
                    str(options["seed_base"]),
                    "--page-queries",
                    str(options["page_queries"]),
                    *(["--no-scale"] if options["no_scale"] else []),
                ],
            )
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write("")
        self.stdout.write(bench.format_comparison(reports))
        self.stdout.write(
            f"results: {', '.join(str(out_dir / f'search-{d}.json') for d in reports)}"
        )
        self._verdict(reports, check=options["check"])

    def _databases(self, options: dict[str, Any]) -> tuple[list[str], str | None]:
        postgres_url = options["postgres_url"] or None
        if postgres_url is None:
            url = env_str("DATABASE_URL", "")
            if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and url:
                postgres_url = url
        if options["databases"]:
            databases = [d.strip() for d in options["databases"].split(",") if d.strip()]
        else:
            databases = ["sqlite", *(["postgres"] if postgres_url else [])]
        unknown = [d for d in databases if d not in KNOWN]
        if unknown:
            raise CommandError(f"unknown database(s): {', '.join(unknown)}; use {KNOWN}")
        if "postgres" in databases and not postgres_url:
            raise CommandError("postgres needs DATABASE_URL or --postgres-url")
        return databases, postgres_url

    def _import(self, options: dict[str, Any], out_dir: Path, progress: bool) -> None:
        sizes = {
            "registry_rows": options["registry_rows"],
            "course_rows": options["course_rows"],
            "seed": options["seed"],
        }
        if options["worker"]:
            report = import_bench.worker(
                options["worker"], out_dir=out_dir, progress=progress, **sizes
            )
            self.stdout.write(import_bench.format_report(report, options["worker"]))
            return
        if sizes["registry_rows"] < 1 or sizes["course_rows"] < 1:
            raise CommandError("--registry-rows and --course-rows must be at least 1")
        databases, postgres_url = self._databases(options)
        try:
            reports = import_bench.run_scratch_benchmarks(
                databases=databases,
                postgres_url=postgres_url,
                out_dir=out_dir,
                progress=progress,
                echo=self.stdout.write,
                **sizes,
            )
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        markdown = import_bench.write_markdown(reports, out_dir)
        self.stdout.write("")
        self.stdout.write(import_bench.format_comparison(reports))
        self.stdout.write(
            f"results: {', '.join(str(out_dir / f'import-{d}.json') for d in reports)}, {markdown}"
        )
        self._verdict(reports, check=options["check"])

    def _verdict(self, reports: dict[str, Any], *, check: bool) -> None:
        """PASS/FAIL over every database's targets; exit 1 under --check when any missed."""
        missed = [
            f"{label}: {name}"
            for label, report in reports.items()
            for name, target in report["targets"].items()
            if not target["pass"]
        ]
        if missed:
            self.stdout.write(self.style.WARNING(f"targets missed: {'; '.join(missed)}"))
            if check:
                raise SystemExit(1)
        else:
            self.stdout.write(self.style.SUCCESS("all targets met"))

    def _planb(self, options: dict[str, Any], out_dir: Path, progress: bool) -> None:
        """Plan B (docs/search-plan-b.md): the query mix as SQL on PostgreSQL, in
        planb.py's own scratch database, run as a subprocess (it sets Django up
        on that database itself). Prints its PASS/FAIL line either way."""
        from sekispe.devtools.bench import planb

        postgres_url = options["postgres_url"] or None
        url = env_str("DATABASE_URL", "")
        if postgres_url is None and url.startswith(("postgres://", "postgresql://")):
            postgres_url = url
        postgres_url = postgres_url or planb.DEFAULT_POSTGRES_URL
        name = options["scratch_name"] or planb.DEFAULT_DB_NAME
        listings = options["listings"] or 50_000
        path = out_dir / "planb.json"
        path.unlink(missing_ok=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "sekispe.devtools.bench.planb",
            "--postgres-url",
            postgres_url,
            "--db-name",
            name,
            "--listings",
            str(listings),
            "--queries",
            str(options["planb_queries"]),
            "--rounds",
            str(options["planb_rounds"]),
            "--seed",
            str(options["seed"]),
            "--json",
            str(path),
            *([] if progress else ["--no-progress"]),
        ]
        self.stdout.write(f"== postgres: Plan B in scratch database {name}")
        env = os.environ | {"DEBUG": "0"}
        result = subprocess.run(command, env=env, check=False)  # noqa: S603 (our own argv)
        if result.returncode != 0 or not path.is_file():
            self.stdout.write(
                f"Plan B (PostgreSQL SQL): not measured (exit {result.returncode}; needs a "
                f"PostgreSQL server: DATABASE_URL or --postgres-url): FAIL"
            )
            if options["check"]:
                raise SystemExit(1)
            return
        report = json.loads(path.read_text("utf-8"))
        self.stdout.write("")
        self.stdout.write(planb.format_verdict(report))
        self.stdout.write(f"results: {path}")
        self._verdict({"postgres": report}, check=options["check"])

    def _expiry(self, options: dict[str, Any], out_dir: Path, progress: bool) -> None:
        records, batch_size = options["records"], options["batch_size"] or None
        if options["worker"]:
            report = expiry_bench.worker(
                options["worker"],
                records=records,
                batch_size=batch_size,
                out_dir=out_dir,
                progress=progress,
            )
            self.stdout.write(expiry_bench.format_report(report, options["worker"]))
            return
        if records < 1 or options["batch_size"] < 0:
            raise CommandError("--records must be at least 1 and --batch-size positive")
        databases, postgres_url = self._databases(options)
        try:
            reports = expiry_bench.run_scratch_benchmarks(
                databases=databases,
                postgres_url=postgres_url,
                records=records,
                batch_size=batch_size,
                out_dir=out_dir,
                progress=progress,
                echo=self.stdout.write,
            )
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write(expiry_bench.format_comparison(reports))
        self.stdout.write(
            f"results: {', '.join(str(out_dir / f'expiry-{d}.json') for d in reports)}"
        )
        self._verdict(reports, check=options["check"])

    def _mailing(self, options: dict[str, Any], out_dir: Path, progress: bool) -> None:
        recipients = options["recipients"]
        if options["worker"]:
            report = mailing_bench.worker(
                options["worker"], recipients=recipients, out_dir=out_dir, progress=progress
            )
            self.stdout.write(mailing_bench.format_report(report, options["worker"]))
            return
        if recipients < 1:
            raise CommandError("--recipients must be at least 1")
        databases, postgres_url = self._databases(options)
        try:
            reports = mailing_bench.run_scratch_benchmarks(
                databases=databases,
                postgres_url=postgres_url,
                recipients=recipients,
                out_dir=out_dir,
                progress=progress,
                echo=self.stdout.write,
            )
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write(mailing_bench.format_comparison(reports))
        self.stdout.write(
            f"results: {', '.join(str(out_dir / f'mailing-{d}.json') for d in reports)}"
        )
        self._verdict(reports, check=options["check"])

    def _insights(self, options: dict[str, Any], out_dir: Path, progress: bool) -> None:
        given = {
            "registrants": insights_bench.REGISTRANTS,
            "listings": insights_bench.LISTINGS,
            "searches": insights_bench.SEARCHES,
        }
        sizes = insights_bench.Sizes(
            **{
                name: options[name] if options[name] is not None else default
                for name, default in given.items()
            },
            **{
                name: options[name]
                for name in (
                    "courses",
                    "diagnoses",
                    "inquiries",
                    "declarations",
                    "events",
                    "requests",
                )
            },
        )
        if options["worker"]:
            report = insights_bench.worker(
                options["worker"],
                sizes=sizes,
                seed=options["seed"],
                out_dir=out_dir,
                progress=progress,
            )
            self.stdout.write(insights_bench.format_report(report, options["worker"]))
            return
        if sizes.registrants < 1 or sizes.requests < 1 or sizes.listings > sizes.registrants:
            raise CommandError(
                "--registrants and --requests must be at least 1, --listings at most --registrants"
            )
        databases, postgres_url = self._databases(options)
        try:
            reports = insights_bench.run_scratch_benchmarks(
                databases=databases,
                postgres_url=postgres_url,
                sizes=sizes,
                seed=options["seed"],
                out_dir=out_dir,
                progress=progress,
                echo=self.stdout.write,
            )
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write(insights_bench.format_comparison(reports))
        self.stdout.write(
            f"results: {', '.join(str(out_dir / f'insights-{d}.json') for d in reports)}"
        )
        self._verdict(reports, check=options["check"])

    def _matching(self, options: dict[str, Any], out_dir: Path, progress: bool) -> None:
        for name, default in (
            ("registrants", matching_bench.REGISTRANTS),
            ("searches", matching_bench.SEARCHES),
        ):
            if options[name] is None:
                options[name] = default
        if options["registrants"] < 100 or options["searches"] < 100:
            raise CommandError("--registrants and --searches must be at least 100")
        report = matching_bench.run_matching_bench(
            registrants=options["registrants"],
            searches=options["searches"],
            seed=options["seed"],
            unlimited_capacity=options["unlimited_capacity"],
            inquiry_cap=(
                None
                if options["inquiry_cap"] is None
                else (options["inquiry_cap"], options["inquiry_cap_days"])
            ),
            progress=progress,
            echo=self.stdout.write,
        )
        path, markdown = matching_bench.write_report(report, out_dir)
        self.stdout.write("")
        self.stdout.write(matching_bench.format_report(report))
        self.stdout.write(f"results: {path}, {markdown}")
        missed = [name for name, target in report["targets"].items() if not target["pass"]]
        if missed:
            self.stdout.write(self.style.WARNING(f"targets missed: {', '.join(missed)}"))
            if options["check"]:
                raise SystemExit(1)
        else:
            self.stdout.write(self.style.SUCCESS("all targets met"))
