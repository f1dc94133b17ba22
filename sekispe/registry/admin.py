from __future__ import annotations

from django.contrib import admin

from sekispe.audit.admin_mixins import AuditedAdminMixin
from sekispe.registry.models import CourseCompletion, RegistryRecord


class CourseInline(admin.TabularInline):
    model = CourseCompletion
    extra = 0


@admin.register(RegistryRecord)
class RegistryRecordAdmin(AuditedAdminMixin, admin.ModelAdmin):
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
    inlines = [CourseInline]
