"""Disaster measures: the operators' form, what a measure does to deadlines, and its pages."""

from __future__ import annotations

import datetime as dt

import pytest

from sekispe.audit.models import AuditEvent
from sekispe.registry.models import (
    CourseCompletion,
    DisasterMeasure,
    RegistryRecord,
    RegistryStatus,
)
from sekispe.registry.services import apply_disaster_measure, approve_renewal, renewal_status_of
from tests.factories import text

pytestmark = pytest.mark.django_db

_numbers = iter(range(600000, 699999))

# 000, July 2020: the deadline of 30 September moved to 29 October, and the
# registration stayed valid until 28 December (60 days after the new deadline).
JULY_2020 = {
    "title": "令和2年7月豪雨に伴う更新申請期限の延長",
    "prefectures": ["40", "43", "44"],
    "deadline_from": "2020-09-30",
    "deadline_to": "2020-09-30",
    "new_deadline": "2020-10-29",
}
EXPIRES_FOR_SEPT_30 = dt.date(2020, 11, 29)  # 60 days after 2020-09-30


def make_record(
    expires_on: dt.date, prefecture: str, status: str = RegistryStatus.ACTIVE, **extra
) -> RegistryRecord:
    number = f"{next(_numbers):06d}"
    return RegistryRecord.objects.create(
        registration_number=number,
        name=extra.pop("name", f"登録 {number}"),
        name_kana="トウロク",
        registered_on=dt.date(2017, 12, 1),
        expires_on=expires_on,
        status=status,
        home_prefecture_id=prefecture,
        **extra,
    )


@pytest.fixture
def registrants() -> dict[str, RegistryRecord]:
    return {
        "kumamoto": make_record(EXPIRES_FOR_SEPT_30, "43", name="熊本 一郎"),
        "oita": make_record(EXPIRES_FOR_SEPT_30, "44", name="大分 花子"),
        "tokyo": make_record(EXPIRES_FOR_SEPT_30, "13", name="東京 太郎"),
        "later": make_record(dt.date(2020, 12, 1), "43", name="熊本 後藤"),
        "expired": make_record(
            EXPIRES_FOR_SEPT_30, "43", status=RegistryStatus.EXPIRED, name="熊本 失効"
        ),
    }


def test_the_july_2020_measure(client_for, operator, registrants):
    client = client_for(operator)
    response = client.post("/ops/disasters/new/", JULY_2020)
    measure = DisasterMeasure.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/ops/disasters/{measure.pk}/"
    assert measure.created_by == operator
    assert sorted(measure.prefectures.values_list("pk", flat=True)) == ["40", "43", "44"]

    today = dt.date(2020, 8, 1)
    for key in ("kumamoto", "oita"):
        record = RegistryRecord.objects.get(pk=registrants[key].pk)
        assert record.extension_measure == measure
        status = renewal_status_of(record, today)
        assert status.application_deadline == dt.date(2020, 10, 29)
        assert status.valid_until == dt.date(2020, 12, 28)
        assert record.history.first().history_change_reason == f"災害特例: {JULY_2020['title']}"
    for key in ("tokyo", "later", "expired"):
        record = RegistryRecord.objects.get(pk=registrants[key].pk)
        assert record.extension_measure is None
        assert renewal_status_of(record, today).application_deadline == rules_deadline(record)

    event = AuditEvent.objects.get(action="registry.disaster_measure")
    assert event.actor == operator
    assert event.target_id == str(measure.pk)
    assert sorted(event.data["covered"]) == sorted(
        [registrants["kumamoto"].registration_number, registrants["oita"].registration_number]
    )
    assert event.data["new_deadline"] == "2020-10-29"
    assert AuditEvent.objects.filter(action="registry.update").count() == 2

    body = text(client.get(response["Location"]))
    assert (
        "災害特例「令和2年7月豪雨に伴う更新申請期限の延長」を登録し、2人の更新申請期限を2020年10月29日に延長しました。"
        in body
    )
    assert "福岡県、熊本県、大分県" in body
    assert '<time datetime="2020-09-30" class="date">2020年9月30日</time>' in body
    assert '登録は <time datetime="2020-12-28" class="date">2020年12月28日</time> まで有効' in body
    row = f'{registrants["kumamoto"].registration_number}</a></td> <td>熊本 一郎</td> <td>熊本県</td> <td><time datetime="2020-09-30" class="date">2020年9月30日</time></td> <td><time datetime="2020-10-29" class="date">2020年10月29日</time></td> <td><time datetime="2020-12-28" class="date">2020年12月28日</time></td>'
    assert row in body
    assert "東京 太郎" not in body and "熊本 後藤" not in body


def rules_deadline(record: RegistryRecord) -> dt.date:
    return record.expires_on - dt.timedelta(days=60)


def test_the_list_of_measures(client_for, operator, registrants):
    client = client_for(operator)
    client.post("/ops/disasters/new/", {**JULY_2020, "waived_courses": ["common"]})
    body = text(client.get("/ops/disasters/"))
    assert "令和2年7月豪雨に伴う更新申請期限の延長" in body
    assert "福岡県、熊本県、大分県" in body
    assert '<time datetime="2020-09-30" class="date">2020年9月30日</time>' in body
    assert "2020-10-29" in body
    assert "共通講習（オンライン）" in body
    # Covered when applied, and still covered now.
    assert "<td>2人</td> <td>2人</td>" in body


def test_a_renewed_registrant_leaves_the_measure_but_still_counts_as_covered(
    client_for, operator, registrants
):
    client = client_for(operator)
    client.post("/ops/disasters/new/", JULY_2020)
    approve_renewal(RegistryRecord.objects.get(pk=registrants["oita"].pk), actor=operator)
    body = text(client.get("/ops/disasters/"))
    assert "<td>2人</td> <td>1人</td>" in body
    measure = DisasterMeasure.objects.get()
    detail = text(client.get(f"/ops/disasters/{measure.pk}/"))
    assert "熊本 一郎" in detail and "大分 花子" not in detail
    assert "更新が承認された登録者は" in detail


def test_waived_courses_are_waived(client_for, operator):
    record = make_record(EXPIRES_FOR_SEPT_30, "43")
    # Period 2017-11-30 – 2020-11-29: the last year's common course is missing.
    for day in (dt.date(2018, 1, 10), dt.date(2019, 1, 10)):
        CourseCompletion.objects.create(
            record=record, kind="common", fiscal_year=day.year - 1, completed_on=day
        )
    before = renewal_status_of(record, dt.date(2020, 8, 1))
    assert [r.kind for r in before.missing] == ["common", "practical"]
    client_for(operator).post(
        "/ops/disasters/new/", {**JULY_2020, "waived_courses": ["common", "practical"]}
    )
    record.refresh_from_db()
    after = renewal_status_of(record, dt.date(2020, 8, 1))
    assert after.missing == ()
    assert after.can_apply


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"deadline_to": "2020-09-29"}, "deadline_to", "「まで」の日付は「から」の日付と同じか"),
        ({"new_deadline": "2020-09-30"}, "new_deadline", "延長後の更新申請期限は、対象となる期限"),
        ({"prefectures": []}, "prefectures", "対象の都道府県を1つ以上選んでください。"),
        ({"title": ""}, "title", "措置の名称を入力してください。"),
        ({"deadline_from": "2020-13-01"}, "deadline_from", "日付を正しく入力してください"),
    ],
)
def test_the_form_validates(client_for, operator, registrants, changes, field, message):
    response = client_for(operator).post("/ops/disasters/new/", {**JULY_2020, **changes})
    assert response.status_code == 400
    body = text(response)
    assert "入力内容を確認してください。" in body
    assert message in body
    assert not DisasterMeasure.objects.exists()
    assert not RegistryRecord.objects.filter(extension_measure__isnull=False).exists()
    # The summary links to the field, which says it is invalid.
    anchor = "id_prefectures_0" if field == "prefectures" else f"id_{field}"
    assert f'href="#{anchor}"' in body
    assert f'id="{anchor}"' in body
    if field == "prefectures":
        assert 'aria-describedby="id_prefectures_error id_prefectures_help"' in body
    else:
        assert 'aria-invalid="true"' in body


def test_the_form_groups_prefectures_by_region(client_for, operator):
    response = client_for(operator).get("/ops/disasters/new/")
    assert response.status_code == 200
    body = text(response)
    assert (
        '<legend>対象の都道府県 <span class="field-tag field-tag-required">必須</span></legend>'
        in body
    )
    assert "<legend>九州・沖縄</legend>" in body
    assert 'name="prefectures" value="43"' in body
    assert 'type="date"' in body
    # Optional in a form of required fields: the legend says so (issue 15, point 9).
    assert (
        '<legend>免除する講習 <span class="field-tag field-tag-optional">任意</span></legend>'
        in body
    )


def test_an_empty_post_is_a_form_error(client_for, operator):
    response = client_for(operator).post("/ops/disasters/new/", {})
    assert response.status_code == 400
    assert "措置の名称を入力してください。" in text(response)


def test_a_measure_never_shortens_a_deadline(operator):
    """The eligible range may reach past the new deadline; those registrants are left out."""
    inside = make_record(EXPIRES_FOR_SEPT_30, "43")  # deadline 2020-09-30
    past = make_record(dt.date(2020, 12, 30), "43")  # deadline 2020-10-31
    measure = DisasterMeasure.objects.create(
        title="範囲の広い措置",
        deadline_from=dt.date(2020, 9, 1),
        deadline_to=dt.date(2020, 11, 30),
        new_deadline=dt.date(2020, 10, 29),
    )
    measure.prefectures.set(["43"])
    result = apply_disaster_measure(measure, actor=operator)
    assert result.covered == [inside.registration_number]
    past.refresh_from_db()
    assert past.extension_measure is None


def test_applying_again_changes_nothing_and_a_later_measure_wins(operator, registrants):
    first = DisasterMeasure.objects.create(
        title="最初の措置",
        deadline_from=dt.date(2020, 9, 30),
        deadline_to=dt.date(2020, 9, 30),
        new_deadline=dt.date(2020, 10, 29),
    )
    first.prefectures.set(["43"])
    assert len(apply_disaster_measure(first, actor=operator).covered) == 1
    assert apply_disaster_measure(first, actor=operator).covered == []
    second = DisasterMeasure.objects.create(
        title="次の措置",
        deadline_from=dt.date(2020, 9, 1),
        deadline_to=dt.date(2020, 9, 30),
        new_deadline=dt.date(2020, 11, 30),
    )
    second.prefectures.set(["43"])
    assert apply_disaster_measure(second, actor=operator).covered == [
        registrants["kumamoto"].registration_number
    ]
    # A measure giving an earlier deadline does not replace a later one.
    assert apply_disaster_measure(first, actor=operator).covered == []


def test_a_missing_measure_is_404_for_operators(client_for, operator):
    assert client_for(operator).get("/ops/disasters/999999/").status_code == 404
