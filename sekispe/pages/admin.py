from __future__ import annotations

from django.contrib import admin

from sekispe.audit.admin_mixins import AuditedAdminMixin
from sekispe.pages.models import Notice


@admin.register(Notice)
class NoticeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "notice"
    list_display = ("title", "published_at", "until", "updated_at")
    search_fields = ("title",)
