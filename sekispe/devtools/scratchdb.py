"""Scratch databases for the benchmarks (`sekispe bench search|import`).

A benchmark never touches the configured database: the orchestrator creates a
throw-away SQLite file or PostgreSQL database, re-runs the bench command in a
subprocess pointed at it (`--worker LABEL`), reads the JSON report the worker
wrote, and drops the database. The worker refuses to run anywhere else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Set by the orchestrator to the scratch database's NAME; the worker checks it.
SCRATCH_ENV = "SEKISPE_BENCH_SCRATCH"


def _pg_url(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{dbname}"))


@contextmanager
def scratch_database(
    label: str, postgres_url: str | None, *, pg_name: str
) -> Iterator[tuple[str, str]]:
    """Yield (DATABASE_URL, NAME) of a new, empty scratch database; remove it after."""
    if label == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"{pg_name}-"))
        path = folder / "bench.sqlite3"
        try:
            yield f"sqlite:///{path}", str(path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if label != "postgres" or not postgres_url:
        raise ValueError(f"no scratch database for {label!r}")
    import psycopg
    from psycopg import sql

    own = urllib.parse.urlsplit(postgres_url).path.lstrip("/")
    if own == pg_name:
        raise ValueError(f"DATABASE_URL already names {pg_name}; refusing to drop it")
    admin_url = _pg_url(postgres_url, "postgres")
    name = sql.Identifier(pg_name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield _pg_url(postgres_url, pg_name), pg_name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))


def run_workers(
    target: str,
    *,
    databases: Sequence[str],
    postgres_url: str | None,
    pg_name: str,
    worker_args: Sequence[str],
    out_dir: Path,
    progress: bool,
    echo: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Run `sekispe bench TARGET --worker LABEL` once per database against a
    scratch copy; return each worker's report (`OUT_DIR/TARGET-LABEL.json`)."""
    reports: dict[str, dict[str, Any]] = {}
    for label in databases:
        with scratch_database(label, postgres_url, pg_name=pg_name) as (url, name):
            # DEBUG would record every SQL query in memory and slow everything down.
            env = os.environ | {"DATABASE_URL": url, SCRATCH_ENV: name, "DEBUG": "0"}
            command = [sys.executable, "-m", "sekispe.cli", "bench", target, "--worker", label]
            command += [*worker_args, "--output-dir", str(out_dir)]
            if not progress:
                command.append("--no-progress")
            echo(f"== {label}: scratch database {name}")
            result = subprocess.run(command, env=env, check=False)  # noqa: S603 (our own argv)
            if result.returncode != 0:
                raise RuntimeError(
                    f"{target} benchmark on {label} failed (exit {result.returncode})"
                )
        reports[label] = json.loads((out_dir / f"{target}-{label}.json").read_text("utf-8"))
    return reports


def prepare_worker_database(doing: str, *, must_be_empty: type) -> float:
    """Inside the worker: refuse any database but the scratch one, migrate it and
    check that `must_be_empty` has no rows. Returns the seconds migrate took."""
    from django.conf import settings
    from django.core.management import call_command

    expected = os.environ.get(SCRATCH_ENV)
    actual = str(settings.DATABASES["default"]["NAME"])
    if not expected or actual != expected:
        raise RuntimeError(
            f"refusing to {doing} {actual!r}: the bench worker only runs on its scratch database"
        )
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_s = time.perf_counter() - started
    if must_be_empty.objects.exists():  # type: ignore[attr-defined]
        raise RuntimeError("the scratch database is not empty")
    return migrate_s


def machine() -> dict[str, Any]:
    """What a benchmark ran on, for its JSON report."""
    import platform

    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def db_version(connection: Any) -> str:
    """ "SQLite 3.40.1" / "PostgreSQL 15.20", for the report."""
    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version}"
    if connection.vendor == "postgresql":
        number = connection.pg_version  # e.g. 150020
        return f"PostgreSQL {number // 10000}.{number % 100}"
    return connection.vendor


def write_report(report: dict[str, Any], filename: str, out_dir: Path) -> Path:
    """A benchmark's report as pretty JSON under `out_dir` (bench-results/ by default)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / filename
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def latency_summary(values_ns: Sequence[int]) -> dict[str, float]:
    """p50/p95/p99, mean and max in milliseconds of timings in nanoseconds:
    the one shape every benchmark reports latencies in."""
    import numpy as np

    ms = np.array(values_ns, dtype=np.float64) / 1e6
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "n": len(values_ns),
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "max_ms": round(float(ms.max()), 3),
    }
