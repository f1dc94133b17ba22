"""Permission rows: the policy pages (/insights/, issue 17).

Analysts and operators only; aggregates, no ids in any URL. Every page and
every CSV is GET-only: an analyst's or operator's POST is 405, everybody else
is refused before the method matters.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ANALYST_AND_OPERATOR, Route

GET_ONLY = {**ANALYST_AND_OPERATOR, "analyst": 405, "operator": 405}

_PAGES = (
    ("insights:overview", "/insights/"),
    ("insights:registrants", "/insights/registrants/"),
    ("insights:supply", "/insights/supply/"),
    ("insights:demand", "/insights/demand/"),
    ("insights:funnel", "/insights/funnel/"),
    ("insights:smes", "/insights/smes/"),
    ("insights:security_action", "/insights/security-action/"),
    ("insights:overview_csv", "/insights/overview.csv"),
    ("insights:registrants_csv", "/insights/registrants.csv"),
    ("insights:supply_csv", "/insights/supply.csv"),
    ("insights:demand_csv", "/insights/demand.csv"),
    ("insights:funnel_csv", "/insights/funnel.csv"),
    ("insights:smes_csv", "/insights/smes.csv"),
    ("insights:security_action_csv", "/insights/security-action.csv"),
)

ROWS: tuple[Route, ...] = (
    *(Route(name, "GET", path, ANALYST_AND_OPERATOR) for name, path in _PAGES),
    *(Route(name, "POST", path, GET_ONLY) for name, path in _PAGES),
)


def extend_world(world: dict[str, Any]) -> None:
    """The insight pages take no ids."""
