from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from sekispe.audit.admin_mixins import AuditedAdminMixin
from sekispe.registry.models import CourseCompletion, RegistryRecord


class CourseInline(admin.TabularInline):
    model = CourseCompletion
    extra = 0


@admin.register(RegistryRecord)
class RegistryRecordAdmin(AuditedAdminMixin, SimpleHistoryAdmin):
    audit_prefix = "registry"
    list_display = (
        "registration_number",
        "name",
        "name_kana",
        "home_prefecture",
        "status",
        "registered_on",
        "expires_on",
        "renewal_count",
    )
    list_filter = ("status", "home_prefecture__block")
    search_fields = ("registration_number", "name", "name_kana")
    readonly_fields = ("ops_link",)
    inlines = [CourseInline]

    @admin.display(description=_("運営者画面"))
    def ops_link(self, obj: RegistryRecord) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("backoffice:record", args=[obj.pk]),
            _("招待の送信と変更履歴は運営者画面で行います"),
        )
