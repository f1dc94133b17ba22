"""Issue 13, findings 8, 14 and 15: the service stays up and honest under load,
a hung database and bots.

8. /healthz answers HEAD, never hangs on a database that accepts connections
   but never answers, and a missing `collectstatic` is caught by readiness.
14. /admin/ runs under the same Content-Security-Policy as the site.
15. The search API is rate-limited per address, and bots and heavy clients do
    not count in the exposure ledger.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sekispe.core import middleware
from sekispe.core import views as core_views
from sekispe.search import exposure
from sekispe.worker import health
from tests.factories import create_specialists, make_input

PROJECT_DIR = Path(__file__).resolve().parent.parent
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)

# ------------------------------------------------------------ finding 8: /healthz


@pytest.mark.django_db
def test_finding_08_head_healthz(client):
    """Load balancers often probe with HEAD: it must not be a 405."""
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.post("/healthz").status_code == 405


class _SilentServer:
    """A TCP server on loopback that accepts connections and never answers:
    a database host whose process hangs while its kernel still accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # read nothing, answer nothing

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


_HEALTHZ_IN_A_FRESH_PROCESS = """
import json, time
import django
django.setup()
from django.test import Client
started = time.monotonic()
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "seconds": time.monotonic() - started,
                  "body": response.json()}))
"""


def test_finding_08_healthz_answers_503_within_the_connect_timeout_on_a_hung_database():
    """For real: a fresh process whose DATABASE_URL points at a PostgreSQL port
    that accepts and never answers. Before the fix libpq waited forever (the
    issue saw 30 s: the proxy's timeout); now connect_timeout ends it."""
    server = _SilentServer()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sekispe.settings.test",
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{server.port}/hung",
        "DB_CONNECT_TIMEOUT": "2",
    }
    try:
        run = subprocess.run(
            [sys.executable, "-c", _HEALTHZ_IN_A_FRESH_PROCESS],
            env=env,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=25,  # bounded: a hang fails the test instead of stalling the suite
        )
    except subprocess.TimeoutExpired:
        pytest.fail("/healthz hung on a database that never answers")
    finally:
        server.close()
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 503
    assert outcome["body"] == {"status": "error", "database": "unreachable"}
    assert outcome["seconds"] < 8  # the 2 s connect timeout, plus slack for a busy machine
    assert server.held, "the client never reached the silent server"


def test_finding_08_postgresql_gets_a_connect_timeout_from_the_environment():
    """The settings themselves, for PostgreSQL URLs (SQLite has no connect phase)."""
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    base_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sekispe.settings.test"}
    for url, timeout, expected in [
        ("postgres://u@127.0.0.1:5432/x", None, 5),
        ("postgres://u@127.0.0.1:5432/x", "3", 3),
    ]:
        env = {**base_env, "DATABASE_URL": url}
        env.pop("DB_CONNECT_TIMEOUT", None)
        if timeout:
            env["DB_CONNECT_TIMEOUT"] = timeout
        run = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); " + code],
            env=env,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert json.loads(run.stdout)["connect_timeout"] == expected


@pytest.mark.django_db
def test_finding_08_the_health_query_runs_under_a_statement_timeout(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/healthz").status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 1  # still one round trip: /healthz stays cheap
    if connection.vendor == "postgresql":
        assert sql[0].startswith(
            f"SET LOCAL statement_timeout = {core_views.HEALTH_STATEMENT_TIMEOUT_MS}; "
        )
    else:
        # SQLite: no statement timeout exists; SELECT 1 takes no lock, and the
        # connection's `timeout` bounds lock waits (sekispe/core/views.py).
        assert sql[0] == core_views.HEALTH_QUERY


@pytest.mark.django_db
def test_finding_08_a_slow_health_query_is_cut_off(client, monkeypatch):
    """On PostgreSQL the statement timeout really ends a query that hangs. SQLite
    has no statement timeout (nothing there can hang SELECT 1 but a lock, which
    its `timeout` bounds): there, a failing query is the case checked."""
    if connection.vendor == "postgresql":
        monkeypatch.setattr(core_views, "HEALTH_QUERY", "SELECT pg_sleep(5)")
    else:
        monkeypatch.setattr(core_views, "HEALTH_QUERY", "SELECT * FROM no_such_table")
    monkeypatch.setattr(core_views, "HEALTH_STATEMENT_TIMEOUT_MS", 200)
    started = time.monotonic()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert time.monotonic() - started < 3


@pytest.mark.django_db
def test_finding_08_missing_collectstatic_is_caught_by_readiness_not_healthz(settings, tmp_path):
    """Production's manifest storage with no `collectstatic` run: every HTML
    page is a 500. /healthz stays cheap (liveness + database) and says ok, so
    readiness must say what is wrong: sekispe/worker/health.py `_static` probes
    health.STATIC_PROBE and reports `static_files_missing`."""
    (tmp_path / "static").mkdir()  # there, but empty: collectstatic never ran
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.HEALTH_TOKEN = "probe-token"
    client = Client(raise_request_exception=False)
    try:
        page_status = client.get("/specialists/").status_code
    except ValueError as exc:  # the 500 page links the stylesheet too, and fails the same way
        assert "Missing staticfiles manifest entry" in str(exc)
        page_status = 500  # what gunicorn answers when the handler itself fails
    assert page_status == 500
    assert client.get("/healthz").status_code == 200  # liveness only, by design
    response = client.get("/healthz/ready", headers={"Authorization": "Bearer probe-token"})
    assert response.status_code == 503
    report = response.json()
    assert "static_files_missing" in report["problems"]
    assert report["static_files"] == {"ok": False}
    assert health.STATIC_PROBE == "css/sekispe.css"


# --------------------------------------------------------------- finding 14: /admin/ CSP


@pytest.mark.django_db
def test_finding_14_admin_has_a_csp(client, operator):
    login = client.get("/admin/login/")
    assert login.has_header("Content-Security-Policy")
    client.force_login(operator)
    policy = client.get("/admin/")["Content-Security-Policy"]
    assert policy == login["Content-Security-Policy"]
    # The site's policy, unchanged: no inline scripts, no inline <style> elements.
    for directive in middleware.CONTENT_SECURITY_POLICY.split("; "):
        assert directive in policy
    assert "'unsafe-inline'" not in policy
    # The one documented exception: hashed style attributes, on /admin/ only.
    extra = set(policy.split("; ")) - set(middleware.CONTENT_SECURITY_POLICY.split("; "))
    assert [d.split()[:2] for d in extra] == [["style-src-attr", "'unsafe-hashes'"]]
    assert policy == middleware.ADMIN_CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in policy
    assert client.get("/specialists/")["Content-Security-Policy"] == (
        middleware.CONTENT_SECURITY_POLICY
    )


@pytest.fixture
def admin_rows(transactional_db):
    from tests.factories import make_user

    create_specialists(make_input(registration_number="000001", name="中村 由美"))
    make_user("operator", "admin-csp@ipa.example.jp", display_name="運営 花子")


@pytest.mark.browser
def test_finding_14_admin_pages_run_without_csp_violations(live_server, admin_rows, chromium):
    """Real headless Chromium: sign in to the admin and open the pages operators
    use (index, changelists, change forms with date widgets and inlines, a
    history page), listening for any Content-Security-Policy violation."""
    from playwright.sync_api import expect

    from sekispe.registry.models import RegistryRecord
    from tests.browser_support import db
    from tests.factories import PASSWORD

    record_pk = db(lambda: RegistryRecord.objects.get().pk)
    page = chromium.new_page(locale="ja-JP")
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            violations.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    base = live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "admin-csp@ipa.example.jp")
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.rstrip("/").endswith("/admin"), page.url
    visited = []
    for path in [
        "/admin/",
        "/admin/registry/registryrecord/",
        f"/admin/registry/registryrecord/{record_pk}/change/",
        f"/admin/registry/registryrecord/{record_pk}/history/",
        "/admin/listings/listing/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/registry/reminder/",
    ]:
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        visited.append(path)
    # Scripts ran (no blocked script): the date widget's calendar opens.
    page.goto(f"{base}/admin/registry/registryrecord/{record_pk}/change/")
    page.locator("#calendarlink0").click()
    expect(page.locator("#calendarbox0")).to_be_visible()
    page.close()
    assert violations == [], violations
    assert len(visited) == 8


# ------------------------------------------------- finding 15: the search API and bots


@pytest.fixture
def listed(db):
    create_specialists(
        make_input(registration_number="000001", name="中村 由美"),
        make_input(registration_number="000002", name="高橋 誠"),
    )


@pytest.fixture
def recorded(monkeypatch):
    """Every page the exposure ledger is asked to count."""
    pages: list[int] = []
    monkeypatch.setattr(exposure, "record", lambda index, served: pages.append(1))
    return pages


def test_finding_15_search_api_rate_limited_per_address(client, listed, settings):
    settings.SEARCH_API_PER_IP = (3, 3600)
    url = "/api/v1/specialists"
    for _ in range(3):
        assert client.get(url, REMOTE_ADDR="192.0.2.1").status_code == 200
    refused = client.get(url, REMOTE_ADDR="192.0.2.1")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert refused.json()["detail"]
    # Another address is not affected; detail pages are not limited by it.
    assert client.get(url, REMOTE_ADDR="192.0.2.2").status_code == 200
    assert client.get(f"{url}/000001", REMOTE_ADDR="192.0.2.1").status_code == 200


def test_finding_15_the_default_api_limit_is_generous(settings):
    count, seconds = settings.SEARCH_API_PER_IP
    assert count / seconds * 60 >= 10  # at least 10 searches a minute, averaged
    assert count > settings.SEARCH_EXPOSURE_MAX_PER_IP


@pytest.mark.parametrize(
    "agent",
    [
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Scrapy/2.11 (+https://scrapy.org)",
        "",
    ],
)
def test_finding_15_declared_bots_never_count_exposure(client, listed, recorded, agent):
    from sekispe.search import bots

    assert bots.declares_bot(agent)
    assert client.get("/api/v1/specialists", HTTP_USER_AGENT=agent).status_code == 200
    assert client.get("/specialists/", HTTP_USER_AGENT=agent).status_code == 200
    assert recorded == []


def test_finding_15_browsers_count_exposure_on_the_page_and_the_api(client, listed, recorded):
    from sekispe.search import bots

    assert not bots.declares_bot(BROWSER_UA)
    assert client.get("/api/v1/specialists", HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    assert client.get("/specialists/", HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    assert recorded == [1, 1]


def test_finding_15_heavy_clients_stop_counting_exposure(client, listed, recorded, settings):
    """Past the threshold an address is still served, it just no longer moves
    the ledger; the page and the API share one count per address."""
    settings.SEARCH_EXPOSURE_MAX_PER_IP = 3
    settings.SEARCH_API_PER_IP = (100, 3600)
    for url in ["/api/v1/specialists", "/specialists/", "/api/v1/specialists"]:
        assert client.get(url, HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    assert recorded == [1, 1, 1]
    for url in ["/specialists/", "/api/v1/specialists"]:
        assert client.get(url, HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    assert recorded == [1, 1, 1]
    # Another address still counts.
    client.get("/specialists/", HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.7")
    assert recorded == [1, 1, 1, 1]


def test_finding_15_the_html_page_is_never_refused(client, listed, settings):
    """The rate limit is the API's; people on the page are only not counted."""
    settings.SEARCH_API_PER_IP = (1, 3600)
    for _ in range(3):
        assert client.get("/specialists/", HTTP_USER_AGENT=BROWSER_UA).status_code == 200
