"""The operators' renewal list (/ops/renewals/): columns, filters, paging, stuck reminders."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.registry import rules
from sekispe.registry.models import (
    CourseCompletion,
    DisasterMeasure,
    RegistryRecord,
    RegistryStatus,
    Reminder,
    ReminderState,
)
from sekispe.registry.views_ops import _open_missing, course_windows
from tests.factories import text

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        yield


def make_record(
    number: str,
    name: str,
    expires_on: dt.date,
    courses: list[tuple[str, dt.date]],
    *,
    prefecture: str = "13",
    status: str = RegistryStatus.ACTIVE,
    **extra,
) -> RegistryRecord:
    record = RegistryRecord.objects.create(
        registration_number=number,
        name=name,
        name_kana="カナ",
        registered_on=dt.date(2024, 4, 1),
        expires_on=expires_on,
        home_prefecture_id=prefecture,
        status=status,
        **extra,
    )
    CourseCompletion.objects.bulk_create(
        CourseCompletion(record=record, kind=kind, fiscal_year=day.year, completed_on=day)
        for kind, day in courses
    )
    return record


def _yearly(*days: dt.date, practical: dt.date) -> list[tuple[str, dt.date]]:
    return [("common", day) for day in days] + [("practical", practical)]


@pytest.fixture
def people(operator) -> dict[str, RegistryRecord]:
    measure = DisasterMeasure.objects.create(
        title="令和8年10月地震",
        deadline_from=dt.date(2026, 10, 1),
        deadline_to=dt.date(2026, 11, 30),
        new_deadline=dt.date(2027, 1, 15),
    )
    measure.prefectures.set(["43"])
    june = [dt.date(2024, 6, 1), dt.date(2025, 6, 1), dt.date(2026, 6, 1)]
    return {
        # Deadline 2027-01-30 (69 days); this year's common course not done yet.
        "a": make_record(
            "700001", "青木 未了", dt.date(2027, 3, 31), _yearly(*june[:2], practical=june[1])
        ),
        # Same deadline, everything done; second renewal: gold card.
        "b": make_record(
            "700002",
            "別府 完了",
            dt.date(2027, 3, 31),
            _yearly(*june, practical=june[1]),
            renewal_count=2,
        ),
        # Period 2025-04-01 – 2028-03-31: the FY2025 course was due 2026-03-31.
        "c": make_record("700003", "千葉 遅延", dt.date(2028, 3, 31), [], prefecture="12"),
        # Deadline 2026-12-12 (20 days), in Osaka, everything done.
        "d": make_record(
            "700004",
            "土井 近日",
            dt.date(2027, 2, 10),
            _yearly(*june, practical=june[0]),
            prefecture="27",
        ),
        # Normal deadline 2026-11-01, extended to 2027-01-15 (54 days).
        "e": make_record(
            "700005",
            "江藤 延長",
            dt.date(2026, 12, 31),
            _yearly(*june, practical=june[1]),
            prefecture="43",
            extension_measure=measure,
        ),
        "f": make_record(
            "700006",
            "深田 失効",
            dt.date(2026, 3, 31),
            [],
            status=RegistryStatus.EXPIRED,
        ),
    }


def numbers(response) -> list[str]:
    return re.findall(
        r'<td><a href="/ops/registry/\d+/">(\d{6})</a></td>', response.content.decode()
    )


@pytest.fixture
def ops(client_for, operator):
    return client_for(operator)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # Active registrants by default, in order of (normal) expiry.
        ({}, ["700005", "700004", "700001", "700002", "700003"]),
        ({"status": "all"}, ["700006", "700005", "700004", "700001", "700002", "700003"]),
        ({"status": "expired"}, ["700006"]),
        ({"q": "7000"}, ["700005", "700004", "700001", "700002", "700003"]),
        ({"q": "700003"}, ["700003"]),
        ({"q": "青木未了"}, ["700001"]),
        ({"courses": "missing"}, ["700001", "700003"]),
        ({"courses": "overdue"}, ["700003"]),
        ({"courses": "missing", "status": "all"}, ["700006", "700001", "700003"]),
        ({"within": "30"}, ["700004"]),
        ({"within": "60"}, ["700005", "700004"]),
        ({"within": "90"}, ["700005", "700004", "700001", "700002"]),
        ({"within": "90", "courses": "missing"}, ["700001"]),
        ({"extended": "on"}, ["700005"]),
        ({"prefecture": "27"}, ["700004"]),
        ({"prefecture": "12", "courses": "overdue"}, ["700003"]),
    ],
)
def test_filters(ops, people, params, expected):
    response = ops.get("/ops/renewals/", params)
    assert response.status_code == 200
    assert numbers(response) == expected
    assert f"{len(expected)} 件" in text(response)


def test_the_columns(ops, people):
    body = text(ops.get("/ops/renewals/"))
    row_a = re.search(r"700001</a></td>(.*?)</tr>", body).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row_a)]
    assert cells == [
        "青木 未了 カナ",
        "東京都",
        "2027年3月31日",
        "2027年1月30日あと69日",
        "未受講あり",  # begun, not yet due: the "missing" filter's notion
        "2026年度の共通講習（期限 2027年1月30日）",
        "0",
        "ブルー",
        "—",
    ]
    row_c = re.search(r"700003</a></td>(.*?)</tr>", body).group(1)
    assert "期限超過あり" in row_c  # the "overdue" filter's notion
    assert "2025年度の共通講習（期限 2026年3月31日・期限超過）" in re.sub(r"<[^>]+>", "", row_c)
    assert "2026年度の共通講習" in row_c
    assert "実践講習または特定講習（いずれか1つ）" in row_c
    assert "2027年度の共通講習" not in row_c  # not begun: not missing yet
    row_b = re.search(r"700002</a></td>(.*?)</tr>", body).group(1)
    assert "<td>なし</td> <td>2</td> <td>ゴールド</td>" in row_b
    row_e = re.search(r"700005</a></td>(.*?)</tr>", body).group(1)
    measure = DisasterMeasure.objects.get()
    assert (
        '2027年3月16日</time><br><span class="note">本来 <time datetime="2026-12-31" class="date">2026年12月31日</time></span>'
        in row_e
    )
    assert '2027年1月15日</time><br><span class="note">あと54日</span>' in row_e
    assert f'<a href="/ops/disasters/{measure.pk}/">令和8年10月地震</a>' in row_e


def test_the_filter_form_keeps_its_values_and_defaults_to_active(ops, people):
    body = text(ops.get("/ops/renewals/"))
    assert '<option value="active" selected>登録中</option>' in body
    body = text(ops.get("/ops/renewals/", {"status": "all", "within": "60", "prefecture": "43"}))
    assert '<option value="all" selected>すべて</option>' in body
    assert '<option value="60" selected>60日以内</option>' in body
    assert '<option value="43" selected>熊本県</option>' in body


def test_an_invalid_filter_shows_the_error_and_no_rows(ops, people):
    response = ops.get("/ops/renewals/", {"within": "45"})
    assert response.status_code == 200
    body = text(response)
    assert "入力内容を確認してください。" in body
    assert numbers(response) == []


def test_pages_of_fifty_with_and_without_a_course_filter(ops, django_assert_max_num_queries):
    june = [dt.date(2024, 6, 1), dt.date(2025, 6, 1)]
    for i in range(120):
        # Every third registrant has done this year's course too.
        done = [*june, dt.date(2026, 6, 1)] if i % 3 == 0 else june
        make_record(
            f"71{i:04d}", f"登録 {i}", dt.date(2027, 3, 31), _yearly(*done, practical=june[0])
        )
    first = ops.get("/ops/renewals/")
    assert len(numbers(first)) == 50
    assert "1 / 3 ページ" in text(first)
    third = ops.get("/ops/renewals/", {"page": 3})
    assert len(numbers(third)) == 20
    missing = ops.get("/ops/renewals/", {"courses": "missing", "page": 2})
    assert "80 件" in text(missing)
    assert len(numbers(missing)) == 30
    assert all(int(n[2:]) % 3 != 0 for n in numbers(missing))
    assert 'href="?courses=missing&amp;page=1" rel="prev"' in missing.content.decode()
    # No query per registrant: the same few queries for 120 as for a handful.
    with django_assert_max_num_queries(12):
        ops.get("/ops/renewals/", {"courses": "missing"})
    with django_assert_max_num_queries(12):
        ops.get("/ops/renewals/")


def test_reminders_stuck_in_sending_are_shown_at_the_top(ops, people):
    body = text(ops.get("/ops/renewals/"))
    assert "送信中のまま止まっている" not in body
    Reminder.objects.create(
        record=people["a"],
        kind="deadline_30",
        key="2027-01-30",
        email="aoki@example.jp",
        state=ReminderState.SENDING,
    )
    Reminder.objects.create(
        record=people["b"],
        kind="deadline_30",
        key="2027-01-30",
        email="beppu@example.jp",
        state=ReminderState.FAILED,
    )
    body = text(ops.get("/ops/renewals/"))
    assert "送信中のまま止まっているリマインダーが 1 件あります" in body
    stuck = body[body.index("stuck-heading") : body.index("</section>")]
    assert "700001" in stuck and "aoki@example.jp" in stuck and "更新申請期限の30日前" in stuck
    assert "beppu@example.jp" not in stuck
    assert "送信に失敗したリマインダーが 1 件あります。次回の送信処理で再送します。" in body


@st.composite
def renewal_inputs(draw):
    # Cohort dates and arbitrary ones (imports may hold anything), 29 February included.
    expires_on = draw(
        st.sampled_from([dt.date(2027, 3, 31), dt.date(2026, 9, 30), dt.date(2028, 2, 28)])
        | st.dates(dt.date(2021, 1, 1), dt.date(2031, 12, 31))
    )
    completions = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["common", "practical", "specific", "deemed"]),
                st.integers(-1200, 200).map(lambda n: expires_on + dt.timedelta(days=n)),
            ),
            max_size=8,
        )
    )
    today = expires_on + dt.timedelta(days=draw(st.integers(-1150, 150)))
    extension = None
    if draw(st.booleans()):
        deadline_from = rules.application_deadline(expires_on) - dt.timedelta(
            days=draw(st.integers(0, 90))
        )
        extension = rules.Extension(
            new_deadline=deadline_from + dt.timedelta(days=draw(st.integers(1, 200))),
            deadline_from=deadline_from,
            waived_courses=frozenset(draw(st.sets(st.sampled_from(["common", "practical"])))),
        )
    if draw(st.booleans()):
        # Deemed attendance around the (possibly extended) deadline, where its
        # window ends and the practical course's does not.
        deadline = rules.application_deadline(expires_on, extension)
        completions.append(("deemed", deadline + dt.timedelta(days=draw(st.integers(-2, 2)))))
    return expires_on, completions, today, extension


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(renewal_inputs())
def test_the_course_windows_agree_with_the_rules(inputs):
    """The list filters 50,000 registrants in SQL with these windows; they must
    say what the rules say: missing a course exactly when a window is empty."""
    expires_on, completions, today, extension = inputs
    status = rules.renewal_status(expires_on, completions, today, extension)

    def counts(window, kind: str, day: dt.date) -> bool:
        if (kind == "common") != window.common:
            return False
        # Deemed attendance counts for the practical window, up to the deadline only.
        last = window.deemed_ends_on if kind == "deemed" else window.ends_on
        return window.starts_on <= day <= last

    def lacks(mode: str) -> bool:
        return any(
            not any(counts(window, kind, day) for kind, day in completions)
            for window in course_windows(expires_on, extension, today, mode)
        )

    assert lacks("overdue") == bool(status.overdue)
    assert lacks("missing") == bool(_open_missing(status))
    # Window by window too: the practical window is empty exactly when the
    # practical requirement is outstanding, whatever the common years say.
    considered = [r for r in status.requirements if not r.waived and r.starts_on <= today]
    windows = course_windows(expires_on, extension, today, "missing")
    assert len(windows) == len(considered)
    for window, requirement in zip(windows, considered, strict=True):
        assert window.common == (requirement.kind == rules.COMMON)
        assert (not any(counts(window, k, d) for k, d in completions)) == requirement.outstanding


def test_the_course_filter_in_sql_agrees_with_the_rules(ops, operator):
    """Random registrants in many cohorts, some extended: the page's SQL picks
    exactly those the rules call missing or overdue, in the list's order."""
    from random import Random

    rng = Random(4)
    measure = DisasterMeasure.objects.create(
        title="措置",
        deadline_from=dt.date(2026, 12, 1),
        deadline_to=dt.date(2027, 3, 31),
        new_deadline=dt.date(2027, 5, 31),
        waived_courses=["common"],
    )
    expiries = [dt.date(y, m, d) for y in (2026, 2027, 2028, 2029) for m, d in ((3, 31), (9, 30))]
    for i in range(160):
        expires_on = rng.choice([*expiries, dt.date(2027, 2, 28)])
        courses = [
            (
                rng.choice(["common", "common", "practical", "specific", "deemed"]),
                expires_on - dt.timedelta(days=rng.randint(-30, 1150)),
            )
            for _ in range(rng.randint(0, 5))
        ]
        if i % 4 == 0:
            # Deemed attendance around the deadline, where its window ends and the
            # practical course's does not.
            deadline = rules.application_deadline(expires_on)
            courses.append(("deemed", deadline + dt.timedelta(days=rng.randint(-3, 3))))
        extended = rules.application_deadline(expires_on) in (dt.date(2027, 1, 30),)
        make_record(
            f"72{i:04d}",
            f"無作為 {i}",
            expires_on,
            courses,
            extension_measure=measure if extended and i % 2 else None,
        )
    # Every common course done, the practical requirement met only by deemed
    # attendance: approved on the deadline (counts) or the day after (does not),
    # with the deadline (2026-11-16) passed and the expiry (2027-01-15) not yet.
    commons = [("common", dt.date(y, 6, 1)) for y in (2024, 2025, 2026)]
    make_record(
        "729998",
        "みなし 期限内",
        dt.date(2027, 1, 15),
        [*commons, ("deemed", dt.date(2026, 11, 16))],
    )
    make_record(
        "729999",
        "みなし 期限後",
        dt.date(2027, 1, 15),
        [*commons, ("deemed", dt.date(2026, 11, 17))],
    )
    records = RegistryRecord.objects.select_related("extension_measure").order_by(
        "expires_on", "registration_number"
    )
    from sekispe.registry.services import renewal_status_of

    statuses = [(r.registration_number, renewal_status_of(r, TODAY)) for r in records]
    assert any(r.extension_measure for r in records)
    practical = [next(q for q in s.requirements if q.kind == rules.PRACTICAL) for _n, s in statuses]
    assert any(q.deemed for q in practical)
    # Some deemed credits fall after their deadline and so must not count.
    late = CourseCompletion.objects.filter(kind="deemed").select_related("record")
    assert any(
        c.completed_on > rules.application_deadline(c.record.expires_on)
        and c.completed_on >= rules.period_start(c.record.expires_on)
        for c in late
    )
    for mode, wanted in (
        ("overdue", [n for n, s in statuses if s.overdue]),
        ("missing", [n for n, s in statuses if _open_missing(s)]),
    ):
        assert 0 < len(wanted) < len(statuses)
        assert "729999" in wanted and "729998" not in wanted
        shown = []
        for page in range(1, (len(wanted) + 49) // 50 + 1):
            shown += numbers(ops.get("/ops/renewals/", {"courses": mode, "page": page}))
        assert shown == wanted
