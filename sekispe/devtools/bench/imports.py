"""Import benchmark: IPA's registry and course extracts at the 2030 scale.

Two halves, like the search benchmark (sekispe/devtools/bench/search.py):
- `run_import_bench` generates a registry CSV and a course CSV and times the
  real commands (`import-registry`, `import-courses`) against the *current*
  database: a fresh import of both, a re-import of both (everything
  unchanged) and a registry update in which a share of the rows changed. The
  smoke test calls it against the test database with small numbers.
- `run_scratch_benchmarks` is what `sekispe bench import` does: for each
  database it creates a scratch database (a temporary SQLite file, or
  `sekispe_bench_import` on the PostgreSQL server), re-runs the bench command
  in a subprocess pointed at it with `DATABASE_URL`, and drops it afterwards.

Targets: a fresh import of 50,000 registry rows plus 300,000 course rows in at
most 10 s (issue 18; it was 60 s in issue 4), a re-import of both in under 60 s,
on SQLite and on PostgreSQL. Each report notes the load average at its start,
as the machine may be shared with other work.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sekispe.devtools import scratchdb
from sekispe.devtools.demo import listings as demo
from sekispe.devtools.scratchdb import prepare_worker_database, run_workers
from sekispe.lib.dates import add_years, fiscal_year, period_end
from sekispe.reference import data
from sekispe.registry.importer import COURSE_COLUMNS, REGISTRY_COLUMNS

TARGET_S = 60.0
# A fresh import of both extracts (issue 18).
FRESH_TARGET_S = 10.0
SCRATCH_PG_NAME = "sekispe_bench_import"
# Data is drawn as of this day (or today, if earlier), so the same seed gives
# the same files; see sekispe/devtools/demo/listings.py.
ANCHOR = dt.date(2026, 10, 1)
FIRST_REGISTRATION = dt.date(2017, 4, 1)
# Share of registrants whose row changes in the update step.
UPDATE_SHARE = 0.05

# Half-yearly cohorts: the first ones (2017) were the largest, as the examination
# pass holders of earlier years registered at once; later cohorts are even.
FIRST_COHORT_WEIGHTS = (6.0, 4.0, 3.0)
LATER_COHORT_WEIGHT = 2.0

STATUS_LABELS_JA = {
    "active": "登録中",
    "expired": "失効",
    "deregistered": "登録抹消",
    "deceased": "死亡",
}
COURSE_LABELS_JA = {"common": "共通講習", "practical": "実践講習", "specific": "特定講習"}
PRACTICAL_CODES = ("IPA-GD", "IPA-IR", "IPA-CS")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


# --- generating the extracts ---------------------------------------------------------


@dataclass(frozen=True)
class _Registrant:
    number: str
    name: str
    kana: str
    romaji: str
    birth_year: int | None
    home: str  # JIS code
    registered_on: dt.date
    expires_on: dt.date
    renewal_count: int
    status: str
    email: str

    @property
    def last_day(self) -> dt.date:
        """The last day on which this registrant could have taken a course."""
        return self.expires_on


def _cohorts(anchor: dt.date) -> list[dt.date]:
    days: list[dt.date] = []
    day = FIRST_REGISTRATION
    while day <= anchor:
        days.append(day)
        day = dt.date(day.year, 10, 1) if day.month == 4 else dt.date(day.year + 1, 4, 1)
    return days


def _registrant(
    rng: random.Random, number: str, registered_on: dt.date, anchor: dt.date
) -> _Registrant:
    surname = rng.choice(demo.SURNAMES)
    given = rng.choice(demo.FEMALE_NAMES if rng.random() < demo.FEMALE_SHARE else demo.MALE_NAMES)
    # Full periods completed by the anchor: the current period's index.
    current = 0
    while add_years(registered_on, 3 * (current + 1)) <= anchor:
        current += 1
    draw = rng.random()
    if draw < 0.002:
        status, count = "deceased", rng.randint(0, current)
    elif draw < 0.08:
        status, count = "deregistered", rng.randint(0, current)
    elif draw < 0.20 and current >= 1:
        # Did not renew at the end of an earlier period.
        status, count = "expired", rng.randint(0, current - 1)
    else:
        status, count = "active", current
    expires_on = period_end(add_years(registered_on, 3 * count))
    birth = None if rng.random() < 0.08 else round(rng.triangular(1955, 1998, 1976))
    romaji = f"{given[2]}.{surname[2]}"
    email = "" if rng.random() < 0.12 else f"{romaji}{rng.randint(1, 999)}@example.jp"
    home = _weighted(rng, data.REGISTRANTS_2021)
    return _Registrant(
        number=number,
        name=f"{surname[0]} {given[0]}",
        kana=f"{surname[1]} {given[1]}",
        romaji=romaji,
        birth_year=birth,
        home=home,
        registered_on=registered_on,
        expires_on=expires_on,
        renewal_count=count,
        status=status,
        email=email,
    )


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate_registrants(n: int, seed: int, anchor: dt.date) -> list[_Registrant]:
    """`n` registrants in registration order, numbered like IPA's (with gaps)."""
    rng = random.Random(seed)
    cohorts = _cohorts(anchor)
    weights = [
        FIRST_COHORT_WEIGHTS[i] if i < len(FIRST_COHORT_WEIGHTS) else LATER_COHORT_WEIGHT
        for i in range(len(cohorts))
    ]
    days = sorted(rng.choices(cohorts, weights=weights, k=n))
    registrants: list[_Registrant] = []
    number = 0
    for day in days:
        # Numbers are issued in order; withdrawn applications leave gaps.
        number += 1 if rng.random() < 0.9 else rng.randint(2, 4)
        registrants.append(_registrant(rng, f"{number:06d}", day, anchor))
    if number > 999_999:
        raise ValueError("too many registrants for 6-digit registration numbers")
    return registrants


def registry_csv(registrants: list[_Registrant], seed: int) -> str:
    """The extract as text; cells vary the way real spreadsheets do."""
    rng = random.Random(seed + 1)
    prefectures = {p.code: p for p in data.PREFECTURES}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REGISTRY_COLUMNS)
    for r in registrants:
        pref = prefectures[r.home]
        form = rng.random()
        home = pref.name if form < 0.7 else pref.short_name if form < 0.85 else pref.code
        count = str(r.renewal_count)
        if rng.random() < 0.03:
            count = count.translate(_FULLWIDTH)  # typed with a Japanese IME
        status = STATUS_LABELS_JA[r.status] if rng.random() < 0.1 else r.status
        writer.writerow(
            [
                r.number,
                r.name,
                r.kana,
                "" if r.birth_year is None else r.birth_year,
                home,
                r.registered_on.isoformat(),
                r.expires_on.isoformat(),
                count,
                status,
                r.email,
            ]
        )
    return buffer.getvalue()


def _day_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def generate_courses(
    registrants: list[_Registrant], n: int, seed: int, anchor: dt.date
) -> list[tuple[str, str, str, str, dt.date]]:
    """Exactly `n` completions (number, kind, provider, code, day), in extract order.

    The common course in most fiscal years of each registration, and one
    practical (IPA) or specific (private provider) course in most periods.
    More than `n` are drawn and a seeded sample kept; if fewer, extra specific
    courses (taken voluntarily) make up the count.
    """
    rng = random.Random(seed + 2)
    rows: list[tuple[str, str, str, str, dt.date]] = []
    for r in registrants:
        last = min(r.last_day, anchor - dt.timedelta(days=1))
        for fy in range(fiscal_year(r.registered_on), fiscal_year(last) + 1):
            start = max(dt.date(fy, 4, 1), r.registered_on)
            end = min(dt.date(fy + 1, 3, 31), last)
            if end >= start and rng.random() < 0.93:
                rows.append((r.number, "common", "IPA", "", _day_between(rng, start, end)))
        period_start = r.registered_on
        while period_start <= last:
            end = min(period_end(period_start), last)
            if rng.random() < 0.9:
                day = _day_between(rng, period_start, end)
                if rng.random() < 0.55:
                    rows.append((r.number, "practical", "IPA", rng.choice(PRACTICAL_CODES), day))
                else:
                    provider, prefix = rng.choice(demo.SPECIFIC_PROVIDERS)
                    code = f"{prefix}-{fiscal_year(day)}-{rng.randint(1, 12):02d}"
                    rows.append((r.number, "specific", provider, code, day))
            period_start = add_years(period_start, 3)
    if len(rows) > n:
        keep = sorted(rng.sample(range(len(rows)), n))
        rows = [rows[i] for i in keep]
    taken = {(row[0], row[1], row[3], row[4]) for row in rows}
    while len(rows) < n:
        r = rng.choice(registrants)
        last = min(r.last_day, anchor - dt.timedelta(days=1))
        provider, prefix = rng.choice(demo.SPECIFIC_PROVIDERS)
        day = _day_between(rng, r.registered_on, last)
        code = f"{prefix}-{fiscal_year(day)}-{rng.randint(1, 99):02d}"
        if (r.number, "specific", code, day) not in taken:
            taken.add((r.number, "specific", code, day))
            rows.append((r.number, "specific", provider, code, day))
    rows.sort(key=lambda row: (row[0], row[4], row[1]))
    return rows


def courses_csv(rows: list[tuple[str, str, str, str, dt.date]], seed: int) -> str:
    rng = random.Random(seed + 3)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COURSE_COLUMNS)
    for number, kind, provider, code, day in rows:
        # IPA's own courses often leave the provider empty (stored as IPA).
        shown_provider = "" if kind != "specific" and rng.random() < 0.5 else provider
        course = COURSE_LABELS_JA[kind] if rng.random() < 0.1 else kind
        writer.writerow([number, course, shown_provider, code, day.isoformat()])
    return buffer.getvalue()


def updated_registry(registrants: list[_Registrant], seed: int) -> tuple[list[_Registrant], int]:
    """The same registrants with `UPDATE_SHARE` of them changed (status, e-mail, name)."""
    rng = random.Random(seed + 4)
    changed = 0
    result: list[_Registrant] = []
    for r in registrants:
        if rng.random() >= UPDATE_SHARE:
            result.append(r)
            continue
        changed += 1
        draw = rng.random()
        if draw < 0.4 and r.status == "active":
            result.append(_replace(r, status="deregistered"))
        elif draw < 0.8:
            result.append(_replace(r, email=f"{r.romaji}.new@example.jp"))
        else:
            result.append(_replace(r, name=r.name.split(" ")[0] + " 新名"))
    return result, changed


def _replace(r: _Registrant, **changes: Any) -> _Registrant:
    return _Registrant(**{**r.__dict__, **changes})


@dataclass(frozen=True)
class BenchFiles:
    registry: Path
    registry_encoding: str
    courses: Path
    courses_encoding: str
    update: Path
    registry_rows: int
    course_rows: int
    update_rows: int


def write_files(
    folder: Path, *, registry_rows: int, course_rows: int, seed: int, anchor: dt.date
) -> BenchFiles:
    """Write the three CSV files: the registry as CP932 (Excel's 「CSV」), courses as
    UTF-8 with BOM (Excel's 「CSV UTF-8」), and the updated registry as plain UTF-8."""
    registrants = generate_registrants(registry_rows, seed, anchor)
    courses = generate_courses(registrants, course_rows, seed, anchor)
    updated, changed = updated_registry(registrants, seed)
    folder.mkdir(parents=True, exist_ok=True)
    registry = folder / "registry.csv"
    registry.write_bytes(registry_csv(registrants, seed).encode("cp932"))
    course_path = folder / "courses.csv"
    course_path.write_bytes(courses_csv(courses, seed).encode("utf-8-sig"))
    update = folder / "registry-update.csv"
    update.write_bytes(registry_csv(updated, seed).encode("utf-8"))
    return BenchFiles(
        registry=registry,
        registry_encoding="cp932",
        courses=course_path,
        courses_encoding="utf-8-sig",
        update=update,
        registry_rows=len(registrants),
        course_rows=len(courses),
        update_rows=changed,
    )


# --- measuring -----------------------------------------------------------------------


STEPS: tuple[tuple[str, str, str], ...] = (
    # (step, command, file attribute)
    ("registry_fresh", "import_registry", "registry"),
    ("courses_fresh", "import_courses", "courses"),
    ("registry_again", "import_registry", "registry"),
    ("courses_again", "import_courses", "courses"),
    ("registry_update", "import_registry", "update"),
)
_ACTIONS = {"import_registry": "registry.import", "import_courses": "courses.import"}


def _expected(step: str, files: BenchFiles) -> dict[str, int]:
    rows = files.course_rows if step.startswith("courses") else files.registry_rows
    if step.endswith("fresh"):
        return {"inserted": rows, "updated": 0, "unchanged": 0}
    if step.endswith("again"):
        return {"inserted": 0, "updated": 0, "unchanged": rows}
    return {"inserted": 0, "updated": files.update_rows, "unchanged": rows - files.update_rows}


def run_import_bench(
    *,
    registry_rows: int,
    course_rows: int,
    seed: int,
    work_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate the files and time every step against the current (empty) database."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from sekispe.audit.models import AuditEvent
    from sekispe.registry.models import CourseCompletion, RegistryRecord

    anchor = min(ANCHOR, timezone.localdate())
    load_average = _load_average()
    started = time.perf_counter()
    files = write_files(
        work_dir, registry_rows=registry_rows, course_rows=course_rows, seed=seed, anchor=anchor
    )
    generate_s = time.perf_counter() - started

    steps: dict[str, dict[str, Any]] = {}
    for step, command, attr in tqdm(
        STEPS, desc="import bench", unit="step", file=sys.stderr, disable=None if progress else True
    ):
        path = getattr(files, attr)
        before = AuditEvent.objects.filter(action=_ACTIONS[command]).count()
        args = [str(path)] + ([] if progress else ["--no-progress"])
        started = time.perf_counter()
        call_command(command, *args, stdout=io.StringIO())
        seconds = time.perf_counter() - started
        events = AuditEvent.objects.filter(action=_ACTIONS[command]).order_by("-id")
        if events.count() != before + 1:
            raise RuntimeError(f"{step}: the import wrote no audit event")
        counts = {k: events[0].data[k] for k in ("rows", "inserted", "updated", "unchanged")}
        expected = _expected(step, files)
        if any(counts[k] != v for k, v in expected.items()):
            raise RuntimeError(f"{step}: expected {expected}, got {counts}")
        steps[step] = {
            "seconds": round(seconds, 2),
            "rows": counts["rows"],
            "rows_per_s": round(counts["rows"] / seconds) if seconds else None,
            **{k: counts[k] for k in ("inserted", "updated", "unchanged")},
        }

    fresh = steps["registry_fresh"]["seconds"] + steps["courses_fresh"]["seconds"]
    again = steps["registry_again"]["seconds"] + steps["courses_again"]["seconds"]
    return {
        "date": timezone.now().isoformat(timespec="seconds"),
        "vendor": connection.vendor,
        "db_version": scratchdb.db_version(connection),
        "seed": seed,
        "anchor": anchor.isoformat(),
        "registry_rows": files.registry_rows,
        "course_rows": files.course_rows,
        "update_rows": files.update_rows,
        "encodings": {"registry": files.registry_encoding, "courses": files.courses_encoding},
        "generate_s": round(generate_s, 2),
        "steps": steps,
        "stored": {
            "records": RegistryRecord.objects.count(),
            "completions": CourseCompletion.objects.count(),
            "record_history": RegistryRecord.history.count(),
            "completion_history": CourseCompletion.history.count(),
        },
        "targets": {
            "fresh_import_s": {
                "target": FRESH_TARGET_S,
                "value": round(fresh, 2),
                "pass": fresh <= FRESH_TARGET_S,
            },
            "re_import_s": {
                "target": TARGET_S,
                "value": round(again, 2),
                "pass": again <= TARGET_S,
            },
        },
        "machine": scratchdb.machine(),
        "load_average": load_average,
    }


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, where the system has them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


# --- reporting -------------------------------------------------------------------------


STEP_LABELS = {
    "registry_fresh": "registry, fresh",
    "courses_fresh": "courses, fresh",
    "registry_again": "registry, again (unchanged)",
    "courses_again": "courses, again (unchanged)",
    "registry_update": "registry, 5% changed",
}


def format_report(report: dict[str, Any], label: str) -> str:
    lines = [
        f"Import benchmark: {label} ({report['db_version']}), {report['registry_rows']:,} "
        f"registry rows + {report['course_rows']:,} course rows, "
        f"{report['machine']['cpus']} CPUs, {report['date']}",
        f"files generated in {report['generate_s']:.1f} s"
        + (f", load average {report['load_average'][0]}" if report.get("load_average") else ""),
        "",
        f"{'step':<30}{'rows':>9}{'seconds':>9}{'rows/s':>9}{'ins':>8}{'upd':>7}{'same':>8}",
    ]
    for step, s in report["steps"].items():
        lines.append(
            f"{STEP_LABELS.get(step, step):<30}{s['rows']:>9,}{s['seconds']:>9.2f}"
            f"{s['rows_per_s'] or 0:>9,}{s['inserted']:>8,}{s['updated']:>7,}{s['unchanged']:>8,}"
        )
    lines.append("")
    for name, target in report["targets"].items():
        verdict = "PASS" if target["pass"] else "FAIL"
        lines.append(
            f"{name} {target['value']:.2f} s (target ≤ {target['target']:.0f} s): {verdict}"
        )
    stored = report["stored"]
    lines.append(
        f"stored: {stored['records']:,} records ({stored['record_history']:,} history rows), "
        f"{stored['completions']:,} completions ({stored['completion_history']:,} history rows)"
    )
    return "\n".join(lines)


def write_report(report: dict[str, Any], label: str, out_dir: Path) -> Path:
    return scratchdb.write_report(report, f"import-{label}.json", out_dir)


def format_comparison(reports: dict[str, dict[str, Any]]) -> str:
    """A markdown table, seconds and rows/s per database, for docs/benchmarks.md."""
    labels = list(reports)
    header = "| step | " + " | ".join(f"{lb} s | {lb} rows/s" for lb in labels) + " |"
    lines = [header, "|---" * (1 + 2 * len(labels)) + "|"]
    first = next(iter(reports.values()))
    for step in first["steps"]:
        cells = []
        for report in reports.values():
            s = report["steps"].get(step)
            cells.append(f"{s['seconds']:.2f} | {s['rows_per_s'] or 0:,}" if s else "– | –")
        lines.append(f"| {STEP_LABELS.get(step, step)} | " + " | ".join(cells) + " |")
    for name in first["targets"]:
        cells = [
            f"**{r['targets'][name]['value']:.2f}** | {'PASS' if r['targets'][name]['pass'] else 'FAIL'}"
            for r in reports.values()
        ]
        lines.append(f"| {name.replace('_s', '')} (total) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_markdown(reports: dict[str, dict[str, Any]], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "import.md"
    first = next(iter(reports.values()))
    intro = (
        f"# Import benchmark\n\n{first['registry_rows']:,} registry rows + "
        f"{first['course_rows']:,} course rows, seed {first['seed']}, "
        f"{first['machine']['cpus']} CPUs, {first['date']}\n\n"
    )
    versions = "".join(f"- {label}: {r['db_version']}\n" for label, r in reports.items())
    path.write_text(f"{intro}{versions}\n{format_comparison(reports)}\n", encoding="utf-8")
    return path


# --- the subprocess on a scratch database (sekispe/devtools/scratchdb.py) --------------------


def run_scratch_benchmarks(
    *,
    databases: list[str],
    postgres_url: str | None,
    registry_rows: int,
    course_rows: int,
    seed: int,
    out_dir: Path,
    progress: bool,
    echo: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Run the worker once per database against a scratch copy; return the reports."""
    return run_workers(
        "import",
        databases=databases,
        postgres_url=postgres_url,
        pg_name=SCRATCH_PG_NAME,
        worker_args=[
            "--registry-rows",
            str(registry_rows),
            "--course-rows",
            str(course_rows),
            "--seed",
            str(seed),
        ],
        out_dir=out_dir,
        progress=progress,
        echo=echo,
    )


def worker(
    label: str, *, registry_rows: int, course_rows: int, seed: int, out_dir: Path, progress: bool
) -> dict[str, Any]:
    """Inside the subprocess: check we are on the scratch database, migrate, import, measure."""
    from sekispe.registry.models import RegistryRecord

    migrate_s = prepare_worker_database("import into", must_be_empty=RegistryRecord)
    work_dir = Path(tempfile.mkdtemp(prefix="sekispe-bench-import-files-"))
    try:
        report = run_import_bench(
            registry_rows=registry_rows,
            course_rows=course_rows,
            seed=seed,
            work_dir=work_dir,
            progress=progress,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    report["label"] = label
    report["migrate_s"] = round(migrate_s, 2)
    report["generated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_report(report, label, out_dir)
    return report
