"""The daily jobs and when they run: the schedule is code, not a cron file.

Each job is a plain function of `today` returning a summary for `JobRun`. The
same domain functions back the individual commands (`sekispe send-reminders`
…), which stay for manual runs. Times are Japan time (TIME_ZONE). Jobs that
change what is visible or valid run just after midnight; the reminders go out
in the morning, when people read mail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.utils import timezone

from sekispe.core import ratelimit
from sekispe.inquiries.services import expire_overdue
from sekispe.insights.refresh import refresh_insights
from sekispe.listings.maintenance import run_listing_maintenance
from sekispe.outbox.services import purge_sent
from sekispe.registrant_requests.reminders import send_reminders
from sekispe.registry.services import run_daily_expiry
from sekispe.search import demand, exposure, index


@dataclass(frozen=True)
class Job:
    name: str
    at: dt.time
    run: Callable[[dt.date], dict[str, Any]]
    description: str


def _expire_registrations(today: dt.date) -> dict[str, Any]:
    result = run_daily_expiry(today)
    return {"expired": len(result.expired), "awaiting_decision": len(result.awaiting_decision)}


def _listings_maintenance(today: dt.date) -> dict[str, Any]:
    report = run_listing_maintenance(today)
    return {**asdict(report), "rate_limit_counters_purged": ratelimit.purge_expired()}


def _expire_inquiries(today: dt.date) -> dict[str, Any]:
    return {"expired": len(expire_overdue())}


def _search_snapshot(today: dt.date) -> dict[str, Any]:
    report = index.refresh_snapshot(today)
    return {
        "visible": report.visible,
        "seconds": report.seconds,
        "megabytes": round(report.bytes / 1e6, 1),
        "changes_deleted": report.changes_deleted,
    }


def _exposure_maintenance(today: dt.date) -> dict[str, Any]:
    # The web processes flush on their own; this catches counts of a quiet process.
    return {**exposure.maintenance(), "demand_rows_flushed": demand.flush()}


def _send_reminders(today: dt.date) -> dict[str, Any]:
    return send_reminders(today).as_data()


def _refresh_insights(today: dt.date) -> dict[str, Any]:
    run = refresh_insights(today)
    return {"cells": run.cells, "seconds": round(run.seconds, 1)}


def _outbox_maintenance(today: dt.date) -> dict[str, Any]:
    return {"sent_mail_purged": purge_sent()}


JOBS: tuple[Job, ...] = (
    Job("expire-registrations", dt.time(0, 5), _expire_registrations, "登録の失効"),
    Job("listings-maintenance", dt.time(0, 15), _listings_maintenance, "掲載情報の日次処理"),
    # After the two jobs above, whose bulk changes each ask for a rebuild: the
    # day's snapshot then holds them, and the change log is pruned.
    Job("search-snapshot", dt.time(0, 20), _search_snapshot, "検索スナップショットの作成"),
    Job("expire-inquiries", dt.time(0, 25), _expire_inquiries, "依頼の返答期限切れ"),
    Job("exposure-maintenance", dt.time(0, 35), _exposure_maintenance, "表示実績の整理"),
    # After the jobs that change who is valid, listed or waiting, so it counts their result.
    Job("refresh-insights", dt.time(0, 45), _refresh_insights, "政策の指標の集計"),
    Job("outbox-maintenance", dt.time(3, 0), _outbox_maintenance, "送信済みメールの整理"),
    Job("send-reminders", dt.time(9, 0), _send_reminders, "更新・講習のリマインダー"),
)
JOBS_BY_NAME = {job.name: job for job in JOBS}


def latest_slot(job: Job, now: dt.datetime) -> dt.date:
    """The day of the most recent scheduled run at or before `now`.

    A worker that was down for days finds only the latest slot due, so a
    missed day is caught up once, not once per missed day: every job works
    from "today" and covers whatever the missed days left behind.
    """
    local = timezone.localtime(now)
    return local.date() if local.time() >= job.at else local.date() - dt.timedelta(days=1)
