from __future__ import annotations

from typing import Any

from sekispe.audit.models import AuditEvent


def record_event(
    action: str,
    *,
    actor: Any = None,
    actor_label: str = "",
    target_type: str = "",
    target_id: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit record. Call inside the transaction that makes the change,
    so the record and the change commit or roll back together."""
    return AuditEvent.objects.create(
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label,
        target_type=target_type,
        target_id=str(target_id),
        data=data or {},
    )
