"""The self-diagnosis rules: questionnaire data, scoring, the Step and the themes.

Pure functions over plain data, so every rule is testable without a database.
The rules as shipped are tabulated in docs/diagnosis.md.

- A `Questionnaire` is versioned data in `questionnaires/vN.json`; `current()` is
  the newest, `load(version)` any version ever shipped (past results keep theirs).
- `evaluate(questionnaire, answers)` gives a `Result`: scores per part and in
  total, the Step (1-4), what the next Step needs, the recommended guidance
  themes, the weakest questions, the "don't know" count and the SECURITY ACTION
  level.
- `search_query(result, profile)` gives the Active List parameters for
  "find specialists for this".

Answers are "done" / "partly" / "not_done" / "unknown".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings

ANSWERS = ("done", "partly", "not_done", "unknown")
# Points towards the score. "unknown" earns none, because a measure nobody can
# vouch for cannot be counted as in place, but it is never folded into
# "not_done": the result counts and lists it as a finding of its own.
POINTS = {"done": 2, "partly": 1, "not_done": 0, "unknown": 0}
# How much a question adds to the case for a guidance theme.
GAP = {"done": 0, "partly": 1, "not_done": 2, "unknown": 2}
# Worse to better; "improving an answer" in the properties means moving right.
IMPROVEMENT_ORDER = ("unknown", "not_done", "partly", "done")
PARTS = ("basic", "employee", "organisation")
TOP_STEP = 4
MAX_THEMES = 3
MAX_WEAKEST = 5

QUESTIONNAIRE_DIR = Path(__file__).resolve().parent / "questionnaires"


class QuestionnaireError(ValueError):
    """A questionnaire file breaks the rules the result pages rely on."""


@dataclass(frozen=True)
class Question:
    id: str  # stable across versions while the meaning is unchanged, e.g. "b1"
    part: str  # "basic" | "employee" | "organisation"
    text: str  # Japanese, plain words for non-IT managers
    why: str  # one line: why it matters
    themes: tuple[int, ...]  # guidance themes (1-5) that address a gap here, strongest first
    step: int  # the Step (1-4) whose completion requires this question "done"
    text_en: str = ""
    why_en: str = ""


@dataclass(frozen=True)
class Part:
    code: str
    label: str
    label_en: str = ""


@dataclass(frozen=True)
class Questionnaire:
    version: int
    parts: tuple[Part, ...]
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)

    def in_part(self, part: str) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.part == part)


@dataclass(frozen=True)
class PartScore:
    part: str
    label: str
    score: int  # 0-100
    unknown: int  # how many "don't know" answers in this part
    counts: Mapping[str, int] = field(default_factory=dict)  # answers by kind


@dataclass(frozen=True)
class Result:
    version: int
    parts: tuple[PartScore, ...]
    total: int  # 0-100
    step: int  # 1-4: the Step the company is working on
    # Questions that must become "done" to finish this Step and reach the next
    # (at Step 4, what continuous improvement still lacks; empty when all done).
    next_step_requirements: tuple[str, ...]
    themes: tuple[int, ...]  # recommended guidance themes, most needed first
    weakest: tuple[str, ...]  # question ids, weakest first
    unknown: int
    security_action: int  # 0, 1 (★) or 2 (★★)
    unknown_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepGuide:
    step: int
    title: str
    summary: str = ""
    measures: tuple[str, ...] = field(default=())
    internal_tasks: tuple[str, ...] = field(default=())
    specialist_tasks: tuple[str, ...] = field(default=())
    talent_measures: tuple[str, ...] = field(default=())


def _directory() -> Path:
    return Path(getattr(settings, "DIAGNOSIS_QUESTIONNAIRE_DIR", QUESTIONNAIRE_DIR))


def _text(raw: Mapping, key: str, default: str | None = None) -> str:
    value = raw.get(key, default) if default is not None else raw[key]
    if not isinstance(value, str):
        raise QuestionnaireError(f"{key} must be a string, not {value!r}")
    return value


def _number(value: object, key: str) -> int:
    # JSON integers only: a float, a bool or a string is a mistake in the file.
    if isinstance(value, bool) or not isinstance(value, int):
        raise QuestionnaireError(f"{key} must be an integer, not {value!r}")
    return value


def _question(raw: Mapping, number: int) -> Question:
    where = raw.get("id") if isinstance(raw.get("id"), str) else f"question {number}"
    try:
        return Question(
            id=_text(raw, "id"),
            part=_text(raw, "part"),
            text=_text(raw, "text"),
            why=_text(raw, "why"),
            themes=tuple(_number(t, "themes") for t in raw["themes"]),
            step=_number(raw["step"], "step"),
            text_en=_text(raw, "text_en", ""),
            why_en=_text(raw, "why_en", ""),
        )
    except QuestionnaireError as exc:
        raise QuestionnaireError(f"{where}: {exc}") from None


def parse(raw: Mapping) -> Questionnaire:
    """Build and check a questionnaire; any rule broken raises QuestionnaireError."""
    try:
        parts = tuple(
            Part(_text(p, "code"), _text(p, "label"), _text(p, "label_en", ""))
            for p in raw["parts"]
        )
        questions = tuple(_question(q, n) for n, q in enumerate(raw["questions"], start=1))
        questionnaire = Questionnaire(_number(raw["version"], "version"), parts, questions)
    except (KeyError, TypeError, AttributeError) as exc:
        raise QuestionnaireError(f"malformed questionnaire: {exc!r}") from exc
    problems = []
    if tuple(p.code for p in parts) != PARTS:
        problems.append(f"parts must be {PARTS}")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        problems.append("duplicate question ids")
    for q in questions:
        if q.part not in PARTS:
            problems.append(f"{q.id}: unknown part {q.part!r}")
        if not q.themes or not set(q.themes) <= {1, 2, 3, 4, 5}:
            problems.append(f"{q.id}: themes must be a non-empty subset of 1-5")
        if not 1 <= q.step <= TOP_STEP:
            problems.append(f"{q.id}: step must be 1-4")
        # CSET's cumulative rule: the basics are what Step 1 is made of.
        if q.part == "basic" and q.step != 1:
            problems.append(f"{q.id}: a basic measure belongs to Step 1")
        if not q.text.strip() or not q.why.strip():
            problems.append(f"{q.id}: text and why are required")
    for step in range(1, TOP_STEP):
        if not any(q.step == step for q in questions):
            problems.append(f"no question decides Step {step}")
    if problems:
        raise QuestionnaireError("; ".join(problems))
    return questionnaire


@cache
def _load(directory: Path, version: int) -> Questionnaire:
    path = directory / f"v{version}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LookupError(f"questionnaire version {version} does not exist") from None
    questionnaire = parse(raw)
    if questionnaire.version != version:
        raise QuestionnaireError(f"{path.name} says version {questionnaire.version}")
    return questionnaire


def versions() -> tuple[int, ...]:
    """Every version shipped, oldest first."""
    found = []
    for path in _directory().glob("v*.json"):
        number = path.stem[1:]
        # Only the name load() opens: "v1", never "v01" or full-width digits.
        if number.isascii() and number.isdigit() and path.stem == f"v{int(number)}":
            found.append(int(number))
    return tuple(sorted(found))


def load(version: int) -> Questionnaire:
    return _load(_directory(), version)


def current() -> Questionnaire:
    shipped = versions()
    if not shipped:
        raise LookupError("no questionnaire has been shipped")
    return load(shipped[-1])


@dataclass(frozen=True)
class AnswerProblem:
    question_id: str
    message: str


def validate_answers(
    questionnaire: Questionnaire, answers: Mapping[str, object]
) -> list[AnswerProblem]:
    """Every problem, each naming its question: unknown ids, missing answers, bad values."""
    problems = [
        AnswerProblem(
            str(key), f"「{key}」という設問はありません（バージョン{questionnaire.version}）。"
        )
        for key in answers
        if key not in questionnaire.ids
    ]
    for q in questionnaire.questions:
        if q.id not in answers:
            problems.append(AnswerProblem(q.id, f"{q.id}: 回答がありません。"))
        elif answers[q.id] not in ANSWERS:
            problems.append(
                AnswerProblem(
                    q.id, f"{q.id}: 回答は {' / '.join(ANSWERS)} のいずれかで指定してください。"
                )
            )
    return problems


def _score(points: int, questions: int) -> int:
    # Rounded down, so a score never overstates: 100 only when everything is done.
    return 100 * points // (2 * questions) if questions else 0


def step_of(questionnaire: Questionnaire, answers: Mapping[str, str]) -> int:
    """Cumulative, as in CSET: the first Step with a question not fully done.

    Steps 1-3 done means the company is at Step 4, continuous improvement,
    whatever its Step 4 answers; with those done too it stays at the top Step.
    """
    for step in range(1, TOP_STEP):
        if any(answers[q.id] != "done" for q in questionnaire.questions if q.step == step):
            return step
    return TOP_STEP


def recommended_themes(
    questionnaire: Questionnaire, answers: Mapping[str, str], step: int
) -> tuple[int, ...]:
    """Themes ordered by the gaps they address: first among questions up to the
    company's Step (what it should fix now), then among all, then by theme number."""
    now: dict[int, int] = {}
    overall: dict[int, int] = {}
    for q in questionnaire.questions:
        gap = GAP[answers[q.id]]
        if not gap:
            continue
        for theme in q.themes:
            overall[theme] = overall.get(theme, 0) + gap
            if q.step <= step:
                now[theme] = now.get(theme, 0) + gap
    ranked = sorted(overall, key=lambda t: (-now.get(t, 0), -overall[t], t))
    return tuple(ranked[:MAX_THEMES])


def evaluate(questionnaire: Questionnaire, answers: Mapping[str, str]) -> Result:
    """The result of a complete, valid set of answers (see `validate_answers`)."""
    problems = validate_answers(questionnaire, answers)
    if problems:
        raise ValueError("; ".join(p.message for p in problems))
    parts = []
    for part in questionnaire.parts:
        questions = questionnaire.in_part(part.code)
        counts = {kind: sum(answers[q.id] == kind for q in questions) for kind in ANSWERS}
        parts.append(
            PartScore(
                part=part.code,
                label=part.label,
                score=_score(sum(POINTS[answers[q.id]] for q in questions), len(questions)),
                unknown=counts["unknown"],
                counts=counts,
            )
        )
    total = _score(
        sum(POINTS[answers[q.id]] for q in questionnaire.questions), len(questionnaire.questions)
    )
    step = step_of(questionnaire, answers)
    requirements = tuple(
        q.id for q in questionnaire.questions if q.step == step and answers[q.id] != "done"
    )
    order = {q.id: n for n, q in enumerate(questionnaire.questions)}
    weakest = sorted(
        (q for q in questionnaire.questions if GAP[answers[q.id]]),
        key=lambda q: (-GAP[answers[q.id]], q.step, order[q.id]),
    )
    unknown_ids = tuple(q.id for q in questionnaire.questions if answers[q.id] == "unknown")
    return Result(
        version=questionnaire.version,
        parts=tuple(parts),
        total=total,
        step=step,
        next_step_requirements=requirements,
        themes=recommended_themes(questionnaire, answers, step),
        weakest=tuple(q.id for q in weakest[:MAX_WEAKEST]),
        unknown=len(unknown_ids),
        security_action=min(step - 1, 2),
        unknown_ids=unknown_ids,
    )


PROFILE_FIELDS = ("prefecture", "industry", "employees", "it_dependence", "customer_demand")


def search_query(result: Result, profile: Mapping[str, str]) -> dict[str, object]:
    """Active List parameters for "find specialists for this": the recommended
    themes (the list ranks those matching more of them first), the prefecture
    (the list's regional fallback still applies) and the industry."""
    query: dict[str, object] = {}
    if result.themes:
        query["theme"] = [str(t) for t in result.themes]
    if profile.get("prefecture"):
        query["prefecture"] = profile["prefecture"]
    if profile.get("industry"):
        query["industry"] = profile["industry"]
    return query
