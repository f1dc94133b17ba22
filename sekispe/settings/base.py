"""Settings shared by every environment. Values come from the environment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dj_database_url

from sekispe.core.logging import logging_config
from sekispe.lib.env import ConfigError, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(env_str("SEKISPE_VAR_DIR", str(PROJECT_DIR / "var")))
# SQLite does not create parent folders, and whitenoise warns on a missing root.
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DEBUG", False)
# Which kind of deployment this is: development, test, demo or production.
# Commands that must never touch real data (seed-demo) check it.
SEKISPE_ENVIRONMENT = "development"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "simple_history",
    "sekispe.core",
    "sekispe.accounts",
    "sekispe.audit",
    "sekispe.outbox",
    "sekispe.reference",
    "sekispe.registry",
    "sekispe.registrant_requests",
    "sekispe.listings",
    "sekispe.search",
    "sekispe.backoffice",
    "sekispe.reports",
    "sekispe.diagnosis",
    "sekispe.inquiries",
    "sekispe.deemed",
    "sekispe.events",
    "sekispe.worker",
    "sekispe.pages",
    "sekispe.intake",
    "sekispe.onboarding",
    "sekispe.insights",
    "sekispe.opendata",
]

MIDDLEWARE = [
    # First, so every log line of a request (other middleware's included) has its id.
    "sekispe.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "sekispe.core.error_title.ErrorTitleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "sekispe.core.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "sekispe.urls"
WSGI_APPLICATION = "sekispe.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sekispe.pages.context_processors.service_phase",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'sekispe.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _default_db),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while a seed or import writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Without it libpq waits forever on a host that accepts connections and
    # never answers: requests (and /healthz) would hang until the proxy gives up.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 5
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # Kept so hashes made before argon2 still verify (and are upgraded on login).
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# The only backend: the model backend behind the sign-in budgets, so every
# password check (app, admin, any future API) is throttled in one place.
AUTHENTICATION_BACKENDS = ["sekispe.accounts.backends.ThrottledModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "pages:home"
# Password-reset and invitation links.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)
INVITATION_VALID_DAYS = 14
EMAIL_VERIFICATION_TIMEOUT = env_int("EMAIL_VERIFICATION_TIMEOUT", 3 * 24 * 3600)
# Where links in e-mails point; requests are not always at hand (daily jobs).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# Rate limits: (allowed events, window in seconds). Password checks count per
# account and per client address (policy: accounts.services.checked_password);
# contact reveals by anonymous visitors per address, by signed-in SMEs and
# institutions per account (a ceiling normal use never reaches).
LOGIN_FAILURES_PER_ACCOUNT = (env_int("LOGIN_FAILURES_PER_ACCOUNT", 5), 15 * 60)
LOGIN_FAILURES_PER_IP = (env_int("LOGIN_FAILURES_PER_IP", 20), 15 * 60)
CONTACT_REVEALS_ANONYMOUS_PER_IP = (env_int("CONTACT_REVEALS_ANONYMOUS_PER_IP", 30), 3600)
CONTACT_REVEALS_SIGNED_IN = (env_int("CONTACT_REVEALS_SIGNED_IN", 500), 24 * 3600)
SIGNUPS_PER_IP = (env_int("SIGNUPS_PER_IP", 10), 3600)
# Password-reset mails per target address and per client address an hour;
# past either the form answers the same and queues nothing.
PASSWORD_RESETS_PER_EMAIL = (env_int("PASSWORD_RESETS_PER_EMAIL", 3), 3600)
PASSWORD_RESETS_PER_IP = (env_int("PASSWORD_RESETS_PER_IP", 10), 3600)
# Self-diagnosis results stored per client address: generous, because a whole
# consultation event may share one address.
DIAGNOSES_PER_IP = (env_int("DIAGNOSES_PER_IP", 120), 3600)
# Searches through the public API per client address an hour: generous (an
# office or a venue shares one address, and a listing client pages through
# results); past it the API answers 429. The web page shares the count but is
# never refused.
SEARCH_API_PER_IP = (env_int("SEARCH_API_PER_IP", 1200), 3600)
# The open statistics' JSON API per client address an hour (then 429).
STATISTICS_API_PER_IP = (env_int("STATISTICS_API_PER_IP", 1200), 3600)
# Searches (page and API together) by one address in that hour after which its
# pages stop counting in the exposure ledger, so a scraper cannot skew the
# fairness ordering (docs/search.md, "Bots and heavy clients").
SEARCH_EXPOSURE_MAX_PER_IP = env_int("SEARCH_EXPOSURE_MAX_PER_IP", 120)
# Inquiries to specialists per sending account a day: an SME rarely needs more
# than a few; an institution refers the companies of a whole consultation event.
INQUIRIES_PER_SME = (env_int("INQUIRIES_PER_SME", 5), 24 * 3600)
INQUIRIES_PER_INSTITUTION = (env_int("INQUIRIES_PER_INSTITUTION", 60), 24 * 3600)
# Public sign-ups for a consultation event per client address (a venue shares one).
EVENT_SIGNUPS_PER_IP = (env_int("EVENT_SIGNUPS_PER_IP", 60), 3600)
# Answers to deemed-attendance certification links per client address an hour
# (a company's HR office may certify several employees from one address).
DEEMED_CERTIFICATIONS_PER_IP = (env_int("DEEMED_CERTIFICATIONS_PER_IP", 30), 3600)
# Behind a reverse proxy, how many X-Forwarded-For entries it appends (0: use
# REMOTE_ADDR). Production requires it to be set (docs/deployment.md,
# "Proxies and rate limits").
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)

# Largest request body Django reads (request.body, form fields; issue 13,
# finding 7): a JSON API body is a few KB, and the largest form, a listing with
# 4,000-character profile and track record, is about 75 KB urlencoded (9 bytes
# a Japanese character). Over it, the API answers 413 and a page 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 128 * 1024

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@sekispe.example.jp")

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_HTTPONLY = True

# The phase banner on every page (GOV.UK's phase banner): "pilot" (試行版,
# the default while the Active List is being tried out), "beta" (β版), or
# empty for none once the service is fully live.
SEKISPE_SERVICE_PHASE = env_str("SEKISPE_SERVICE_PHASE", "pilot").strip()
if SEKISPE_SERVICE_PHASE not in {"pilot", "beta", ""}:
    raise ConfigError(
        f"SEKISPE_SERVICE_PHASE={SEKISPE_SERVICE_PHASE!r} must be pilot, beta or empty"
    )
# The day the accessibility statement (/accessibility/) says the pages were
# last tested; move it forward when the checks are run again.
try:
    SEKISPE_ACCESSIBILITY_TESTED_ON = dt.date.fromisoformat(
        env_str("SEKISPE_ACCESSIBILITY_TESTED_ON", "2026-12-04")
    )
except ValueError as exc:
    raise ConfigError(f"SEKISPE_ACCESSIBILITY_TESTED_ON is not a YYYY-MM-DD date: {exc}") from exc

# Dates on Japanese pages and report headings in the Japanese era (令和8年12月4日)
# instead of the Western year (2026年12月4日); English pages never use an era and
# exports always keep ISO dates (docs/dates.md).
SEKISPE_JAPANESE_ERA = env_bool("SEKISPE_JAPANESE_ERA", False)

# Where the contact page (/contact/) tells people to write to the operator.
SEKISPE_CONTACT_EMAIL = env_str("SEKISPE_CONTACT_EMAIL", "contact@sekispe.example.jp")

# Search results page size for the web page; the API takes page_size (max 100).
SEARCH_PAGE_SIZE = 20
# Where search snapshots are written and mapped (docs/search.md): one per host,
# local disk; every web process and the worker of the host share it.
SEARCH_SNAPSHOT_DIR = env_str("SEARCH_SNAPSHOT_DIR", str(VAR_DIR / "search"))
# How often each process reads the change log: a change is visible everywhere
# within about this long after its commit.
SEARCH_POLL_SECONDS = float(env_str("SEARCH_POLL_SECONDS", "0.2"))
# A web process that must build a snapshot does it in a child process, so the
# build's memory is returned when the child exits (docs/search.md).
SEARCH_BUILD_IN_SUBPROCESS = True

# One line per record on stderr, with the request id, user id and role
# (sekispe.core.logging): LOG_FORMAT=json (production's default) or text.
# No handler mails ADMINS: mail is never sent inside a request in this project;
# errors surface in these logs and in the readiness endpoint (/healthz/ready).
LOGGING = logging_config(env_str("LOG_FORMAT", "text"), env_str("LOG_LEVEL", "INFO"))

# ---------------------------------------------------------------- the worker
# `sekispe worker` sends the mail outbox and runs the daily jobs (see
# docs/architecture.md). Mail is never sent inside a request.
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 50)
# Attempts before a mail is marked failed and shown to operators at /ops/outbox/.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
# Back-off between attempts: 1 min, 2, 4, … capped at this many seconds.
OUTBOX_RETRY_CAP_SECONDS = env_int("OUTBOX_RETRY_CAP_SECONDS", 3600)
# A mail claimed by a worker that then died is sent again after this long.
# It bounds the only window in which a mail can go out twice (docs/operations.md).
OUTBOX_CLAIM_TIMEOUT_SECONDS = env_int("OUTBOX_CLAIM_TIMEOUT_SECONDS", 600)
# How long sent mail is kept for operators to look up.
OUTBOX_KEEP_SENT_DAYS = env_int("OUTBOX_KEEP_SENT_DAYS", 90)
# How often the worker looks for queued mail and due jobs.
WORKER_POLL_SECONDS = env_int("WORKER_POLL_SECONDS", 5)
# /healthz/ready answers operators, or anyone sending this token as
# `Authorization: Bearer <token>` (empty: operators only).
HEALTH_TOKEN = env_str("HEALTH_TOKEN", "")
