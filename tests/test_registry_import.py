"""`sekispe import-registry`: IPA's registry extract, all or nothing, idempotent, audited."""

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
from sekispe.devtools.bench import imports as bench
from sekispe.registry.importer import REGISTRY_COLUMNS
from sekispe.registry.imports import CHANGED_CAP, ImportCounts
from sekispe.registry.models import CourseCompletion, RegistryRecord
from tests.factories import TODAY, make_user

pytestmark = pytest.mark.django_db

VALID: dict[str, str] = {
    "registration_number": "123456",
    "name": "鈴木 一郎",
    "name_kana": "スズキ イチロウ",
    "birth_year": "1975",
    "home_prefecture": "東京都",
    "registered_on": "2023-04-01",
    "expires_on": "2026-03-31",
    "renewal_count": "1",
    "status": "active",
    "email": "ichiro@example.jp",
}


@pytest.fixture(autouse=True)
def _today():
    # Birth years are checked against the current year; freeze it.
    with time_machine.travel(dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


def row(**changes: str) -> dict[str, str]:
    unknown = set(changes) - set(REGISTRY_COLUMNS)
    assert not unknown, unknown
    return {**VALID, **changes}


def csv_text(rows: list[dict[str, str]], header: tuple[str, ...] = REGISTRY_COLUMNS) -> str:
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
    call_command("import_registry", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def rejected(path: Path, *args: str) -> list[str]:
    """The error lines of an import that must fail."""
    with pytest.raises(CommandError) as info:
        run_import(path, *args)
    return str(info.value).splitlines()


def generation() -> int:
    return latest_change()


SAMPLE_ROWS = [
    row(),
    row(
        registration_number="１２３４５７",  # full-width digits, as typed with a Japanese IME
        name="佐藤 花子",
        name_kana="ｻﾄｳ ﾊﾅｺ",  # half-width katakana
        birth_year="",
        home_prefecture="27",
        registered_on="2021-10-01",
        expires_on="2024-09-30",
        renewal_count="",
        status="失効",
        email="",
    ),
    row(
        registration_number="000042",
        name="高橋 誠",
        name_kana="タカハシ マコト",
        home_prefecture="神奈川",
        registered_on="2017-04-01",
        expires_on="2029-03-31",
        renewal_count="３",
        status="DEREGISTERED",
        email="makoto@example.co.jp",
    ),
]


# -- a valid file -----------------------------------------------------------------------


def test_valid_file_imports_every_row(tmp_path: Path) -> None:
    output = run_import(write_csv(tmp_path / "registry.csv", SAMPLE_ROWS))

    assert "追加 3 件、更新 0 件、変更なし 0 件" in output
    ichiro = RegistryRecord.objects.get(registration_number="123456")
    assert (ichiro.name, ichiro.name_kana, ichiro.birth_year) == (
        "鈴木 一郎",
        "スズキ イチロウ",
        1975,
    )
    assert ichiro.home_prefecture_id == "13"
    assert (ichiro.registered_on, ichiro.expires_on) == (dt.date(2023, 4, 1), dt.date(2026, 3, 31))
    assert (ichiro.renewal_count, ichiro.status, ichiro.email) == (1, "active", "ichiro@example.jp")
    assert (ichiro.phone, ichiro.published_items, ichiro.extension_measure_id) == ("", [], None)
    hanako = RegistryRecord.objects.get(registration_number="123457")
    assert hanako.name_kana == "サトウ ハナコ"
    assert (hanako.birth_year, hanako.email, hanako.renewal_count) == (None, "", 0)
    assert (hanako.home_prefecture_id, hanako.status) == ("27", "expired")
    makoto = RegistryRecord.objects.get(registration_number="000042")
    assert (makoto.home_prefecture_id, makoto.renewal_count) == ("14", 3)
    assert makoto.status == "deregistered"
    assert makoto.card_colour == "gold"


@pytest.mark.parametrize("status", ["revoked", "REVOKED", "取消", "登録取消"])
def test_a_revoked_registration_imports_like_the_other_statuses(tmp_path: Path, status) -> None:
    run_import(write_csv(tmp_path / "registry.csv", [row(status=status)]))
    assert RegistryRecord.objects.get(registration_number="123456").status == "revoked"


def test_an_extract_never_undoes_a_revocation(tmp_path: Path) -> None:
    """A revocation (取消) is the minister's decision, recorded through
    registry.services.revoke_registration; an extract that still says active
    updates the other columns but keeps the record revoked, and says so."""
    run_import(write_csv(tmp_path / "first.csv", [row(status="revoked")]))
    output = run_import(
        write_csv(tmp_path / "later.csv", [row(status="active", email="new@example.jp")])
    )
    record = RegistryRecord.objects.get(registration_number="123456")
    assert (record.status, record.email) == ("revoked", "new@example.jp")
    assert "登録取消のため状態を変えなかった 1 件（123456）" in output
    # Both imports share the frozen clock: the later one is the later row.
    event = AuditEvent.objects.filter(action="registry.import").latest("id")
    assert event.data["kept_revoked"] == ["123456"]


def test_an_unknown_status_names_revoked_among_the_accepted_ones(tmp_path: Path) -> None:
    [_summary, line] = rejected(write_csv(tmp_path / "bad.csv", [row(status="retired")]))
    assert line.startswith("行 2, 列 status:")
    assert "revoked（登録取消）" in line


def test_each_new_record_gets_one_history_row(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "registry.csv", SAMPLE_ROWS))

    for record in RegistryRecord.objects.all():
        history = list(record.history.all())
        assert len(history) == 1
        assert history[0].history_type == "+"
        assert history[0].history_change_reason == "bulk:import-registry"
        assert (history[0].name, history[0].status) == (record.name, record.status)
        assert history[0].published_items == []


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8（BOM付き）"), ("cp932", "Shift_JIS（CP932）")],
)
def test_spreadsheet_encodings_import_the_same(tmp_path: Path, encoding: str, label: str) -> None:
    path = write_csv(tmp_path / "registry.csv", SAMPLE_ROWS, encoding)

    output = run_import(path)

    assert f"文字コード {label}" in output
    assert sorted(RegistryRecord.objects.values_list("name", "name_kana")) == [
        ("佐藤 花子", "サトウ ハナコ"),
        ("鈴木 一郎", "スズキ イチロウ"),
        ("高橋 誠", "タカハシ マコト"),
    ]
    assert AuditEvent.objects.get(action="registry.import").data["encoding"] == encoding


def test_re_saving_in_another_encoding_changes_nothing(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "a.csv", SAMPLE_ROWS, "cp932"))

    output = run_import(write_csv(tmp_path / "b.csv", SAMPLE_ROWS, "utf-8-sig"))

    assert "追加 0 件、更新 0 件、変更なし 3 件" in output


def test_padded_and_blank_rows_are_ignored(tmp_path: Path) -> None:
    header, data = csv_text([row()]).splitlines()
    path = tmp_path / "padded.csv"
    path.write_text(f"{header}\r\n{data},,\r\n,,,,,,,,,,\r\n", encoding="utf-8")

    assert "追加 1 件" in run_import(path)


def test_header_only_file_imports_nothing(tmp_path: Path) -> None:
    output = run_import(write_csv(tmp_path / "empty.csv", []))

    assert "データ行がありません" in output
    assert not AuditEvent.objects.filter(action="registry.import").exists()


# -- errors -----------------------------------------------------------------------------


def test_every_bad_cell_is_listed_with_row_and_column(tmp_path: Path) -> None:
    rows = [
        row(registration_number="12345"),  # row 2
        row(registration_number="100002", name="", name_kana="ア" * 129),  # row 3
        row(registration_number="100003", birth_year="75"),  # row 4
        row(registration_number="100004", birth_year="2015"),  # row 5: younger than 15
        row(registration_number="100005", home_prefecture="東京"),  # fine: short name
        row(registration_number="100006", home_prefecture="江戸"),  # row 7
        row(registration_number="100007", registered_on="2023-05-01"),  # row 8
        row(registration_number="100008", registered_on="2023/04/01"),  # row 9
        row(registration_number="100009", expires_on="2026-03-30"),  # row 10
        row(registration_number="100010", expires_on="2023-03-31"),  # row 11: before
        row(registration_number="100011", renewal_count="-1"),  # row 12
        row(registration_number="100012", status="retired"),  # row 13
        row(registration_number="100013", email="x@"),  # row 14
        row(registration_number="100014", name="改行\nあり"),  # rows 15-16: a quoted line break
        row(registration_number="123456"),  # row 17
        row(registration_number="123456"),  # row 18: duplicate of 17
        row(registration_number="100015", birth_year="1899"),  # row 19
        row(registration_number="100016", renewal_count="1.5", status=""),  # row 20
        row(registration_number="100017", name="制御\x07文字"),  # row 21
    ]
    lines = rejected(write_csv(tmp_path / "bad.csv", rows))

    assert lines[0] == "bad.csv に 19 件の誤りがあるため、何も取り込みませんでした。"
    errors = lines[1:]
    expected = [
        ("行 2, 列 registration_number:", "6桁の数字"),
        ("行 3, 列 name:", "氏名は必須です"),
        ("行 3, 列 name_kana:", "128文字以内"),
        ("行 4, 列 birth_year:", "西暦4桁"),
        ("行 5, 列 birth_year:", "1900年から2011年まで"),
        ("行 7, 列 home_prefecture:", "「江戸」は都道府県名"),
        ("行 8, 列 registered_on:", "4月1日または10月1日"),
        ("行 9, 列 registered_on:", "YYYY-MM-DD"),
        ("行 10, 列 expires_on:", "3月31日でも9月30日でもありません"),
        ("行 11, 列 expires_on:", "登録日（2023-04-01）より後"),
        ("行 12, 列 renewal_count:", "0以上の整数"),
        ("行 13, 列 status:", "「retired」は状態ではありません"),
        ("行 14, 列 email:", "メールアドレスの形式"),
        ("行 15, 列 name:", "改行"),
        ("行 18, 列 registration_number:", "17 行目と重複"),
        ("行 19, 列 birth_year:", "範囲外"),
        ("行 20, 列 renewal_count:", "0以上の整数"),
        ("行 20, 列 status:", "状態は必須です"),
        ("行 21, 列 name:", "制御文字"),
    ]
    assert len(errors) == len(expected)
    for (prefix, reason), line in zip(expected, errors, strict=True):
        assert line.startswith(prefix), (prefix, line)
        assert reason in line, (reason, line)
    assert RegistryRecord.objects.count() == 0


def test_wrong_header_is_reported_by_column(tmp_path: Path) -> None:
    header = (*(c for c in REGISTRY_COLUMNS if c != "birth_year"), "phone")
    path = tmp_path / "header.csv"
    path.write_text(csv_text([], header), encoding="utf-8")

    lines = rejected(path)

    assert any("列「birth_year」がありません" in line for line in lines)
    assert any("想定していない列「phone」" in line for line in lines)


def test_wrong_cell_count_is_a_row_error(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(csv_text([row()]) + "654321,山田 太郎\r\n", encoding="utf-8")

    lines = rejected(path)

    assert lines[1].startswith("行 3: 列の数が 2 個です")


def test_undecodable_file_is_rejected_and_audited(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(csv_text([row()]).encode("utf-8") + b"\x85\x40")

    with pytest.raises(CommandError, match="文字コードを判別できません"):
        run_import(path)
    event = AuditEvent.objects.get(action="registry.import_rejected")
    assert event.data["error_count"] == 1


def test_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="読み込めません"):
        run_import(tmp_path / "nothing.csv")


# -- all or nothing -------------------------------------------------------------------------


def test_one_bad_row_at_the_end_writes_nothing(tmp_path: Path) -> None:
    rows = [row(registration_number=f"{200000 + i:06d}") for i in range(50)]
    rows.append(row(registration_number="299999", status="unknown"))
    before = generation()

    lines = rejected(write_csv(tmp_path / "bad-end.csv", rows))

    assert lines[1].startswith("行 52, 列 status:")
    assert RegistryRecord.objects.count() == 0
    assert RegistryRecord.history.count() == 0
    assert not AuditEvent.objects.filter(action="registry.import").exists()
    assert generation() == before


def test_rejected_import_is_audited_with_file_hash_and_runner(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [row(), row(registration_number="12")])

    rejected(path)

    event = AuditEvent.objects.get(action="registry.import_rejected")
    assert event.actor_label == f"import-registry (by {getpass.getuser()})"
    assert event.target_type == "registry_record"
    assert event.data["file"] == "bad.csv"
    assert event.data["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert event.data["error_count"] == 1
    assert event.data["errors"][0].startswith("行 3, 列 registration_number:")


def test_dry_run_with_errors_is_not_audited(tmp_path: Path) -> None:
    rejected(write_csv(tmp_path / "bad.csv", [row(registration_number="12")]), "--dry-run")

    assert not AuditEvent.objects.exists()


# -- writing ------------------------------------------------------------------------------


def test_import_is_audited_with_file_hash_counts_and_runner(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "registry.csv", SAMPLE_ROWS)

    run_import(path)

    event = AuditEvent.objects.get(action="registry.import")
    assert event.actor is None
    assert event.actor_label == f"import-registry (by {getpass.getuser()})"
    assert event.target_type == "registry_record"
    data = event.data
    assert data["file"] == "registry.csv"
    assert data["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data["os_user"] == getpass.getuser()
    assert (data["rows"], data["inserted"], data["updated"], data["unchanged"]) == (3, 3, 0, 0)
    assert sorted(data["changed"]) == ["000042", "123456", "123457"]
    assert "changed_truncated" not in data


def test_operator_is_recorded_as_actor_and_history_user(tmp_path: Path, operator) -> None:
    run_import(
        write_csv(tmp_path / "registry.csv", [row()]), "--operator", "OPERATOR@ipa.example.jp"
    )

    event = AuditEvent.objects.get(action="registry.import")
    assert event.actor == operator
    assert event.data["operator"] == operator.email
    record = RegistryRecord.objects.get()
    assert record.history.get().history_user == operator


def test_operator_option_refuses_other_roles(tmp_path: Path, sme) -> None:
    path = write_csv(tmp_path / "registry.csv", [row()])

    for email in (sme.email, "nobody@example.jp"):
        with pytest.raises(CommandError, match="運用担当者のアカウントではありません"):
            run_import(path, "--operator", email)
    assert RegistryRecord.objects.count() == 0


def test_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "registry.csv", SAMPLE_ROWS)
    run_import(path)
    stored = {r.pk: (r.updated_at, r.name) for r in RegistryRecord.objects.all()}
    history = RegistryRecord.history.count()
    before = generation()

    output = run_import(path)

    assert "追加 0 件、更新 0 件、変更なし 3 件" in output
    assert {r.pk: (r.updated_at, r.name) for r in RegistryRecord.objects.all()} == stored
    assert RegistryRecord.history.count() == history
    assert generation() == before
    second = AuditEvent.objects.filter(action="registry.import").latest("id")
    assert (second.data["unchanged"], second.data["changed"]) == (3, [])


def test_changed_row_is_updated_with_one_history_row(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "a.csv", SAMPLE_ROWS))
    record = RegistryRecord.objects.get(registration_number="123456")
    stamp = record.updated_at
    before = generation()
    changed = [row(name="鈴木 一朗", status="登録抹消"), *SAMPLE_ROWS[1:]]

    with time_machine.travel(dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.UTC), tick=False):
        output = run_import(write_csv(tmp_path / "b.csv", changed))

    assert "追加 0 件、更新 1 件、変更なし 2 件" in output
    record.refresh_from_db()
    assert (record.name, record.status) == ("鈴木 一朗", "deregistered")
    assert record.updated_at > stamp
    latest = record.history.order_by("-history_id").first()
    assert (latest.history_type, latest.name) == ("~", "鈴木 一朗")
    assert latest.history_change_reason == "bulk:import-registry"
    assert record.history.count() == 2
    assert RegistryRecord.history.count() == 4
    assert AuditEvent.objects.filter(action="registry.import").latest("id").data["changed"] == [
        "123456"
    ]
    assert generation() != before


def test_columns_not_in_the_extract_are_left_alone(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "registry.csv", [row()])
    run_import(path)
    ended = dt.date(2026, 6, 30)
    RegistryRecord.objects.filter(registration_number="123456").update(
        phone="03-1234-5678", published_items=["name", "email"], ended_on=ended
    )

    output = run_import(write_csv(tmp_path / "b.csv", [row(email="new@example.jp")]))

    assert "更新 1 件" in output
    record = RegistryRecord.objects.get()
    assert record.email == "new@example.jp"
    assert (record.phone, record.published_items, record.ended_on) == (
        "03-1234-5678",
        ["name", "email"],
        ended,
    )
    # The snapshot holds the whole record, including the fields the file does not carry.
    assert record.history.latest("history_id").phone == "03-1234-5678"


def test_records_missing_from_the_file_are_kept(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "a.csv", SAMPLE_ROWS))

    run_import(write_csv(tmp_path / "b.csv", [row()]))

    assert RegistryRecord.objects.count() == 3


def test_new_ids_are_never_reused(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "a.csv", SAMPLE_ROWS))
    top = RegistryRecord.objects.order_by("-id").first()
    top_id = top.id
    top.delete()

    run_import(write_csv(tmp_path / "b.csv", [row(registration_number="654321")]))

    assert RegistryRecord.objects.get(registration_number="654321").id > top_id


def test_dry_run_counts_but_writes_nothing(tmp_path: Path) -> None:
    run_import(write_csv(tmp_path / "a.csv", [row()]))
    history = RegistryRecord.history.count()
    events = AuditEvent.objects.count()

    output = run_import(
        write_csv(tmp_path / "b.csv", [row(name="鈴木 一朗"), SAMPLE_ROWS[1]]), "--dry-run"
    )

    assert "[確認のみ]" in output and "追加 1 件、更新 1 件、変更なし 0 件" in output
    assert RegistryRecord.objects.get().name == "鈴木 一郎"
    assert RegistryRecord.history.count() == history
    assert AuditEvent.objects.count() == events


def test_changed_numbers_in_the_audit_event_are_capped() -> None:
    counts = ImportCounts(rows=CHANGED_CAP + 5, inserted=CHANGED_CAP + 5)
    counts.changed = [f"{n:06d}" for n in range(CHANGED_CAP + 5)]

    data = counts.audit_data()

    assert len(data["changed"]) == CHANGED_CAP
    assert data["changed_truncated"] is True
    assert data["changed_count"] == CHANGED_CAP + 5


def test_birth_year_limit_follows_the_current_year(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row(birth_year="2012")])
    assert any("1900年から2011年まで" in line for line in rejected(path))

    with time_machine.travel(dt.datetime(2027, 1, 5, tzinfo=dt.UTC), tick=False):
        assert "追加 1 件" in run_import(path)


# -- the benchmark, small ---------------------------------------------------------------------


def test_import_bench_runs_end_to_end(tmp_path: Path) -> None:
    operator = make_user("operator")  # an unrelated row must not disturb the counts
    assert operator.pk

    report = bench.run_import_bench(
        registry_rows=120, course_rows=600, seed=3, work_dir=tmp_path, progress=False
    )

    steps = report["steps"]
    assert list(steps) == [step for step, _, _ in bench.STEPS]
    assert (steps["registry_fresh"]["inserted"], steps["courses_fresh"]["inserted"]) == (120, 600)
    assert steps["registry_again"]["unchanged"] == 120
    assert steps["courses_again"]["unchanged"] == 600
    assert steps["registry_update"]["updated"] == report["update_rows"] > 0
    assert report["stored"] == {
        "records": 120,
        "completions": 600,
        "record_history": 120 + report["update_rows"],
        "completion_history": 600,
    }
    assert set(report["targets"]) == {"fresh_import_s", "re_import_s"}
    assert report["encodings"] == {"registry": "cp932", "courses": "utf-8-sig"}
    assert "registry, fresh" in bench.format_report(report, "sqlite")
    assert bench.write_report(report, "test", tmp_path).name == "import-test.json"
    assert "| courses, fresh |" in bench.format_comparison({"test": report})
    assert CourseCompletion.objects.filter(kind="specific", provider="").count() == 0


def test_generated_extracts_are_realistic() -> None:
    registrants = bench.generate_registrants(3000, seed=1, anchor=TODAY)

    numbers = [r.number for r in registrants]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert {(r.registered_on.month, r.registered_on.day) for r in registrants} <= {(4, 1), (10, 1)}
    assert {r.renewal_count for r in registrants} == {0, 1, 2, 3}
    homes = [r.home for r in registrants]
    # Tokyo, then Kanagawa, have the most registrants (domain.md).
    assert homes.count("13") > homes.count("14") > homes.count("27") > homes.count("47")
    assert all(r.expires_on >= TODAY for r in registrants if r.status == "active")
    assert all(r.expires_on < TODAY for r in registrants if r.status == "expired")
    courses = bench.generate_courses(registrants, 15000, seed=1, anchor=TODAY)
    assert len(courses) == 15000
    assert len({(c[0], c[1], c[3], c[4]) for c in courses}) == 15000
    assert all(day < TODAY for *_, day in courses)
