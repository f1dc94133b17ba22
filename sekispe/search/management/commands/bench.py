"""`sekispe bench search`: search latency at 50,000 listings, on scratch databases only.

SQLite always runs; PostgreSQL runs too when DATABASE_URL points at PostgreSQL
(or with --databases sqlite,postgres --postgres-url ...). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sekispe.lib.env import env_str
from sekispe.search import bench

KNOWN = ("sqlite", "postgres")


class Command(BaseCommand):
    help = (
        "Benchmark search latency against scratch databases (never your own): seeds "
        "--listings demo specialists, runs a fixed query mix and compares with /healthz."
    )
    # The orchestrator never touches the configured database, so skip the checks
    # that would; the worker migrates its scratch database itself.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", choices=["search"], help="what to benchmark")
        parser.add_argument("--listings", type=int, default=50_000)
        parser.add_argument("--queries", type=int, default=1_200, help="at least 1,000")
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
            help="server for the scratch database sekispe_bench (default: DATABASE_URL)",
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
        if options["worker"]:
            report = bench.worker(
                options["worker"],
                listings=options["listings"],
                queries=options["queries"],
                seed=options["seed"],
                out_dir=out_dir,
                progress=progress,
            )
            self.stdout.write(bench.format_report(report, options["worker"]))
            return

        if options["queries"] < 1000 or options["listings"] < 1:
            raise CommandError("--queries must be at least 1,000 and --listings at least 1")
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
            )
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write("")
        self.stdout.write(bench.format_comparison(reports))
        missed = [
            f"{label}: {name}"
            for label, report in reports.items()
            for name, target in report["targets"].items()
            if not target["pass"]
        ]
        self.stdout.write(
            f"results: {', '.join(str(out_dir / f'search-{d}.json') for d in reports)}"
        )
        if missed:
            self.stdout.write(self.style.WARNING(f"targets missed: {'; '.join(missed)}"))
            if options["check"]:
                raise SystemExit(1)
        else:
            self.stdout.write(self.style.SUCCESS("all targets met"))
