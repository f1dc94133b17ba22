"""Configuration: typed environment helpers and the production deploy check."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sekispe.lib.env import ConfigError, env_bool, env_int, env_list, env_str


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
    hidden = {"DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DATABASE_URL"}
    environ = {k: v for k, v in os.environ.items() if k not in hidden}
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
        SECRET_KEY="a-long-random-production-secret-for-the-check-0123456789abcdef",
        ALLOWED_HOSTS="sekispe.example.jp",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_prod("check", ALLOWED_HOSTS="sekispe.example.jp")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_hashes_passwords_with_argon2():
    result = run_prod(
        "shell",
        "-c",
        "from django.contrib.auth.hashers import make_password; print(make_password('x')[:9])",
        SECRET_KEY="a-long-random-production-secret-for-the-check-0123456789abcdef",
        ALLOWED_HOSTS="sekispe.example.jp",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "argon2$ar"
