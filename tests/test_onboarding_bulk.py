"""Bulk invitations and registrant mailings (issue 16, parts 2 and 3): who is
chosen, idempotent re-runs, throttled outbox rows, opt-out for news only, the
pages and the command."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from sekispe.accounts.models import Invitation
from sekispe.accounts.services import invite_specialist
from sekispe.intake.models import ApplicationStatus, Qualification, RegistrationApplication
from sekispe.onboarding import services
from sekispe.onboarding.models import (
    BulkInvitationRun,
    Mailing,
    MailingKind,
    MailingRecipient,
    MailingState,
    RunState,
    Segment,
)
from sekispe.outbox.models import MailState, OutgoingMail
from sekispe.outbox.services import deliver_all
from sekispe.registry.models import (
    CourseCompletion,
    DisasterMeasure,
    RegistryRecord,
    RegistryStatus,
)
from tests.factories import make_specialist_user, text

pytestmark = pytest.mark.django_db

UNSUBSCRIBE = re.compile(r"/mailings/unsubscribe/[^/\s]+/")


def _record(number: str, *, email: str | None = None, **extra):
    values = {
        "registration_number": number,
        "name": f"登録 {number}",
        "name_kana": "トウロク",
        "registered_on": dt.date(2025, 4, 1),
        "expires_on": dt.date(2028, 3, 31),
        "home_prefecture_id": "13",
        "email": f"r{number}@example.jp" if email is None else email,
        "status": RegistryStatus.ACTIVE,
        **extra,
    }
    return RegistryRecord.objects.create(**values)


@pytest.fixture(autouse=True)
def _fast_rate(settings):
    # 3,600,000 an hour: a millisecond apart, so `deliver_all()` sends them now.
    settings.BULK_MAIL_PER_HOUR = 3_600_000


@pytest.fixture
def population(db):
    """Three invitable registrants and four who must never get a bulk invitation."""
    invitable = [_record("400001"), _record("400002"), _record("400003")]
    _record("400004", email="")  # no address
    _record("400005", status=RegistryStatus.EXPIRED)  # not active
    make_specialist_user("400006")  # has an account
    return invitable


def _run(filters: services.InvitationFilters | None = None, *, batch_size: int = 2):
    run = services.start_invitation_run(
        filters or services.InvitationFilters(), actor=None, queued=False
    )
    return services.run_invitations(run, batch_size=batch_size)


# ------------------------------------------------------------ bulk invitations


def test_bulk_invitation_reaches_only_invitable_registrants_once(population):
    run = _run()
    assert (run.state, run.invited) == (RunState.DONE, 3)
    assert run.processed == run.total == run.invited + run.skipped
    invited = set(Invitation.objects.values_list("record__registration_number", flat=True))
    assert invited == {"400001", "400002", "400003"}
    mails = OutgoingMail.objects.filter(template="invitation")
    assert sorted(mails.values_list("to", flat=True)) == [
        "r400001@example.jp",
        "r400002@example.jp",
        "r400003@example.jp",
    ]


def test_running_again_invites_nobody_twice_inside_the_validity_window(population, settings):
    _run()
    with pytest.raises(services.OnboardingError):
        _run()  # nobody is left to invite: refused before a run is recorded
    assert Invitation.objects.count() == 3
    assert OutgoingMail.objects.filter(template="invitation").count() == 3
    # An operator's single invitation counts as well.
    fresh = _record("400010")
    invite_specialist(fresh, fresh.email, actor=make_operator())
    with pytest.raises(services.OnboardingError):
        _run()
    # Once the invitations ran out, the same filter invites them again.
    later = timezone.now() + dt.timedelta(days=settings.INVITATION_VALID_DAYS, hours=1)
    with time_machine.travel(later, tick=False):
        run = _run()
    assert run.invited == 4


def make_operator():
    from tests.factories import make_user

    return make_user("operator", "op@ipa.example.jp", display_name="運営 花子")


def test_a_stopped_run_resumes_after_its_cursor_without_duplicates(population):
    run = services.start_invitation_run(services.InvitationFilters(), actor=None)
    # The first batch committed, then the process died.
    first = sorted(r.pk for r in services.matching_records(services.InvitationFilters()))[:2]
    BulkInvitationRun.objects.filter(pk=run.pk).update(last_record_id=first[-1])
    Invitation.objects.bulk_create(
        Invitation(
            record_id=pk,
            email="x@example.jp",
            token_hash=f"{pk:064d}",
            created_at=timezone.now(),
            expires_at=timezone.now() + dt.timedelta(days=14),
        )
        for pk in first
    )
    run = services.run_invitations(run)
    assert run.state == RunState.DONE
    assert Invitation.objects.filter(record_id__in=first).count() == 2
    assert Invitation.objects.count() == 3


def test_filters_status_cohort_prefecture_expiry_and_listing(db):
    _record("410001", registered_on=dt.date(2024, 10, 1), home_prefecture_id="27")
    _record("410002", registered_on=dt.date(2024, 10, 1), expires_on=dt.date(2027, 9, 30))
    _record("410003", registered_on=dt.date(2024, 4, 1))
    listed = make_specialist_user("410004").record
    listed.account.delete()  # a listing, but no account
    RegistryRecord.objects.filter(pk=listed.pk).update(email="listed@example.jp")
    F = services.InvitationFilters

    def numbers(filters):
        return set(
            services.invitable(services.matching_records(filters), timezone.now()).values_list(
                "registration_number", flat=True
            )
        )

    assert numbers(F(cohort="2024-10")) == {"410001", "410002"}
    assert numbers(F(prefecture="27")) == {"410001"}
    assert numbers(F(expires_from=dt.date(2027, 9, 1), expires_to=dt.date(2027, 10, 31))) == {
        "410002"
    }
    assert "410004" in numbers(F())
    assert "410004" not in numbers(F(no_listing=True))
    assert numbers(F(status=RegistryStatus.EXPIRED)) == set()


def test_throttling_spreads_send_times_at_the_configured_rate(population, settings):
    settings.BULK_MAIL_PER_HOUR = 60  # one a minute
    before = timezone.now()
    _run()
    times = sorted(
        OutgoingMail.objects.filter(template="invitation").values_list("next_attempt_at", flat=True)
    )
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps == [60.0, 60.0]
    assert before <= times[0] <= timezone.now()
    # The worker sends only what is due: one now, the next a minute later.
    assert deliver_all().sent == 1
    assert deliver_all(now=times[0] + dt.timedelta(seconds=61)).sent == 1
    # A mailing queued meanwhile waits its turn after the invitations.
    _record("400020")
    mailing = services.create_mailing(
        kind=MailingKind.NOTICE,
        segment=Segment.ACTIVE,
        subject="件名",
        body="本文",
        measure=None,
        actor=None,
    )
    services.queue_mailing(mailing)
    first_mailing = (
        OutgoingMail.objects.filter(template="mailing").order_by("next_attempt_at").first()
    )
    assert (first_mailing.next_attempt_at - times[-1]).total_seconds() == pytest.approx(60)


def test_invitation_lasts_its_full_term_from_its_send_time(population, settings):
    settings.BULK_MAIL_PER_HOUR = 1  # an hour apart
    _run()
    for invitation in Invitation.objects.all():
        mail = OutgoingMail.objects.get(to=invitation.email, template="invitation")
        assert invitation.expires_at == mail.next_attempt_at + dt.timedelta(
            days=settings.INVITATION_VALID_DAYS
        )


def test_page_previews_then_starts_a_run_and_shows_its_progress(population, client_for, operator):
    client = client_for(operator)
    page = client.get("/ops/invitations/bulk/", {"status": "active", "no_account": "on"})
    body = text(page)
    assert "招待を送れる人：3 人" in body
    assert "400001" in body and "400006" not in body
    assert Invitation.objects.count() == 0  # a preview queues nothing
    response = client.post(
        "/ops/invitations/bulk/", {"status": "active", "no_account": "True", "no_listing": "False"}
    )
    run = BulkInvitationRun.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/ops/invitations/bulk/{run.pk}/"
    )
    # Queued for the worker: nothing is invited inside the request.
    waiting = client.get(response["Location"])
    assert (
        "開始待ち" in text(waiting)
        and 'http-equiv="refresh" content="5"' in waiting.content.decode()
    )
    assert Invitation.objects.count() == 0
    assert services.run_pending_invitations() == 1
    progress = client.get(response["Location"])
    assert "完了" in text(progress) and 'http-equiv="refresh"' not in progress.content.decode()
    assert Invitation.objects.count() == 3


def test_a_running_run_page_refreshes_itself_and_a_stalled_one_resumes(
    population, client_for, operator
):
    run = services.start_invitation_run(services.InvitationFilters(), actor=operator)
    assert services.claim_run() == run  # a worker took it, then died
    client = client_for(operator)
    page = client.get(f"/ops/invitations/bulk/{run.pk}/").content.decode()
    assert 'http-equiv="refresh" content="5"' in page and "今すぐ更新する" in page
    BulkInvitationRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert "再開する" in text(client.get(f"/ops/invitations/bulk/{run.pk}/"))
    client.post(f"/ops/invitations/bulk/{run.pk}/")
    assert BulkInvitationRun.objects.get(pk=run.pk).state == RunState.QUEUED
    assert services.run_pending_invitations() == 1
    assert BulkInvitationRun.objects.get(pk=run.pk).state == RunState.DONE
    assert Invitation.objects.count() == 3


def test_one_worker_takes_a_queued_run_and_another_takes_it_over_only_once_it_stalls(
    population,
):
    run = services.start_invitation_run(services.InvitationFilters(), actor=None)
    assert run.state == RunState.QUEUED
    taken = services.claim_run()
    assert taken.pk == run.pk and taken.state == RunState.RUNNING
    assert services.claim_run() is None  # its heartbeat is fresh
    later = timezone.now() + services.STALLED_AFTER + dt.timedelta(seconds=1)
    assert services.claim_run(now=later).pk == run.pk  # the first one stopped beating
    assert services.claim_run(now=later) is None


def test_a_stopping_worker_hands_its_run_back_to_the_queue(population):
    run = services.claim_run(
        services.start_invitation_run(services.InvitationFilters(), actor=None).pk
    )
    calls = iter([False, True])  # one batch, then SIGTERM
    handed_back = services.run_invitations(run, batch_size=2, should_stop=lambda: next(calls))
    assert handed_back.state == RunState.QUEUED and handed_back.processed == 2
    assert services.run_pending_invitations() == 1
    run.refresh_from_db()
    assert (run.state, run.invited, run.processed) == (RunState.DONE, 3, run.total)
    assert Invitation.objects.count() == 3  # nobody twice


def test_a_run_queued_with_no_worker_says_so(population, client_for, operator):
    run = services.start_invitation_run(services.InvitationFilters(), actor=operator)
    client = client_for(operator)
    assert "動いていない可能性" not in text(client.get(f"/ops/invitations/bulk/{run.pk}/"))
    BulkInvitationRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert "動いていない可能性" in text(client.get(f"/ops/invitations/bulk/{run.pk}/"))


def test_command_previews_with_dry_run_and_invites_with_a_progress_bar(population, capsys):
    call_command("invite_registrants", "--dry-run")
    assert "to invite: 3" in capsys.readouterr().out
    assert Invitation.objects.count() == 0
    call_command("invite_registrants", "--no-progress")
    assert "3 invited" in capsys.readouterr().out
    assert Invitation.objects.count() == 3


# ------------------------------------------------------------ mailings


def _mailing(kind: str, segment: str = Segment.ACTIVE, measure=None) -> Mailing:
    mailing = services.create_mailing(
        kind=kind,
        segment=segment,
        subject="講習のご案内",
        body="令和8年度の共通講習の日程をお知らせします。",
        measure=measure,
        actor=None,
    )
    return services.queue_mailing(mailing)


def test_news_skips_those_who_opted_out_and_notices_reach_everyone(db):
    _record("420001")
    _record("420002", news_opt_out=True)
    news = _mailing(MailingKind.NEWS)
    notice = _mailing(MailingKind.NOTICE)
    assert list(news.recipients.values_list("email", flat=True)) == ["r420001@example.jp"]
    assert sorted(notice.recipients.values_list("email", flat=True)) == [
        "r420001@example.jp",
        "r420002@example.jp",
    ]
    notice_body = OutgoingMail.objects.filter(template="mailing", to="r420002@example.jp").get()
    assert "配信を停止することはできません" in notice_body.body
    assert not UNSUBSCRIBE.search(notice_body.body)


def test_the_unsubscribe_link_asks_then_stops_news_only(client, db):
    record = _record("420010")
    _mailing(MailingKind.NEWS)
    body = OutgoingMail.objects.get(template="mailing").body
    link = UNSUBSCRIBE.search(body).group(0)
    page = client.get(link)
    assert page.status_code == 200 and "配信を停止する" in text(page)
    record.refresh_from_db()
    assert record.news_opt_out is False  # a GET (a mail scanner following links) changes nothing
    done = client.post(link)
    assert done.status_code == 200 and "配信を停止しました" in text(done)
    record.refresh_from_db()
    assert record.news_opt_out is True
    assert _mailing(MailingKind.NEWS).recipient_count == 0
    assert _mailing(MailingKind.NOTICE).recipient_count == 1
    assert client.get("/mailings/unsubscribe/forged:token/").status_code == 404


def test_segments_missing_course_disaster_area_and_applicants(db):
    today = timezone.localdate()
    # Expires in three years: the first period year is the current one.
    expires = dt.date(today.year + 3, today.month, 1) - dt.timedelta(days=1)
    started = dt.date(today.year, today.month, 1)
    done = _record("430001", expires_on=expires, registered_on=started)
    CourseCompletion.objects.create(
        record=done, kind="common", fiscal_year=today.year, completed_on=today
    )
    _record("430002", expires_on=expires, registered_on=started, home_prefecture_id="17")
    measure = DisasterMeasure.objects.create(
        title="令和8年能登半島地震",
        deadline_from=today,
        deadline_to=today + dt.timedelta(days=365),
        new_deadline=today + dt.timedelta(days=500),
    )
    measure.prefectures.set(["17"])
    missing = services.mailing_recipients(Segment.MISSING_COURSE, MailingKind.NOTICE, today=today)
    assert [r.email for r in missing] == ["r430002@example.jp"]
    area = services.mailing_recipients(
        Segment.DISASTER_AREA, MailingKind.NOTICE, measure=measure, today=today
    )
    assert [r.email for r in area] == ["r430002@example.jp"]
    for n, (status, qualification, email) in enumerate(
        [
            (ApplicationStatus.SUBMITTED, Qualification.EXAM, "passed@example.jp"),
            (ApplicationStatus.SENT_BACK, Qualification.EXAM, "passed@example.jp"),  # same person
            (ApplicationStatus.SENT_BACK, Qualification.EXAM, "back@example.jp"),
            (ApplicationStatus.APPROVED, Qualification.EXAM, "approved@example.jp"),
            (ApplicationStatus.SUBMITTED, Qualification.EXEMPTION, "exempt@example.jp"),
            (ApplicationStatus.SUBMITTED, Qualification.EXAM, "r430001@example.jp"),  # registered
        ]
    ):
        RegistrationApplication.objects.create(
            status=status,
            qualification=qualification,
            name=f"合格 {n}",
            name_kana="ゴウカク",
            birth_date=dt.date(1990, 1, 1),
            home_prefecture_id="13",
            address="東京都千代田区",
            email=email,
            pledged_at=timezone.now(),
        )
    applicants = services.mailing_recipients(Segment.PASSED_NOT_REGISTERED, MailingKind.NOTICE)
    assert sorted(r.email for r in applicants) == ["back@example.jp", "passed@example.jp"]
    with pytest.raises(services.OnboardingError):
        _mailing(MailingKind.NEWS, Segment.PASSED_NOT_REGISTERED)


def test_queueing_again_after_a_crash_adds_only_the_missing_people(db):
    for n in range(5):
        _record(f"44000{n}")
    mailing = services.create_mailing(
        kind=MailingKind.NOTICE,
        segment=Segment.ACTIVE,
        subject="件名",
        body="本文",
        measure=None,
        actor=None,
    )
    # The first batch of two committed, then the process died.
    with pytest.raises(RuntimeError):

        def boom(n: int) -> None:
            raise RuntimeError("killed")

        services.queue_mailing(mailing, batch_size=2, progress=boom)
    assert Mailing.objects.get(pk=mailing.pk).state == MailingState.QUEUING
    assert MailingRecipient.objects.filter(mailing=mailing).count() == 2
    mailing = services.queue_mailing(Mailing.objects.get(pk=mailing.pk), batch_size=2)
    assert (mailing.state, mailing.recipient_count) == (MailingState.QUEUED, 5)
    assert OutgoingMail.objects.filter(template="mailing").count() == 5


def _waiting_mailing(people: int) -> Mailing:
    for n in range(people):
        _record(f"46{n:04d}")
    return services.create_mailing(
        kind=MailingKind.NOTICE,
        segment=Segment.ACTIVE,
        subject="件名",
        body="本文",
        measure=None,
        actor=None,
    )


def test_only_one_worker_takes_a_waiting_mailing(db):
    mailing = _waiting_mailing(1)
    assert mailing.state == MailingState.WAITING
    assert services.claim_mailing().pk == mailing.pk
    assert services.claim_mailing() is None  # the second worker finds it taken


def test_a_stopping_worker_hands_the_mailing_back_and_the_next_finishes_it(db):
    mailing = _waiting_mailing(5)
    calls = iter([False, False, True])  # SIGTERM arrives after two batches
    mailing = services.queue_mailing(
        services.claim_mailing(), batch_size=2, should_stop=lambda: next(calls, True)
    )
    assert mailing.state == MailingState.WAITING
    assert MailingRecipient.objects.filter(mailing=mailing).count() == 4
    assert services.run_pending_mailings() == 1
    mailing.refresh_from_db()
    assert (mailing.state, mailing.recipient_count) == (MailingState.QUEUED, 5)
    mails = OutgoingMail.objects.filter(template="mailing")
    assert sorted(mails.values_list("to", flat=True)) == [
        f"r46{n:04d}@example.jp" for n in range(5)
    ]


def test_a_stalled_mailing_is_shown_and_resumed_without_duplicates(db, client_for, operator):
    mailing = _waiting_mailing(3)
    with pytest.raises(RuntimeError):

        def boom(n: int) -> None:
            raise RuntimeError("killed")

        services.queue_mailing(services.claim_mailing(), batch_size=2, progress=boom)
    client = client_for(operator)
    url = f"/ops/mailings/{mailing.pk}/"
    # Still beating: another worker may be on it, so neither a button nor a claim.
    assert "再開する" not in text(client.get(url))
    assert client.post(url).status_code == 302
    assert services.claim_mailing() is None
    later = timezone.now() + services.STALLED_AFTER + dt.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        page = text(client.get(url))
        assert "中断" in page and "再開する" in page and "送信待ちに登録した宛先：2 人" in page
        client.post(url)
        assert Mailing.objects.get(pk=mailing.pk).state == MailingState.WAITING
        assert services.run_pending_mailings() == 1
    mailing.refresh_from_db()
    assert (mailing.state, mailing.recipient_count) == (MailingState.QUEUED, 3)
    assert OutgoingMail.objects.filter(template="mailing").count() == 3


def test_a_mailing_nobody_takes_warns_that_no_worker_runs(db, client_for, operator):
    mailing = _waiting_mailing(1)
    client = client_for(operator)
    url = f"/ops/mailings/{mailing.pk}/"
    assert "sekispe worker" not in text(client.get(url))
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3), tick=False):
        assert "sekispe worker" in text(client.get(url))


def test_mailing_pages_preview_then_queue_and_show_delivery_states(db, client_for, operator):
    _record("450001")
    _record("450002", news_opt_out=True)
    client = client_for(operator)
    form = {
        "kind": MailingKind.NEWS,
        "segment": Segment.ACTIVE,
        "subject": "説明会のご案内",
        "body": "オンライン説明会を開きます。\nご参加ください。",
    }
    preview = client.post("/ops/mailings/new/", {**form, "step": "preview"})
    body = text(preview)
    assert "宛先：1 人" in body and "オンライン説明会を開きます。" in body
    assert "配信を停止するには" in body
    assert Mailing.objects.count() == 0
    sent = client.post("/ops/mailings/new/", {**form, "step": "send"})
    mailing = Mailing.objects.get()
    assert sent["Location"] == f"/ops/mailings/{mailing.pk}/"
    # The request only records the mailing: writing 50,000 people's mail is the
    # worker's (seconds of work a request must not hold).
    assert (mailing.state, mailing.recipient_count) == (MailingState.WAITING, 0)
    assert not OutgoingMail.objects.filter(template="mailing").exists()
    waiting = client.get(sent["Location"])
    assert "登録の順番待ち" in text(waiting)
    assert '<meta http-equiv="refresh" content="5">' in waiting.content.decode()
    assert services.run_pending_mailings() == 1
    assert services.run_pending_mailings() == 0  # nothing left, nobody twice
    mailing.refresh_from_db()
    assert (mailing.state, mailing.recipient_count) == (MailingState.QUEUED, 1)
    deliver_all()
    detail = text(client.get(sent["Location"]))
    assert "r450001@example.jp" in detail and "送信済み" in detail
    assert services.delivery_counts(mailing)[MailState.SENT] == 1
    assert "説明会のご案内" in text(client.get("/ops/mailings/"))


def test_mailing_form_names_its_errors(db, client_for, operator):
    response = client_for(operator).post(
        "/ops/mailings/new/",
        {"kind": MailingKind.NEWS, "segment": Segment.DISASTER_AREA, "step": "preview"},
    )
    body = text(response)
    assert "災害特例を選んでください。" in body
    assert "件名" in body and Mailing.objects.count() == 0


def test_mailing_bench_smoke(db):
    """`sekispe bench mailing` at a small size: one outbox row and one recipient per person."""
    from sekispe.devtools.bench.mailing import format_report, run_mailing_bench

    report = run_mailing_bench(recipients=60, progress=False)
    assert report["stored"] == {"recipients": 60, "outbox_rows": 60, "distinct_message_ids": 60}
    assert report["targets"]["queue_s"]["pass"]
    assert "queued 60 recipients" in format_report(report, "test")


def test_demo_has_a_past_mailing_sent_once(db):
    from sekispe.devtools.demo.intake import create_demo_applications
    from sekispe.devtools.demo.mailings import create_demo_mailing

    create_demo_applications()
    assert create_demo_mailing() == 3  # the three exam passers not registered
    assert create_demo_mailing() == 0
    mailing = Mailing.objects.get()
    assert services.delivery_counts(mailing)[MailState.SENT] == 3
    assert deliver_all().claimed == 0  # nothing left for the demo's worker


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_run_started_from_the_page_and_it_reports_progress(client_for, operator):
    import threading

    from sekispe.worker.services import Worker
    from tests.worker_support import wait_for

    for n in range(7):
        _record(f"46000{n}")
    client = client_for(operator)
    response = client.post("/ops/invitations/bulk/", {"status": "active", "no_account": "True"})
    assert response.status_code == 302
    run = BulkInvitationRun.objects.get()
    # The jobs loop with no daily jobs due: only the queued bulk work.
    worker = Worker(mail=False, jobs=True, poll=0.05, schedule=())
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: BulkInvitationRun.objects.get(pk=run.pk).state == RunState.DONE)
    finally:
        worker.stop.set()
        thread.join(timeout=30)
    assert "招待を送信待ちにした人" in text(client.get(response["Location"]))
    run.refresh_from_db()
    assert (run.invited, run.processed, run.total) == (7, 7, 7)
    assert OutgoingMail.objects.filter(template="invitation").count() == 7


def test_news_mail_carries_one_click_unsubscribe_headers_and_notices_do_not(db):
    """RFC 2369 / RFC 8058: mailbox providers show their own unsubscribe button
    for bulk mail that names a one-click link (and large senders must offer it)."""
    from django.core import mail as django_mail

    from sekispe.core.mail import site_url

    _record("420020")
    _mailing(MailingKind.NEWS)
    _mailing(MailingKind.NOTICE)
    deliver_all()
    news, notice = sorted(
        django_mail.outbox, key=lambda m: "配信を停止することはできません" in m.body
    )
    link = UNSUBSCRIBE.search(news.body).group(0)
    one_click = f"<{site_url(link)}one-click/>"
    assert news.extra_headers["List-Unsubscribe"] == one_click
    assert news.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe" not in notice.extra_headers
    assert "List-Unsubscribe-Post" not in notice.extra_headers
    # The headers survive into the message as sent.
    assert news.message()["List-Unsubscribe"] == one_click


def test_one_click_unsubscribe_needs_no_csrf_token_but_the_exact_body(db):
    from django.test import Client

    record = _record("420030")
    _mailing(MailingKind.NEWS)
    link = UNSUBSCRIBE.search(OutgoingMail.objects.get(template="mailing").body).group(0)
    one_click = f"{link}one-click/"
    # A mailbox provider posts from its own servers: no cookie, no CSRF token.
    provider = Client(enforce_csrf_checks=True)
    refused = provider.post(one_click, {"List-Unsubscribe": "something else"})
    assert refused.status_code == 400
    record.refresh_from_db()
    assert record.news_opt_out is False
    done = provider.post(one_click, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    record.refresh_from_db()
    assert record.news_opt_out is True
    # A person who opens the header's link in a browser is asked, as in the mail.
    asked = provider.get(one_click)
    assert asked.status_code == 302 and asked["Location"] == link
    assert provider.post("/mailings/unsubscribe/forged:token/one-click/", {
        "List-Unsubscribe": "One-Click"}).status_code == 404  # fmt: skip
    # The page's own form still needs its CSRF token.
    assert provider.post(link).status_code == 403


def test_unsubscribe_links_keep_working_while_the_old_secret_key_is_a_fallback(settings, db):
    record = _record("420040")
    settings.SECRET_KEY = "old-" + "k" * 60
    old_token = services.unsubscribe_token(record.pk)
    settings.SECRET_KEY = "new-" + "k" * 60
    assert services.record_for_unsubscribe(old_token) is None
    settings.SECRET_KEY_FALLBACKS = ["old-" + "k" * 60]
    assert services.record_for_unsubscribe(old_token) == record
    # New links use the new key only.
    assert services.unsubscribe_token(record.pk) != old_token
    assert services.record_for_unsubscribe(services.unsubscribe_token(record.pk)) == record
