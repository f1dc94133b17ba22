"""Template context for a result: labels in the active language and the SVG
geometry of the charts. The pages carry no JavaScript, so charts are inline
SVG drawn from numbers computed here; the tables beside them stay the
accessible source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from sekispe.diagnosis import guide, rules
from sekispe.diagnosis.forms import ANSWER_LABELS, part_label, question_text, question_why
from sekispe.diagnosis.models import Diagnosis
from sekispe.diagnosis.services import CUSTOMER_DEMAND, EMPLOYEE_BANDS, IT_DEPENDENCE, Evaluation
from sekispe.lib.text import text_width
from sekispe.reference.labels import labels

# Drawn left to right: what is in place first, "don't know" last in its own colour.
SEGMENTS = ("done", "partly", "not_done", "unknown")
TRACK = 400
ROW = 34
BAR = 20
PAD = 8


@dataclass(frozen=True)
class Segment:
    kind: str
    label: str
    count: int
    x: int
    width: int


@dataclass(frozen=True)
class PartRow:
    label: str
    score: int
    y: int
    text_y: int
    segments: tuple[Segment, ...]


def part_chart(evaluation: Evaluation) -> dict[str, Any]:
    """One stacked bar per part: how many answers of each kind, on a 0-100% track."""
    questionnaire = evaluation.questionnaire
    names = [part_label(p) for p in questionnaire.parts]
    label_width = max(text_width(n) for n in names)
    bar_x = PAD + label_width + PAD
    rows = []
    for n, score in enumerate(evaluation.result.parts):
        total = sum(score.counts.values())
        x, segments, used = bar_x, [], 0
        for kind in SEGMENTS:
            count = score.counts[kind]
            used += count
            # Cumulative rounding, so the segments always fill the track exactly.
            end = bar_x + round(used / total * TRACK)
            segments.append(Segment(kind, str(ANSWER_LABELS[kind]), count, x, end - x))
            x = end
        y = PAD + n * ROW
        rows.append(PartRow(names[n], score.score, y, y + BAR - 5, tuple(segments)))
    return {
        "rows": rows,
        "label_x": bar_x - PAD,
        "bar_x": bar_x,
        "bar_height": BAR,
        "score_x": bar_x + TRACK + PAD,
        "width": bar_x + TRACK + PAD + 56,
        "height": PAD * 2 + ROW * len(rows),
        "legend": [(kind, ANSWER_LABELS[kind]) for kind in SEGMENTS],
    }


def progress_chart(diagnoses: list[Diagnosis]) -> dict[str, Any] | None:
    """Total score over successive results (oldest left), with each Step marked."""
    if not diagnoses:
        return None
    width, height, left, top, plot_h = 560, 200, 40, 12, 150
    step_x = (width - left - 24) / max(len(diagnoses) - 1, 1)
    points = []
    for n, d in enumerate(diagnoses):
        x = round(left + 12 + n * step_x) if len(diagnoses) > 1 else left + (width - left) // 2
        y = round(top + plot_h * (100 - d.total_score) / 100)
        points.append({"x": x, "y": y, "score": d.total_score, "step": d.step, "label_y": y - 8})
    return {
        "width": width,
        "height": height,
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "grid": [
            {"value": v, "y": round(top + plot_h * (100 - v) / 100)} for v in (0, 25, 50, 75, 100)
        ],
        "left": left,
        "right": width - 8,
        "axis_y": top + plot_h,
    }


def _choice_label(choices: tuple[tuple[str, Any], ...], code: str) -> str:
    return str(dict(choices).get(code, code))


def profile_rows(profile: dict[str, str]) -> list[tuple[str, str]]:
    lab = labels()
    rows = []
    if profile.get("prefecture"):
        rows.append((_("所在地"), lab.pref.get(profile["prefecture"], profile["prefecture"])))
    if profile.get("industry"):
        rows.append((_("業種"), lab.industry.get(profile["industry"], profile["industry"])))
    if profile.get("employees"):
        rows.append((_("従業員数"), _choice_label(EMPLOYEE_BANDS, profile["employees"])))
    if profile.get("it_dependence"):
        rows.append((_("ITの使い方"), _choice_label(IT_DEPENDENCE, profile["it_dependence"])))
    if profile.get("customer_demand"):
        rows.append(
            (_("取引先からの要請"), _choice_label(CUSTOMER_DEMAND, profile["customer_demand"]))
        )
    return rows


def _question(evaluation: Evaluation, question_id: str) -> dict[str, Any]:
    q = evaluation.questionnaire.question(question_id)
    number = evaluation.questionnaire.ids.index(question_id) + 1
    answer = evaluation.answers[question_id]
    return {
        "id": q.id,
        "number": number,
        "text": question_text(q),
        "why": question_why(q),
        "answer": answer,
        "answer_label": ANSWER_LABELS[answer],
        "themes": [theme_label(t) for t in q.themes],
        "step": q.step,
    }


def theme_label(code: int) -> str:
    lab = labels()
    return f"{'①②③④⑤'[code - 1]}{lab.circled_gap}{lab.theme[code]}"


def result_context(evaluation: Evaluation, diagnosis: Diagnosis | None = None) -> dict[str, Any]:
    result = evaluation.result
    next_step = result.step + 1 if result.step < rules.TOP_STEP else None
    return {
        "evaluation": evaluation,
        "result": result,
        "diagnosis": diagnosis,
        "answered_on": date_format(localtime(diagnosis.created_at), "DATE_FORMAT")
        if diagnosis
        else None,
        "steps": [
            {"number": n, "title": guide.guide_for(n).title, "current": n == result.step}
            for n in range(1, rules.TOP_STEP + 1)
        ],
        "guide": guide.guide_for(result.step),
        "next_step": next_step,
        "next_guide": guide.guide_for(next_step) if next_step else None,
        "all_done": not result.next_step_requirements and result.step == rules.TOP_STEP,
        "requirements": [_question(evaluation, q) for q in result.next_step_requirements],
        # What the next-Step list already shows is not repeated.
        "weakest": [
            _question(evaluation, q)
            for q in result.weakest
            if q not in result.next_step_requirements
        ],
        "unknown_questions": [_question(evaluation, q) for q in result.unknown_ids],
        "themes": [{"code": t, "label": theme_label(t)} for t in result.themes],
        "chart": part_chart(evaluation),
        "parts": [
            {"label": part_label(p), "score": s.score, "counts": s.counts}
            for p, s in zip(evaluation.questionnaire.parts, result.parts, strict=True)
        ],
        "answers": [_question(evaluation, q.id) for q in evaluation.questionnaire.questions],
        "profile_rows": profile_rows(dict(evaluation.profile)),
        "customer_demand": evaluation.profile.get("customer_demand") == "yes",
        "search_url": evaluation.search_url,
    }
