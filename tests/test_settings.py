"""Configuration: typed environment helpers and the production deploy check."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sekispe.lib.env import (
    ConfigError,
    env_admins,
    env_bool,
    env_int,
    env_list,
    env_str,
    env_url,
)

# Only these pass through to the subprocess, so a variable set on the machine
# running the tests can never stand in for one the test forgot.
_PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SEKISPE_VAR_DIR")
MINIMAL_PROD_ENV = {
    "SECRET_KEY": "a-long-random-production-secret-for-the-check-0123456789abcdef",
    "ALLOWED_HOSTS": "sekispe.example.jp",
    "DATABASE_URL": "postgres://sekispe:db-pass@db.internal:5433/sekispe_prod",
    "SITE_URL": "https://sekispe.example.jp",
    "TRUSTED_PROXY_HOPS": "1",
}


def test_env_helpers_parse_and_fail_loudly(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.jp, b.jp,")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 0) == 42
    assert env_list("X_LIST") == ["a.jp", "b.jp"]
    assert env_str("X_MISSING", "fallback") == "fallback"
    monkeypatch.setenv("X_BOOL", "perhaps")
    monkeypatch.setenv("X_INT", "4two")
    with pytest.raises(ConfigError):
        env_bool("X_BOOL")
    with pytest.raises(ConfigError):
        env_int("X_INT", 0)
    with pytest.raises(ConfigError):
        env_str("X_MISSING")


def run_prod(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
    environ.update({"DJANGO_SETTINGS_MODULE": "sekispe.settings.prod", **env})
    return subprocess.run(
        [sys.executable, "-m", "sekispe", *args], env=environ, capture_output=True, text=True
    )


def test_production_settings_pass_check_deploy():
    result = run_prod(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **MINIMAL_PROD_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in MINIMAL_PROD_ENV.items() if k != "SECRET_KEY"}
    result = run_prod("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_hashes_passwords_with_argon2():
    result = run_prod(
        "shell",
        "-c",
        "from django.contrib.auth.hashers import make_password; print(make_password('x')[:9])",
        **MINIMAL_PROD_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "argon2$ar"


# ------------------------------------------------------------ production env
_PRINT_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "DATABASE": {k: db[k] for k in ("ENGINE", "NAME", "HOST", "PORT", "USER", "PASSWORD")},
    **{name: getattr(settings, name) for name in (
        "DEBUG", "SEKISPE_ENVIRONMENT", "ALLOWED_HOSTS", "SITE_URL", "SECRET_KEY_FALLBACKS",
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
        "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_TIMEOUT", "DEFAULT_FROM_EMAIL", "ADMINS",
        "SERVER_EMAIL", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE", "INSTALLED_APPS",
    )},
    "LOG_FORMATTER": settings.LOGGING["handlers"]["console"]["formatter"],
}))
"""


def start_settings(module: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    environ = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
    environ.update({"DJANGO_SETTINGS_MODULE": module, **env})
    return subprocess.run(
        [sys.executable, "-c", _PRINT_SETTINGS], env=environ, capture_output=True, text=True
    )


def prod_settings(**env: str) -> dict:
    result = start_settings("sekispe.settings.prod", {**MINIMAL_PROD_ENV, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_reads_the_minimal_environment_with_safe_defaults():
    s = prod_settings()
    assert s["DATABASE"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "sekispe_prod",
        "HOST": "db.internal",
        "PORT": 5433,
        "USER": "sekispe",
        "PASSWORD": "db-pass",
    }
    assert s["DEBUG"] is False
    assert s["SEKISPE_ENVIRONMENT"] == "production"
    assert s["ALLOWED_HOSTS"] == ["sekispe.example.jp"]
    assert s["SITE_URL"] == "https://sekispe.example.jp"
    assert s["SECRET_KEY_FALLBACKS"] == []
    assert s["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"]) == ("localhost", 25)
    assert (s["EMAIL_HOST_USER"], s["EMAIL_HOST_PASSWORD"]) == ("", "")
    assert (s["EMAIL_USE_TLS"], s["EMAIL_USE_SSL"]) == (False, False)
    assert s["EMAIL_TIMEOUT"] == 30
    assert s["ADMINS"] == []
    assert s["SERVER_EMAIL"] == s["DEFAULT_FROM_EMAIL"] == "noreply@sekispe.example.jp"
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] == 31536000
    assert s["SESSION_COOKIE_SECURE"] is s["CSRF_COOKIE_SECURE"] is True
    assert "sekispe.devtools" not in s["INSTALLED_APPS"]
    assert s["LOG_FORMATTER"] == "json"


def test_production_reads_every_mail_and_deployment_variable():
    s = prod_settings(
        EMAIL_HOST="smtp.example.jp",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="sekispe-mailer",
        EMAIL_HOST_PASSWORD="smtp-pass",
        EMAIL_USE_TLS="1",
        EMAIL_TIMEOUT="10",
        DEFAULT_FROM_EMAIL="noreply@riss.example.jp",
        ADMINS='運用 担当 <ops@riss.example.jp>, "Doe, John" <john@riss.example.jp>, x@riss.example.jp',
        SERVER_EMAIL="errors@riss.example.jp",
        SITE_URL="https://riss.example.jp/active/",
        SECURE_SSL_REDIRECT="0",
        SECRET_KEY_FALLBACKS="old-key-one-0123456789abcdefghijklmnopqrstuvwxyz,old-key-two-0123456789",
        ALLOWED_HOSTS="riss.example.jp, www.riss.example.jp",
        LOG_FORMAT="text",
    )
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"]) == ("smtp.example.jp", 587)
    assert (s["EMAIL_HOST_USER"], s["EMAIL_HOST_PASSWORD"]) == ("sekispe-mailer", "smtp-pass")
    assert (s["EMAIL_USE_TLS"], s["EMAIL_USE_SSL"]) == (True, False)
    assert s["EMAIL_TIMEOUT"] == 10
    assert s["DEFAULT_FROM_EMAIL"] == "noreply@riss.example.jp"
    assert s["ADMINS"] == [
        ["運用 担当", "ops@riss.example.jp"],
        ["Doe, John", "john@riss.example.jp"],
        ["x@riss.example.jp", "x@riss.example.jp"],
    ]
    assert s["SERVER_EMAIL"] == "errors@riss.example.jp"
    assert s["SITE_URL"] == "https://riss.example.jp/active"  # no trailing slash
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SECRET_KEY_FALLBACKS"] == [
        "old-key-one-0123456789abcdefghijklmnopqrstuvwxyz",
        "old-key-two-0123456789",
    ]
    assert s["ALLOWED_HOSTS"] == ["riss.example.jp", "www.riss.example.jp"]
    assert s["LOG_FORMATTER"] == "text"
    ssl = prod_settings(EMAIL_USE_SSL="true", EMAIL_PORT="465")
    assert (ssl["EMAIL_USE_TLS"], ssl["EMAIL_USE_SSL"], ssl["EMAIL_PORT"]) == (False, True, 465)


@pytest.mark.parametrize("name", sorted(MINIMAL_PROD_ENV))
def test_production_refuses_to_start_without_each_required_variable(name):
    env = {k: v for k, v in MINIMAL_PROD_ENV.items() if k != name}
    result = start_settings("sekispe.settings.prod", env)
    assert result.returncode != 0
    assert f"environment variable {name} is required" in result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SITE_URL": "http://sekispe.example.jp"}, "SITE_URL"),
        ({"SITE_URL": "sekispe.example.jp"}, "SITE_URL"),
        ({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_TLS and EMAIL_USE_SSL"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT"),
        ({"SECURE_SSL_REDIRECT": "maybe"}, "SECURE_SSL_REDIRECT"),
        ({"ADMINS": "Ops team"}, "ADMINS"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"TRUSTED_PROXY_HOPS": "one"}, "TRUSTED_PROXY_HOPS"),
        ({"TRUSTED_PROXY_HOPS": "-1"}, "TRUSTED_PROXY_HOPS"),
    ],
)
def test_production_refuses_a_misread_value(env, named):
    result = start_settings("sekispe.settings.prod", {**MINIMAL_PROD_ENV, **env})
    assert result.returncode != 0
    assert named in result.stderr
    assert "ConfigError" in result.stderr


def test_plain_http_site_url_only_for_localhost():
    assert prod_settings(SITE_URL="http://127.0.0.1:8000")["SITE_URL"] == "http://127.0.0.1:8000"


def test_demo_is_production_over_plain_http_on_localhost():
    env = {k: v for k, v in MINIMAL_PROD_ENV.items() if k not in {"SITE_URL", "ALLOWED_HOSTS"}}
    result = start_settings("sekispe.settings.demo", env)
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout.strip().splitlines()[-1])
    assert s["SEKISPE_ENVIRONMENT"] == "demo"
    assert s["INSTALLED_APPS"][-1] == "sekispe.devtools"
    assert s["SITE_URL"] == "http://127.0.0.1:8000"
    assert s["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SESSION_COOKIE_SECURE"] is s["CSRF_COOKIE_SECURE"] is False
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert s["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert s["DATABASE"]["HOST"] == "db.internal"  # still required, still read
    # An explicit value still wins over the demo's defaults.
    result = start_settings("sekispe.settings.demo", {**env, "SITE_URL": "http://localhost:8080"})
    assert json.loads(result.stdout.strip().splitlines()[-1])["SITE_URL"] == "http://localhost:8080"


def test_env_admins_parses_names_and_bare_addresses(monkeypatch):
    monkeypatch.setenv("X_ADMINS", "A Person <a@example.jp>, b@example.jp,")
    assert env_admins("X_ADMINS") == [
        ("A Person", "a@example.jp"),
        ("b@example.jp", "b@example.jp"),
    ]
    monkeypatch.setenv("X_ADMINS", "")
    assert env_admins("X_ADMINS") == []
    for bad in ("a@example.jp, not an address", "a b@example.jp", "a@localhost"):
        monkeypatch.setenv("X_ADMINS", bad)
        with pytest.raises(ConfigError, match="X_ADMINS"):
            env_admins("X_ADMINS")


def test_env_url_requires_a_scheme_and_host(monkeypatch):
    monkeypatch.setenv("X_URL", "https://a.example.jp/")
    assert env_url("X_URL", schemes=("https",)) == "https://a.example.jp"
    for bad in ("http://a.example.jp", "a.example.jp", "https://", "ftp://a.example.jp"):
        monkeypatch.setenv("X_URL", bad)
        with pytest.raises(ConfigError, match="X_URL"):
            env_url("X_URL", schemes=("https",))
