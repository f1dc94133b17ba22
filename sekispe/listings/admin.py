from __future__ import annotations

from django.contrib import admin

from sekispe.audit.admin_mixins import AuditedAdminMixin
from sekispe.listings.models import Listing, ServiceOffer


class OfferInline(admin.TabularInline):
    model = ServiceOffer
    extra = 0


@admin.register(Listing)
class ListingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "listings"
    list_display = ("record", "availability", "first_free", "affiliation", "updated_at")
    list_filter = ("availability", "first_free", "affiliation", "themes")
    search_fields = ("record__registration_number", "record__name", "record__name_kana")
    raw_id_fields = ("record",)
    filter_horizontal = ("prefectures", "themes", "syllabus_items", "industries", "periods")
    inlines = [OfferInline]
