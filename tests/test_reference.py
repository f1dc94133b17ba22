"""Reference data is loaded after migrate and resolves the ways people write it."""

from __future__ import annotations

import pytest

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
