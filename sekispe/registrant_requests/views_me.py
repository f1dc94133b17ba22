"""The specialist's registry page and requests (/me/registry/).

The record is always `request.user.record`: no URL or form carries a record
id, and a request id is looked up within the specialist's own record, so
another registrant's request is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sekispe.core.permissions import specialist_required
from sekispe.deemed.presentation import summary_for as deemed_summary_for
from sekispe.registrant_requests import kinds, services
from sekispe.registrant_requests.forms import ContactChangeForm, PublicationForm
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.registry.services import renewal_status_of


def _record(request: HttpRequest) -> RegistryRecord:
    record = request.user.record
    if record is None:
        raise Http404
    return record


def _contact_immediate() -> bool:
    return getattr(settings, "REGISTRY_CONTACT_CHANGES_APPLY_IMMEDIATELY", True)


def course_rows(status: Any) -> list[dict[str, Any]]:
    """The course table: each requirement with its state in words.

    `css` names the state's style: `course-done` (受講済み, みなし受講),
    `course-waived` (免除), `course-planned` (予定: its year has not begun),
    `course-pending` (未受講 but not yet past its due date) and
    `course-missing` (未受講 and past its due date; the row is `overdue`).
    """
    today = status.today
    rows = []
    for requirement in status.requirements:
        overdue = False
        if requirement.deemed:
            # Met by approved deemed attendance (みなし受講), not by a course.
            state = _("みなし受講により充足（%(date)s承認）") % {
                "date": kinds.ja_date(requirement.deemed_on)
            }
            css = "course-done"
        elif requirement.done:
            state, css = _("受講済み"), "course-done"
        elif requirement.waived:
            state, css = _("免除"), "course-waived"
        elif requirement.starts_on > today:
            # A later year's course: nothing is expected of it yet.
            state, css = _("予定"), "course-planned"
        elif requirement.due >= today:
            state = _("未受講（期限 %(date)s）") % {"date": kinds.ja_date(requirement.due)}
            css = "course-pending"
        else:
            state, css, overdue = _("未受講"), "course-missing", True
        rows.append({"requirement": requirement, "state": state, "css": css, "overdue": overdue})
    return rows


def _home(
    request: HttpRequest, record: RegistryRecord, *, error: str = "", status_code: int = 200
) -> HttpResponse:
    renewal = renewal_status_of(record)
    requests = list(record.requests.all())
    pending_renewal = next(
        (
            r
            for r in requests
            if r.kind == RequestKind.RENEWAL and r.status == RequestStatus.SUBMITTED
        ),
        None,
    )
    active = record.status == RegistryStatus.ACTIVE
    context = {
        "record": record,
        "active": active,
        "renewal": renewal,
        "course_rows": course_rows(renewal),
        "deemed": deemed_summary_for(record, request.user) if active else None,
        "measure": record.extension_measure,
        "pending_renewal": pending_renewal,
        "renewal_refusal": None if pending_renewal else services.renewal_refusal(record),
        "requests": requests,
        "kinds": kinds.specialist_kinds(),
        "contact_immediate": _contact_immediate(),
        "error": error,
    }
    return render(request, "registrant_requests/home.html", context, status=status_code)


@specialist_required
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home(request, _record(request))


@specialist_required
@require_POST
def renewal(request: HttpRequest) -> HttpResponse:
    record = _record(request)
    try:
        services.submit_request(record, RequestKind.RENEWAL, {}, actor=request.user)
    except services.RequestError as exc:
        return _home(request, record, error=exc.message, status_code=400)
    messages.success(
        request, _("更新申請を提出しました。事務局が確認し、結果をメールでお知らせします。")
    )
    return redirect("registrant:home")


def _initial(kind: str, record: RegistryRecord) -> dict[str, Any]:
    if kind == RequestKind.CONTACT_CHANGE:
        return ContactChangeForm.initial_for(record)
    if kind == RequestKind.PUBLICATION:
        return PublicationForm.initial_for(record)
    if kind == RequestKind.DETAILS_CHANGE:
        return {"name": record.name, "name_kana": record.name_kana}
    return {}


@specialist_required
@never_cache
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest, kind: str) -> HttpResponse:
    record = _record(request)
    spec = kinds.spec_for_slug(kind)
    if spec is None or not spec.filed_by_specialist:
        raise Http404
    form = spec.form_class(
        request.POST if request.method == "POST" else None,
        record=record,
        initial=_initial(spec.kind, record),
    )
    if request.method == "POST" and form.is_valid():
        try:
            req = services.submit_request(record, spec.kind, form.to_payload(), actor=request.user)
        except services.RequestError as exc:
            form.add_error(None, exc.message)
        else:
            if req.auto_applied:
                messages.success(request, _("連絡先を変更しました。"))
            else:
                messages.success(
                    request,
                    _("%(kind)sを提出しました。事務局が確認し、結果をメールでお知らせします。")
                    % {"kind": spec.label},
                )
            return redirect("registrant:request", req.pk)
    context = {
        "record": record,
        "spec": spec,
        "form": form,
        "open_request": services.open_request(record, spec.kind),
        "active": record.status == RegistryStatus.ACTIVE,
        "always_public": kinds.ALWAYS_PUBLIC,
        "contact_immediate": _contact_immediate(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "registrant_requests/new_request.html", context, status=status)


@specialist_required
@never_cache
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_object_or_404(RegistrantRequest, pk=pk, record=_record(request))
    context = {
        "req": req,
        "spec": kinds.spec_for(req.kind),
        "rows": services.describe_payload(req),
    }
    return render(request, "registrant_requests/request.html", context)
