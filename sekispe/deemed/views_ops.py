"""The operators' deemed-attendance pages (/ops/deemed/). Every view is operator-only.

Operators may open any application, case or draw, so ids in URLs are fine
here; unknown ids are 404. Thin views: parse the form, call the service, show
a `DeemedRefused` as the form's error (400) or redirect with a message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sekispe.audit.models import AuditEvent
from sekispe.core.permissions import operator_required
from sekispe.deemed import presentation, services
from sekispe.deemed.forms_ops import (
    ALL,
    FLAG_ACTIVE_LIST,
    FLAG_AUDITED,
    FLAG_SIMILAR,
    FLAG_UNDER_AUDIT,
    PENDING,
    ApproveForm,
    AuditDrawForm,
    AuditOutcomeForm,
    CloseCaseForm,
    InformationForm,
    QueueFilterForm,
    RejectForm,
    RevokeRegistrationForm,
)
from sekispe.deemed.models import (
    PENDING_STATES,
    AuditDraw,
    AuditState,
    DeemedApplication,
    DeemedStatus,
    RevocationCase,
)
from sekispe.reference.models import GuidanceTheme

PAGE_SIZE = 50
# Fewer days than this to the renewal-application deadline are emphasised.
SOON_DAYS = 14
# States in which the deadline still matters: the application is not decided yet.
UNDECIDED = frozenset({DeemedStatus.AWAITING_CERTIFICATION, *PENDING_STATES})
DECIDED = frozenset({DeemedStatus.APPROVED, DeemedStatus.REJECTED, DeemedStatus.REVOKED})
# How much of each description the side-by-side comparison shows.
EXCERPT_CHARS = 400


# ------------------------------------------------------------------ the queue


@dataclass(frozen=True)
class Urgency:
    """Days to the deadline in words and a class; the words carry it, not the colour."""

    deadline: dt.date
    days_left: int
    undecided: bool
    # Approved, rejected or revoked (decided) rather than withdrawn or declined (ended).
    decided: bool = False

    @property
    def days_over(self) -> int:
        return -self.days_left

    @property
    def level(self) -> str:
        if not self.undecided:
            return "decided"
        if self.days_left < 0:
            return "overdue"
        if self.days_left <= SOON_DAYS:
            return "soon"
        return "normal"


def urgency_of(deadline: dt.date, status: str, today: dt.date) -> Urgency:
    return Urgency(deadline, (deadline - today).days, status in UNDECIDED, status in DECIDED)


@dataclass(frozen=True)
class QueueRow:
    application: DeemedApplication
    urgency: Urgency


def _filtered(form: QueueFilterForm, today: dt.date) -> QuerySet[DeemedApplication]:
    queryset = services.review_queue(today)
    if not form.is_valid():
        return queryset.none()
    status = form.cleaned_data["status"] or PENDING
    if status == PENDING:
        queryset = queryset.filter(status__in=PENDING_STATES)
    elif status != ALL:
        queryset = queryset.filter(status=status)
    item = form.cleaned_data["item"]
    if item.startswith("major-"):
        queryset = queryset.filter(syllabus_item__major_id=item.removeprefix("major-"))
    elif item:
        queryset = queryset.filter(syllabus_item_id=item)
    flag = form.cleaned_data["flag"]
    if flag == FLAG_SIMILAR:
        queryset = queryset.filter(similarity__isnull=False)
    elif flag == FLAG_ACTIVE_LIST:
        queryset = queryset.filter(confirmation__isnull=False)
    elif flag == FLAG_UNDER_AUDIT:
        queryset = queryset.filter(audit_state=AuditState.UNDER_AUDIT)
    elif flag == FLAG_AUDITED:
        queryset = queryset.exclude(audit_state=AuditState.NONE)
    return queryset


@operator_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    data = request.GET.copy()
    # The queue is for work to do: pending unless another status is asked for.
    data.setdefault("status", PENDING)
    form = QueueFilterForm(data)
    page = Paginator(_filtered(form, today), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [QueueRow(a, urgency_of(a.deadline, a.status, today)) for a in page.object_list]
    pending = services.review_queue(today).filter(status__in=PENDING_STATES)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "today": today,
        "soon_days": SOON_DAYS,
        "pending_total": pending.count(),
        "pending_soon": pending.filter(
            deadline__gte=today, deadline__lte=today + dt.timedelta(days=SOON_DAYS)
        ).count(),
        "pending_overdue": pending.filter(deadline__lt=today).count(),
        "open_cases": RevocationCase.objects.filter(state=RevocationCase.State.OPEN).count(),
        "under_audit": DeemedApplication.objects.filter(audit_state=AuditState.UNDER_AUDIT).count(),
    }
    status = 200 if form.is_valid() else 400
    return render(request, "deemed/ops_queue.html", context, status=status)


# ------------------------------------------------------------------ one application


def _application(pk: int) -> DeemedApplication:
    return get_object_or_404(
        DeemedApplication.objects.select_related(
            "record",
            "applicant",
            "syllabus_item__major",
            "similar_to__record",
            "similar_to__syllabus_item",
            "confirmation__confirmed_by",
            "audit_draw",
            "decided_by",
            "credit",
        ),
        pk=pk,
    )


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


@dataclass(frozen=True)
class EventRow:
    at: dt.datetime
    label: str
    who: str
    note: str


def _history(application: DeemedApplication) -> list[EventRow]:
    """Every DeemedEvent, naming the operator (the applicant's page does not)."""
    rows = []
    for event in application.events.select_related("actor").order_by("at", "id"):
        if event.actor is not None:
            who = event.actor.email
            if event.actor_id == application.applicant_id:
                who = _("申請者（%(email)s）") % {"email": who}
        else:
            who = event.actor_label or "—"
        label = presentation.EVENT_LABELS.get(event.action, event.action)
        rows.append(EventRow(event.at, str(label), who, event.note))
    return rows


def _audit_events(application: DeemedApplication) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(target_type="deemed_application", target_id=str(application.pk))
        .select_related("actor")
        .order_by("created_at", "id")
    )


def _case_of(application: DeemedApplication) -> RevocationCase | None:
    return RevocationCase.objects.filter(application=application).first()


def _detail_context(application: DeemedApplication, **forms_: forms.Form) -> dict[str, Any]:
    today = timezone.localdate()
    deadline = services.deadline_of(application)
    pending = application.status in PENDING_STATES
    context: dict[str, Any] = {
        "application": application,
        "record": application.record,
        "item": application.syllabus_item,
        "urgency": urgency_of(deadline, application.status, today),
        "past_deadline": today > deadline,
        "pending": pending,
        "can_request_info": application.status == DeemedStatus.SUBMITTED,
        "under_audit": application.audit_state == AuditState.UNDER_AUDIT,
        "certifications": list(application.certifications.order_by("created_at", "id")),
        "confirmation": application.confirmation,
        "confirmation_theme": (
            GuidanceTheme.objects.filter(code=application.confirmation.theme).first()
            if application.confirmation
            else None
        ),
        "similar": application.similar_to,
        "excerpt": _excerpt(application.description),
        "similar_excerpt": (
            _excerpt(application.similar_to.description) if application.similar_to else ""
        ),
        "history": _history(application),
        "audit_events": _audit_events(application),
        "case": _case_of(application),
        "approve_form": ApproveForm(prefix="approve"),
        "reject_form": RejectForm(prefix="reject"),
        "info_form": InformationForm(prefix="info"),
        "outcome_form": AuditOutcomeForm(prefix="audit"),
    }
    context.update(forms_)
    return context


@operator_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application(pk)
    return render(request, "deemed/ops_detail.html", _detail_context(application))


def _decide(
    request: HttpRequest,
    pk: int,
    form_class: type[forms.Form],
    prefix: str,
    context_name: str,
    act: Any,
    done: str,
) -> HttpResponse:
    """Bind the decision's form, call `act(application, cleaned_data)`, and
    redirect with `done`; a refusal comes back on the form (400)."""
    application = _application(pk)
    form = form_class(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            act(application, form.cleaned_data)
        except services.DeemedRefused as refusal:
            field = refusal.field if refusal.field in form.fields else None
            form.add_error(field, refusal.message)
        else:
            messages.success(request, done % {"ref": application.reference})
            return redirect("deemed_ops:detail", application.pk)
    application.refresh_from_db()
    context = _detail_context(application, **{context_name: form})
    context["error_form"] = form
    return render(request, "deemed/ops_detail.html", context, status=400)


@operator_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        ApproveForm,
        "approve",
        "approve_form",
        lambda a, data: services.approve(a, request.user, data["note"]),
        _("%(ref)s を承認しました。"),
    )


@operator_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        RejectForm,
        "reject",
        "reject_form",
        lambda a, data: services.reject(a, request.user, data["reason"]),
        _("%(ref)s を却下しました。"),
    )


@operator_required
@require_POST
def request_information(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        InformationForm,
        "info",
        "info_form",
        lambda a, data: services.request_information(a, request.user, data["question"]),
        _("%(ref)s について、申請者に追加情報を依頼しました。"),
    )


@operator_required
@require_POST
def audit_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        AuditOutcomeForm,
        "audit",
        "outcome_form",
        lambda a, data: services.record_audit_outcome(
            a,
            request.user,
            false_claim=data["outcome"] == AuditOutcomeForm.FALSE,
            note=data["note"],
        ),
        _("%(ref)s のサンプル調査の結果を記録しました。"),
    )


# ------------------------------------------------------------------ revocation cases


@operator_required
@require_GET
def cases(request: HttpRequest) -> HttpResponse:
    queryset = RevocationCase.objects.select_related(
        "application__record", "application__syllabus_item", "opened_by", "closed_by"
    ).order_by(
        # Open cases first, then the newest.
        Case(When(state=RevocationCase.State.OPEN, then=Value(0)), default=Value(1)),
        "-opened_at",
        "-id",
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deemed/ops_cases.html", {"page": page})


def _case(pk: int) -> RevocationCase:
    return get_object_or_404(
        RevocationCase.objects.select_related(
            "application__record",
            "application__syllabus_item__major",
            "application__audit_draw",
            "opened_by",
            "closed_by",
        ),
        pk=pk,
    )


def _case_context(case: RevocationCase, **forms_: forms.Form) -> dict[str, Any]:
    context: dict[str, Any] = {
        "case": case,
        "application": case.application,
        "record": case.application.record,
        "is_open": case.state == RevocationCase.State.OPEN,
        "revoke_form": RevokeRegistrationForm(prefix="revoke"),
        "close_form": CloseCaseForm(prefix="close"),
    }
    context.update(forms_)
    return context


@operator_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "deemed/ops_case.html", _case_context(_case(pk)))


def _case_action(
    request: HttpRequest,
    pk: int,
    form_class: type[forms.Form],
    prefix: str,
    context_name: str,
    act: Any,
    done: str,
) -> HttpResponse:
    case = _case(pk)
    form = form_class(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            act(case, form.cleaned_data)
        except services.DeemedRefused as refusal:
            field = refusal.field if refusal.field in form.fields else None
            form.add_error(field, refusal.message)
        else:
            messages.success(request, done % {"name": case.application.record.name})
            return redirect("deemed_ops:case", case.pk)
    case.refresh_from_db()
    case.application.record.refresh_from_db()
    context = _case_context(case, **{context_name: form})
    context["error_form"] = form
    return render(request, "deemed/ops_case.html", context, status=400)


@operator_required
@require_POST
def revoke_registration(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_action(
        request,
        pk,
        RevokeRegistrationForm,
        "revoke",
        "revoke_form",
        lambda case, data: services.revoke_registration(case, request.user, data["reason"]),
        _("%(name)sさんの登録を取り消しました（登録の状態：登録取消）。"),
    )


@operator_required
@require_POST
def close_case(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_action(
        request,
        pk,
        CloseCaseForm,
        "close",
        "close_form",
        lambda case, data: services.close_case(case, request.user, data["note"]),
        _("%(name)sさんの登録取消の手続を、取消をせずに終了しました。"),
    )


# ------------------------------------------------------------------ audit draws


@dataclass(frozen=True)
class DrawRow:
    draw: AuditDraw
    verified: bool
    applications: list[DeemedApplication]


def _draw_rows(draws: list[AuditDraw]) -> list[DrawRow]:
    ids = {pk for draw in draws for pk in draw.drawn}
    by_id = {a.pk: a for a in DeemedApplication.objects.filter(pk__in=ids).select_related("record")}
    return [
        DrawRow(
            draw,
            services.verify_draw(draw),
            [by_id[pk] for pk in draw.drawn if pk in by_id],
        )
        for draw in draws
    ]


def _audits_page(request: HttpRequest, form: AuditDrawForm, *, status: int = 200) -> HttpResponse:
    page = Paginator(AuditDraw.objects.order_by("-drawn_at", "-id"), 20).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "page": page,
        "rows": _draw_rows(list(page.object_list)),
        "population": len(services.audit_population()),
    }
    return render(request, "deemed/ops_audits.html", context, status=status)


@operator_required
@require_GET
def audits(request: HttpRequest) -> HttpResponse:
    return _audits_page(request, AuditDrawForm(initial=AuditDrawForm.initial_values()))


@operator_required
@require_POST
def draw(request: HttpRequest) -> HttpResponse:
    """Two steps: the first POST shows what would be drawn (the seed, the
    population, the sample) with a confirm button; the second records it."""
    form = AuditDrawForm(request.POST)
    if not form.is_valid():
        return _audits_page(request, form, status=400)
    rate, seed = form.cleaned_data["rate"], form.cleaned_data["seed"]
    try:
        population, drawn = services.preview_draw(rate, seed)
    except services.DeemedRefused as refusal:
        form.add_error("rate", refusal.message)
        return _audits_page(request, form, status=400)
    changed = form.cleaned_data["confirm"] and form.cleaned_data["population"] != len(population)
    if form.cleaned_data["confirm"] and not changed:
        try:
            recorded = services.draw_audit(rate, seed, actor=request.user)
        except services.DeemedRefused as refusal:
            form.add_error(None, refusal.message)
            return _audits_page(request, form, status=400)
        messages.success(
            request,
            _("抽出を記録しました（種 %(seed)s、母集団 %(n)s 件から %(k)s 件）。")
            % {"seed": recorded.seed, "n": len(recorded.population), "k": len(recorded.drawn)},
        )
        return redirect("deemed_ops:audits")
    confirm_form = AuditDrawForm(
        initial={"rate": rate, "seed": seed, "population": len(population), "confirm": True}
    )
    for name in ("rate", "seed"):
        confirm_form.fields[name].widget = forms.HiddenInput()
    preview = DeemedApplication.objects.filter(pk__in=drawn).select_related("record")
    context = {
        "rate": rate,
        "seed": seed,
        "population": len(population),
        "drawn": sorted(preview, key=lambda a: a.pk),
        "changed": changed,
        "form": confirm_form,
    }
    return render(request, "deemed/ops_audit_confirm.html", context)
