"""`sekispe import-courses`: course completions, all or nothing, idempotent, audited."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import hashlib
import io
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from sekispe.audit.models import AuditEvent
from sekispe.core.changes import latest_change
from sekispe.registry.importer import COURSE_COLUMNS
from sekispe.registry.models import CourseCompletion, RegistryRecord

pytestmark = pytest.mark.django_db

NUMBERS = ("100001", "100002", "100003")


@pytest.fixture(autouse=True)
def _today():
    # "Not in the future" is checked against today; freeze it.
    with time_machine.travel(dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture(autouse=True)
def records(db) -> dict[str, RegistryRecord]:
    return {
        number: RegistryRecord.objects.create(
            registration_number=number,
            name="佐藤 健太",
            name_kana="サトウ ケンタ",
            registered_on=dt.date(2023, 4, 1),
            expires_on=dt.date(2026, 3, 31),
            home_prefecture_id="13",
        )
        for number in NUMBERS
    }


def course(**values: str) -> dict[str, str]:
    base = {
        "registration_number": "100001",
        "course": "common",
        "provider": "",
        "course_code": "",
        "completed_on": "2025-06-01",
    }
    unknown = set(values) - set(COURSE_COLUMNS)
    assert not unknown, unknown
    return {**base, **values}


SAMPLE = [
    course(),
    course(course="practical", course_code="IPA-GD", completed_on="2025-09-10"),
    course(
        registration_number="100002",
        course="特定講習",
        provider="株式会社セキュリティ教育センター",
        course_code="SEC-2024-03",
        completed_on="2025-03-15",
    ),
    course(registration_number="100003", course="共通講習", completed_on="2024-04-01"),
]


def csv_text(rows: list[dict[str, str]], header: tuple[str, ...] = COURSE_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(column, "") for column in header])
    return buffer.getvalue()


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    path.write_bytes(csv_text(rows).encode(encoding))
    return path


def run_import(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_courses", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def rejected(path: Path, *args: str) -> list[str]:
    with pytest.raises(CommandError) as info:
        run_import(path, *args)
    return str(info.value).splitlines()


def stored() -> set[tuple[str, str, int, str, str, dt.date]]:
    return set(
        CourseCompletion.objects.values_list(
            "record__registration_number",
            "kind",
            "fiscal_year",
            "provider",
            "course_code",
            "completed_on",
        )
    )


def generation() -> int:
    return latest_change()


# -- a valid file -------------------------------------------------------------------------


def test_valid_file_imports_every_row(tmp_path: Path) -> None:
    output = run_import(write_csv(tmp_path / "courses.csv", SAMPLE))

    assert "追加 4 件、更新 0 件、変更なし 0 件" in output
    assert stored() == {
        ("100001", "common", 2025, "IPA", "", dt.date(2025, 6, 1)),
        ("100001", "practical", 2025, "IPA", "IPA-GD", dt.date(2025, 9, 10)),
        (
            "100002",
            "specific",
            2024,  # March 2025 belongs to fiscal year 2024
            "株式会社セキュリティ教育センター",
            "SEC-2024-03",
            dt.date(2025, 3, 15),
        ),
        ("100003", "common", 2024, "IPA", "", dt.date(2024, 4, 1)),
    }


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_spreadsheet_encodings_import_the_same(tmp_path: Path, encoding: str) -> None:
    output = run_import(write_csv(tmp_path / "courses.csv", SAMPLE, encoding))

    assert "追加 4 件" in output
    assert CourseCompletion.objects.get(kind="specific").provider == (
        "株式会社セキュリティ教育センター"
    )


def test_each_new_completion_gets_one_history_row(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "courses.csv", SAMPLE))

    for completion in CourseCompletion.objects.all():
        history = completion.history.get()
        assert history.history_type == "+"
        assert history.history_change_reason == "bulk:import-courses"
        assert (history.record_id, history.kind, history.provider, history.fiscal_year) == (
            completion.record_id,
            completion.kind,
            completion.provider,
            completion.fiscal_year,
        )


def test_import_is_audited_with_hash_counts_and_runner(tmp_path: Path, operator) -> None:
    path = write_csv(tmp_path / "courses.csv", SAMPLE)

    run_import(path, "--operator", operator.email)

    event = AuditEvent.objects.get(action="courses.import")
    assert event.actor == operator
    assert event.actor_label == f"import-courses (by {getpass.getuser()})"
    assert event.target_type == "course_completion"
    data = event.data
    assert data["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (data["rows"], data["inserted"], data["updated"], data["unchanged"]) == (4, 4, 0, 0)
    assert data["changed"] == ["100001", "100002", "100003"]
    assert data["history"] is True
    assert CourseCompletion.history.filter(history_user=operator).count() == 4


# -- errors -------------------------------------------------------------------------------


def test_every_bad_cell_is_listed_with_row_and_column(tmp_path: Path) -> None:
    rows = [
        course(registration_number="999999"),  # row 2: not in the registry
        course(registration_number="1234"),  # row 3
        course(course="advanced"),  # row 4
        course(course="specific", provider="", course_code="X-1"),  # row 5
        course(course_code="C" * 33),  # row 6
        course(completed_on="2026-11-23"),  # row 7: tomorrow
        course(completed_on="2025/06/01"),  # row 8
        course(completed_on=""),  # row 9
        course(provider="P" * 65, completed_on="2025-06-02"),  # row 10
        course(),  # row 11
        course(),  # row 12: same key as row 11
    ]

    lines = rejected(write_csv(tmp_path / "bad.csv", rows))

    assert lines[0] == "bad.csv に 10 件の誤りがあるため、何も取り込みませんでした。"
    expected = [
        ("行 2, 列 registration_number:", "「999999」は登録簿にない登録番号です"),
        ("行 3, 列 registration_number:", "6桁の数字"),
        ("行 4, 列 course:", "「advanced」は講習種別ではありません"),
        ("行 5, 列 provider:", "実施機関は必須です"),
        ("行 6, 列 course_code:", "32文字以内"),
        ("行 7, 列 completed_on:", "未来の日付"),
        ("行 8, 列 completed_on:", "YYYY-MM-DD"),
        ("行 9, 列 completed_on:", "修了日は必須です"),
        ("行 10, 列 provider:", "64文字以内"),
        ("行 12, 列 registration_number:", "11 行目にあります"),
    ]
    errors = lines[1:]
    assert len(errors) == len(expected)
    for (prefix, reason), line in zip(expected, errors, strict=True):
        assert line.startswith(prefix), (prefix, line)
        assert reason in line, (reason, line)
    assert CourseCompletion.objects.count() == 0


@pytest.mark.parametrize(
    "kind", ["deemed", "DEEMED", "ｄｅｅｍｅｄ", "みなし受講", "みなし受講（実務経験）"]
)
def test_deemed_attendance_is_refused_naming_the_row_and_column(tmp_path: Path, kind) -> None:
    """Deemed attendance is credited only by approving an application, never by an extract."""
    rows = [course(), course(course=kind, course_code="DEEMED-1", completed_on="2025-07-01")]

    lines = rejected(write_csv(tmp_path / "deemed.csv", rows))

    assert lines[0] == "deemed.csv に 1 件の誤りがあるため、何も取り込みませんでした。"
    assert lines[1].startswith("行 3, 列 course:")
    assert "（みなし受講）は取り込めません" in lines[1]
    assert "申請を承認したときにだけ" in lines[1]
    assert CourseCompletion.objects.count() == 0


def test_an_import_keeps_a_deemed_credit(tmp_path: Path, records) -> None:
    from sekispe.registry.services import grant_deemed_credit

    credit = grant_deemed_credit(
        records["100001"], approved_on=dt.date(2025, 7, 1), reference="DEEMED-7", actor=None
    )
    run_import(write_csv(tmp_path / "courses.csv", SAMPLE))
    assert CourseCompletion.objects.filter(pk=credit.pk, kind="deemed").exists()
    assert CourseCompletion.objects.count() == len(SAMPLE) + 1


def test_one_bad_row_at_the_end_writes_nothing(tmp_path: Path) -> None:
    rows = [course(completed_on=f"2025-06-{day:02d}") for day in range(1, 29)]
    rows.append(course(registration_number="777777"))
    before = generation()

    lines = rejected(write_csv(tmp_path / "bad-end.csv", rows))

    assert lines[1].startswith("行 30, 列 registration_number:")
    assert CourseCompletion.objects.count() == 0
    assert CourseCompletion.history.count() == 0
    assert not AuditEvent.objects.filter(action="courses.import").exists()
    assert generation() == before


def test_rejected_import_is_audited(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [course(registration_number="777777")])

    rejected(path)

    event = AuditEvent.objects.get(action="courses.import_rejected")
    assert event.actor_label == f"import-courses (by {getpass.getuser()})"
    assert event.data["file"] == "bad.csv"
    assert event.data["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert event.data["error_count"] == 1
    assert "登録簿にない登録番号" in event.data["errors"][0]


# -- re-importing -------------------------------------------------------------------------


def test_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "courses.csv", SAMPLE)
    run_import(path)
    ids = set(CourseCompletion.objects.values_list("id", flat=True))
    history = CourseCompletion.history.count()
    before = generation()

    output = run_import(path)

    assert "追加 0 件、更新 0 件、変更なし 4 件" in output
    assert set(CourseCompletion.objects.values_list("id", flat=True)) == ids
    assert CourseCompletion.history.count() == history
    assert generation() == before


def test_changed_provider_is_updated_with_history(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "a.csv", SAMPLE))
    before = generation()
    renamed = [*SAMPLE[:2], {**SAMPLE[2], "provider": "株式会社セキュリティ教育センター東日本"}]

    output = run_import(write_csv(tmp_path / "b.csv", [*renamed, SAMPLE[3]]))

    assert "追加 0 件、更新 1 件、変更なし 3 件" in output
    specific = CourseCompletion.objects.get(kind="specific")
    assert specific.provider == "株式会社セキュリティ教育センター東日本"
    latest = specific.history.latest("history_id")
    assert (latest.history_type, latest.provider) == ("~", specific.provider)
    assert generation() != before


def test_a_different_date_or_code_is_a_new_completion(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "a.csv", [course()]))

    output = run_import(
        write_csv(
            tmp_path / "b.csv",
            [course(), course(completed_on="2025-06-02"), course(course_code="E-1")],
        )
    )

    assert "追加 2 件、更新 0 件、変更なし 1 件" in output


def test_completions_missing_from_the_file_are_kept(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "all.csv", SAMPLE))

    # An incremental extract with only this year's completions.
    output = run_import(write_csv(tmp_path / "new.csv", [course(completed_on="2026-06-01")]))

    assert "追加 1 件、更新 0 件、変更なし 0 件" in output
    assert CourseCompletion.objects.count() == 5


def test_dry_run_counts_but_writes_nothing(tmp_path: Path) -> None:
    output = run_import(write_csv(tmp_path / "courses.csv", SAMPLE), "--dry-run")

    assert "[確認のみ]" in output and "追加 4 件" in output
    assert CourseCompletion.objects.count() == 0
    assert CourseCompletion.history.count() == 0
    assert not AuditEvent.objects.exists()


def test_provider_default_is_only_for_ipa_courses(tmp_path: Path) -> None:
    run_import(
        write_csv(
            tmp_path / "courses.csv",
            [course(), course(course="PRACTICAL", provider=" IPA ", completed_on="2025-07-01")],
        )
    )

    assert set(CourseCompletion.objects.values_list("kind", "provider")) == {
        ("common", "IPA"),
        ("practical", "IPA"),
    }
