"""Production: every secret comes from the environment, HTTPS everywhere.

Every variable read here is listed, with its default, in .env.example.
A missing or malformed required value stops the process at start-up with a
ConfigError naming the variable, rather than serving with a silent default.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sekispe.core.logging import logging_config
from sekispe.lib.env import (
    ConfigError,
    env_admins,
    env_bool,
    env_int,
    env_list,
    env_str,
    env_url,
)
from sekispe.settings.base import *  # noqa: F403

DEBUG = False
SEKISPE_ENVIRONMENT = "production"
SECRET_KEY = env_str("SECRET_KEY")
# Old keys still accepted for signatures (sessions, reset links) while the key
# is rotated: move the old SECRET_KEY here, deploy, remove it once sessions
# made with it have expired (docs/operations.md).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    # Django would answer every request with 400, which looks like an outage.
    raise ConfigError("environment variable ALLOWED_HOSTS is required")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# base.py falls back to a SQLite file under var/ for development; a production
# server silently creating an empty database there would look like data loss.
# base.py has already parsed the URL into DATABASES when it is set.
if not env_str("DATABASE_URL", "").strip():
    raise ConfigError("environment variable DATABASE_URL is required")

# Where links in e-mails point. Mail goes out from the worker, where no request
# says what the public address is, so it must be given. Links carry tokens, so
# plain http is refused except on a loopback host (a local trial run, whose
# links nobody else can follow anyway; sekispe.settings.demo relies on this).
SITE_URL = env_url("SITE_URL", schemes=("https", "http"))
if urlsplit(SITE_URL).scheme == "http" and urlsplit(SITE_URL).hostname not in {
    "127.0.0.1",
    "localhost",
    "::1",
}:
    raise ConfigError(f"SITE_URL={SITE_URL!r} must start with https:// (http only for localhost)")

# Behind a TLS-terminating proxy that already redirects, SECURE_SSL_REDIRECT=0;
# the proxy must then set X-Forwarded-Proto (and strip it from clients).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# With that header trusted, a proxy is expected in front, and REMOTE_ADDR is
# the proxy's: unless TRUSTED_PROXY_HOPS says how many X-Forwarded-For entries
# the proxies append, every per-address rate limit counts the whole site as
# one visitor. No default guesses it: 0 (no proxy) or N must be set.
_proxy_hops = env_str("TRUSTED_PROXY_HOPS", "").strip()
if SECURE_PROXY_SSL_HEADER and not (_proxy_hops.isascii() and _proxy_hops.isdigit()):
    raise ConfigError(
        f"TRUSTED_PROXY_HOPS={_proxy_hops!r}: environment variable TRUSTED_PROXY_HOPS is "
        "required in production: the number of proxies in front that append to "
        "X-Forwarded-For (1 for one nginx), or 0 when clients connect directly "
        "(docs/deployment.md, 'Proxies and rate limits')"
    )
TRUSTED_PROXY_HOPS = int(_proxy_hops)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Mail, under Django's own setting names. Only the worker sends (never a
# request), so a slow SMTP server delays the outbox, not a page.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    # Django only finds out when the first mail fails; say so at start-up.
    raise ConfigError(
        "EMAIL_USE_TLS and EMAIL_USE_SSL are both set; use one "
        "(TLS: STARTTLS, usually port 587; SSL: implicit TLS, usually port 465)"
    )
# Without a timeout a hung SMTP server would stall the worker for good.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", DEFAULT_FROM_EMAIL)  # noqa: F405
# Who Django's mail_admins() writes to, and from. No log handler mails them
# (see LOGGING in base.py); kept for operators' tools that may.
ADMINS = env_admins("ADMINS")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# JSON lines by default, for the log collector; LOG_FORMAT=text when reading by eye.
LOGGING = logging_config(env_str("LOG_FORMAT", "json"), env_str("LOG_LEVEL", "INFO"))
