"""The specialist's deemed-attendance pages (/me/deemed/).

The record is always `request.user.record`: no URL or form carries a record
id. An application or a confirmation id is looked up within the specialist's
own (`services.application_for`, `services.confirmation_for`), so anyone
else's is a 404. Thin views: parse the form, call the service, put a
`DeemedRefused` back on its field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sekispe.core.permissions import specialist_required
from sekispe.deemed import pdf, presentation, services
from sekispe.deemed.examples import EXAMPLES
from sekispe.deemed.forms import (
    OATH_ID,
    AnswerForm,
    ApplicationForm,
    ChooseItemForm,
    ConfirmationApplicationForm,
    EvidenceForm,
)
from sekispe.deemed.models import AuditState, DeemedApplication, DeemedStatus
from sekispe.inquiries.models import CompletionConfirmation
from sekispe.reference.models import GuidanceTheme, SyllabusItem, SyllabusMajor
from sekispe.registry.models import RegistryRecord


def _record(request: HttpRequest) -> RegistryRecord:
    record = request.user.record
    if record is None:
        raise Http404
    return record


def _application(request: HttpRequest, pk: int) -> DeemedApplication:
    _record(request)
    try:
        return services.application_for(request.user, pk)
    except DeemedApplication.DoesNotExist:
        raise Http404 from None


def _confirmation(request: HttpRequest, pk: int) -> CompletionConfirmation:
    _record(request)
    try:
        return services.confirmation_for(request.user, pk)
    except CompletionConfirmation.DoesNotExist:
        raise Http404 from None


def _period_context(record: RegistryRecord) -> dict[str, Any]:
    today = timezone.localdate()
    period = services.period_of(record)
    return {
        "record": record,
        "period": period,
        "days_left": (period.application_deadline - today).days,
        "refusal": services.refusal_to_apply(record, today),
    }


def examples_for(item: SyllabusItem) -> list[Any]:
    """The published examples (記載例) of the item's area (its major item)."""
    return [e for e in EXAMPLES if str(e.area) == item.major_id]


def _items() -> list[SyllabusItem]:
    return list(SyllabusItem.objects.select_related("major").order_by("major", "order"))


# ------------------------------------------------------------------ the list


@specialist_required
@never_cache
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    record = _record(request)
    applications = list(
        services.applications_of(record)
        .prefetch_related("certifications")
        .order_by("-created_at", "-pk")
    )
    rows = [
        {
            "application": a,
            "waiting": presentation.waiting_for(a),
            "counts": presentation.counts_for_period(a),
            # Unique ids per application; the field keeps its name for the action.
            "evidence_form": EvidenceForm(auto_id=f"id_{a.pk}_%s")
            if a.audit_state == AuditState.UNDER_AUDIT and not a.audit_evidence
            else None,
        }
        for a in applications
    ]
    confirmations = [
        {"confirmation": c, "items": services.candidate_items(c), "theme": _theme(c.theme)}
        for c in services.confirmations_for(request.user).select_related("inquiry")
    ]
    context = {
        **_period_context(record),
        "rows": rows,
        "confirmations": confirmations,
    }
    return render(request, "deemed/me_index.html", context)


def _theme(code: int) -> GuidanceTheme | None:
    return GuidanceTheme.objects.filter(code=code).first()


# ------------------------------------------------------------------ applying


@specialist_required
@never_cache
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """Step one (GET, no item): choose the sub-item. Step two (?item=…): the
    item's summary, knowledge, skills and examples, and the form."""
    record = _record(request)
    context = _period_context(record)
    code = request.POST.get("syllabus_item") if request.method == "POST" else None
    code = code or request.GET.get("item")
    if code is None:
        if request.method == "POST":  # a form without its sub-item: choose it first
            return _choose(request, context, ChooseItemForm({}), status=400)
        return _choose(request, context, ChooseItemForm())
    chooser = ChooseItemForm({"item": code})
    if not chooser.is_valid():
        return _choose(request, context, chooser, status=400)
    item = SyllabusItem.objects.select_related("major").get(code=chooser.cleaned_data["item"])
    if request.method == "POST":
        form = ApplicationForm(request.POST)
        if form.is_valid():
            try:
                application = services.apply(
                    request.user, form.work(), form.certifier(), oath=form.cleaned_data["oath"]
                )
            except services.DeemedRefused as refused:
                form.refuse(refused)
            else:
                messages.success(
                    request,
                    _(
                        "申請を受け付けました。証明者（%(email)s）に証明をお願いするメールを"
                        "送りました。証明されると、IPAの審査に進みます。"
                    )
                    % {"email": application.certifier_email},
                )
                return redirect("deemed_me:detail", application.pk)
    else:
        form = ApplicationForm(initial={"syllabus_item": item.code})
    context.update(
        {
            "form": form,
            "item": item,
            "examples": examples_for(item),
            "oath_text": services.OATH_TEXT,
            "oath_id": OATH_ID,
        }
    )
    status = 400 if request.method == "POST" else 200
    return render(request, "deemed/me_new.html", context, status=status)


def _choose(
    request: HttpRequest, context: dict[str, Any], chooser: ChooseItemForm, status: int = 200
) -> HttpResponse:
    items = _items()
    majors = [
        (major, [i for i in items if i.major_id == major.code])
        for major in SyllabusMajor.objects.order_by("code")
    ]
    context.update({"chooser": chooser, "majors": majors})
    return render(request, "deemed/me_choose.html", context, status=status)


@specialist_required
@never_cache
@require_http_methods(["GET", "POST"])
def from_confirmation(request: HttpRequest, confirmation_id: int) -> HttpResponse:
    record = _record(request)
    confirmation = _confirmation(request, confirmation_id)
    items = services.candidate_items(confirmation)
    prefill = services.work_from_confirmation(confirmation)
    kwargs = {"items": items, "prefill": prefill}
    if request.method == "POST":
        form = ConfirmationApplicationForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                application = services.apply_from_confirmation(
                    request.user, confirmation, form.work(), oath=form.cleaned_data["oath"]
                )
            except services.DeemedRefused as refused:
                form.refuse(refused)
            else:
                messages.success(
                    request,
                    _(
                        "申請を受け付けました。会社の完了確認が証明となるため、"
                        "このままIPAの審査に進みます。"
                    ),
                )
                return redirect("deemed_me:detail", application.pk)
    else:
        initial = {"syllabus_item": items[0].code} if len(items) == 1 else {}
        form = ConfirmationApplicationForm(initial=initial, **kwargs)
    majors = {i.major_id for i in items}
    context = {
        **_period_context(record),
        "form": form,
        "confirmation": confirmation,
        "theme": _theme(confirmation.theme),
        "items": items,
        "prefill": prefill,
        "examples": [e for e in EXAMPLES if str(e.area) in majors],
        "oath_text": services.OATH_TEXT,
        "oath_id": OATH_ID,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "deemed/me_from_confirmation.html", context, status=status)


# ------------------------------------------------------------------ one application


def _detail(
    request: HttpRequest,
    application: DeemedApplication,
    *,
    answer_form: AnswerForm | None = None,
    evidence_form: EvidenceForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    can_answer = application.status == DeemedStatus.INFO_REQUESTED
    needs_evidence = (
        application.audit_state == AuditState.UNDER_AUDIT and not application.audit_evidence
    )
    context = {
        "application": application,
        "item": application.syllabus_item,
        "waiting": presentation.waiting_for(application),
        "history": presentation.history(application),
        "certifications": list(application.certifications.all()),
        "can_withdraw": application.status in presentation.WITHDRAWABLE,
        "can_resend": application.status == DeemedStatus.AWAITING_CERTIFICATION,
        "answer_form": (answer_form or AnswerForm()) if can_answer else None,
        "evidence_form": (evidence_form or EvidenceForm()) if needs_evidence else None,
        "counts": presentation.counts_for_period(application),
        "error": error,
    }
    return render(request, "deemed/me_detail.html", context, status=status)


@specialist_required
@never_cache
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _application(request, pk))


@specialist_required
@never_cache
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation step (works without JavaScript); POST: withdraw."""
    application = _application(request, pk)
    if request.method == "POST":
        try:
            services.withdraw(request.user, application)
        except services.DeemedRefused as refused:
            return _detail(request, application, error=refused.message, status=400)
        messages.success(request, _("申請を取り下げました。"))
        return redirect("deemed_me:detail", application.pk)
    context = {
        "application": application,
        "can_withdraw": application.status in presentation.WITHDRAWABLE,
    }
    return render(request, "deemed/me_withdraw.html", context)


def _one_answer(
    request: HttpRequest,
    pk: int,
    form_class: type[AnswerForm] | type[EvidenceForm],
    field: str,
    submit: Callable[[Any, DeemedApplication, str], DeemedApplication],
    done: str,
) -> HttpResponse:
    """The applicant's one answer (to a question, or to the sample audit)."""
    application = _application(request, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            submit(request.user, application, form.cleaned_data[field])
        except services.DeemedRefused as refused:
            if refused.field is None:
                return _detail(request, application, error=refused.message, status=400)
            form.refuse(refused)
        else:
            messages.success(request, done)
            return redirect("deemed_me:detail", application.pk)
    return _detail(request, application, status=400, **{f"{field}_form": form})


@specialist_required
@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    return _one_answer(
        request,
        pk,
        AnswerForm,
        "answer",
        services.answer_information,
        _("回答を送りました。申請は審査に戻りました。"),
    )


@specialist_required
@require_POST
def evidence(request: HttpRequest, pk: int) -> HttpResponse:
    return _one_answer(
        request,
        pk,
        EvidenceForm,
        "evidence",
        services.submit_audit_evidence,
        _("サンプル調査への回答を提出しました。"),
    )


@specialist_required
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application(request, pk)
    try:
        services.resend_certification(request.user, application)
    except services.DeemedRefused as refused:
        return _detail(request, application, error=refused.message, status=400)
    messages.success(
        request,
        _("証明者（%(email)s）に新しいリンクを送りました。以前に送ったリンクは使えなくなりました。")
        % {"email": application.certifier_email},
    )
    return redirect("deemed_me:detail", application.pk)


@specialist_required
@never_cache
@require_GET
def form_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application(request, pk)
    return pdf.response(application)
