"""Course status words (issue 15, point 12).

On /me/registry/ a requirement whose year has not begun is 予定 (neutral), one
begun but not yet due is 未受講（期限 …） (amber), only one past its due date is
red 未受講 with the overdue note. On /ops/renewals/ the row's label follows the
filter's two notions: 期限超過あり (overdue) and 未受講あり (begun, not done).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from sekispe.listings.services import CourseInput
from sekispe.registrant_requests.views_me import course_rows
from sekispe.registry import rules
from sekispe.registry.models import CourseCompletion, RegistryRecord
from tests.factories import make_specialist_user, text

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        yield


def _requirement(year: int, **extra) -> rules.CourseRequirement:
    return rules.CourseRequirement(
        kind=rules.COMMON,
        year=1,
        starts_on=dt.date(year, 4, 1),
        ends_on=dt.date(year + 1, 3, 31),
        due=dt.date(year + 1, 3, 31),
        **extra,
    )


def _status(*requirements: rules.CourseRequirement) -> rules.RenewalStatus:
    return rules.RenewalStatus(
        period_starts_on=dt.date(2025, 4, 1),
        expires_on=dt.date(2028, 3, 31),
        valid_until=dt.date(2028, 3, 31),
        application_deadline=dt.date(2028, 1, 30),
        requirements=requirements,
        today=TODAY,
    )


def test_each_state_has_its_words_and_style():
    rows = course_rows(
        _status(
            _requirement(2024),  # due 2025-03-31: overdue
            _requirement(2026),  # begun 2026-04-01, due 2027-03-31
            _requirement(2027),  # begins 2027-04-01
            _requirement(2025, done=True),
            _requirement(2023, waived=True),
        )
    )
    assert [(r["state"], r["css"], r["overdue"]) for r in rows] == [
        ("未受講", "course-missing", True),
        ("未受講（期限 2027年3月31日）", "course-pending", False),
        ("予定", "course-planned", False),
        ("受講済み", "course-done", False),
        ("免除", "course-waived", False),
    ]


def test_the_due_day_itself_is_not_overdue_and_the_first_day_is_not_planned():
    due_today = rules.CourseRequirement(
        kind=rules.COMMON,
        year=1,
        starts_on=TODAY,
        ends_on=TODAY,
        due=TODAY,
    )
    (row,) = course_rows(_status(due_today))
    assert row["css"] == "course-pending" and not row["overdue"]


def test_deemed_attendance_keeps_its_text():
    practical = rules.CourseRequirement(
        kind=rules.PRACTICAL,
        year=0,
        starts_on=dt.date(2027, 4, 1),  # even when its window lies ahead
        ends_on=dt.date(2028, 3, 31),
        due=dt.date(2028, 1, 30),
        done=True,
        deemed=True,
        deemed_on=dt.date(2026, 10, 1),
    )
    (row,) = course_rows(_status(practical))
    assert row["state"] == "みなし受講により充足（2026年10月1日承認）"
    assert row["css"] == "course-done"


def _cells(page: str, label: str) -> tuple[str, str]:
    match = re.search(
        rf'<tr( class="overdue")?> <th scope="row">{re.escape(label)}</th>.*?</td> <td>.*?</td> '
        r"<td>(.*?)</td> </tr>",
        page,
    )
    assert match, label
    return match.group(1) or "", match.group(2)


def test_registry_page_shows_planned_pending_and_overdue(client_for):
    # Period 2025-04-01 – 2028-03-31: FY2025 overdue, FY2026 current, FY2027 ahead.
    user = make_specialist_user("100021", expires_on=dt.date(2028, 3, 31), courses=())
    page = text(client_for(user).get("/me/registry/"))

    tr, cell = _cells(page, "2025年度の共通講習")
    assert tr == ' class="overdue"'
    assert '<span class="course-missing">未受講</span>' in cell and "期限を過ぎています" in cell

    tr, cell = _cells(page, "2026年度の共通講習")
    assert tr == ""
    assert '<span class="course-pending">未受講（期限 2027年3月31日）</span>' in cell
    assert "期限を過ぎています" not in cell

    tr, cell = _cells(page, "2027年度の共通講習")
    assert tr == ""
    assert cell == '<span class="course-planned">予定</span>'


def test_registry_page_with_nothing_overdue_has_no_red(client_for):
    user = make_specialist_user(
        "100022",
        expires_on=dt.date(2028, 3, 31),
        courses=(CourseInput("common", dt.date(2025, 6, 1), "IPA"),),
    )
    page = text(client_for(user).get("/me/registry/"))
    assert "course-missing" not in page
    assert '<span class="course-done">受講済み</span>' in page
    assert '<span class="course-planned">予定</span>' in page


# ------------------------------------------------------------ /ops/renewals/


def _record(number: str, expires_on: dt.date, commons: list[int]) -> RegistryRecord:
    record = RegistryRecord.objects.create(
        registration_number=number,
        name="試験 太郎",
        name_kana="カナ",
        registered_on=dt.date(2024, 4, 1),
        expires_on=expires_on,
        home_prefecture_id="13",
    )
    for year in commons:
        CourseCompletion.objects.create(
            record=record, kind="common", fiscal_year=year, completed_on=dt.date(year, 6, 1)
        )
    return record


def _label(body: str, number: str) -> str:
    row = re.search(rf"{number}</a></td>(.*?)</tr>", body).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    return cells[4]


def test_renewal_rows_name_overdue_and_missing_apart(client_for, operator):
    _record("710001", dt.date(2028, 3, 31), [])  # FY2025 course overdue
    _record("710002", dt.date(2027, 3, 31), [2024, 2025])  # FY2026 begun, not due
    _record("710003", dt.date(2029, 3, 31), [2026])  # only later years outstanding
    client = client_for(operator)
    body = text(client.get("/ops/renewals/"))

    assert '<strong class="course-missing">期限超過あり</strong>' in _label(body, "710001")
    assert '<span class="course-pending">未受講あり</span>' in _label(body, "710002")
    assert "未受講あり" not in _label(body, "710001")
    # 710003: its practical course window has begun, so it is missing, not overdue.
    third = _label(body, "710003")
    assert "期限超過あり" not in third

    overdue = text(client.get("/ops/renewals/", {"courses": "overdue"}))
    missing = text(client.get("/ops/renewals/", {"courses": "missing"}))
    for number in ("710001", "710002", "710003"):
        label = _label(body, number)
        assert ("期限超過あり" in label) == (f">{number}</a>" in overdue)
        assert ("期限超過あり" in label or "未受講あり" in label) == (f">{number}</a>" in missing)
