"""Operators' bulk invitation and mailing pages, and the public unsubscribe link.
Operators may see every run and mailing, so ids in URLs are fine here."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.core.permissions import operator_required
from sekispe.onboarding import services
from sekispe.onboarding.forms import InvitationFilterForm, MailingForm
from sekispe.onboarding.models import (
    BulkInvitationRun,
    Mailing,
    MailingKind,
    MailingState,
    RunState,
    Segment,
)
from sekispe.outbox.models import MailState

PAGE_SIZE = 50


@operator_required
@require_http_methods(["GET", "POST"])
def bulk_invitations(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    form = InvitationFilterForm(data or None, initial={"status": "active", "no_account": True})
    preview = None
    if form.is_bound and form.is_valid():
        if request.method == "POST":
            try:
                run = services.start_invitation_run(form.filters(), actor=request.user)
            except services.OnboardingError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "一斉招待を受け付けました。バックグラウンドで順に処理し、進み具合はこのページに表示されます。"
                    ),
                )
                return redirect("onboarding:run", run.pk)
        preview = services.preview_invitations(form.filters())
    context = {
        "form": form,
        "preview": preview,
        "runs": BulkInvitationRun.objects.select_related("created_by")[:20],
        "query": request.GET.urlencode(),
    }
    return render(request, "onboarding/bulk.html", context)


@operator_required
@require_http_methods(["GET", "POST"])
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BulkInvitationRun.objects.select_related("created_by"), pk=pk)
    stalled = services.run_is_stalled(run)
    if request.method == "POST":
        if stalled and services.requeue_stalled(run):
            messages.success(request, _("止まっていた一斉招待を、再開待ちにしました。"))
        return redirect("onboarding:run", run.pk)
    context = {
        "run": run,
        "stalled": stalled,
        "running": run.state in (RunState.QUEUED, RunState.RUNNING) and not stalled,
        "no_worker": services.waiting_for_worker(run),
        "percent": int(run.processed * 100 / run.total) if run.total else 100,
    }
    return render(request, "onboarding/run.html", context)


@operator_required
@require_GET
def mailings(request: HttpRequest) -> HttpResponse:
    page = Paginator(Mailing.objects.select_related("created_by"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "onboarding/mailings.html", {"page": page})


@operator_required
@require_http_methods(["GET", "POST"])
def mailing_new(request: HttpRequest) -> HttpResponse:
    form = MailingForm(request.POST or None, initial={"kind": MailingKind.NOTICE})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        step = request.POST.get("step", "preview")
        if step == "send":
            try:
                mailing = services.create_mailing(
                    kind=data["kind"],
                    segment=data["segment"],
                    subject=data["subject"],
                    body=data["body"],
                    measure=data["measure"],
                    actor=request.user,
                )
            except services.OnboardingError as exc:
                form.add_error(None, exc.message)
            else:
                # Writing each recipient's mail takes seconds at 50,000: the
                # worker does it (`services.run_pending_mailings`), not this request.
                messages.success(
                    request,
                    _(
                        "一斉メールを受け付けました。宛先ごとのメールはバックグラウンドで"
                        "送信待ちに登録します。進み具合はこのページで確認できます。"
                    ),
                )
                return redirect("onboarding:mailing", mailing.pk)
        if step != "edit" and form.is_valid():
            recipients = services.mailing_recipients(
                data["segment"], data["kind"], measure=data["measure"]
            )
            subject, body = services.preview_text(data["subject"], data["body"], data["kind"])
            context = {
                "form": form,
                "count": len(recipients),
                "segment_label": Segment(data["segment"]).label,
                "sample": recipients[: services.SAMPLE_SIZE],
                "preview_subject": subject,
                "preview_body": body,
                "per_hour": services.mail_per_hour(),
                "hours": round(len(recipients) / services.mail_per_hour(), 1),
            }
            return render(request, "onboarding/mailing_preview.html", context)
    return render(request, "onboarding/mailing_new.html", {"form": form})


@operator_required
@require_http_methods(["GET", "POST"])
def mailing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mailing = get_object_or_404(Mailing.objects.select_related("created_by", "measure"), pk=pk)
    stalled = services.mailing_is_stalled(mailing)
    if request.method == "POST":
        # Queueing stopped half-way (a crash): the worker adds the people not queued yet.
        if stalled and services.requeue_stalled_mailing(mailing):
            messages.success(request, _("止まっていた一斉メールの登録を、再開待ちにしました。"))
        return redirect("onboarding:mailing", mailing.pk)
    state = request.GET.get("state", "")
    if state not in MailState.values:
        state = ""
    recipients = (
        services.recipients_in_state(mailing, state)
        if state
        else mailing.recipients.select_related("mail").order_by("pk")
    )
    counts = services.delivery_counts(mailing)
    context = {
        "mailing": mailing,
        "stalled": stalled,
        "queuing": mailing.state != MailingState.QUEUED and not stalled,
        "no_worker": services.mailing_waits_for_worker(mailing),
        "registered": mailing.recipients.count(),
        "counts": [(value, label, counts[value]) for value, label in MailState.choices],
        "state": state,
        "page": Paginator(recipients, PAGE_SIZE).get_page(request.GET.get("page")),
    }
    return render(request, "onboarding/mailing_detail.html", context)


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link in every optional news mail: GET asks, POST stops the news."""
    record = services.record_for_unsubscribe(token)
    if record is None:
        raise Http404
    if request.method == "POST":
        services.unsubscribe(record)
        return render(request, "onboarding/unsubscribed.html")
    return render(request, "onboarding/unsubscribe.html", {"already": record.news_opt_out})


# The one view without CSRF protection, on purpose: RFC 8058's one-click POST
# comes from the mailbox provider's servers, with no cookie or form token. The
# recipient's signed token in the URL is what authorises it, and CSRF could add
# nothing an attacker lacks (they would need that token). The body must be
# exactly RFC 8058's, so no other form or link can trigger it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_one_click(request: HttpRequest, token: str) -> HttpResponse:
    """List-Unsubscribe target. POST `List-Unsubscribe=One-Click` stops the news;
    a GET (someone opening the header's link) goes to the page that asks."""
    record = services.record_for_unsubscribe(token)
    if record is None:
        raise Http404
    if request.method == "GET":
        return redirect("onboarding:unsubscribe", token=token)
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return HttpResponseBadRequest(
            "List-Unsubscribe=One-Click", content_type="text/plain; charset=utf-8"
        )
    services.unsubscribe(record)
    return render(request, "onboarding/unsubscribed.html")
