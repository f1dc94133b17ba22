from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from sekispe.audit.admin_mixins import AuditedAdminMixin
from sekispe.listings.models import (
    Listing,
    ListingCriteria,
    ListingRevision,
    ListingTransition,
    ServiceOffer,
)


class OfferInline(admin.TabularInline):
    model = ServiceOffer
    extra = 0


@admin.register(Listing)
class ListingAdmin(AuditedAdminMixin, SimpleHistoryAdmin):
    audit_prefix = "listings"
    list_display = ("record", "status", "availability", "first_free", "affiliation", "updated_at")
    list_filter = ("status", "availability", "first_free", "affiliation", "themes")
    search_fields = ("record__registration_number", "record__name", "record__name_kana")
    raw_id_fields = ("record",)
    filter_horizontal = ("prefectures", "themes", "syllabus_items", "industries", "periods")
    # Status moves only through the lifecycle services (review, suspension…),
    # which the back office at /ops/ calls; freshness counts from the specialist's edits.
    readonly_fields = ("status", "status_note", "updated_at", "ops_link")
    inlines = [OfferInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description=_("運営者画面"))
    def ops_link(self, obj: Listing) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("backoffice:listing", args=[obj.pk]),
            _("審査・掲載停止・変更履歴は運営者画面で行います"),
        )

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        # A revert would save an old snapshot's status and skip the lifecycle.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(ListingCriteria)
class ListingCriteriaAdmin(AuditedAdminMixin, SimpleHistoryAdmin):
    audit_prefix = "listings"
    list_display = ("__str__", "min_themes", "min_regions", "min_profile_chars", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row: ListingCriteria.current() creates it.
        return not ListingCriteria.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ListingTransition)
class ListingTransitionAdmin(admin.ModelAdmin):
    """Read-only: transitions are written by the lifecycle services only."""

    list_display = ("created_at", "listing", "from_status", "to_status", "actor_label", "note")
    list_filter = ("to_status", "from_status")
    search_fields = ("listing__record__registration_number", "actor_label")
    list_select_related = ("listing__record",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ListingRevision)
class ListingRevisionAdmin(ListingTransitionAdmin):
    """Read-only: gated changes are proposed and decided through the lifecycle only."""

    list_display = ("submitted_at", "listing", "status", "decided_at", "closed_at")
    list_filter = ("status",)
    search_fields = ("listing__record__registration_number",)
    list_select_related = ("listing__record",)
