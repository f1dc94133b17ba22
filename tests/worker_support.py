"""Running a real `sekispe worker` process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parent.parent

# A worker with a stand-in mail server: Django set up with the test settings,
# then the e-mail backend named on the command line, then the real command.
_WORKER = """
import sys, django
django.setup()
from django.conf import settings
if sys.argv[1]:
    settings.EMAIL_BACKEND = sys.argv[1]
from django.core.management import call_command
call_command("worker", *sys.argv[2:])
"""


def database_url() -> str:
    """The test database (committed data only: use transactional tests)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


def worker_env(mail_log: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sekispe.settings.test",
        "DATABASE_URL": database_url(),
        "SEKISPE_TEST_MAIL_LOG": str(mail_log),
        "PYTHONUNBUFFERED": "1",
        "LOG_FORMAT": "text",
    }


def start_worker(mail_log: Path, *args: str, backend: str = "") -> subprocess.Popen[str]:
    connection.close()  # SQLite: nothing of ours holds the file while another process writes
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, backend, *args],
        env=worker_env(mail_log),
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def delivered_log(mail_log: Path) -> list[tuple[str, str]]:
    if not mail_log.exists():
        return []
    lines = mail_log.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines]  # type: ignore[misc]
