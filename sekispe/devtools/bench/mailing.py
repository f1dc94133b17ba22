"""Mailing benchmark: queue a registrant mailing to 50,000 people (issue 16, part 3).

- `run_mailing_bench` bulk-inserts N active registrants with an e-mail into the
  *current* database, then times `onboarding.services.queue_mailing` for an
  optional-news mailing to all of them (the costlier kind: each mail carries
  its own signed unsubscribe link), and checks one outbox row and one
  recipient row per person. The smoke test calls it with small numbers.
- `run_scratch_benchmarks` is what `sekispe bench mailing` does: a scratch
  database per engine (a temporary SQLite file, or `sekispe_bench_mailing` on
  the PostgreSQL server), this module re-run in a subprocess against it, the
  database dropped afterwards (see sekispe/devtools/scratchdb.py).

Target: 50,000 recipients queued in under 10 s. Sending is the worker's, at
BULK_MAIL_PER_HOUR; the report gives the hours that rate implies.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sekispe.devtools import scratchdb
from sekispe.devtools.scratchdb import db_version, machine, prepare_worker_database, run_workers

TARGET_S = 10.0
RECIPIENTS = 50_000
SCRATCH_PG_NAME = "sekispe_bench_mailing"
INSERT_CHUNK = 10_000


def seed_records(count: int, *, progress: bool = True) -> float:
    """`count` active registrants with an address, through the importer's bulk writer."""
    from django.db import transaction
    from django.utils import timezone

    from sekispe.registry.imports import _new_values, _Table
    from sekispe.registry.models import RegistryRecord

    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()

    def given(n: int) -> dict[str, Any]:
        return {
            "registration_number": f"{100_000 + n:06d}",
            "name": "配信 受子",
            "name_kana": "ハイシン ウケコ",
            "registered_on": dt.date(today.year - 1, 4, 1),
            "expires_on": dt.date(today.year + 2, 3, 31),
            "home_prefecture_id": f"{n % 47 + 1:02d}",
            "email": f"r{n:06d}@example.jp",
            "status": "active",
        }

    columns = list(_new_values(RegistryRecord, given(0), now))
    table = _Table(RegistryRecord, columns)
    with (
        transaction.atomic(),
        tqdm(total=count, desc="seed records", unit="row", disable=not progress) as bar,
    ):
        for start in range(0, count, INSERT_CHUNK):
            rows = [
                tuple(_new_values(RegistryRecord, given(n), now).values())
                for n in range(start, min(start + INSERT_CHUNK, count))
            ]
            table.insert(rows)
            bar.update(len(rows))
    return time.perf_counter() - started


def run_mailing_bench(*, recipients: int = RECIPIENTS, progress: bool = True) -> dict[str, Any]:
    """Seed, then time queueing a news mailing to everyone; the report dict."""
    from django.db import connection
    from django.utils import timezone

    from sekispe.onboarding import services
    from sekispe.onboarding.models import MailingKind, MailingRecipient, Segment
    from sekispe.outbox.models import OutgoingMail

    seed_s = seed_records(recipients, progress=progress)
    mailing = services.create_mailing(
        kind=MailingKind.NEWS,
        segment=Segment.ACTIVE,
        subject="登録セキスペの皆さまへ：説明会のご案内",
        body="オンライン説明会を開きます。\n" * 20,
        measure=None,
        actor=None,
    )
    with tqdm(total=recipients, desc="queue", unit="mail", disable=not progress) as bar:
        started = time.perf_counter()
        mailing = services.queue_mailing(mailing, progress=bar.update)
        queue_s = time.perf_counter() - started
    stored = {
        "recipients": MailingRecipient.objects.filter(mailing=mailing).count(),
        "outbox_rows": OutgoingMail.objects.filter(template=services.MAILING_TEMPLATE).count(),
        "distinct_message_ids": OutgoingMail.objects.values("message_id").distinct().count(),
    }
    per_hour = services.mail_per_hour()
    return {
        "date": timezone.localdate().isoformat(),
        "vendor": connection.vendor,
        "db_version": db_version(connection),
        "machine": machine(),
        "recipients": recipients,
        "seed_s": round(seed_s, 2),
        "queue_s": round(queue_s, 2),
        "mails_per_s": round(recipients / queue_s) if queue_s else None,
        "stored": stored,
        "per_hour": per_hour,
        "sending_hours": round(recipients / per_hour, 1),
        "targets": {
            "queue_s": {
                "value": round(queue_s, 2),
                "target": TARGET_S,
                "pass": queue_s < TARGET_S
                and stored["recipients"] == stored["outbox_rows"] == recipients,
            },
        },
    }


def format_report(report: dict[str, Any], label: str) -> str:
    target = report["targets"]["queue_s"]
    stored = report["stored"]
    verdict = "PASS" if target["pass"] else "FAIL"
    return "\n".join(
        [
            f"Mailing benchmark: {label} ({report['db_version']}), {report['recipients']:,} "
            f"recipients, {report['machine']['cpus']} CPUs, {report['date']}",
            f"seeded in {report['seed_s']:.1f} s",
            f"queued {stored['recipients']:,} recipients / {stored['outbox_rows']:,} outbox rows "
            f"in {report['queue_s']:.2f} s ({report['mails_per_s'] or 0:,} mails/s)",
            f"sending at {report['per_hour']:,}/hour takes about {report['sending_hours']} h",
            f"queue_s {target['value']:.2f} s (target < {target['target']:.0f} s): {verdict}",
        ]
    )


def format_comparison(reports: dict[str, dict[str, Any]]) -> str:
    """A markdown table for docs/benchmarks.md."""
    lines = [
        "| database | recipients | queue seconds | mails/s | target < 10 s |",
        "|---|---|---|---|---|",
    ]
    for report in reports.values():
        verdict = "PASS" if report["targets"]["queue_s"]["pass"] else "FAIL"
        lines.append(
            f"| {report['db_version']} | {report['recipients']:,} | **{report['queue_s']:.2f}** | "
            f"{report['mails_per_s'] or 0:,} | {verdict} |"
        )
    return "\n".join(lines)


# --- the subprocess on a scratch database (sekispe/devtools/scratchdb.py) --------------------


def run_scratch_benchmarks(
    *,
    databases: list[str],
    postgres_url: str | None,
    recipients: int,
    out_dir: Path,
    progress: bool,
    echo: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    return run_workers(
        "mailing",
        databases=databases,
        postgres_url=postgres_url,
        pg_name=SCRATCH_PG_NAME,
        worker_args=["--recipients", str(recipients)],
        out_dir=out_dir,
        progress=progress,
        echo=echo,
    )


def worker(label: str, *, recipients: int, out_dir: Path, progress: bool) -> dict[str, Any]:
    """Inside the subprocess: check we are on the scratch database, migrate, seed, measure."""
    from sekispe.registry.models import RegistryRecord

    migrate_s = prepare_worker_database("seed", must_be_empty=RegistryRecord)
    report = run_mailing_bench(recipients=recipients, progress=progress)
    report["label"] = label
    report["migrate_s"] = round(migrate_s, 2)
    report["generated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    scratchdb.write_report(report, f"mailing-{label}.json", out_dir)
    return report
