"""Reference data is loaded after migrate and resolves the ways people write it."""

from __future__ import annotations

import pytest

from sekispe.reference import data
from sekispe.reference.models import (
    GuidanceTheme,
    Industry,
    Prefecture,
    RegionBlock,
    SyllabusItem,
    SyllabusMajor,
)
from sekispe.reference.services import (
    block_prefectures,
    resolve_prefecture,
    resolve_qualification,
    sync_reference_data,
)


@pytest.mark.django_db
def test_code_lists_are_in_the_database_and_sync_is_idempotent():
    sync_reference_data()
    assert Prefecture.objects.count() == 47
    assert RegionBlock.objects.count() == 8
    assert Industry.objects.count() == 20
    assert SyllabusMajor.objects.count() == 4
    assert SyllabusItem.objects.count() == 30
    assert GuidanceTheme.objects.count() == 5
    theme1 = GuidanceTheme.objects.get(code=1)
    assert len(theme1.goals) == 3
    assert sorted(theme1.syllabus_items.values_list("code", flat=True)) == sorted(
        ["1-1", "1-4", "1-6", "3-1", "3-2", "3-6", "3-9", "3-11", "4-1"]
    )
    # Every theme's first goal is identifying the current risks.
    assert len({t.goals[0] for t in GuidanceTheme.objects.all()}) == 1
    assert Prefecture.objects.get(code="13").block_id == "kanto"


@pytest.mark.parametrize(
    ("value", "code"),
    [("大阪府", "27"), ("大阪", "27"), ("27", "27"), ("７", "07"), (" 北海道 ", "01"), ("東京", "13"),
     ("大坂", None), ("48", None), ("", None)],
)  # fmt: skip
def test_resolve_prefecture(value, code):
    assert resolve_prefecture(value) == code


def test_blocks_partition_the_prefectures():
    blocks = ["hokkaido", "tohoku", "kanto", "chubu", "kinki", "chugoku", "shikoku", "kyushu"]
    codes = [c for b in blocks for c in block_prefectures(b)]
    assert sorted(codes) == [f"{i:02d}" for i in range(1, 48)]
    assert block_prefectures("shikoku") == ("36", "37", "38", "39")


def test_resolve_qualification():
    assert resolve_qualification("中小企業診断士") == "smeca"
    assert resolve_qualification("ＣＩＳＳＰ") == "cissp"
    assert resolve_qualification("宅地建物取引士") is None


@pytest.mark.django_db
def test_every_syllabus_item_has_its_summary_knowledge_and_skills():
    # The deemed-attendance page shows these for the sub-item an applicant picks.
    SyllabusItem.objects.filter(code="1-1").update(summary="", knowledge=[], source="")
    sync_reference_data()  # updates existing rows, not only new ones
    items = list(SyllabusItem.objects.all())
    assert len(items) == 30
    for item in items:
        assert item.summary.strip(), item.code
        assert len(item.knowledge) >= 2 and all(k.strip() for k in item.knowledge), item.code
        assert len(item.skills) >= 2 and all(s.strip() for s in item.skills), item.code
        assert item.source in ("003", "sekispe"), item.code
    by_source = {item.code: item.source for item in items}
    # 003 lists the summaries, knowledge and skills of 1-1 to 1-4 only (抄).
    assert sorted(c for c, s in by_source.items() if s == "003") == ["1-1", "1-2", "1-3", "1-4"]
    one_one = SyllabusItem.objects.get(code="1-1")
    assert not one_one.summarised_by_sekispe
    assert "経営者とコミュニケーションする能力" in one_one.skills
    assert SyllabusItem.objects.get(code="4-4").summarised_by_sekispe


def test_syllabus_names_follow_the_table_in_003():
    names = {code: name for code, name, _ in data.SYLLABUS_ITEMS}
    assert names["2-1"] == "企画・要件定義（セキュリティの観点）"
    assert names["2-3"] == "アーキテクチャの設計（セキュリティの観点）"
    assert names["3-7"] == "物理的及び環境的セキュリティ管理"
    assert set(data.SYLLABUS_DETAILS) == set(names)


@pytest.mark.django_db
def test_the_reference_api_carries_each_syllabus_items_details(client):
    items = {i["code"]: i for i in client.get("/api/v1/reference").json()["syllabus_items"]}
    assert len(items) == 30
    assert items["1-3"]["source"] == "003"
    assert "サイバー保険に関する知識" in items["1-3"]["knowledge"]
    assert items["3-7"]["name"] == "物理的及び環境的セキュリティ管理"
    assert items["3-7"]["source"] == "sekispe"
    assert all(i["summary"] and len(i["knowledge"]) >= 2 and len(i["skills"]) >= 2
               for i in items.values())  # fmt: skip
    doc = client.get("/api/v1/openapi.json").json()
    schema = doc["components"]["schemas"]["SyllabusItemCode"]
    assert {"summary", "knowledge", "skills", "source"} <= set(schema["required"])
    assert schema["properties"]["source"]["enum"] == ["003", "sekispe"]


@pytest.mark.django_db
def test_sync_restores_deleted_rows_and_links_and_reads_each_table_once(
    django_assert_max_num_queries,
):
    """It runs after every flush (each transactional test) and every migrate, so
    an up-to-date database costs a read per table, not a query per code."""
    sync_reference_data()
    GuidanceTheme.objects.get(code=2).syllabus_items.remove("1-1", "3-1")
    Industry.objects.filter(code="A").delete()
    Prefecture.objects.filter(code="13").update(name="東京")
    sync_reference_data()
    assert Industry.objects.filter(code="A").exists()
    assert Prefecture.objects.get(code="13").name == "東京都"
    theme2 = next(t for t in data.GUIDANCE_THEMES if t.code == 2)
    assert sorted(
        GuidanceTheme.objects.get(code=2).syllabus_items.values_list("code", flat=True)
    ) == sorted(theme2.syllabus)
    with django_assert_max_num_queries(12):
        sync_reference_data()


@pytest.mark.django_db
def test_sync_drops_links_the_data_no_longer_gives_in_one_delete(django_assert_num_queries):
    sync_reference_data()
    themes = {t.code: set(t.syllabus) for t in data.GUIDANCE_THEMES}
    extra = {
        code: next(item for item in sorted(data.SYLLABUS_DETAILS) if item not in items)
        for code, items in themes.items()
    }
    for code, item in extra.items():
        GuidanceTheme.objects.get(code=code).syllabus_items.add(item)
    # A read per table and one of the links, one delete for all stale links,
    # and the savepoint of the sync's atomic block (the test holds a transaction).
    with django_assert_num_queries(13):
        sync_reference_data()
    for code, items in themes.items():
        linked = set(
            GuidanceTheme.objects.get(code=code).syllabus_items.values_list("code", flat=True)
        )
        assert linked == items
