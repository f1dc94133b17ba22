"""Operators' review of registrant requests (/ops/requests/). Every view is operator-only.

Operators may open any request or record, so ids in URLs are fine here;
unknown ids are 404. Thin views: parse the form, call the service, then
redirect or re-render with the error.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.core.permissions import operator_required
from sekispe.lib.dates import fiscal_year
from sekispe.registrant_requests import kinds, services
from sekispe.registrant_requests.forms import ALL, DeathForm, DecisionForm, QueueFilterForm
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registrant_requests.views_me import course_rows
from sekispe.registry.models import RegistryRecord
from sekispe.registry.services import renewal_status_of

PAGE_SIZE = 50


def _years() -> list[int]:
    years = set(
        RegistrantRequest.objects.values_list("fiscal_year", flat=True).distinct().order_by()
    )
    years.add(fiscal_year(timezone.localdate()))
    return sorted(years, reverse=True)


@operator_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    # The queue is for work to do: open requests unless another status is asked for.
    data.setdefault("status", RequestStatus.SUBMITTED)
    form = QueueFilterForm(data, years=_years())
    queryset = RegistrantRequest.objects.select_related("record")
    status = RequestStatus.SUBMITTED
    if form.is_valid():
        status = form.cleaned_data["status"] or RequestStatus.SUBMITTED
        if form.cleaned_data["kind"]:
            queryset = queryset.filter(kind=form.cleaned_data["kind"])
        if form.cleaned_data["fiscal_year"]:
            queryset = queryset.filter(fiscal_year=form.cleaned_data["fiscal_year"])
    else:
        queryset = queryset.none()
    if status != ALL:
        queryset = queryset.filter(status=status)
    # Open requests oldest first, like any queue; decided ones newest first.
    if status == RequestStatus.SUBMITTED:
        queryset = queryset.order_by("submitted_at", "pk")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    open_counts = dict(
        RegistrantRequest.objects.filter(status=RequestStatus.SUBMITTED)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    context = {
        "form": form,
        "page": page,
        "open_counts": [
            (value, label, open_counts.get(value, 0)) for value, label in RequestKind.choices
        ],
        "open_total": sum(open_counts.values()),
    }
    return render(request, "registrant_requests/ops_list.html", context)


def _detail_context(req: RegistrantRequest) -> dict[str, Any]:
    record = req.record
    context: dict[str, Any] = {
        "req": req,
        "record": record,
        "spec": kinds.spec_for(req.kind),
        "rows": services.describe_payload(req),
        "comparison": kinds.compare(req, record),
        "is_submitted": req.status == RequestStatus.SUBMITTED,
    }
    if req.kind == RequestKind.RENEWAL:
        renewal = renewal_status_of(record)
        context["renewal"] = renewal
        context["course_rows"] = course_rows(renewal)
    return context


@operator_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_object_or_404(
        RegistrantRequest.objects.select_related("record", "submitted_by", "decided_by"), pk=pk
    )
    form = DecisionForm()
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid():
            comment = form.cleaned_data["comment"]
            label = kinds.spec_for(req.kind).label
            try:
                if form.cleaned_data["decision"] == DecisionForm.APPROVE:
                    services.approve_request(req, actor=request.user, comment=comment)
                    done = _("%(name)sさんの%(kind)sを承認しました。")
                else:
                    services.reject_request(req, actor=request.user, comment=comment)
                    done = _("%(name)sさんの%(kind)sを却下しました。")
            except services.RequestError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, done % {"name": req.record.name, "kind": label})
                return redirect("ops_requests:list")
    context = {**_detail_context(req), "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "registrant_requests/ops_detail.html", context, status=status)


@operator_required
@require_http_methods(["GET", "POST"])
def death(request: HttpRequest, record_id: int) -> HttpResponse:
    record = get_object_or_404(RegistryRecord, pk=record_id)
    form = DeathForm(request.POST if request.method == "POST" else None, record=record)
    if request.method == "POST" and form.is_valid():
        try:
            req = services.submit_request(
                record, RequestKind.DEATH, form.to_payload(), actor=request.user
            )
        except services.RequestError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("死亡届を登録しました。内容を確認して、承認または却下してください。")
            )
            return redirect("ops_requests:detail", req.pk)
    context = {
        "record": record,
        "form": form,
        "open_request": services.open_request(record, RequestKind.DEATH),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "registrant_requests/ops_death.html", context, status=status)
