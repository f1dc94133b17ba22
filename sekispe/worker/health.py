"""Readiness: what an operator needs to know is wrong, as one JSON document.

`/healthz` (sekispe.core) only proves the process answers and the database
does. Readiness looks further: the search index of this process, the mail
outbox, the daily jobs and the static files. Anything in `problems` makes the
endpoint answer 503, so a monitor alerts before users notice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db import connection
from django.utils import timezone

from sekispe.outbox.models import MailState
from sekispe.outbox.services import outbox_health
from sekispe.search.index import current_generation, index_status
from sekispe.worker.models import JobRun
from sekispe.worker.schedule import JOBS
from sekispe.worker.services import JOB_OVERDUE_AFTER

# Queued mail older than this means no worker is sending.
OUTBOX_STALE_AFTER = dt.timedelta(minutes=15)
# A file every page links; a missing `collectstatic` leaves every page broken.
STATIC_PROBE = "css/sekispe.css"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _age(now: dt.datetime, value: dt.datetime | None) -> float | None:
    return round((now - value).total_seconds(), 1) if value else None


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means the database is not usable
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def _search_index(now: dt.datetime, problems: list[str]) -> dict[str, Any]:
    status = index_status()
    generation = current_generation()
    report = {
        "built": status.built,
        "generation": status.generation,
        "current": status.built and status.generation == generation,
        "listings": status.size,
        "built_at": _iso(status.built_at),
        "age_seconds": _age(now, status.built_at),
        "build_seconds": status.build_seconds,
        "failures": status.failures,
        "last_error": status.last_error,
        "retry_in_seconds": status.retry_in_seconds,
        # The shared file this process maps, and room left for new listings before a rebuild.
        "snapshot": status.snapshot,
        "spare_rows": status.spare_rows,
    }
    if status.last_error:
        problems.append("search_index_build_failing")
    return report


def _outbox(now: dt.datetime, problems: list[str]) -> dict[str, Any]:
    health = outbox_health()
    oldest_age = _age(now, health.oldest_queued_at)
    if oldest_age is not None and oldest_age > OUTBOX_STALE_AFTER.total_seconds():
        problems.append("outbox_not_sending")
    if health.counts[MailState.FAILED]:
        problems.append("outbox_failed_mail")
    return {
        "counts": health.counts,
        "oldest_queued_at": _iso(health.oldest_queued_at),
        "oldest_queued_age_seconds": oldest_age,
        "failed": health.counts[MailState.FAILED],
    }


def _jobs(now: dt.datetime, problems: list[str]) -> dict[str, Any]:
    runs = {run.name: run for run in JobRun.objects.all()}
    report: dict[str, Any] = {}
    for job in JOBS:
        run = runs.get(job.name)
        last_success = run.last_success_at if run else None
        overdue = last_success is None or now - last_success > JOB_OVERDUE_AFTER
        if overdue:
            problems.append(f"job_overdue:{job.name}")
        report[job.name] = {
            "at": job.at.isoformat("minutes"),
            "last_started_at": _iso(run.last_started_at if run else None),
            "last_finished_at": _iso(run.last_finished_at if run else None),
            "last_success_at": _iso(last_success),
            "last_outcome": (run.last_outcome if run else "") or None,
            "last_error": run.last_error if run else "",
            "overdue": overdue,
        }
    return report


def _static(problems: list[str]) -> dict[str, Any]:
    try:
        url = staticfiles_storage.url(STATIC_PROBE)
    except ValueError:  # the manifest storage has no entry: collectstatic has not run
        problems.append("static_files_missing")
        return {"ok": False}
    return {"ok": True, "probe": url}


def readiness(now: dt.datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """(ready, report). Not ready when anything is in `report["problems"]`."""
    now = now or timezone.now()
    problems: list[str] = []
    report: dict[str, Any] = {"time": now.isoformat(), "database": _database()}
    if not report["database"]["ok"]:
        problems.append("database_unreachable")
    else:
        report["search_index"] = _search_index(now, problems)
        report["outbox"] = _outbox(now, problems)
        report["jobs"] = _jobs(now, problems)
    report["static_files"] = _static(problems)
    report["environment"] = settings.SEKISPE_ENVIRONMENT
    report["status"] = "ok" if not problems else "error"
    report["problems"] = problems
    return not problems, report
