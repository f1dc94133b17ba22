"""/healthz/ready: who may read it, and that each thing that is wrong makes it 503."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError
from django.utils import timezone

from sekispe.outbox.models import MailState, OutgoingMail
from sekispe.outbox.services import queue_message
from sekispe.search import index as ix
from sekispe.worker import health
from sekispe.worker.models import JobRun
from sekispe.worker.schedule import JOBS
from sekispe.worker.services import run_due_jobs

pytestmark = pytest.mark.django_db

URL = "/healthz/ready"


@pytest.fixture
def jobs_done():
    report = run_due_jobs()
    assert report.failed == []


def ready(client, **headers):
    response = client.get(URL, headers=headers)
    return response.status_code, response.json()


# ------------------------------------------------------------------- access


@pytest.mark.parametrize("persona", [None, "sme", "institution", "specialist"])
def test_only_operators_or_the_token_may_read_it(client_for, request, settings, persona):
    settings.HEALTH_TOKEN = "s3cret-token"
    client = client_for(request.getfixturevalue(persona) if persona else None)
    assert client.get(URL).status_code == 403
    assert client.get(URL, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get(URL, headers={"Authorization": "Bearer s3cret-token"}).status_code in (
        200,
        503,
    )


def test_no_token_configured_means_operators_only(client, settings):
    settings.HEALTH_TOKEN = ""
    assert client.get(URL, headers={"Authorization": "Bearer "}).status_code == 403


def test_healthz_stays_cheap_and_public(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# ----------------------------------------------------------------- the report


def test_ready_when_the_jobs_ran_and_nothing_waits(client_for, operator, jobs_done, specialist):
    client = client_for(operator)
    client.get("/specialists/")  # this process builds its index
    status, report = ready(client)
    assert status == 200, report["problems"]
    assert report["status"] == "ok"
    assert report["database"]["ok"] is True
    index = report["search_index"]
    assert index["built"] and index["current"]
    assert index["listings"] == 1
    assert index["generation"] is not None
    assert 0 <= index["age_seconds"] < 60
    assert set(report["jobs"]) == {job.name for job in JOBS}
    for job in report["jobs"].values():
        assert job["last_outcome"] == "ok" and not job["overdue"]
        assert job["last_success_at"]
    assert report["outbox"]["failed"] == 0
    assert report["static_files"]["ok"] is True


def test_a_fresh_install_whose_worker_never_ran_is_not_ready(client_for, operator):
    status, report = ready(client_for(operator))
    assert status == 503
    assert {p for p in report["problems"] if p.startswith("job_overdue:")} == {
        f"job_overdue:{job.name}" for job in JOBS
    }


def test_a_job_overdue_by_more_than_26_hours(client_for, operator, jobs_done):
    JobRun.objects.filter(name="send-reminders").update(
        last_success_at=timezone.now() - dt.timedelta(hours=26, minutes=1)
    )
    JobRun.objects.filter(name="expire-inquiries").update(
        last_success_at=timezone.now() - dt.timedelta(hours=25)
    )
    status, report = ready(client_for(operator))
    assert status == 503
    assert report["problems"] == ["job_overdue:send-reminders"]
    assert report["jobs"]["send-reminders"]["overdue"] is True


def test_mail_waiting_too_long_and_failed_mail(client_for, operator, jobs_done):
    client = client_for(operator)
    old = queue_message("a@example.jp", "件名", "本文", template="test")
    assert ready(client)[0] == 200  # just queued: the worker has not had its turn yet
    OutgoingMail.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=16)
    )
    status, report = ready(client)
    assert (status, report["problems"]) == (503, ["outbox_not_sending"])
    assert report["outbox"]["oldest_queued_age_seconds"] >= 16 * 60
    OutgoingMail.objects.filter(pk=old.pk).update(state=MailState.FAILED)
    status, report = ready(client)
    assert (status, report["problems"]) == (503, ["outbox_failed_mail"])
    assert report["outbox"]["failed"] == 1


def test_a_failing_index_build(client_for, operator, jobs_done, monkeypatch, specialist):
    def broken(*args, **kwargs):
        raise RuntimeError("statement timeout")

    monkeypatch.setattr(ix, "build_index", broken)
    with pytest.raises(RuntimeError):
        ix.get_index(timezone.localdate())
    status, report = ready(client_for(operator))
    assert (status, report["problems"]) == (503, ["search_index_build_failing"])
    assert report["search_index"]["failures"] == 1
    assert "statement timeout" in report["search_index"]["last_error"]
    assert report["search_index"]["retry_in_seconds"] > 0


def test_an_unreachable_database(client_for, operator, monkeypatch):
    client = client_for(operator)

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(health.connection, "cursor", refuse)
    ok, report = health.readiness()
    assert not ok
    assert report["database"] == {"ok": False, "error": "OperationalError"}
    assert report["problems"][0] == "database_unreachable"
    assert "jobs" not in report  # nothing else is read from a database that is down
    assert client  # the view itself is exercised above; this checks the report


def test_missing_collectstatic_is_caught(client_for, operator, jobs_done, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path  # empty: collectstatic never ran
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    status, report = ready(client_for(operator))
    assert status == 503
    assert report["problems"] == ["static_files_missing"]
