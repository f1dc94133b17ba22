"""History snapshots for bulk writes to registry records.

bulk_create and bulk_update send no signals, so simple-history writes nothing
for them; bulk writers call `snapshot_records` afterwards, once per written
record. (The registry imports write the same history rows from plain values
instead of model instances, for speed; see `sekispe.registry.imports`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sekispe.registry.models import RegistryRecord


def snapshot_records(
    records: Sequence[RegistryRecord], *, user: Any = None, reason: str = "", created: bool = False
) -> None:
    """One history row per record with its current fields ("+" when `created`, else "~")."""
    if not records:
        return
    user = user if getattr(user, "is_authenticated", False) else None
    RegistryRecord.history.bulk_history_create(
        list(records), update=not created, default_user=user, default_change_reason=reason[:100]
    )
