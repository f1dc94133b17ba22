"""The start page, the service's legal and help pages, and the operators'
notice pages (/ops/notices/, operator-only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.core.permissions import operator_required
from sekispe.pages.forms import NoticeForm
from sekispe.pages.models import Notice
from sekispe.pages.services import FIELDS, create_notice, latest_notices, update_notice

OPS_PAGE_SIZE = 50
# The day the privacy policy and the terms of use were last revised: change it
# with their wording.
REVISED_ON = dt.date(2026, 12, 4)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/home.html", {"notices": latest_notices()})


def _static_page(template: str) -> Callable[[HttpRequest], HttpResponse]:
    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        return render(
            request,
            template,
            {
                "accessibility_tested_on": settings.SEKISPE_ACCESSIBILITY_TESTED_ON,
                "contact_email": settings.SEKISPE_CONTACT_EMAIL,
                "revised_on": REVISED_ON,
            },
        )

    view.__name__ = template.rsplit("/", 1)[-1].removesuffix(".html")
    return view


privacy = _static_page("pages/privacy.html")
terms = _static_page("pages/terms.html")
accessibility = _static_page("pages/accessibility.html")
contact = _static_page("pages/contact.html")


@operator_required
@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(Notice.objects.all(), OPS_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = set(Notice.objects.shown(timezone.now()).values_list("pk", flat=True))
    return render(
        request,
        "pages/ops_notices.html",
        {"page": page, "shown": shown, "now": timezone.now()},
    )


@operator_required
@require_http_methods(["GET", "POST"])
def notice_new(request: HttpRequest) -> HttpResponse:
    form = NoticeForm(request.POST or None, initial={"published_at": timezone.localtime()})
    if request.method == "POST" and form.is_valid():
        create_notice(form.cleaned_data, actor=request.user)
        messages.success(request, _("お知らせを登録しました。"))
        return redirect("pages_ops:notices")
    return render(request, "pages/ops_notice_form.html", {"form": form, "notice": None})


@operator_required
@require_http_methods(["GET", "POST"])
def notice_edit(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = get_object_or_404(Notice, pk=notice_id)
    initial = {name: getattr(notice, name) for name in FIELDS}
    initial["published_at"] = timezone.localtime(notice.published_at)
    form = NoticeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if update_notice(notice.pk, form.cleaned_data, actor=request.user):
            messages.success(request, _("お知らせを更新しました。"))
        else:
            messages.info(request, _("変更された項目はありませんでした。"))
        return redirect("pages_ops:notices")
    return render(request, "pages/ops_notice_form.html", {"form": form, "notice": notice})
