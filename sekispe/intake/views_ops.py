"""Operators' review of registration applications (/ops/applications/).
Every view is operator-only; operators may open any application, so ids in
URLs are fine here."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.core.permissions import operator_required
from sekispe.intake import services
from sekispe.intake.forms import DecisionForm, FilterForm, fiscal_year_label
from sekispe.intake.models import ApplicationStatus, RegistrationApplication
from sekispe.registry.models import PublishedItem

PAGE_SIZE = 50


@operator_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    # The queue is for work to do: open applications unless another state is asked for.
    data.setdefault("status", ApplicationStatus.SUBMITTED)
    form = FilterForm(data)
    status = form.cleaned_data["status"] if form.is_valid() else ApplicationStatus.SUBMITTED
    queryset = RegistrationApplication.objects.select_related("home_prefecture", "record")
    if status != "all":
        queryset = queryset.filter(status=status or ApplicationStatus.SUBMITTED)
    if status != ApplicationStatus.SUBMITTED:
        queryset = queryset.order_by("-submitted_at", "-pk")
    counts = dict(
        RegistrationApplication.objects.values_list("status").annotate(n=Count("pk")).order_by()
    )
    context = {
        "form": form,
        "page": Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page")),
        "counts": [(v, label, counts.get(v, 0)) for v, label in ApplicationStatus.choices],
    }
    return render(request, "intake/ops_list.html", context)


@operator_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(
        RegistrationApplication.objects.select_related(
            "home_prefecture", "employer_industry", "record", "decided_by"
        ),
        pk=pk,
    )
    form = DecisionForm()
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                if form.cleaned_data["decision"] == DecisionForm.APPROVE:
                    record = services.approve_application(application, actor=request.user)
                    done = _(
                        "%(name)sさんを登録しました（登録番号 %(number)s）。"
                        "登録のお知らせとアカウント作成の案内をメールで送ります。"
                    ) % {"name": application.name, "number": record.registration_number}
                else:
                    services.send_back_application(
                        application, actor=request.user, message=form.cleaned_data["message"]
                    )
                    done = _("%(name)sさんの申請を差し戻しました。") % {"name": application.name}
            except services.IntakeError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, done)
                return redirect("ops_applications:list")
    context = {
        "application": application,
        "form": form,
        "is_submitted": application.status == ApplicationStatus.SUBMITTED,
        "duplicates": services.possible_duplicates(application)
        if application.status == ApplicationStatus.SUBMITTED
        else [],
        "exam_label": fiscal_year_label(application.exam_year) if application.exam_year else "",
        "published": "、".join(
            str(PublishedItem(v).label)
            for v in application.published_items
            if v in PublishedItem.values
        ),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/ops_detail.html", context, status=status)
