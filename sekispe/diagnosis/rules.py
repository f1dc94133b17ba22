"""The self-diagnosis: questionnaire data, scoring, the Step and the themes.

INTERFACE (fixed; the implementation is being filled in):

- `Questionnaire` is loaded from versioned data in `sekispe/diagnosis/questionnaires/vN.json`;
  `current()` gives the newest version, `load(version)` any version ever shipped.
- `evaluate(questionnaire, answers)` -> `Result`: scores per part and in total, the Step (1-4),
  what the next Step needs, the recommended guidance themes (ordered), the weakest questions,
  the number of "don't know" answers and the SECURITY ACTION level.
- `guide_for(step)` -> `StepGuide`: the practical guide's content for a Step (003).
- `search_query(result, profile)` -> dict of Active List search parameters.

Answers are "done" / "partly" / "not_done" / "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANSWERS = ("done", "partly", "not_done", "unknown")


@dataclass(frozen=True)
class Question:
    id: str  # stable across versions while the meaning is unchanged, e.g. "b1"
    part: str  # "basic" | "employee" | "organisation"
    text: str  # Japanese, plain words for non-IT managers
    why: str  # one line: why it matters
    themes: tuple[int, ...]  # guidance themes (1-5) that address a gap here
    step: int  # the Step (1-4) whose completion requires this question "done"


@dataclass(frozen=True)
class Part:
    code: str
    label: str


@dataclass(frozen=True)
class Questionnaire:
    version: int
    parts: tuple[Part, ...]
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)


@dataclass(frozen=True)
class PartScore:
    part: str
    label: str
    score: int  # 0-100
    unknown: int  # how many "don't know" answers in this part


@dataclass(frozen=True)
class Result:
    version: int
    parts: tuple[PartScore, ...]
    total: int  # 0-100
    step: int  # 1-4: the Step the company is working on
    # Questions that must become "done" to reach the next Step (empty at Step 4 when all done).
    next_step_requirements: tuple[str, ...]
    themes: tuple[int, ...]  # recommended guidance themes, most needed first
    weakest: tuple[str, ...]  # question ids, weakest first
    unknown: int
    security_action: int  # 0, 1 (★) or 2 (★★)


@dataclass(frozen=True)
class StepGuide:
    step: int
    title: str
    measures: tuple[str, ...] = field(default=())
    internal_tasks: tuple[str, ...] = field(default=())
    specialist_tasks: tuple[str, ...] = field(default=())
    talent_measures: tuple[str, ...] = field(default=())
