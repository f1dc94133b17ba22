"""SECURITY ACTION declarations in the admin: read and delete only (a mistaken
entry a company asks to remove); companies record them under /diagnosis/security-action/,
so a declaration is never edited into something the company did not declare."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from sekispe.audit.admin_mixins import AuditedAdminMixin
from sekispe.diagnosis.models import SecurityActionDeclaration


@admin.register(SecurityActionDeclaration)
class SecurityActionDeclarationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "diagnosis"
    list_display = (
        "pk",
        "user",
        "level",
        "declared_on",
        "declaration_id",
        "prefecture",
        "created_at",
    )
    list_filter = ("level", "prefecture")
    search_fields = ("declaration_id", "user__email")
    list_select_related = ("user", "prefecture")
    date_hierarchy = "declared_on"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
