"""Self-diagnosis rules as properties: monotonicity, invariants, the Step
against a brute-force reading of the CSET rule, and parse on garbage."""

from __future__ import annotations

import copy
import json
from itertools import permutations

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from sekispe.diagnosis import rules

V1_RAW = json.loads((rules.QUESTIONNAIRE_DIR / "v1.json").read_text(encoding="utf-8"))
V1 = rules.parse(V1_RAW)
ANSWER = st.sampled_from(rules.ANSWERS)
# The conftest's autouse search-index fixture is harmless across examples.
SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Every valid themes value of up to three themes, strongest first.
THEME_CHOICES = [t for n in (1, 2, 3) for t in permutations(range(1, 6), n)]


@st.composite
def questionnaires(draw) -> rules.Questionnaire:
    """v1, or v1 with every non-basic question moved to a random Step and
    every question given random themes: all valid questionnaires."""
    if draw(st.booleans()):
        return V1
    raw = {**V1_RAW, "questions": [dict(q) for q in V1_RAW["questions"]]}
    n = len(raw["questions"])
    # Two draws, read as base-4 and base-len(THEME_CHOICES) digits, one per
    # question: a draw per question made generation the slowest part of the file.
    steps = draw(st.integers(0, rules.TOP_STEP**n - 1))
    themes = draw(st.integers(0, len(THEME_CHOICES) ** n - 1))
    for q in raw["questions"]:
        steps, step = divmod(steps, rules.TOP_STEP)
        themes, choice = divmod(themes, len(THEME_CHOICES))
        if q["part"] != "basic":
            q["step"] = step + 1
        q["themes"] = list(THEME_CHOICES[choice])
    # Hypothesis favours boundary integers (all digits equal); rather than
    # discard those, give Steps 2 and 3 a question each when they have none.
    if not {2, 3} <= {q["step"] for q in raw["questions"]}:
        others = [q for q in raw["questions"] if q["part"] != "basic"]
        others[0]["step"], others[1]["step"] = 2, 3
    return rules.parse(raw)


@st.composite
def answer_sets(draw, questionnaire: rules.Questionnaire) -> dict[str, str]:
    """Uniform answers almost never get past Step 1, so pick a Step to reach,
    answer everything before it "done", then spoil up to two answers."""
    reach = draw(st.integers(1, rules.TOP_STEP))
    answers = {q.id: "done" if q.step < reach else draw(ANSWER) for q in questionnaire.questions}
    for question_id in draw(st.lists(st.sampled_from(questionnaire.ids), max_size=2, unique=True)):
        answers[question_id] = draw(ANSWER)
    return answers


@st.composite
def cases(draw) -> tuple[rules.Questionnaire, dict[str, str]]:
    questionnaire = draw(questionnaires())
    return questionnaire, draw(answer_sets(questionnaire))


def brute_force_step(questionnaire: rules.Questionnaire, answers: dict[str, str]) -> int:
    """Step k is reached iff every question of the Steps before k is done;
    the company is at the highest Step reached."""
    return max(
        k
        for k in range(1, rules.TOP_STEP + 1)
        if all(answers[q.id] == "done" for q in questionnaire.questions if q.step < k)
    )


# (a) Monotonicity


@SETTINGS
@given(data=st.data(), case=cases())
def test_improving_one_answer_never_makes_anything_worse(data, case):
    questionnaire, answers = case
    improvable = [qid for qid in questionnaire.ids if answers[qid] != "done"]
    assume(improvable)
    question_id = data.draw(st.sampled_from(improvable))
    rank = rules.IMPROVEMENT_ORDER.index(answers[question_id])
    better = data.draw(st.sampled_from(rules.IMPROVEMENT_ORDER[rank + 1 :]))
    before = rules.evaluate(questionnaire, answers)
    after = rules.evaluate(questionnaire, {**answers, question_id: better})
    assert after.step >= before.step
    assert after.total >= before.total
    assert after.security_action >= before.security_action
    for old, new in zip(before.parts, after.parts, strict=True):
        assert new.score >= old.score


# (b) The two extremes, for any valid questionnaire


@SETTINGS
@given(questionnaire=questionnaires())
def test_nothing_done_is_step_1_and_everything_done_is_step_4(questionnaire):
    for worst in ("not_done", "unknown"):
        result = rules.evaluate(questionnaire, dict.fromkeys(questionnaire.ids, worst))
        assert (result.step, result.security_action, result.total) == (1, 0, 0)
    best = rules.evaluate(questionnaire, dict.fromkeys(questionnaire.ids, "done"))
    assert (best.step, best.security_action, best.total) == (4, 2, 100)
    assert best.next_step_requirements == best.themes == best.weakest == ()


# (c) Invariants of every result


@SETTINGS
@given(case=cases())
def test_result_invariants(case):
    questionnaire, answers = case
    result = rules.evaluate(questionnaire, answers)
    step_of = {q.id: q.step for q in questionnaire.questions}
    gap = {qid: rules.GAP[answer] for qid, answer in answers.items()}

    assert result.version == questionnaire.version
    assert 0 <= result.total <= 100
    assert 1 <= result.step <= rules.TOP_STEP
    assert result.security_action == min(result.step - 1, 2)
    assert [p.part for p in result.parts] == list(rules.PARTS)
    for part in result.parts:
        assert 0 <= part.score <= 100
        assert sum(part.counts.values()) == len(questionnaire.in_part(part.part))
        assert part.unknown == part.counts["unknown"]
    # 100 only when everything is done: the score never overstates.
    assert (result.total == 100) == all(a == "done" for a in answers.values())

    assert len(set(result.themes)) == len(result.themes) <= rules.MAX_THEMES
    assert set(result.themes) <= {1, 2, 3, 4, 5}
    themes_with_gap = {t for q in questionnaire.questions if gap[q.id] for t in q.themes}
    assert set(result.themes) <= themes_with_gap
    assert len(result.themes) == min(rules.MAX_THEMES, len(themes_with_gap))

    assert len(set(result.weakest)) == len(result.weakest) <= rules.MAX_WEAKEST
    assert all(gap[qid] > 0 for qid in result.weakest)
    assert len(result.weakest) == min(rules.MAX_WEAKEST, sum(g > 0 for g in gap.values()))
    keys = [(-gap[qid], step_of[qid]) for qid in result.weakest]
    assert keys == sorted(keys)

    assert result.next_step_requirements == tuple(
        q.id for q in questionnaire.questions if q.step == result.step and answers[q.id] != "done"
    )
    if result.step < rules.TOP_STEP:
        assert result.next_step_requirements  # a Step below 4 always has something left
    assert result.unknown_ids == tuple(
        qid for qid in questionnaire.ids if answers[qid] == "unknown"
    )
    assert result.unknown == len(result.unknown_ids) == sum(p.unknown for p in result.parts)


@SETTINGS
@given(case=cases())
def test_themes_are_the_top_of_the_ranking(case):
    """No theme left out outranks a theme listed: (gap now, gap overall, -number)."""
    questionnaire, answers = case
    result = rules.evaluate(questionnaire, answers)
    now = dict.fromkeys(range(1, 6), 0)
    overall = dict.fromkeys(range(1, 6), 0)
    for q in questionnaire.questions:
        for theme in q.themes:
            overall[theme] += rules.GAP[answers[q.id]]
            if q.step <= result.step:
                now[theme] += rules.GAP[answers[q.id]]
    rank = {t: (now[t], overall[t], -t) for t in range(1, 6)}
    listed = [rank[t] for t in result.themes]
    assert listed == sorted(listed, reverse=True)
    for theme in set(range(1, 6)) - set(result.themes):
        assert not overall[theme] or rank[theme] < listed[-1]


# (d) The Step, exactly


@SETTINGS
@given(case=cases())
def test_step_matches_brute_force(case):
    questionnaire, answers = case
    expected = brute_force_step(questionnaire, answers)
    assert rules.step_of(questionnaire, answers) == expected
    assert rules.evaluate(questionnaire, answers).step == expected


# (e) parse on garbage

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["basic", "employee", "organisation", "done", "1", " "])
)
# Infinity is not JSON, but json.loads accepts it, and 1e999 is plain JSON
# that loads as float("inf"): a questionnaire file can contain either.
JSON_ISH = st.recursive(
    SCALARS | st.just(float("inf")),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
ROOT_KEYS = ("version", "parts", "questions")
PART_KEYS = ("code", "label", "label_en")
QUESTION_KEYS = ("id", "part", "text", "why", "themes", "step", "text_en", "why_en")


@st.composite
def near_questionnaires(draw) -> dict:
    """v1 with a few fields replaced by garbage or removed: reaches the checks
    that come after the structure is read, which random trees rarely do."""
    raw = copy.deepcopy(V1_RAW)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(("root", "part", "question")))
        if where == "root":
            target, keys = raw, ROOT_KEYS
        elif where == "part" and isinstance(raw.get("parts"), list) and raw["parts"]:
            target, keys = draw(st.sampled_from(raw["parts"])), PART_KEYS
        elif isinstance(raw.get("questions"), list) and raw["questions"]:
            target, keys = draw(st.sampled_from(raw["questions"])), QUESTION_KEYS
        else:
            continue
        if not isinstance(target, dict):
            continue
        key = draw(st.sampled_from(keys))
        if draw(st.integers(0, 4)):
            target[key] = draw(JSON_ISH)
        else:
            target.pop(key, None)
    return raw


GARBAGE = (
    JSON_ISH
    | st.dictionaries(st.sampled_from(ROOT_KEYS), JSON_ISH, max_size=3)
    | near_questionnaires()
)


def parse_or_questionnaire_error(raw: object) -> None:
    try:
        parsed = rules.parse(raw)
    except rules.QuestionnaireError:
        return
    assert isinstance(parsed, rules.Questionnaire)


def v1_with(question_changes: dict | None = None, **root: object) -> dict:
    raw = copy.deepcopy(V1_RAW)
    raw["questions"][0].update(question_changes or {})
    raw.update(root)
    return raw


# Shapes that once escaped parse as AttributeError, TypeError or OverflowError.
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(v1_with({"text": 5}), id="text-int"),
        pytest.param(v1_with({"why": None}), id="why-null"),
        pytest.param(v1_with({"id": []}), id="id-list"),
        pytest.param(v1_with({"step": json.loads("1e999")}), id="step-1e999"),
        pytest.param(v1_with({"themes": [float("inf")]}), id="theme-infinity"),
        pytest.param(v1_with(version=float("inf")), id="version-infinity"),
        pytest.param(v1_with({"step": 1.9}), id="step-float"),
        pytest.param(v1_with({"step": True}), id="step-bool"),
        pytest.param(v1_with({"themes": "25"}), id="themes-string"),
        pytest.param(v1_with({"id": 7}), id="id-int"),
    ],
)
def test_parse_refuses_wrong_types_with_a_questionnaire_error(raw):
    with pytest.raises(rules.QuestionnaireError):
        rules.parse(raw)


@settings(max_examples=200, deadline=None)
@given(raw=GARBAGE)
@example(raw=None)
@example(raw=V1_RAW)
@example(raw=v1_with({"text": 5}))
def test_parse_garbage_is_a_questionnaire_or_a_questionnaire_error(raw):
    parse_or_questionnaire_error(raw)
