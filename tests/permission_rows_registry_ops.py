"""Permission rows: Operators' renewal list and disaster measures (/ops/renewals/, /ops/disasters/).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world` (it runs inside
the test database, after the personas and the core objects exist).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.permission_common import OPERATOR_ONLY, Route

# The role check answers first, so only operators learn that a measure is missing
# or that a method is not allowed.
OPERATOR_404 = {**OPERATOR_ONLY, "operator": 404}
OPERATOR_405 = {**OPERATOR_ONLY, "operator": 405}

ROWS: tuple[Route, ...] = (
    Route("ops_registry:renewals", "GET", "/ops/renewals/", OPERATOR_ONLY),
    Route(
        "ops_registry:renewals", "GET", "/ops/renewals/?courses=overdue&within=30", OPERATOR_ONLY
    ),
    Route("ops_registry:renewals", "POST", "/ops/renewals/", OPERATOR_405),
    Route("ops_registry:disasters", "GET", "/ops/disasters/", OPERATOR_ONLY),
    Route("ops_registry:disasters", "POST", "/ops/disasters/", OPERATOR_405),
    Route("ops_registry:disaster_new", "GET", "/ops/disasters/new/", OPERATOR_ONLY),
    Route("ops_registry:disaster_new", "POST", "/ops/disasters/new/", OPERATOR_ONLY),
    Route("ops_registry:disaster", "GET", "/ops/disasters/{disaster_id}/", OPERATOR_ONLY),
    Route("ops_registry:disaster", "GET", "/ops/disasters/{missing_disaster_id}/", OPERATOR_404),
    Route("ops_registry:disaster", "POST", "/ops/disasters/{disaster_id}/", OPERATOR_405),
)


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
    from sekispe.registry.models import DisasterMeasure

    measure = DisasterMeasure.objects.create(
        title="令和2年7月豪雨",
        deadline_from=dt.date(2020, 9, 30),
        deadline_to=dt.date(2020, 9, 30),
        new_deadline=dt.date(2020, 10, 29),
        created_by=world["users"]["operator"],
    )
    measure.prefectures.set(["43", "44"])
    world["disaster_id"] = measure.pk
    world["missing_disaster_id"] = measure.pk + 1000
