"""deploy/: the gunicorn config, the container entrypoint, compose and systemd.

CI has no Docker daemon, so the image and compose are checked as files; the
gunicorn config is run for real, in process and as a server on loopback.
"""

from __future__ import annotations

import logging
import os
import re
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
ENV_PREFIXES = ("GUNICORN_", "FORWARDED_ALLOW_IPS")


def load_conf(monkeypatch, **env: str) -> dict:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


# ------------------------------------------------------------ gunicorn.conf.py


def test_gunicorn_config_defaults(monkeypatch):
    conf = load_conf(monkeypatch)
    assert conf["worker_class"] == "gthread"
    assert 2 <= conf["workers"] <= 8
    assert conf["threads"] == 4
    assert conf["timeout"] == 30
    assert conf["graceful_timeout"] == 30
    assert conf["max_requests"] > 0 and 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["preload_app"] is False  # each worker warms its own index
    assert conf["accesslog"] is None  # the app logs its own access line
    assert conf["errorlog"] == "-"
    assert conf["bind"] == "0.0.0.0:8000"
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert callable(conf["post_worker_init"])


def test_gunicorn_config_reads_the_environment(monkeypatch):
    conf = load_conf(
        monkeypatch,
        GUNICORN_BIND="127.0.0.1:9000",
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="8",
        GUNICORN_TIMEOUT="60",
        GUNICORN_ACCESSLOG="-",
        FORWARDED_ALLOW_IPS="10.0.0.0/8",
    )
    assert conf["bind"] == "127.0.0.1:9000"
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (3, 8, 60)
    assert conf["accesslog"] == "-"
    assert conf["forwarded_allow_ips"] == "10.0.0.0/8"


def test_an_empty_variable_means_the_default(monkeypatch):
    # compose passes `${GUNICORN_WORKERS:-}` as an empty string when unset.
    conf = load_conf(monkeypatch, GUNICORN_THREADS="", GUNICORN_ACCESSLOG="")
    assert conf["threads"] == 4
    assert conf["accesslog"] is None


def test_gunicorn_accepts_every_value_in_the_config(monkeypatch):
    from gunicorn.config import Config

    conf = load_conf(monkeypatch)
    cfg = Config()
    names = [name for name in conf if name in cfg.settings]
    for name in names:
        cfg.set(name, conf[name])  # validates type and value
    settable = {
        name
        for name, value in conf.items()
        if not name.startswith("_")
        and not callable(value)
        and not isinstance(value, type(os))
        and name not in {"annotations"}
    }
    assert settable <= set(cfg.settings), "a misspelt setting would be ignored silently"
    assert cfg.worker_class_str == "gthread"
    assert cfg.post_worker_init is conf["post_worker_init"]


@pytest.mark.django_db
def test_post_worker_init_warms_the_search_index():
    from django.utils import timezone

    from sekispe.search import index as ix
    from tests.factories import create_specialists, make_input

    create_specialists(make_input())
    assert ix._current is None
    conf = runpy.run_path(str(GUNICORN_CONF))
    conf["post_worker_init"](SimpleNamespace(pid=os.getpid()))
    assert ix._current is not None
    assert ix._current.today == timezone.localdate()


def test_post_worker_init_logs_and_survives_a_database_failure(monkeypatch, caplog):
    from django.db import OperationalError

    from sekispe.search import index as ix

    def unreachable(today):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(ix, "get_index", unreachable)
    conf = runpy.run_path(str(GUNICORN_CONF))
    with caplog.at_level(logging.ERROR, logger="sekispe.gunicorn"):
        conf["post_worker_init"](SimpleNamespace(pid=os.getpid()))  # does not raise
    assert "warm-up failed" in caplog.text
    assert ix._current is None


def test_post_worker_init_loads_the_url_configuration_before_the_first_request(tmp_path):
    """Django imports the URLconf, and with it every view and the API's schemas,
    on a process's first request: about a second that the first visitor of each
    worker paid, again after every max_requests restart. The hook pays it instead,
    even when the search warm-up fails (here: no tables)."""
    script = (
        "import os, runpy, sys, types, django\n"
        "django.setup()\n"
        f"conf = runpy.run_path({str(GUNICORN_CONF)!r})\n"
        "before = 'sekispe.urls' in sys.modules\n"
        "conf['post_worker_init'](types.SimpleNamespace(pid=os.getpid()))\n"
        "print(before, 'sekispe.urls' in sys.modules, 'sekispe.api.urls' in sys.modules)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)},
        "DJANGO_SETTINGS_MODULE": "sekispe.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "SEKISPE_VAR_DIR": str(tmp_path / "var"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"], done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_serves_healthz_with_this_config(tmp_path):
    """The real server, one worker, an empty SQLite file: /healthz answers,
    and the warm-up (no tables yet) fails without taking the worker down."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)},
        "DJANGO_SETTINGS_MODULE": "sekispe.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gunicorn.sqlite3'}",
        "SEKISPE_VAR_DIR": str(tmp_path / "var"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
    }
    log_path = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(gunicorn), "-c", str(GUNICORN_CONF), "sekispe.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            status, body = None, b""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/healthz", timeout=2
                    ) as response:
                        status, body = response.status, response.read()
                    break
                except OSError:
                    time.sleep(0.2)
            output = log_path.read_text(errors="replace")
            assert status == 200, output
            assert b'"ok"' in body
            # The container's HEALTHCHECK script agrees.
            check = subprocess.run(
                [sys.executable, str(DEPLOY / "healthcheck.py")],
                env={**env, "HEALTHCHECK_PORT": str(port), "ALLOWED_HOSTS": "localhost"},
                capture_output=True,
                timeout=15,
            )
            assert check.returncode == 0, check.stderr
            assert "warm-up failed" in output
            assert server.poll() is None, output
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    # SIGTERM is a clean stop for gunicorn's master.
    assert server.returncode == 0, log_path.read_text(errors="replace")


def test_healthcheck_fails_when_nothing_listens():
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py")],
        env={**os.environ, "HEALTHCHECK_PORT": str(_free_port())},
        capture_output=True,
        timeout=15,
    )
    assert result.returncode == 1


# ---------------------------------------------------------------- entrypoint

PRINT_SETTINGS = "import os; print(os.environ['DJANGO_SETTINGS_MODULE'])"


def run_entrypoint(env: dict[str, str], code: str = PRINT_SETTINGS):
    base = {"PATH": os.environ["PATH"]}
    return subprocess.run(
        ["bash", str(DEPLOY / "entrypoint.sh"), sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=15,
    )


def test_entrypoint_switches_to_demo_settings_only_for_sekispe_demo_1():
    demo = run_entrypoint({"SEKISPE_DEMO": "1"})
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == "sekispe.settings.demo"

    for env in ({"SEKISPE_DEMO": "0"}, {"SEKISPE_DEMO": ""}, {}):
        result = run_entrypoint({**env, "SECRET_KEY": "x" * 50})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "sekispe.settings.prod"

    custom = run_entrypoint({"SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "my.settings"})
    assert custom.stdout.strip() == "my.settings"


def test_entrypoint_gives_the_demo_a_key_and_keeps_a_given_one():
    code = "import os; print(os.environ['SECRET_KEY'])"
    assert run_entrypoint({"SEKISPE_DEMO": "1"}, code).stdout.strip()
    given = run_entrypoint({"SEKISPE_DEMO": "1", "SECRET_KEY": "given"}, code)
    assert given.stdout.strip() == "given"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        (
            {"SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://sekispe:sekispe@db:5432/sekispe"},
            "POSTGRES_PASSWORD",
        ),
        ({"SEKISPE_DEMO": "true"}, "must be 1 or 0"),
    ],
)
def test_entrypoint_refuses_a_production_start_without_its_secrets(env, message):
    result = run_entrypoint(env)
    assert result.returncode == 64
    assert message in result.stderr
    assert result.stdout == ""  # the command never ran


def test_entrypoint_is_executable():
    # COPY keeps the mode; the image's ENTRYPOINT runs the file directly.
    assert os.access(DEPLOY / "entrypoint.sh", os.X_OK)


# ------------------------------------------------------ Dockerfile and compose


def test_dockerfile_conventions():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", text, re.M)
    assert "-c /tmp/src/requirements.lock /tmp/src" in text and "[dev]" not in text
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in {"root", "0", "0:0"}
    assert "collectstatic --noinput" in text
    # Throwaway build values live on the RUN line, never as ENV in the image.
    env_block = " ".join(re.findall(r"^ENV (?:.*\\\n)*.*$", text, re.M))
    assert "SECRET_KEY" not in env_block
    assert re.search(r"^EXPOSE 8000$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*healthcheck\.py", text, re.M)
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in text


def test_dockerignore_keeps_the_context_small():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "tests"} <= ignored
    assert not {"sekispe", "deploy", "pyproject.toml", "requirements.lock"} & ignored


def _compose_text() -> str:
    return (DEPLOY / "compose.yaml").read_text()


def _compose() -> dict | None:
    try:
        import yaml  # not a dependency; used when present
    except ImportError:
        return None
    return yaml.safe_load(_compose_text())


def test_compose_publishes_ports_on_loopback_only():
    text = _compose_text()
    mappings = re.findall(r'^\s+- "?([^"\s#]+:\d+)"?\s*(?:#.*)?$', text, re.M)
    port_like = [m for m in mappings if re.fullmatch(r"[\d.]+:\d+:\d+(/\w+)?", m)]
    assert len(port_like) == 3, mappings  # web 8000, Mailpit 8025 and 1025
    assert all(m.startswith("127.0.0.1:") for m in port_like), port_like
    # No other way to publish: no long syntax, no host networking.
    assert "published:" not in text and "network_mode" not in text
    compose = _compose()
    if compose is not None:
        for service in compose["services"].values():
            for port in service.get("ports", []):
                assert str(port).startswith("127.0.0.1:")


def test_compose_services_and_their_order():
    text = _compose_text()
    services = re.findall(r"^  ([a-z]+):$", text.split("\nservices:\n", 1)[1], re.M)
    assert {"db", "migrate", "web", "worker", "mailpit"} <= set(services)
    assert re.search(r"^\s+image: postgres:16$", text, re.M)
    assert "pgdata:/var/lib/postgresql/data" in text
    assert "pg_isready" in text
    assert "condition: service_healthy" in text
    assert text.count("condition: service_completed_successfully") == 2  # web, worker
    assert "sekispe migrate --noinput" in text
    assert "seed-demo --specialists 3000 --seed 1 --if-empty --accounts" in text
    assert '["sekispe", "worker"]' in text
    assert "/app/deploy/gunicorn.conf.py" in text
    assert "axllent/mailpit" in text


def test_compose_passes_only_variables_the_app_reads():
    """A misspelt name in compose.yaml would be ignored by the app silently."""
    text = _compose_text()
    block = text.split("  environment:\n", 1)[1].split("\nservices:", 1)[0]
    passed = set(re.findall(r"^    ([A-Z_]+):", block, re.M))
    read = _variables_read()
    assert passed - read - {"SEKISPE_DEMO"} == set()


# --------------------------------------------------------------------- systemd


def _unit(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    section = ""
    for raw in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        values.setdefault(f"{section}.{key}", []).append(value)
    return values


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("sekispe-web.service", "/.venv/bin/gunicorn -c /opt/sekispe/deploy/gunicorn.conf.py"),
        ("sekispe-worker.service", "/.venv/bin/sekispe worker"),
    ],
)
def test_systemd_units_have_the_required_keys(name, command):
    unit = _unit(name)
    service = {k.split(".", 1)[1]: v for k, v in unit.items() if k.startswith("Service.")}
    assert command in service["ExecStart"][0]
    assert service["User"] == ["sekispe"]
    assert service["WorkingDirectory"] == ["/opt/sekispe"]
    assert service["EnvironmentFile"] == ["/etc/sekispe/sekispe.env"]
    assert "DJANGO_SETTINGS_MODULE=sekispe.settings.prod" in service["Environment"]
    assert service["Restart"] == ["on-failure"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert int(service["TimeoutStopSec"][0]) > 30  # longer than graceful_timeout
    assert service["NoNewPrivileges"] == ["true"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["PrivateTmp"] == ["true"]
    var_dirs = [e.split("=", 1)[1] for e in service["Environment"] if e.startswith("SEKISPE_VAR")]
    assert var_dirs and var_dirs[0] in service["ReadWritePaths"]
    assert unit["Install.WantedBy"] == ["multi-user.target"]


# ------------------------------------------------------------------------ docs


def _variables_read() -> set[str]:
    names = set()
    sources = [*(ROOT / "sekispe").rglob("settings/*.py"), GUNICORN_CONF]
    for path in sources:
        text = path.read_text()
        names |= set(re.findall(r'env_[a-z]+\(\s*"([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'os\.environ(?:\.get|\.setdefault)?\(\s*"([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'_env_int\(\s*"([A-Z0-9_]+)"', text))
    return names


def test_every_environment_variable_is_documented():
    doc = (ROOT / "docs" / "deployment.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)`", doc, re.M))
    missing = _variables_read() - documented - {"DJANGO_SETTINGS_MODULE"}
    assert not missing, f"add to the table in docs/deployment.md: {sorted(missing)}"
