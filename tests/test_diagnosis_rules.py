"""Self-diagnosis rules as tables: Step, scores, "don't know", weakest, themes,
the shipped v1 mapping (pinned against docs/diagnosis.md), validation,
parsing, the search link, the guide and versioning."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from django.utils import translation

from sekispe.diagnosis import rules
from sekispe.diagnosis.guide import guide_for

DOC = Path(__file__).resolve().parent.parent / "docs" / "diagnosis.md"
V1_RAW = json.loads((rules.QUESTIONNAIRE_DIR / "v1.json").read_text(encoding="utf-8"))
# Parsed straight from the file, so these tests never depend on the loader's
# settings or cache.
V1 = rules.parse(V1_RAW)

BASIC = ("b1", "b2", "b3", "b4", "b5")
STEP1 = (*BASIC, "o1")
STEP2 = ("e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e10", "e11", "e12", "o2", "o3")
STEP3 = ("e9", "o4", "o5", "o6", "o7")
EMPLOYEE = (*STEP2[:8], "e9", *STEP2[8:11], "e13")

# The shipped v1 mapping, question -> (part, Step, themes strongest first).
# docs/diagnosis.md has the same table; both are checked against v1.json.
V1_TABLE = {
    "b1": ("basic", 1, (2, 5)),
    "b2": ("basic", 1, (2, 5)),
    "b3": ("basic", 1, (5, 3)),
    "b4": ("basic", 1, (3, 2)),
    "b5": ("basic", 1, (5, 4)),
    "e1": ("employee", 2, (5, 4)),
    "e2": ("employee", 2, (5,)),
    "e3": ("employee", 2, (5, 1)),
    "e4": ("employee", 2, (5,)),
    "e5": ("employee", 2, (5, 1)),
    "e6": ("employee", 2, (1, 5)),
    "e7": ("employee", 2, (5, 1)),
    "e8": ("employee", 2, (1, 3)),
    "e9": ("employee", 3, (2, 4)),
    "e10": ("employee", 2, (1, 2)),
    "e11": ("employee", 2, (1,)),
    "e12": ("employee", 2, (1,)),
    "e13": ("employee", 4, (3, 2)),
    "o1": ("organisation", 1, (1, 5)),
    "o2": ("organisation", 2, (1,)),
    "o3": ("organisation", 2, (5,)),
    "o4": ("organisation", 3, (2, 1)),
    "o5": ("organisation", 3, (3, 1)),
    "o6": ("organisation", 3, (1, 3)),
    "o7": ("organisation", 3, (4, 1)),
}


def answers(default: str = "done", ids: tuple[str, ...] = (), value: str = "", **overrides: str):
    """Every v1 question answered `default`, then `ids` set to `value`, then overrides."""
    result = dict.fromkeys(V1.ids, default)
    result.update(dict.fromkeys(ids, value))
    result.update(overrides)
    return result


def evaluate(given: dict[str, str]) -> rules.Result:
    return rules.evaluate(V1, given)


def part_scores(result: rules.Result) -> dict[str, int]:
    return {p.part: p.score for p in result.parts}


# --- Step -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "step", "security_action", "requirements"),
    [
        pytest.param(answers("not_done"), 1, 0, STEP1, id="all-not-done"),
        pytest.param(answers("partly"), 1, 0, STEP1, id="all-partly"),
        pytest.param(answers("unknown"), 1, 0, STEP1, id="all-unknown"),
        pytest.param(answers("done"), 4, 2, (), id="all-done"),
        # CSET's cumulative rule: perfect elsewhere, one basic missing, still Step 1.
        pytest.param(answers(o1="not_done"), 1, 0, ("o1",), id="only-o1-not-done"),
        pytest.param(answers(b3="partly"), 1, 0, ("b3",), id="only-b3-partly"),
        pytest.param(answers(b5="unknown"), 1, 0, ("b5",), id="only-b5-unknown"),
        pytest.param(answers(e5="partly"), 2, 1, ("e5",), id="one-step2-partly"),
        pytest.param(
            answers("not_done", STEP1, "done"), 2, 1, STEP2, id="step1-done-rest-not-done"
        ),
        pytest.param(answers(e9="unknown"), 3, 2, ("e9",), id="one-step3-unknown"),
        pytest.param(
            answers("partly", (*STEP1, *STEP2, "e13"), "done"), 3, 2, STEP3, id="step3-all-partly"
        ),
        pytest.param(answers(e13="not_done"), 4, 2, ("e13",), id="e13-not-done"),
        pytest.param(answers(e13="partly"), 4, 2, ("e13",), id="e13-partly"),
        pytest.param(answers(e13="unknown"), 4, 2, ("e13",), id="e13-unknown"),
        # The earliest unfinished Step wins, however much later ones lack.
        pytest.param(answers(o1="partly", e9="not_done"), 1, 0, ("o1",), id="earliest-wins"),
        pytest.param(answers(o2="partly", o7="unknown"), 2, 1, ("o2",), id="step2-before-3"),
    ],
)
def test_step(given, step, security_action, requirements):
    result = evaluate(given)
    assert result.step == step
    assert rules.step_of(V1, given) == step
    assert result.security_action == security_action
    assert result.next_step_requirements == requirements


@pytest.mark.parametrize("question_id", V1.ids)
@pytest.mark.parametrize("answer", ["partly", "not_done", "unknown"])
def test_only_done_finishes_a_step(question_id, answer):
    """One question short of done holds the company at that question's Step
    (or, for a Step 4 question, at Step 4 with it still required)."""
    result = evaluate(answers(**{question_id: answer}))
    assert result.step == V1.question(question_id).step
    assert result.next_step_requirements == (question_id,)


# --- Scores ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "basic", "employee", "organisation", "total"),
    [
        pytest.param(answers("partly"), 50, 50, 50, 50, id="all-partly"),
        pytest.param(answers("done"), 100, 100, 100, 100, id="all-done"),
        pytest.param(answers("not_done"), 0, 0, 0, 0, id="all-not-done"),
        pytest.param(answers("unknown"), 0, 0, 0, 0, id="all-unknown"),
        # 2 of 10 basic points; 2 of 50 in total.
        pytest.param(answers("not_done", b1="done"), 20, 0, 0, 4, id="one-basic-done"),
        # 2 + 1 + 1 of 10 basic points; 4 of 50.
        pytest.param(
            answers("not_done", b1="done", b2="partly", b3="partly"), 40, 0, 0, 8, id="basic-40"
        ),
        # 2 + 4 of 10; 6 + 13 + 7 of 50.
        pytest.param(answers("partly", b1="done"), 60, 50, 50, 52, id="one-done-rest-partly"),
        # Rounded down: 25/26 -> 96.15, 49/50 -> 98.
        pytest.param(answers(e1="partly"), 100, 96, 100, 98, id="e1-partly"),
        # 13/14 -> 92.86 -> 92; 49/50.
        pytest.param(answers(o7="partly"), 100, 100, 92, 98, id="o7-partly-floors"),
        # 12/14 -> 85.7 -> 85; 48/50.
        pytest.param(answers(o7="unknown"), 100, 100, 85, 96, id="o7-unknown"),
        # 10 + 13 + 14 of 50.
        pytest.param(answers(ids=EMPLOYEE, value="partly"), 100, 50, 100, 74, id="employee-partly"),
    ],
)
def test_scores(given, basic, employee, organisation, total):
    result = evaluate(given)
    assert part_scores(result) == {
        "basic": basic,
        "employee": employee,
        "organisation": organisation,
    }
    assert result.total == total


def test_total_is_over_all_questions_not_the_mean_of_parts():
    # Parts 100 / 0 / 0 would average 33; 10 of 50 points is 20.
    result = evaluate(answers("not_done", BASIC, "done"))
    assert part_scores(result) == {"basic": 100, "employee": 0, "organisation": 0}
    assert result.total == 20


# --- "Don't know" -----------------------------------------------------------


def test_unknown_is_counted_per_part_and_listed_but_not_as_not_done():
    result = evaluate(answers(b1="unknown", e3="unknown", e9="unknown", o2="unknown"))
    by_part = {p.part: p for p in result.parts}
    assert {code: p.unknown for code, p in by_part.items()} == {
        "basic": 1,
        "employee": 2,
        "organisation": 1,
    }
    assert by_part["employee"].counts == {"done": 11, "partly": 0, "not_done": 0, "unknown": 2}
    assert all(p.counts["not_done"] == 0 for p in result.parts)
    assert result.unknown == 4
    assert result.unknown_ids == ("b1", "e3", "e9", "o2")


def test_unknown_scores_like_not_done_but_stays_a_separate_finding():
    unknown = evaluate(answers(b2="unknown", e4="unknown", o5="unknown"))
    not_done = evaluate(answers(b2="not_done", e4="not_done", o5="not_done"))
    # 8/10, 24/26 and 12/14 points, rounded down.
    scores = {"basic": 80, "employee": 92, "organisation": 85}
    assert part_scores(unknown) == part_scores(not_done) == scores
    assert unknown.total == not_done.total == 88
    assert unknown.step == not_done.step == 1
    assert unknown.themes == not_done.themes
    assert unknown.weakest == not_done.weakest == ("b2", "e4", "o5")
    assert (unknown.unknown, not_done.unknown) == (3, 0)
    assert not_done.unknown_ids == ()
    assert sum(p.counts["not_done"] for p in unknown.parts) == 0
    assert sum(p.counts["not_done"] for p in not_done.parts) == 3


def test_counts_cover_every_answer_kind():
    result = evaluate(answers(b1="partly", b2="not_done", b3="unknown"))
    basic = result.parts[0]
    assert basic.part == "basic"
    assert basic.label == "基本的な対策"
    assert basic.counts == {"done": 2, "partly": 1, "not_done": 1, "unknown": 1}


# --- Weakest ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "weakest"),
    [
        pytest.param(answers(), (), id="all-done"),
        # Gap first: b2 and o7 (2) before e1 (1); then the earlier Step.
        pytest.param(answers(e1="partly", o7="not_done", b2="unknown"), ("b2", "o7", "e1"), id="gap-then-step"),
        # Same gap: Step before questionnaire order (e13 is listed before o2 but is Step 4).
        pytest.param(
            answers(e13="not_done", o4="not_done", e9="not_done", o2="not_done"),
            ("o2", "e9", "o4", "e13"),
            id="step-then-order",
        ),
        # All gaps equal: the cap of 5 keeps the Step 1 questions in order.
        pytest.param(answers("not_done"), BASIC, id="cap-5-not-done"),
        pytest.param(answers("partly"), BASIC, id="cap-5-partly"),
        pytest.param(answers("partly", o3="not_done"), ("o3", "b1", "b2", "b3", "b4"), id="bigger-gap-first"),
    ],
)  # fmt: skip
def test_weakest(given, weakest):
    assert evaluate(given).weakest == weakest


# --- Themes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "themes"),
    [
        pytest.param(answers(), (), id="all-done-no-themes"),
        # Step 1; gaps at Step <= 1: theme 5 -> 10 (b1 b2 b3 b5 o1), 2 -> 6, 3 -> 4, 1 and 4 -> 2.
        pytest.param(answers("not_done"), (5, 2, 3), id="all-not-done"),
        pytest.param(answers("unknown"), (5, 2, 3), id="all-unknown"),
        pytest.param(answers("partly"), (5, 2, 3), id="all-partly"),
        # Gaps only in rules questions.
        pytest.param(answers(ids=("o2", "e11", "e12"), value="not_done"), (1,), id="rules-gaps"),
        pytest.param(answers(ids=("o2", "e11", "e12", "e1"), value="not_done"), (1, 4, 5), id="rules-gaps-first"),
        # Gaps only in employee awareness.
        pytest.param(answers(ids=("e1", "e2", "e4", "o3"), value="not_done"), (5, 4), id="awareness-gaps"),
        # Current Step first: o1 (1, 5) is Step 1; e9 (2, 4) and o4 (2, 1) are Step 3.
        # now: 1 -> 2, 5 -> 2; overall: 1 -> 4, 5 -> 2, 2 -> 4, 4 -> 2.
        pytest.param(answers(o1="not_done", e9="not_done", o4="not_done"), (1, 5, 2), id="now-before-overall"),
        # Tie on both sums: theme number decides.
        pytest.param(answers(e13="not_done"), (2, 3), id="tie-by-number"),
        # A partly (gap 1) weighs half a not_done (gap 2).
        pytest.param(answers(e11="partly", e2="not_done"), (5, 1), id="gap-weights"),
    ],
)  # fmt: skip
def test_themes(given, themes):
    result = evaluate(given)
    assert result.themes == themes
    assert rules.recommended_themes(V1, given, result.step) == themes


def test_at_most_three_themes():
    # Every theme has a gap here.
    result = evaluate(answers("not_done"))
    assert len(result.themes) == rules.MAX_THEMES == 3


# --- The shipped v1 mapping -------------------------------------------------


def test_v1_shape():
    assert V1.version == 1
    assert len(V1.questions) == 25
    assert tuple(p.code for p in V1.parts) == rules.PARTS
    assert [len(V1.in_part(p)) for p in rules.PARTS] == [5, 13, 7]
    assert all(q.step == 1 for q in V1.in_part("basic"))
    assert tuple(q.id for q in V1.in_part("employee")) == EMPLOYEE
    assert tuple(q.id for q in V1.questions if q.step == 1) == STEP1
    assert tuple(q.id for q in V1.questions if q.step == 2) == STEP2
    assert tuple(q.id for q in V1.questions if q.step == 3) == STEP3
    assert tuple(q.id for q in V1.questions if q.step == 4) == ("e13",)


def test_v1_mapping_is_pinned():
    assert {q.id: (q.part, q.step, q.themes) for q in V1.questions} == V1_TABLE
    assert V1.ids == tuple(V1_TABLE)


def doc_table() -> dict[str, tuple[str, int, tuple[int, ...]]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\| `([a-z]\d+)` \| (\w+) \| [^|]+ \| (\d) \| ([\d, ]+) \|", line)
        if match:
            qid, part, step, themes = match.groups()
            rows[qid] = (part, int(step), tuple(int(t) for t in themes.split(",")))
    return rows


def test_docs_table_matches_v1():
    """A change to v1.json (which should never happen) or to the docs table
    without the other fails here."""
    assert doc_table() == V1_TABLE
    assert tuple(doc_table()) == V1.ids


def test_loader_reads_the_shipped_v1_by_default():
    rules._load.cache_clear()
    try:
        assert rules.versions()[0] == 1
        assert rules.load(1) == V1
    finally:
        rules._load.cache_clear()


# --- validate_answers / evaluate ------------------------------------------


@pytest.mark.parametrize(
    ("given", "question_id"),
    [
        pytest.param({**answers(), "z9": "done"}, "z9", id="unknown-id"),
        pytest.param({k: v for k, v in answers().items() if k != "b3"}, "b3", id="missing"),
        pytest.param(answers(e1="yes"), "e1", id="bad-value"),
        pytest.param(answers(o7=None), "o7", id="none-value"),
        pytest.param(answers(e13=2), "e13", id="points-not-answer"),
    ],
)
def test_each_answer_problem_names_its_question(given, question_id):
    problems = rules.validate_answers(V1, given)
    assert [p.question_id for p in problems] == [question_id]
    assert question_id in problems[0].message
    with pytest.raises(ValueError, match=question_id):
        rules.evaluate(V1, given)


def test_every_problem_is_reported_at_once():
    given = {k: v for k, v in answers(e1="yes").items() if k != "b3"}
    given["z9"] = "done"
    problems = rules.validate_answers(V1, given)
    assert sorted(p.question_id for p in problems) == ["b3", "e1", "z9"]


def test_valid_answers_have_no_problems():
    for kind in rules.ANSWERS:
        assert rules.validate_answers(V1, answers(kind)) == []


# --- parse ------------------------------------------------------------------


def mutated(change) -> dict:
    raw = copy.deepcopy(V1_RAW)
    change(raw)
    return raw


def question(raw: dict, question_id: str) -> dict:
    return next(q for q in raw["questions"] if q["id"] == question_id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda r: question(r, "b2").update(id="b1"), "duplicate question ids", id="duplicate-id"),
        pytest.param(lambda r: question(r, "e2").update(themes=[5, 6]), "e2: themes", id="theme-6"),
        pytest.param(lambda r: question(r, "e2").update(themes=[0]), "e2: themes", id="theme-0"),
        pytest.param(lambda r: question(r, "e2").update(themes=[]), "e2: themes", id="no-themes"),
        pytest.param(lambda r: question(r, "o3").update(step=5), "o3: step must be 1-4", id="step-5"),
        pytest.param(lambda r: question(r, "o3").update(step=0), "o3: step must be 1-4", id="step-0"),
        pytest.param(lambda r: question(r, "b4").update(step=2), "b4: a basic measure belongs to Step 1", id="basic-at-step-2"),
        pytest.param(lambda r: question(r, "e3").pop("text"), "malformed", id="missing-text"),
        pytest.param(lambda r: question(r, "e3").pop("themes"), "malformed", id="missing-themes"),
        pytest.param(lambda r: question(r, "e3").update(text="  "), "e3: text and why are required", id="blank-text"),
        pytest.param(lambda r: question(r, "e3").update(why=""), "e3: text and why are required", id="blank-why"),
        pytest.param(lambda r: question(r, "e3").update(part="staff"), "e3: unknown part", id="unknown-part"),
        pytest.param(lambda r: question(r, "e3").update(step="two"), "e3: step must be an integer", id="step-not-a-number"),
        pytest.param(lambda r: r["parts"].reverse(), "parts must be", id="parts-order"),
        pytest.param(lambda r: r["parts"].pop(), "parts must be", id="parts-missing"),
        pytest.param(lambda r: r.pop("version"), "malformed", id="no-version"),
        pytest.param(lambda r: r.update(questions=None), "malformed", id="questions-none"),
        pytest.param(
            lambda r: [q.update(step=2) for q in r["questions"] if q["step"] == 3],
            "no question decides Step 3",
            id="no-step-3",
        ),
    ],
)  # fmt: skip
def test_parse_rejects_malformed_questionnaires(change, message):
    with pytest.raises(rules.QuestionnaireError, match=re.escape(message)):
        rules.parse(mutated(change))


@pytest.mark.parametrize("raw", [None, [], "v1", 1, {}], ids=repr)
def test_parse_rejects_non_questionnaires(raw):
    with pytest.raises(rules.QuestionnaireError):
        rules.parse(raw)


def test_a_step_4_question_is_optional():
    raw = mutated(lambda r: question(r, "e13").update(step=3))
    assert all(q.step <= 3 for q in rules.parse(raw).questions)


# --- search_query -----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "profile", "query"),
    [
        pytest.param(
            answers("not_done"),
            {"prefecture": "13", "industry": "E", "employees": "21-50", "it_dependence": "high"},
            {"theme": ["5", "2", "3"], "prefecture": "13", "industry": "E"},
            id="themes-and-profile",
        ),
        pytest.param(answers(e13="not_done"), {}, {"theme": ["2", "3"]}, id="no-profile"),
        pytest.param(
            answers(e13="not_done"),
            {"prefecture": "", "industry": ""},
            {"theme": ["2", "3"]},
            id="empty-profile-values",
        ),
        pytest.param(answers(), {"prefecture": "27"}, {"prefecture": "27"}, id="no-themes"),
        pytest.param(answers(), {}, {}, id="nothing"),
    ],
)
def test_search_query(given, profile, query):
    assert rules.search_query(evaluate(given), profile) == query


# --- guide ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "exam"),
    [(1, "ITパスポート"), (2, "情報セキュリティマネジメント試験"), (3, "システム監査技術者試験"), (4, "情報処理安全確保支援士")],
)  # fmt: skip
def test_guide_for_each_step(step, exam):
    with translation.override("ja"):
        guide = guide_for(step)
        assert guide.step == step
        assert str(guide.title)
        for items in (guide.measures, guide.internal_tasks, guide.specialist_tasks, guide.talent_measures):  # fmt: skip
            assert items
            assert all(str(item).strip() for item in items)
        assert any(exam in str(item) for item in guide.talent_measures)


# --- Versioning -------------------------------------------------------------

V2_TEXT = "会社のパソコンやスマートフォンは、OSやソフトを常に最新にしていますか。"


@pytest.fixture
def questionnaire_dir(settings, tmp_path: Path):
    """v1 as shipped plus a v2 that rewords b1 and moves e13 to Step 2."""
    (tmp_path / "v1.json").write_text(json.dumps(V1_RAW, ensure_ascii=False), encoding="utf-8")
    v2 = copy.deepcopy(V1_RAW)
    v2["version"] = 2
    question(v2, "b1")["text"] = V2_TEXT
    question(v2, "e13")["step"] = 2
    (tmp_path / "v2.json").write_text(json.dumps(v2, ensure_ascii=False), encoding="utf-8")
    rules._load.cache_clear()
    settings.DIAGNOSIS_QUESTIONNAIRE_DIR = tmp_path
    yield tmp_path
    rules._load.cache_clear()


def test_versions_are_kept(questionnaire_dir):
    assert rules.versions() == (1, 2)
    assert rules.current().version == 2
    assert rules.current().question("b1").text == V2_TEXT
    assert rules.load(1).question("b1").text == V1.question("b1").text
    assert rules.load(1) == V1


def test_a_result_keeps_its_version_s_rules(questionnaire_dir):
    given = answers(e13="not_done")
    old, new = rules.evaluate(rules.load(1), given), rules.evaluate(rules.current(), given)
    assert (old.version, old.step, old.next_step_requirements) == (1, 4, ("e13",))
    assert (new.version, new.step, new.next_step_requirements) == (2, 2, ("e13",))


def test_versions_ignores_files_that_are_not_versions(questionnaire_dir):
    (questionnaire_dir / "vdraft.json").write_text("{}", encoding="utf-8")
    (questionnaire_dir / "notes.txt").write_text("", encoding="utf-8")
    assert rules.versions() == (1, 2)


def test_missing_version_is_a_lookup_error(questionnaire_dir):
    with pytest.raises(LookupError):
        rules.load(3)


def test_file_must_carry_its_own_version(questionnaire_dir):
    (questionnaire_dir / "v3.json").write_text(json.dumps(V1_RAW), encoding="utf-8")
    with pytest.raises(rules.QuestionnaireError, match=re.escape("v3.json says version 1")):
        rules.load(3)


def test_no_questionnaire_shipped(settings, tmp_path):
    settings.DIAGNOSIS_QUESTIONNAIRE_DIR = tmp_path
    assert rules.versions() == ()
    with pytest.raises(LookupError):
        rules.current()
