"""Operators' news (お知らせ) shown on the start page."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NoticeQuerySet(models.QuerySet["Notice"]):
    def shown(self, now: dt.datetime) -> NoticeQuerySet:
        """Published by `now` and not past their last day (`until`, local date)."""
        today = timezone.localdate(now)
        return self.filter(published_at__lte=now).filter(
            Q(until__isnull=True) | Q(until__gte=today)
        )


class Notice(models.Model):
    """One item of news from the operators. The body is plain text: it is
    shown with line breaks kept and never interpreted as HTML."""

    title = models.CharField(_("見出し"), max_length=120)
    body = models.TextField(_("本文"), max_length=4000)
    published_at = models.DateTimeField(
        _("公開日時"),
        db_index=True,
        help_text=_("この日時からトップページに表示します。先の日時にすると予約になります。"),
    )
    until = models.DateField(
        _("表示の最終日"),
        null=True,
        blank=True,
        help_text=_("この日まで表示します。空欄にすると、ずっと表示します。"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("お知らせ")
        verbose_name_plural = _("お知らせ")

    def __str__(self) -> str:
        return self.title
