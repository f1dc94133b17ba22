"""Bulk invitations and registrant mailings: the one service behind the pages
(`/ops/invitations/bulk/`, `/ops/mailings/`) and `sekispe invite-registrants`.

Both queue one `OutgoingMail` per person, throttled: each row's
`next_attempt_at` (which the worker already honours) is set to a slot
`3600 / BULK_MAIL_PER_HOUR` seconds after the previous bulk mail's, so the
worker sends them at that rate and mail caused by a person's own action (a
claim, an approval), due at once, still goes out first.

Long work runs in batches, each its own short transaction, so nobody waits on
a lock a job holds for minutes, and a job that stopped resumes where it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from sekispe.accounts.models import Invitation, User
from sekispe.audit.services import record_event
from sekispe.core.mail import site_url
from sekispe.intake.models import ApplicationStatus, Qualification, RegistrationApplication
from sekispe.lib.env import env_int
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
from sekispe.outbox.services import render_templated
from sekispe.registry import rules
from sekispe.registry.imports import _allocate_ids, _new_values, _Table
from sekispe.registry.models import DisasterMeasure, RegistryRecord, RegistryStatus
from sekispe.registry.services import completions_by_record, extensions_by_record

logger = logging.getLogger(__name__)

INVITATION_TEMPLATE = "invitation"
MAILING_TEMPLATE = "mailing"
BULK_TEMPLATES = (INVITATION_TEMPLATE, MAILING_TEMPLATE)
INVITE_BATCH = 500
MAILING_BATCH = 5000
SAMPLE_SIZE = 10
# A running bulk invitation whose last batch is older than this has stopped
# (its process died); the page then offers to resume it.
STALLED_AFTER = dt.timedelta(minutes=2)
UNSUBSCRIBE_SALT = "sekispe.onboarding.unsubscribe"
RECIPIENT_COLUMNS = ("mailing_id", "key", "record_id", "email", "mail_id")


class OnboardingError(Exception):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def mail_per_hour() -> int:
    """The configured sending rate for bulk mail (BULK_MAIL_PER_HOUR, default 3,000)."""
    return max(1, int(getattr(settings, "BULK_MAIL_PER_HOUR", env_int("BULK_MAIL_PER_HOUR", 3000))))


def schedule_start(now: dt.datetime | None = None) -> dt.datetime:
    """The first free slot: after the last bulk mail still waiting, or now."""
    now = now or timezone.now()
    last = OutgoingMail.objects.filter(
        template__in=BULK_TEMPLATES, state=MailState.QUEUED, next_attempt_at__gt=now
    ).aggregate(last=Max("next_attempt_at"))["last"]
    if last is None:
        return now
    return last + dt.timedelta(seconds=3600 / mail_per_hour())


def slots(start: dt.datetime, count: int) -> list[dt.datetime]:
    """`count` send times from `start`, spaced at the configured rate."""
    step = 3600 / mail_per_hour()
    return [start + dt.timedelta(seconds=step * n) for n in range(count)]


def _mail_row(
    to: str, subject: str, body: str, template: str, when: dt.datetime, domain: str
) -> OutgoingMail:
    # The same fields as outbox.services.queue_message, for bulk_create.
    return OutgoingMail(
        created_at=timezone.now(),
        template=template,
        to=to.strip(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        subject=" ".join(subject.split())[:998],
        body=body,
        message_id=make_msgid(domain=domain),
        next_attempt_at=when,
    )


def _domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "sekispe.invalid"


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ------------------------------------------------------------ bulk invitations


@dataclass(frozen=True)
class InvitationFilters:
    status: str = RegistryStatus.ACTIVE
    cohort: str = ""  # "2024-04" or "2024-10": the registration day's year and month
    prefecture: str = ""
    expires_from: dt.date | None = None
    expires_to: dt.date | None = None
    no_account: bool = True
    no_listing: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("expires_from", "expires_to"):
            data[name] = data[name].isoformat() if data[name] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InvitationFilters:
        values = dict(data)
        for name in ("expires_from", "expires_to"):
            values[name] = dt.date.fromisoformat(values[name]) if values.get(name) else None
        return cls(**values)


def matching_records(filters: InvitationFilters) -> QuerySet[RegistryRecord]:
    """Every record the filters select, invitable or not."""
    records = RegistryRecord.objects.all()
    if filters.status:
        records = records.filter(status=filters.status)
    if filters.cohort:
        year, month = filters.cohort.split("-")
        records = records.filter(registered_on__year=int(year), registered_on__month=int(month))
    if filters.prefecture:
        records = records.filter(home_prefecture_id=filters.prefecture)
    if filters.expires_from:
        records = records.filter(expires_on__gte=filters.expires_from)
    if filters.expires_to:
        records = records.filter(expires_on__lte=filters.expires_to)
    if filters.no_account:
        records = records.filter(account__isnull=True)
    if filters.no_listing:
        records = records.filter(listing__isnull=True)
    return records


def invitable(records: QuerySet[RegistryRecord], now: dt.datetime) -> QuerySet[RegistryRecord]:
    """The records an invitation can go to now: active, with an address, no
    account, and no invitation still valid (so a re-run invites nobody twice
    inside the validity window)."""
    live = Invitation.objects.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).values("record_id")
    return (
        records.filter(status=RegistryStatus.ACTIVE, account__isnull=True)
        .exclude(email="")
        .exclude(pk__in=live)
    )


@dataclass(frozen=True)
class InvitationPreview:
    matching: int
    invitable: int
    sample: list[RegistryRecord]
    per_hour: int

    @property
    def hours(self) -> float:
        return round(self.invitable / self.per_hour, 1)


def preview_invitations(filters: InvitationFilters) -> InvitationPreview:
    now = timezone.now()
    records = matching_records(filters)
    targets = invitable(records, now).order_by("pk")
    return InvitationPreview(
        matching=records.count(),
        invitable=targets.count(),
        sample=list(targets.select_related("home_prefecture")[:SAMPLE_SIZE]),
        per_hour=mail_per_hour(),
    )


def start_invitation_run(
    filters: InvitationFilters,
    *,
    actor: User | None,
    description: str = "",
    queued: bool = True,
) -> BulkInvitationRun:
    """Record a bulk invitation. Queued (the page): `sekispe worker` takes it
    (`run_pending_invitations`). Not queued (the command): the caller holds it
    as running and calls `run_invitations` itself."""
    if actor is not None and not actor.is_operator:
        raise OnboardingError(_("一斉招待を行えるのは運営者だけです。"))
    # The run walks every matching record (`processed` counts up to `total`);
    # the invitable ones are invited, the rest counted as skipped.
    total = matching_records(filters).count()
    if not invitable(matching_records(filters), timezone.now()).exists():
        raise OnboardingError(_("条件に合う、招待できる登録セキスペがいません。"))
    with transaction.atomic():
        run = BulkInvitationRun.objects.create(
            created_by=actor,
            filters=filters.to_json(),
            description=description,
            total=total,
            state=RunState.QUEUED if queued else RunState.RUNNING,
        )
        record_event(
            "onboarding.bulk_invite_started",
            actor=actor,
            actor_label="" if actor else "invite-registrants",
            target_type="bulk_invitation_run",
            target_id=run.pk,
            data={"filters": run.filters, "total": total},
        )
    return run


def run_invitations(
    run: BulkInvitationRun,
    *,
    batch_size: int = INVITE_BATCH,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BulkInvitationRun:
    """Invite everyone the run selects, batch by batch; safe to call again to resume.

    The caller holds the run (`claim_run`, or it started it unqueued); each
    batch renews the heartbeat that keeps other workers off it. When
    `should_stop` turns true (the worker's SIGTERM) the run goes back to the
    queue after the batch in hand, for the next worker to continue."""
    filters = InvitationFilters.from_json(run.filters)
    valid = dt.timedelta(days=settings.INVITATION_VALID_DAYS)
    domain = _domain()
    while True:
        if should_stop():
            BulkInvitationRun.objects.filter(pk=run.pk, state=RunState.RUNNING).update(
                state=RunState.QUEUED
            )
            run.refresh_from_db()
            return run
        now = timezone.now()
        with transaction.atomic():
            run = BulkInvitationRun.objects.get(pk=run.pk)
            if run.state == RunState.DONE:
                return run
            ids = list(
                matching_records(filters)
                .filter(pk__gt=run.last_record_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                run.state, run.finished_at, run.heartbeat_at = RunState.DONE, now, now
                run.save(update_fields=["state", "finished_at", "heartbeat_at"])
                record_event(
                    "onboarding.bulk_invite_finished",
                    actor=run.created_by,
                    target_type="bulk_invitation_run",
                    target_id=run.pk,
                    data={"invited": run.invited, "skipped": run.skipped},
                )
                return run
            targets = invitable(RegistryRecord.objects.filter(pk__in=ids), now)
            if connection.features.has_select_for_update:
                # Only this batch's rows, for the length of one short transaction:
                # an operator inviting one of them meanwhile waits that long.
                targets = targets.select_for_update(of=("self",))
            chosen = list(targets.order_by("pk").only("pk", "name", "email"))
            when = slots(schedule_start(now), len(chosen))
            invitations, mails = [], []
            for record, send_at in zip(chosen, when, strict=True):
                token = secrets.token_urlsafe(32)
                expires_at = send_at + valid  # valid for the full term from its sending
                invitations.append(
                    Invitation(
                        record_id=record.pk,
                        email=record.email,
                        token_hash=Invitation.hash_token(token),
                        created_by=run.created_by,
                        created_at=now,
                        expires_at=expires_at,
                    )
                )
                subject, body = render_templated(
                    INVITATION_TEMPLATE,
                    {
                        "name": record.name,
                        "url": site_url(f"/accounts/invitation/{token}/"),
                        "expires_at": expires_at,
                    },
                )
                mails.append(
                    _mail_row(record.email, subject, body, INVITATION_TEMPLATE, send_at, domain)
                )
            Invitation.objects.bulk_create(invitations)
            OutgoingMail.objects.bulk_create(mails)
            if chosen:
                record_event(
                    "onboarding.bulk_invite_batch",
                    actor=run.created_by,
                    target_type="bulk_invitation_run",
                    target_id=run.pk,
                    data={"records": [r.pk for r in chosen]},
                )
            run.last_record_id = ids[-1]
            run.processed += len(ids)
            run.invited += len(chosen)
            run.skipped += len(ids) - len(chosen)
            run.heartbeat_at = timezone.now()
            run.save(
                update_fields=["last_record_id", "processed", "invited", "skipped", "heartbeat_at"]
            )
        if progress:
            progress(len(ids))


def run_is_stalled(run: BulkInvitationRun, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return run.state == RunState.RUNNING and run.heartbeat_at < now - STALLED_AFTER


def _claim(
    model: type[BulkInvitationRun] | type[Mailing],
    *,
    waiting: str,
    working: str,
    now: dt.datetime,
    pk: int | None = None,
) -> Any:
    """Take a waiting row of `model`, or a working one whose worker stopped
    beating (a crash, a killed worker), as this process's; None when there is
    none (or `pk` is someone else's). A conditional UPDATE on the state and
    heartbeat read, so two workers never both take one."""
    candidates = model.objects.filter(
        Q(state=waiting) | Q(state=working, heartbeat_at__lt=now - STALLED_AFTER)
    )
    if pk is not None:
        candidates = candidates.filter(pk=pk)
    for found, state, heartbeat_at in candidates.order_by("pk").values_list(
        "pk", "state", "heartbeat_at"
    )[:10]:
        taken = model.objects.filter(pk=found, state=state, heartbeat_at=heartbeat_at).update(
            state=working, heartbeat_at=now
        )
        if taken:
            return model.objects.get(pk=found)
    return None


def claim_run(
    run_id: int | None = None, *, now: dt.datetime | None = None
) -> BulkInvitationRun | None:
    """Take a queued (or stalled) bulk invitation as this process's."""
    return _claim(
        BulkInvitationRun,
        waiting=RunState.QUEUED,
        working=RunState.RUNNING,
        now=now or timezone.now(),
        pk=run_id,
    )


def _work_through(
    claim: Callable[[], Any],
    work: Callable[..., Any],
    what: str,
    should_stop: Callable[[], bool],
) -> int:
    """Claim and work one item after another until none is left or the worker
    stops; an item that fails is logged and left to its ageing heartbeat, so
    this or another worker resumes it. Returns how many items it worked on."""
    worked = 0
    while not should_stop():
        item = claim()
        if item is None:
            break
        try:
            work(item, should_stop=should_stop)
        except Exception:
            logger.exception("%s %s failed", what, item.pk)
        worked += 1
    return worked


def run_pending_invitations(*, should_stop: Callable[[], bool] = lambda: False) -> int:
    """The worker's part: run every queued (or stalled) bulk invitation, one
    after another. Returns how many runs it worked on."""
    return _work_through(claim_run, run_invitations, "bulk invitation run", should_stop)


def requeue_stalled(run: BulkInvitationRun, now: dt.datetime | None = None) -> bool:
    """Put a stalled run back in the queue (the run page's button)."""
    now = now or timezone.now()
    return bool(
        BulkInvitationRun.objects.filter(
            pk=run.pk, state=RunState.RUNNING, heartbeat_at__lt=now - STALLED_AFTER
        ).update(state=RunState.QUEUED, heartbeat_at=now)
    )


def waiting_for_worker(run: BulkInvitationRun, now: dt.datetime | None = None) -> bool:
    """Queued longer than a worker takes to notice: no worker seems to be running."""
    now = now or timezone.now()
    return run.state == RunState.QUEUED and run.heartbeat_at < now - STALLED_AFTER


# ------------------------------------------------------------ mailings


@dataclass(frozen=True)
class Recipient:
    key: str
    email: str
    name: str
    record_id: int | None


def _active_records(today: dt.date) -> QuerySet[RegistryRecord]:
    return RegistryRecord.objects.filter(status=RegistryStatus.ACTIVE).exclude(email="")


def _missing_course_ids(today: dt.date) -> set[int]:
    """Active registrants whose common course of the current period year is
    neither done nor waived (the registry's own rules, `rules.renewal_status`)."""
    rows = list(_active_records(today).values_list("pk", "expires_on"))
    completions = completions_by_record(pk for pk, _e in rows)
    extensions = extensions_by_record()
    missing: set[int] = set()
    for pk, expires_on in rows:
        status = rules.renewal_status(expires_on, completions[pk], today, extensions.get(pk))
        requirement = rules.current_year_requirement(status)
        if requirement is not None and requirement.outstanding:
            missing.add(pk)
    return missing


def mailing_recipients(
    segment: str, kind: str, *, measure: DisasterMeasure | None = None, today: dt.date | None = None
) -> list[Recipient]:
    """Who a mailing to `segment` reaches, one per person, ordered."""
    today = today or timezone.localdate()
    if segment == Segment.PASSED_NOT_REGISTERED:
        return _applicants(today)
    records = _active_records(today)
    wanted: set[int] | None = None
    if segment == Segment.MISSING_COURSE:
        # Kept in Python: tens of thousands of ids in an IN () would pass
        # SQLite's limit on query parameters.
        wanted = _missing_course_ids(today)
    elif segment == Segment.DISASTER_AREA:
        if measure is None:
            raise OnboardingError(_("災害特例を選んでください。"))
        records = records.filter(home_prefecture__in=measure.prefectures.all())
    elif segment != Segment.ACTIVE:
        raise OnboardingError(_("宛先を選んでください。"))
    if kind == MailingKind.NEWS:
        records = records.filter(news_opt_out=False)
    return [
        Recipient(f"r{pk}", email, name, pk)
        for pk, email, name in records.order_by("pk").values_list("pk", "email", "name")
        if wanted is None or pk in wanted
    ]


def _applicants(today: dt.date) -> list[Recipient]:
    """People who passed the exam (not the exemption route), applied to register
    and are not registered: their application is still under review or was sent
    back, and no active registry record has their address. One per address, the
    latest application."""
    registered = set(
        RegistryRecord.objects.filter(status=RegistryStatus.ACTIVE)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    registered = {e.lower() for e in registered}
    seen: set[str] = set()
    found: list[Recipient] = []
    rows = (
        RegistrationApplication.objects.filter(
            qualification=Qualification.EXAM,
            status__in=[ApplicationStatus.SUBMITTED, ApplicationStatus.SENT_BACK],
        )
        .order_by("-submitted_at", "-pk")
        .values_list("pk", "email", "name")
    )
    for pk, email, name in rows:
        address = email.lower()
        if address in seen or address in registered:
            continue
        seen.add(address)
        found.append(Recipient(f"a{pk}", email, name, None))
    found.sort(key=lambda r: r.key)
    return found


def _unsubscribe_key(secret: str | None = None) -> bytes:
    secret = settings.SECRET_KEY if secret is None else secret
    return hashlib.sha256(f"{UNSUBSCRIBE_SALT}:{secret}".encode()).digest()


def unsubscribe_token(record_id: int, key: bytes | None = None) -> str:
    """ "<record id>-<128-bit keyed BLAKE2b>": no expiry (a link in an old mail
    keeps working) and cheap enough for 50,000 links per mailing
    (django.core.signing costs thirty times as much). Pass `key` when making many."""
    mac = hashlib.blake2b(
        str(record_id).encode(), key=key or _unsubscribe_key(), digest_size=16
    ).digest()
    return f"{record_id}-{mac.hex()}"


def record_for_unsubscribe(token: str) -> RegistryRecord | None:
    number, _sep, _mac = token.partition("-")
    if not number.isdigit() or len(number) > 18:
        return None
    # Links in mails sent before a key rotation keep working while the old key
    # is in SECRET_KEY_FALLBACKS, as Django's own signatures do.
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(
        constant_time_compare(unsubscribe_token(int(number), _unsubscribe_key(secret)), token)
        for secret in keys
    ):
        return None
    return RegistryRecord.objects.filter(pk=int(number)).first()


def unsubscribe(record: RegistryRecord) -> None:
    """Stop optional news for this registrant (from the signed link; no account needed)."""
    with transaction.atomic():
        changed = RegistryRecord.objects.filter(pk=record.pk, news_opt_out=False).update(
            news_opt_out=True
        )
        if changed:
            record_event(
                "onboarding.news_opt_out",
                actor_label="unsubscribe-link",
                target_type="registry_record",
                target_id=record.pk,
            )


UNSUBSCRIBE_MARK = "\x00UNSUBSCRIBE\x00"


def render_mailing(subject: str, body: str, kind: str, name: str = "") -> tuple[str, str]:
    """Subject and body as sent; news carries UNSUBSCRIBE_MARK where each
    recipient's own link goes (the template renders once per mailing)."""
    return render_templated(
        MAILING_TEMPLATE,
        {
            "subject": subject,
            "body": body,
            "news": kind == MailingKind.NEWS,
            "unsubscribe_url": UNSUBSCRIBE_MARK,
        },
    )


def preview_text(subject: str, body: str, kind: str) -> tuple[str, str]:
    """What a recipient sees, with a placeholder link (for the preview step)."""
    rendered_subject, rendered = render_mailing(subject, body, kind)
    return rendered_subject, rendered.replace(
        UNSUBSCRIBE_MARK, site_url("/mailings/unsubscribe/…/")
    )


def create_mailing(
    *,
    kind: str,
    segment: str,
    subject: str,
    body: str,
    measure: DisasterMeasure | None,
    actor: User | None,
) -> Mailing:
    if actor is not None and not actor.is_operator:
        raise OnboardingError(_("一斉メールを送れるのは運営者だけです。"))
    if segment == Segment.PASSED_NOT_REGISTERED and kind == MailingKind.NEWS:
        # Applicants have no registry record to keep an opt-out on.
        raise OnboardingError(_("登録していない合格者には、法定のお知らせだけを送れます。"))
    if segment == Segment.DISASTER_AREA and measure is None:
        raise OnboardingError(_("災害特例を選んでください。"))
    with transaction.atomic():
        mailing = Mailing.objects.create(
            kind=kind,
            segment=segment,
            subject=subject,
            body=body,
            measure=measure if segment == Segment.DISASTER_AREA else None,
            created_by=actor,
        )
        record_event(
            "onboarding.mailing",
            actor=actor,
            target_type="mailing",
            target_id=mailing.pk,
            data={"kind": kind, "segment": segment, "subject": subject},
        )
    return mailing


def queue_mailing(
    mailing: Mailing,
    *,
    batch_size: int = MAILING_BATCH,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Mailing:
    """One OutgoingMail and one MailingRecipient per person, in batches of bulk
    inserts. Calling it again (after a crash while queueing) adds only the
    people not queued yet.

    `sekispe worker` calls it for mailings sent from the page
    (`run_pending_mailings`); each batch renews the heartbeat that keeps other
    workers off it. When `should_stop` turns true (the worker's SIGTERM) the
    mailing goes back to waiting after the batch in hand."""
    started = time.perf_counter()
    Mailing.objects.filter(
        pk=mailing.pk, state__in=(MailingState.WAITING, MailingState.QUEUING)
    ).update(state=MailingState.QUEUING, heartbeat_at=timezone.now())
    recipients = mailing_recipients(mailing.segment, mailing.kind, measure=mailing.measure)
    done = set(MailingRecipient.objects.filter(mailing=mailing).values_list("key", flat=True))
    todo = [r for r in recipients if r.key not in done]
    subject, template_body = render_mailing(mailing.subject, mailing.body, mailing.kind)
    news = mailing.kind == MailingKind.NEWS
    domain = _domain()
    unsubscribe_base = site_url("/mailings/unsubscribe/")
    # Rows written without model instances (registry.imports' bulk writer:
    # executemany on SQLite, COPY on PostgreSQL), with ids reserved up front
    # so each recipient row names its mail: bulk_create cost ~80 µs a row.
    # Every column of the outbox row, defaults included, so a column added to
    # OutgoingMail later gets its default here too; this function sets the rest.
    defaults = _new_values(OutgoingMail, {}, timezone.now())
    columns = ["id", *defaults]
    at = {name: n for n, name in enumerate(columns)}
    datetime_columns = tuple(
        n
        for n, name in enumerate(columns)
        if OutgoingMail._meta.get_field(name).get_internal_type() == "DateTimeField"
    )
    mails_table = _Table(OutgoingMail, columns)
    recipients_table = _Table(MailingRecipient, RECIPIENT_COLUMNS)
    key = _unsubscribe_key()
    from_email = settings.DEFAULT_FROM_EMAIL
    single_subject = " ".join(subject.split())[:998]
    # One look for the last queued bulk mail; the batches then continue its slots.
    send_times = iter(slots(schedule_start(), len(todo)))
    for batch in _chunks(todo, batch_size):
        if should_stop():
            Mailing.objects.filter(pk=mailing.pk, state=MailingState.QUEUING).update(
                state=MailingState.WAITING
            )
            mailing.refresh_from_db()
            return mailing
        with transaction.atomic():
            now = timezone.now()
            when = [next(send_times) for _ in batch]
            ids = _allocate_ids(OutgoingMail, len(batch))
            mails, rows = [], []
            for recipient, send_at, mail_id in zip(batch, when, ids, strict=True):
                body, one_click = template_body, ""
                if news and recipient.record_id is not None:
                    token = unsubscribe_token(recipient.record_id, key)
                    body = body.replace(UNSUBSCRIBE_MARK, f"{unsubscribe_base}{token}/")
                    one_click = f"{unsubscribe_base}{token}/one-click/"
                values = [mail_id, *defaults.values()]
                values[at["created_at"]] = now
                values[at["template"]] = MAILING_TEMPLATE
                values[at["to"]] = recipient.email.strip()
                values[at["from_email"]] = from_email
                values[at["subject"]] = single_subject
                values[at["body"]] = body
                values[at["message_id"]] = make_msgid(domain=domain)
                values[at["list_unsubscribe"]] = one_click
                values[at["state"]] = MailState.QUEUED
                values[at["next_attempt_at"]] = send_at
                mails.append(values)
                rows.append(
                    (mailing.pk, recipient.key, recipient.record_id, recipient.email, mail_id)
                )
            _insert(mails_table, mails, datetime_columns=datetime_columns)
            _insert(recipients_table, rows)
            Mailing.objects.filter(pk=mailing.pk).update(heartbeat_at=timezone.now())
        if progress:
            progress(len(batch))
    total = MailingRecipient.objects.filter(mailing=mailing).count()
    elapsed = time.perf_counter() - started
    Mailing.objects.filter(pk=mailing.pk).update(
        state=MailingState.QUEUED,
        recipient_count=total,
        queued_at=timezone.now(),
        queue_seconds=round(elapsed, 3) if mailing.queue_seconds is None else mailing.queue_seconds,
    )
    mailing.refresh_from_db()
    return mailing


def claim_mailing(
    mailing_id: int | None = None, *, now: dt.datetime | None = None
) -> Mailing | None:
    """Take a waiting (or stalled) mailing as this process's."""
    return _claim(
        Mailing,
        waiting=MailingState.WAITING,
        working=MailingState.QUEUING,
        now=now or timezone.now(),
        pk=mailing_id,
    )


def run_pending_mailings(*, should_stop: Callable[[], bool] = lambda: False) -> int:
    """The worker's part: queue the mail of every waiting (or stalled) mailing,
    one after another. Returns how many mailings it worked on."""
    return _work_through(claim_mailing, queue_mailing, "queueing mailing", should_stop)


def mailing_is_stalled(mailing: Mailing, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return mailing.state == MailingState.QUEUING and mailing.heartbeat_at < now - STALLED_AFTER


def mailing_waits_for_worker(mailing: Mailing, now: dt.datetime | None = None) -> bool:
    """Waiting longer than a worker takes to notice: no worker seems to be running."""
    now = now or timezone.now()
    return mailing.state == MailingState.WAITING and mailing.heartbeat_at < now - STALLED_AFTER


def requeue_stalled_mailing(mailing: Mailing, now: dt.datetime | None = None) -> bool:
    """Put a stalled mailing back in the queue (the mailing page's button)."""
    now = now or timezone.now()
    return bool(
        Mailing.objects.filter(
            pk=mailing.pk, state=MailingState.QUEUING, heartbeat_at__lt=now - STALLED_AFTER
        ).update(state=MailingState.WAITING, heartbeat_at=now)
    )


def _insert(
    table: _Table, rows: list[tuple[Any, ...]], datetime_columns: tuple[int, ...] = ()
) -> None:
    """`table.insert`, but on SQLite with the datetimes written as Django stores
    them (naive UTC text) here, once per row, instead of through the field API."""
    if connection.vendor != "sqlite" or not rows:
        table.insert(rows)
        return
    if datetime_columns:
        converted = []
        for row in rows:
            values = list(row)
            for index in datetime_columns:
                if values[index] is not None:
                    values[index] = str(values[index].astimezone(dt.UTC).replace(tzinfo=None))
            converted.append(values)
        rows = converted
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in table.fields)
    placeholders = ", ".join(["%s"] * len(table.fields))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {qn(table.table)} ({columns}) VALUES ({placeholders})",  # noqa: S608 (names from the model)
            rows,
        )


def delivery_counts(mailing: Mailing) -> dict[str, int]:
    """Recipients per delivery state; a purged mail (OUTBOX_KEEP_SENT_DAYS) was sent."""
    counts = dict.fromkeys(MailState.values, 0)
    for state, n in _state_rows(mailing.recipients.all()):
        counts[state or MailState.SENT] += n
    return counts


def _state_rows(recipients: QuerySet[MailingRecipient]) -> Iterable[tuple[str | None, int]]:
    from django.db.models import Count

    return recipients.values_list("mail__state").annotate(n=Count("pk")).order_by()


def recipients_in_state(mailing: Mailing, state: str) -> QuerySet[MailingRecipient]:
    recipients = mailing.recipients.select_related("mail").order_by("pk")
    if state == MailState.SENT:
        return recipients.filter(Q(mail__state=state) | Q(mail__isnull=True))
    return recipients.filter(mail__state=state)
