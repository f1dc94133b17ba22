"""Requests in the admin are read-only: a decision made here would skip the
audited workflow (`services.approve_request`), so operators decide under /ops/requests/."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from sekispe.registrant_requests.models import RegistrantRequest


@admin.register(RegistrantRequest)
class RegistrantRequestAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "record", "status", "fiscal_year", "submitted_at", "decided_at")
    list_filter = ("status", "kind", "fiscal_year", "auto_applied")
    search_fields = ("record__registration_number", "record__name", "record__name_kana")
    list_select_related = ("record",)
    readonly_fields = ("ops_link",)

    @admin.display(description=_("運営者画面"))
    def ops_link(self, obj: RegistrantRequest) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("ops_requests:detail", args=[obj.pk]),
            _("承認・却下は運営者画面で行います"),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
