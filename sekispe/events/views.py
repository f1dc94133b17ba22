"""Consultation-event pages under /events/. Thin: parse, call `events.services`
(or `events.report`), render.

Who may use them: institution accounts, for their own events only — every
event and participant is looked up through `services.event_for(user, pk)` /
`services.participant_for(...)`, so another institution's ids are a 404. Other
roles get 403, anonymous visitors the login page. The one public page is the
sign-up link `/events/join/<token>/`, rate-limited per client address; it shows
the event and never its participants.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sekispe.accounts.models import Role
from sekispe.audit.services import record_event
from sekispe.core import ratelimit
from sekispe.core.permissions import role_required
from sekispe.diagnosis.services import EMPLOYEE_BANDS
from sekispe.events import forms, report, services
from sekispe.events.models import ConsultationEvent, EventParticipant
from sekispe.inquiries.forms import theme_label
from sekispe.reference import data
from sekispe.reports import exports
from sekispe.reports.charts import bar_chart

institution_required = role_required(Role.INSTITUTION)
# (count, seconds): sign-ups per client address through public links. A whole
# event may share one address (a chamber's hall Wi-Fi), so it is generous.
DEFAULT_SIGNUPS_PER_IP = (60, 3600)


# ------------------------------------------------------------------ helpers


def _event(request: HttpRequest, pk: int) -> ConsultationEvent:
    try:
        return services.event_for(request.user, pk)
    except LookupError:
        raise Http404 from None


def _participant(request: HttpRequest, pk: int, participant_pk: int) -> EventParticipant:
    try:
        return services.participant_for(request.user, pk, participant_pk)
    except LookupError:
        raise Http404 from None


def _themes(codes: list[int]) -> list[str]:
    return [theme_label(int(c)) for c in codes]


def _prefecture_name(code: str) -> str:
    return next((p.name for p in data.PREFECTURES if p.code == code), code)


def _signup_rule() -> ratelimit.Limit:
    count, seconds = getattr(settings, "EVENT_SIGNUPS_PER_IP", DEFAULT_SIGNUPS_PER_IP)
    return ratelimit.Limit(count, dt.timedelta(seconds=seconds))


def _private(response: HttpResponse) -> HttpResponse:
    """The sign-up page is reached by its link alone: keep it out of search
    engines, shared caches and other sites' Referer headers."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    # Not "no-referrer": browsers then send `Origin: null` with the page's own
    # forms, which CSRF protection rightly refuses. "same-origin" (the site's
    # default) already keeps the link out of other sites' Referer headers.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


# ------------------------------------------------------------------- events


@institution_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The institution's events, newest first, and the way to create one."""
    today = timezone.localdate()
    events = list(services.events_with_counts(request.user))
    for event in events:
        event.theme_labels = _themes(event.themes)
    context = {
        "upcoming": [e for e in events if e.held_on >= today],
        "past": [e for e in events if e.held_on < today],
    }
    return render(request, "events/index.html", context)


@institution_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = forms.EventForm(request.POST)
        if form.is_valid():
            try:
                event = services.create_event(request.user, form.details())
            except services.EventRefused as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(
                    request,
                    _("相談会を作成しました。申し込みリンクを参加企業に共有できます。"),
                )
                return redirect("events:detail", pk=event.pk)
        return render(request, "events/form.html", {"form": form}, status=400)
    return render(request, "events/form.html", {"form": forms.EventForm()})


@institution_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    if request.method == "POST":
        form = forms.EventForm(request.POST)
        if form.is_valid():
            try:
                services.update_event(event, request.user, form.details())
            except services.EventRefused as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, _("相談会の内容を更新しました。"))
                return redirect("events:detail", pk=event.pk)
        return render(request, "events/form.html", {"form": form, "event": event}, status=400)
    form = forms.EventForm(initial=forms.EventForm.initial_from(event))
    return render(request, "events/form.html", {"form": form, "event": event})


def _participant_rows(event: ConsultationEvent) -> list[dict[str, Any]]:
    participants = event.participants.prefetch_related(
        "consultations", "referrals__inquiry__listing__record"
    )
    return [
        {
            "p": p,
            "prefecture": _prefecture_name(p.prefecture),
            "themes": _themes(p.themes),
            "consultations": len(p.consultations.all()),
            "referrals": [
                {"name": r.inquiry.listing.record.name, "state": r.inquiry.get_state_display()}
                for r in p.referrals.all()
            ],
        }
        for p in participants
    ]


def _detail_response(
    request: HttpRequest,
    event: ConsultationEvent,
    form: forms.ParticipantForm | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    rows = _participant_rows(event)
    context = {
        "event": event,
        "themes": _themes(event.themes),
        "rows": rows,
        "seats_left": max(0, event.capacity - len(rows)),
        "signup_url": request.build_absolute_uri(reverse("events:join", args=[event.signup_token])),
        "signup_closed": services.signup_closed(event),
        "form": form or forms.ParticipantForm(event=event),
    }
    return render(request, "events/detail.html", context, status=status)


@institution_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The event, its sign-up link, its participants and the form to register one."""
    return _detail_response(request, _event(request, pk))


@institution_required
@require_POST
def register(request: HttpRequest, pk: int) -> HttpResponse:
    """The staff registers a company for the event."""
    event = _event(request, pk)
    form = forms.ParticipantForm(request.POST, event=event)
    if not form.is_valid():
        return _detail_response(request, event, form, status=400)
    try:
        participant = services.register_participant(request.user, event, form.details())
    except services.EventRefused as refused:
        form.add_error(None, refused.message)
        status = 409 if refused.code in ("full", "duplicate") else 400
        return _detail_response(request, event, form, status=status)
    messages.success(
        request, _("%(name)sを参加企業に登録しました。") % {"name": participant.company_name}
    )
    return redirect("events:detail", pk=event.pk)


# ------------------------------------------------------------- participants


def _referral_message(participant: EventParticipant) -> str:
    """The referral's opening line says what actually happened at the event."""
    facts = {
        "event": participant.event.title,
        "date": date_format(participant.event.held_on, _("Y年n月j日")),
    }
    if participant.consultations.exists():
        return (
            _(
                "%(event)s（%(date)s）で個別相談を受けた会社です。訪問指導についてご相談させてください。"
            )
            % facts
        )
    return (
        _(
            "%(event)s（%(date)s）に参加した会社です。情報セキュリティ対策についてご相談させてください。"
        )
        % facts
    )


def _participant_response(
    request: HttpRequest,
    participant: EventParticipant,
    *,
    consultation_form: forms.ConsultationForm | None = None,
    referral_form: forms.ReferralForm | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    shortlist = services.shortlist(participant)
    if referral_form is None:
        referral_form = forms.ReferralForm(
            shortlist=shortlist,
            participant=participant,
            initial={"message": _referral_message(participant)},
        )
    context = {
        "event": participant.event,
        "participant": participant,
        "prefecture": _prefecture_name(participant.prefecture),
        "industry": {c: ja for c, ja, _en in data.INDUSTRIES}.get(participant.industry, ""),
        "employees": dict(EMPLOYEE_BANDS).get(participant.employees, ""),
        "themes": _themes(participant.themes),
        "consultations": [
            {"c": c, "theme": theme_label(c.theme) if c.theme else ""}
            for c in participant.consultations.all()
        ],
        "referrals": [
            {"r": r, "theme": theme_label(r.inquiry.theme) if r.inquiry.theme else ""}
            for r in participant.referrals.select_related("inquiry__listing__record")
        ],
        "consultation_form": consultation_form or forms.ConsultationForm(),
        "referral_form": referral_form,
        "shortlist": [{**row, "theme_labels": _themes(row["themes"])} for row in shortlist],
        "refusal": refusal,
    }
    return render(request, "events/participant.html", context, status=status)


@institution_required
@require_GET
def participant(request: HttpRequest, pk: int, participant_pk: int) -> HttpResponse:
    """One company: its details, consultations and referrals, and the forms to add them."""
    return _participant_response(request, _participant(request, pk, participant_pk))


@institution_required
@require_POST
def consult(request: HttpRequest, pk: int, participant_pk: int) -> HttpResponse:
    """Record an individual consultation held at the event."""
    participant = _participant(request, pk, participant_pk)
    form = forms.ConsultationForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.record_consultation(
                request.user,
                participant,
                registration_number=d["registration_number"],
                theme=d["theme"],
                notes=d["notes"],
            )
        except services.EventRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("個別相談の記録を登録しました。"))
            return redirect("events:participant", pk=pk, participant_pk=participant.pk)
    return _participant_response(request, participant, consultation_form=form, status=400)


@institution_required
@require_POST
def refer(request: HttpRequest, pk: int, participant_pk: int) -> HttpResponse:
    """Refer the company to a specialist: sends an inquiry on its behalf."""
    participant = _participant(request, pk, participant_pk)
    form = forms.ReferralForm(
        request.POST, shortlist=services.shortlist(participant), participant=participant
    )
    if not form.is_valid() or form.listing is None:
        return _participant_response(request, participant, referral_form=form, status=400)
    try:
        referral = services.refer(request.user, participant, form.listing, form.request())
    except services.InquiryRefused as refused:
        if refused.code == "rate_limited":
            status = 429
        elif refused.code in ("duplicate", "full", "not_accepting", "not_listed"):
            status = 409
        else:
            status = 400
        return _participant_response(
            request, participant, referral_form=form, refusal=refused.message, status=status
        )
    except services.EventRefused as refused:
        return _participant_response(
            request, participant, referral_form=form, refusal=refused.message, status=400
        )
    messages.success(
        request,
        _("%(company)sを%(name)sさんに紹介しました。返答があるとメールでお知らせします。")
        % {
            "company": participant.company_name,
            "name": referral.inquiry.listing.record.name,
        },
    )
    return redirect("events:participant", pk=pk, participant_pk=participant.pk)


@institution_required
@require_GET
def referrals(request: HttpRequest) -> HttpResponse:
    """Every referral from the institution's events, with its inquiry's state."""
    rows = [
        {
            "r": r,
            "theme": theme_label(r.inquiry.theme) if r.inquiry.theme else "",
            "state": r.inquiry.get_state_display(),
        }
        for r in services.referrals_for(request.user)
    ]
    return render(request, "events/referrals.html", {"rows": rows})


# ------------------------------------------------------------------ reports


def _report_context(built: report.EventReport) -> dict[str, Any]:
    tables = []
    for table in built.report.tables:
        rows = [[(cell, isinstance(cell, int)) for cell in row] for row in table.rows]
        total = [(cell, isinstance(cell, int)) for cell in table.total] if table.total else None
        chart = bar_chart(f"chart-{table.key}", table.title, table.chart) if table.chart else None
        tables.append({"table": table, "rows": rows, "total": total, "chart": chart})
    return {"report": built.report, "counts": built.counts, "tables": tables}


def _xlsx(request: HttpRequest, built: report.EventReport, target_id: Any) -> HttpResponse:
    filename = f"{built.report.filename_stem}.xlsx"
    # The workbook names companies and their contacts: who took a copy is worth knowing.
    record_event(
        "event.export",
        actor=request.user,
        target_type="consultation_event",
        target_id=target_id,
        data={"format": "xlsx", "filename": filename},
    )
    response = HttpResponse(exports.to_xlsx(built.report), content_type=exports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@institution_required
@require_GET
@never_cache
def event_report(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    context = _report_context(report.event_report(event))
    context.update(event=event, xlsx_url=reverse("events:report_xlsx", args=[event.pk]))
    return render(request, "events/report.html", context)


@institution_required
@require_GET
@never_cache
def event_report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    return _xlsx(request, report.event_report(event), event.pk)


@institution_required
@require_GET
@never_cache
def overall_report(request: HttpRequest) -> HttpResponse:
    """Every event of the institution in one report."""
    context = _report_context(report.overall_report(list(services.events_for(request.user))))
    context.update(event=None, xlsx_url=reverse("events:overall_report_xlsx"))
    return render(request, "events/report.html", context)


@institution_required
@require_GET
@never_cache
def overall_report_xlsx(request: HttpRequest) -> HttpResponse:
    built = report.overall_report(list(services.events_for(request.user)))
    return _xlsx(request, built, "all")


# ------------------------------------------------------------ public sign-up


def _join_response(
    request: HttpRequest,
    event: ConsultationEvent,
    *,
    form: forms.ParticipantForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = {
        "event": event,
        "themes": _themes(event.themes),
        "closed": services.signup_closed(event),
        "full": services.seats_left(event) == 0,
        "form": form,
        "organizer": event.owner.organization,
        **extra,
    }
    return _private(render(request, "events/join.html", context, status=status))


def _initial_for(user: Any) -> dict[str, str]:
    if getattr(user, "is_authenticated", False) and user.role == Role.SME:
        return {
            "company_name": user.organization,
            "contact_name": user.display_name,
            "email": user.email,
        }
    return {}


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """Public, to whoever holds the link: a company signs itself up. A signed-in
    SME account is linked to the sign-up."""
    try:
        event = services.event_by_token(token)
    except LookupError:
        raise Http404 from None
    linked = getattr(request.user, "is_authenticated", False) and request.user.role == Role.SME
    if request.method == "POST":
        form = forms.ParticipantForm(request.POST, event=event, public=True)
        if not form.is_valid():
            return _join_response(request, event, form=form, status=400, linked=linked)
        decision = ratelimit.hit(ratelimit.ip_key("event-signup", request), _signup_rule())
        if not decision.allowed:
            # The answers stay in the form: nothing typed is lost.
            response = _join_response(
                request, event, form=form, status=429, limited=True, linked=linked
            )
            response["Retry-After"] = str(max(1, int(decision.retry_after.total_seconds())))
            return response
        try:
            services.sign_up(event, form.details(), user=request.user)
        except services.EventRefused as refused:
            return _join_response(
                request, event, form=form, status=409, refusal=refused.message, linked=linked
            )
        return _join_response(request, event, done=True, linked=linked)
    form = forms.ParticipantForm(initial=_initial_for(request.user), event=event, public=True)
    return _join_response(request, event, form=form, linked=linked)
