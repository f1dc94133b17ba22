"""Transactional e-mail: rendered from templates, sent after the transaction commits."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def send_templated(template: str, to: str, context: dict[str, Any]) -> None:
    """Render `emails/<template>_subject.txt` and `_body.txt` in Japanese and send.

    Sent on commit, so a rolled-back change never e-mails anybody.
    """

    def send() -> None:
        with translation.override("ja"):
            ctx = {"site_url": settings.SITE_URL.rstrip("/"), **context}
            subject = render_to_string(f"emails/{template}_subject.txt", ctx).strip()
            body = render_to_string(f"emails/{template}_body.txt", ctx)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])

    transaction.on_commit(send)
