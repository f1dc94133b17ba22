"""The self-diagnosis as JSON: POST /api/v1/diagnoses evaluates a set of
answers (nothing is stored; the share link belongs to the page flow), and
GET /api/v1/diagnoses/questions gives the current questionnaire. Public."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from sekispe.core.api import ErrorOut, MessageOut
from sekispe.diagnosis import rules, services
from sekispe.lib.text import visible

router = Router(tags=["diagnosis"])

# A 422 names at most this many problems, then one item of type
# "too_many_errors" with the total: 180,000 unknown keys once cost seconds of
# CPU and a 36 MB answer (issue 13, finding 7).
MAX_REPORTED_ERRORS = 50


def _answers_schema(schema: dict[str, Any]) -> None:
    """The current questionnaire's ids, each required, each one of the answers."""
    ids = list(rules.current().ids)
    schema.update(
        properties={i: {"type": "string", "enum": list(rules.ANSWERS)} for i in ids},
        required=ids,
        additionalProperties=False,
        minProperties=len(ids),
        maxProperties=len(ids),
    )


def _profile_schema(schema: dict[str, Any]) -> None:
    """The known fields, each one of its codes; empty or null means not given."""
    schema.update(
        properties={
            key: {"anyOf": [{"type": "string", "enum": ["", *sorted(codes)]}, {"type": "null"}]}
            for key, codes in services.PROFILE_CHOICES.items()
        },
        additionalProperties=False,
    )


class DiagnosisIn(Schema):
    # Values are checked by services.evaluate, which names every problem at once.
    answers: dict[str, Any] = Field(
        description='Every question id of the current version: "done", "partly", '
        '"not_done" or "unknown"',
        json_schema_extra=_answers_schema,
    )
    profile: dict[str, str | None] = Field(
        default_factory=dict,
        description="Optional: prefecture (JIS X 0401 code), industry (JSIC letter), "
        "employees, it_dependence, customer_demand",
        json_schema_extra=_profile_schema,
    )


class PartScoreOut(Schema):
    part: str
    label: str
    score: int = Field(description="0-100")
    unknown: int = Field(description='"don\'t know" answers in this part')


class ScoresOut(Schema):
    parts: list[PartScoreOut]
    total: int = Field(description="0-100")


class DiagnosisOut(Schema):
    version: int
    scores: ScoresOut
    step: int = Field(description="1-4, cumulative: the Step the company is working on")
    next_step_requirements: list[str] = Field(
        description="Question ids that must become done to finish this Step"
    )
    themes: list[int] = Field(description="Recommended guidance themes, most needed first")
    weakest: list[str]
    unknown: list[str] = Field(description='Question ids answered "don\'t know"')
    security_action: int = Field(description="0, 1 (one star) or 2 (two stars)")
    search_url: str = Field(description="The Active List filtered for this result")


class QuestionOut(Schema):
    id: str
    number: int
    part: str
    text: str
    why: str
    step: int
    themes: list[int]


class PartOut(Schema):
    code: str
    label: str


class QuestionnaireOut(Schema):
    version: int
    answers: list[str]
    parts: list[PartOut]
    questions: list[QuestionOut]


@router.post(
    "",
    response={200: DiagnosisOut, 413: MessageOut, 422: ErrorOut},
    auth=None,
    url_name="diagnoses",
    summary="Evaluate a self-diagnosis",
    description="Answers to every question of the current version are required. An "
    "unknown question id, a missing answer or a bad value gets a 422 naming it in `loc`; "
    f"at most {MAX_REPORTED_ERRORS} are named, followed by one item of type "
    "`too_many_errors` giving the total. A body over 128 KiB gets a 413.",
)
def evaluate_diagnosis(request: HttpRequest, payload: DiagnosisIn) -> Any:
    questionnaire = rules.current()
    ids = frozenset(questionnaire.ids)
    # Unknown ids are found in one pass over a set, and then nothing is
    # evaluated: the other problems are checked on the known ids only (work
    # bounded by the questionnaire), and messages are built only for the
    # problems reported.
    unknown = [key for key in payload.answers if key not in ids]
    if unknown:
        known = {key: payload.answers[key] for key in questionnaire.ids if key in payload.answers}
        others = [
            (("answers", p.question_id), p.message)
            for p in rules.validate_answers(questionnaire, known)
        ] + services.profile_problems(payload.profile)
        problems = [
            (
                ("answers", key),
                f"「{key}」という設問はありません（バージョン{questionnaire.version}）。",
            )
            for key in unknown[:MAX_REPORTED_ERRORS]
        ]
        problems += others[: MAX_REPORTED_ERRORS - len(problems)]
        return _unprocessable(problems, len(unknown) + len(others))
    try:
        evaluation = services.evaluate(payload.answers, payload.profile)
    except services.InvalidDiagnosis as exc:
        return _unprocessable(exc.problems[:MAX_REPORTED_ERRORS], len(exc.problems))
    result = evaluation.result
    return {
        "version": result.version,
        "scores": {
            "parts": [
                {"part": p.part, "label": p.label, "score": p.score, "unknown": p.unknown}
                for p in result.parts
            ],
            "total": result.total,
        },
        "step": result.step,
        "next_step_requirements": list(result.next_step_requirements),
        "themes": list(result.themes),
        "weakest": list(result.weakest),
        "unknown": list(result.unknown_ids),
        "security_action": result.security_action,
        "search_url": request.build_absolute_uri(evaluation.search_url),
    }


def _unprocessable(problems: list[tuple[tuple[str, ...], str]], total: int) -> Status:
    """The 422: the first problems, then, when some were left out, one item saying
    how many there are in all. Keys and values are quoted with control
    characters escaped."""
    detail = [
        {"loc": ["body", *map(visible, loc)], "msg": visible(message), "type": "invalid"}
        for loc, message in problems
    ]
    if total > len(problems):
        detail.append(
            {
                "loc": ["body", problems[0][0][0]],
                "msg": f"誤りは全部で {total} 件あります。最初の {len(problems)} 件だけを"
                "示しています。",
                "type": "too_many_errors",
            }
        )
    return Status(422, {"detail": detail})


@router.get(
    "/questions",
    response=QuestionnaireOut,
    auth=None,
    url_name="diagnosis_questions",
    summary="The current self-diagnosis questions",
)
def questions(request: HttpRequest) -> Any:
    questionnaire = rules.current()
    return {
        "version": questionnaire.version,
        "answers": list(rules.ANSWERS),
        "parts": [{"code": p.code, "label": p.label} for p in questionnaire.parts],
        "questions": [
            {
                "id": q.id,
                "number": n,
                "part": q.part,
                "text": q.text,
                "why": q.why,
                "step": q.step,
                "themes": list(q.themes),
            }
            for n, q in enumerate(questionnaire.questions, start=1)
        ],
    }
