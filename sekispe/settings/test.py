from __future__ import annotations

import os

from sekispe.settings.base import *  # noqa: F403

DEBUG = False
SEKISPE_ENVIRONMENT = "test"
INSTALLED_APPS = [*INSTALLED_APPS, "sekispe.devtools"]  # noqa: F405 (seed-demo, bench)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SEARCH_INDEX_BACKGROUND_REFRESH = False  # a write is visible to the next search
# A child process per build costs a second of start-up; tests build in-process.
SEARCH_BUILD_IN_SUBPROCESS = False
# One snapshot folder per test process (xdist workers included).
SEARCH_SNAPSHOT_DIR = str(VAR_DIR / f"test-search-{os.getpid()}")  # noqa: F405
# Threads (live server, index refresh) must not hold connections past a
# request, or PostgreSQL refuses to drop the test database at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the in-memory default: threads then share one database with
    # SQLite's ordinary locking (BEGIN IMMEDIATE waits), as production
    # processes do; the in-memory shared cache refuses them with table locks.
    # One file per test process (xdist workers included), so two test runs on
    # one machine never share it; Django deletes it when the run ends.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(VAR_DIR / f"test-sekispe-{os.getpid()}.sqlite3")  # noqa: F405
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    # Two runs against one server (CI and a local run, two checkouts) would
    # both create and drop test_<name>: give each its own name.
    if os.environ.get("SEKISPE_TEST_DATABASE_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["SEKISPE_TEST_DATABASE_NAME"]}  # noqa: F405
    # Tests need no durability: not waiting for the WAL flush on each commit
    # makes the PostgreSQL suite's many small transactions cheaper.
    DATABASES["default"]["OPTIONS"]["options"] = "-c synchronous_commit=off"  # noqa: F405
