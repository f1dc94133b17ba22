"""Admin edits of registry and listing data go to the audit log like any other write."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from sekispe.audit.services import record_event


class AuditedAdminMixin:
    """Records every admin save and delete as an AuditEvent, in the same transaction."""

    audit_prefix = ""

    def _audit(self, request: HttpRequest, verb: str, obj: Any, data: dict[str, Any]) -> None:
        record_event(
            f"{self.audit_prefix}.admin_{verb}",
            actor=request.user,
            target_type=obj._meta.model_name,
            target_id=str(obj.pk),
            data=data,
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            self._audit(
                request, "change" if change else "add", obj, {"fields": list(form.changed_data)}
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            self._audit(request, "delete", obj, {"repr": str(obj)})
            super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                self._audit(request, "delete", obj, {"repr": str(obj)})
            super().delete_queryset(request, queryset)  # type: ignore[misc]
