"""Links in e-mail. The mail itself is queued in `sekispe.outbox` and sent by the worker."""

from __future__ import annotations

from django.conf import settings


def site_url(path: str) -> str:
    """An absolute link; requests are not always at hand (daily jobs, the worker)."""
    return settings.SITE_URL.rstrip("/") + path
