from __future__ import annotations

from django.contrib import admin

from sekispe.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, even for superusers."""

    list_display = ("created_at", "action", "actor", "actor_label", "target_type", "target_id")
    list_filter = ("action",)
    search_fields = ("target_id", "actor_label")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
