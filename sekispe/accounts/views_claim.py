"""Claim pages (public, no account) and the operators' contact-change queue.

Thin: parse the form, call `accounts.claim`, redirect. A valid claim always
ends in the same redirect to the same page, whatever the number is.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.accounts import claim
from sekispe.accounts.forms_claim import ClaimForm, ContactChangeDecisionForm, ContactChangeForm
from sekispe.accounts.models import ContactChangeRequest, ContactChangeState
from sekispe.accounts.services import AccountError
from sekispe.core import ratelimit
from sekispe.core.permissions import operator_required

PAGE_SIZE = 50


def _limited(request: HttpRequest, decision: ratelimit.Decision) -> HttpResponse:
    response = render(request, "accounts/claim_limited.html", status=429)
    response["Retry-After"] = str(max(1, int(decision.retry_after.total_seconds())))
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def claim_page(request: HttpRequest) -> HttpResponse:
    """Public. Only the registration number is read from the POST."""
    form = ClaimForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            context = {"form": form, "valid_hours": claim.claim_valid_hours()}
            return render(request, "accounts/claim.html", context, status=400)
        decision = claim.claim_address_allowed(request)
        if not decision.allowed:
            return _limited(request, decision)
        claim.request_claim(form.cleaned_data["registration_number"])
        return redirect("accounts:claim_sent")
    return render(
        request, "accounts/claim.html", {"form": form, "valid_hours": claim.claim_valid_hours()}
    )


@require_GET
def claim_sent(request: HttpRequest) -> HttpResponse:
    """Public. The same page for every number."""
    return render(request, "accounts/claim_sent.html", {"valid_hours": claim.claim_valid_hours()})


@never_cache
@require_http_methods(["GET", "POST"])
def contact_change(request: HttpRequest) -> HttpResponse:
    """Public. Stored as typed for an operator; the answer never depends on the number."""
    form = ContactChangeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/claim_contact_change.html", {"form": form}, status=400)
        decision = claim.contact_change_address_allowed(request)
        if not decision.allowed:
            return _limited(request, decision)
        claim.submit_contact_change(**form.cleaned_data)
        return redirect("accounts:claim_contact_change_sent")
    return render(request, "accounts/claim_contact_change.html", {"form": form})


@require_GET
def contact_change_sent(request: HttpRequest) -> HttpResponse:
    """Public."""
    return render(request, "accounts/claim_contact_change_sent.html")


# ------------------------------------------------------------ operators


@operator_required
@require_GET
def ops_queue(request: HttpRequest) -> HttpResponse:
    show_closed = request.GET.get("state") == "closed"
    queryset = ContactChangeRequest.objects.all()
    if show_closed:
        queryset = queryset.exclude(state=ContactChangeState.OPEN).order_by("-handled_at", "-pk")
    else:
        queryset = queryset.filter(state=ContactChangeState.OPEN)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    open_total = ContactChangeRequest.objects.filter(state=ContactChangeState.OPEN).count()
    return render(
        request,
        "accounts/claim_ops_list.html",
        {"page": page, "show_closed": show_closed, "open_total": open_total},
    )


@operator_required
@require_http_methods(["GET", "POST"])
def ops_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ContactChangeRequest, pk=pk)
    form = ContactChangeDecisionForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            note = form.cleaned_data["note"]
            try:
                if form.cleaned_data["decision"] == ContactChangeDecisionForm.APPLY:
                    claim.apply_contact_change(item, actor=request.user, note=note)
                    messages.success(
                        request,
                        _(
                            "登録簿のメールアドレスを更新しました。アカウントがない場合は、新しいアドレスにアカウント作成用のリンクを送りました。"
                        ),
                    )
                else:
                    claim.dismiss_contact_change(item, actor=request.user, note=note)
                    messages.success(request, _("対応しないとして閉じました。"))
            except AccountError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("ops_contact_changes:list")
        status = 400
    context = {
        "item": item,
        "record": claim.record_for(item),
        "form": form,
        "is_open": item.state == ContactChangeState.OPEN,
    }
    return render(request, "accounts/claim_ops_detail.html", context, status=status)
