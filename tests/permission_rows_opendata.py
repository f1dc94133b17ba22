"""Permission rows: the supply-and-demand map and the prefecture pages
(/insights/map/, /insights/prefectures/<code>/, analysts and operators) and
the open statistics (/statistics/ and /api/v1/statistics, everyone; issue 17).

All GET-only: a POST is 405 for whoever may GET (and for everyone on the
public routes); the map pages refuse everybody else before the method matters.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ALL_405, ANALYST_AND_OPERATOR, PUBLIC, Route

GET_ONLY = {**ANALYST_AND_OPERATOR, "analyst": 405, "operator": 405}

_MAP = (
    ("insights_map:map", "/insights/map/"),
    ("insights_map:map", "/insights/map/?measure=unmet"),
    ("insights_map:prefecture", "/insights/prefectures/13/"),
)
_STATISTICS = (
    ("opendata:index", "/statistics/"),
    ("opendata:table", "/statistics/supply.listed/"),
    ("opendata:table_csv", "/statistics/supply.listed.csv"),
    ("opendata:table_json", "/statistics/supply.listed.json"),
    ("api-v1:statistics_index", "/api/v1/statistics"),
    ("api-v1:statistics_table", "/api/v1/statistics/supply.listed"),
)

ROWS: tuple[Route, ...] = (
    *(Route(name, "GET", path, ANALYST_AND_OPERATOR) for name, path in _MAP),
    *(Route(name, "POST", path, GET_ONLY) for name, path in _MAP[::2]),
    *(Route(name, "GET", path, PUBLIC) for name, path in _STATISTICS),
    *(Route(name, "POST", path, ALL_405) for name, path in _STATISTICS),
)


def extend_world(world: dict[str, Any]) -> None:
    """The map and statistics routes take no ids (a prefecture code is public)."""
