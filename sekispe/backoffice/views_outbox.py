"""The operators' view of the mail outbox: /ops/outbox/. Operator-only.

Shows what is waiting, what failed and what went out, with retry and cancel.
Bodies are never shown: they hold sign-in, reset and invitation links.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sekispe.core.permissions import operator_required
from sekispe.outbox.models import MailState, OutgoingMail
from sekispe.outbox.services import OutboxError, cancel_mail, outbox_health, retry_mail

PAGE_SIZE = 50
# Failed first: what needs an operator; then what is waiting.
DEFAULT_STATE = MailState.FAILED


@operator_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", DEFAULT_STATE)
    if state not in MailState.values:
        state = DEFAULT_STATE
    queryset = OutgoingMail.objects.filter(state=state).defer("body")
    if state in (MailState.QUEUED, MailState.SENDING):
        queryset = queryset.order_by("next_attempt_at", "pk")
    health = outbox_health()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    tabs = [(value, label, health.counts[value]) for value, label in MailState.choices]
    context = {"page": page, "state": state, "tabs": tabs, "oldest": health.oldest_queued_at}
    return render(request, "backoffice/outbox.html", context)


def _act(
    request: HttpRequest, mail_id: int, action: Callable[..., OutgoingMail], done: str
) -> HttpResponse:
    mail = get_object_or_404(OutgoingMail.objects.only("state"), pk=mail_id)
    try:
        mail = action(mail.pk, actor=request.user)
    except OutboxError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('backoffice:outbox')}?state={mail.state}")
    messages.success(request, done % {"to": mail.to})
    return redirect(f"{reverse('backoffice:outbox')}?state={mail.state}")


@operator_required
@require_POST
def outbox_retry(request: HttpRequest, mail_id: int) -> HttpResponse:
    return _act(
        request, mail_id, retry_mail, _("%(to)s 宛てのメールを再送の待ち行列に戻しました。")
    )


@operator_required
@require_POST
def outbox_cancel(request: HttpRequest, mail_id: int) -> HttpResponse:
    return _act(request, mail_id, cancel_mail, _("%(to)s 宛てのメールの送信を取り消しました。"))
