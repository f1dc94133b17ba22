"""What the permission matrix is made of, shared by tests/test_permissions.py
and the per-area row files (tests/permission_rows_*.py).

Expected cells:
- "ok": the role may use it (any status below 400, or 400 for an empty form);
- "login": anonymous, sent to the login page;
- "redirect": any redirect (the view ends the session);
- 403: signed in with the wrong role;
- 404: the object is not theirs or does not exist;
- 405: the method is not allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = (
    "anonymous",
    "sme",
    "institution",
    "analyst",
    "specialist",
    "other_specialist",
    "operator",
)
PUBLIC = dict.fromkeys(ROLES, "ok")
SIGNED_IN = {**dict.fromkeys(ROLES, "ok"), "anonymous": "login"}
SPECIALIST_ONLY = {
    "anonymous": "login",
    "sme": 403,
    "institution": 403,
    "analyst": 403,
    "specialist": "ok",
    "other_specialist": "ok",
    "operator": 403,
}
OPERATOR_ONLY = {**dict.fromkeys(ROLES, 403), "anonymous": "login", "operator": "ok"}
# The admin sends everybody but operators to its own login page.
ADMIN = {**dict.fromkeys(ROLES, "login"), "operator": "ok"}
# The policy pages (issue 17): policy staff and operators, aggregates only.
ANALYST_AND_OPERATOR = {**OPERATOR_ONLY, "analyst": "ok"}
NOBODY_404 = dict.fromkeys(ROLES, 404)
ALL_405 = dict.fromkeys(ROLES, 405)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    template: str
    expected: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, world: dict[str, Any]) -> str:
        return self.template.format(**world)
