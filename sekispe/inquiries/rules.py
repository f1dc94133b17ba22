"""The inquiry state machine as data: which action moves which states, and who may take it.

Pure, so the whole table is tested without a database (tests/test_inquiry_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sekispe.inquiries.models import InquiryState as S

# The engagements that take one of the specialist's capacity slots.
OPEN_ENGAGEMENT = frozenset({S.ACCEPTED, S.CONSULTING, S.GUIDANCE_PLANNED, S.IN_GUIDANCE})
TERMINAL = frozenset({S.DECLINED, S.EXPIRED, S.CONFIRMED, S.CLOSED})
VISITS = 3
ANSWER_DAYS = 7

# Who may act: the specialist the inquiry was sent to, the company's side
# (the sender, or the SME account it was sent for), or the daily job.
SPECIALIST = "specialist"
CLIENT = "client"
SYSTEM = "system"


@dataclass(frozen=True)
class Action:
    name: str
    sources: frozenset[str]
    target: str
    actors: frozenset[str]


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("accept", frozenset({S.SENT}), S.ACCEPTED, frozenset({SPECIALIST})),
        Action("decline", frozenset({S.SENT}), S.DECLINED, frozenset({SPECIALIST})),
        Action("expire", frozenset({S.SENT}), S.EXPIRED, frozenset({SYSTEM})),
        Action("record_consultation", frozenset({S.ACCEPTED}), S.CONSULTING, frozenset({SPECIALIST})),
        Action("plan_guidance", frozenset({S.CONSULTING}), S.GUIDANCE_PLANNED, frozenset({SPECIALIST})),
        # The first recorded visit starts the guidance; the others keep it going.
        Action(
            "record_visit",
            frozenset({S.GUIDANCE_PLANNED, S.IN_GUIDANCE}),
            S.IN_GUIDANCE,
            frozenset({SPECIALIST}),
        ),
        Action("complete", frozenset({S.IN_GUIDANCE}), S.COMPLETED, frozenset({SPECIALIST})),
        Action("confirm", frozenset({S.COMPLETED}), S.CONFIRMED, frozenset({CLIENT})),
        Action(
            "close",
            frozenset(S) - TERMINAL,
            S.CLOSED,
            frozenset({SPECIALIST, CLIENT}),
        ),
    )
}  # fmt: skip


def allowed(action: str, state: str, actor: str) -> bool:
    rule = ACTIONS[action]
    return state in rule.sources and actor in rule.actors


def actions_for(state: str, actor: str) -> list[str]:
    """What this party can do now, in the table's order (for the page's buttons)."""
    return [
        name for name, rule in ACTIONS.items() if state in rule.sources and actor in rule.actors
    ]


def is_open_engagement(state: str) -> bool:
    return state in OPEN_ENGAGEMENT


# ------------------------------------------------------------------ the stepper

STEPS = 9  # 依頼, 受諾, 相談, 計画, 訪問 1–3, 完了, 確認


def steps_reached(state: str, visits_held: int) -> int:
    """How many of the nine steps are done, for the stepper.

    依頼 is done once sent; 訪問n once the n-th visit is recorded. A declined,
    expired or closed inquiry stops where it was: the caller shows no current step.
    """
    order = {
        "sent": 1,
        "accepted": 2,
        "consulting": 3,
        "guidance_planned": 4,
        "completed": 8,
        "confirmed": 9,
    }
    if state == "in_guidance":
        return 4 + max(0, min(visits_held, VISITS))
    return order.get(state, 0)
