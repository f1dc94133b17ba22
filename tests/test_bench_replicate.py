"""The bench's SQL replication: copies are complete, unique and searchable (real database)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.core.models import SearchChange
from sekispe.devtools.bench import replicate
from sekispe.devtools.bench import search as bench
from sekispe.listings.models import Listing, ServiceOffer
from sekispe.registry.models import CourseCompletion, RegistryRecord
from sekispe.search import index as ix
from sekispe.search import services
from sekispe.search.services import SearchQuery


def _through_counts() -> dict[str, int]:
    counts = {
        field.name: field.remote_field.through.objects.count()
        for field in Listing._meta.many_to_many
    }
    counts["offers"] = ServiceOffer.objects.count()
    counts["courses"] = CourseCompletion.objects.count()
    return counts


QUERIES = (
    SearchQuery(themes=(1,)),
    SearchQuery(region="kanto", include_not_accepting=True),
    SearchQuery(q="クラウド"),
    SearchQuery(forms=("online",), max_fee=20000),
)


@pytest.mark.django_db
def test_copies_every_table_with_fresh_keys_and_search_finds_them():
    # A record with no listing: its number is taken, so no copy may get it.
    RegistryRecord.objects.create(
        registration_number="000000",
        name="登録 のみ",
        name_kana="トウロク ノミ",
        registered_on=dt.date(2020, 4, 1),
        expires_on=dt.date(2030, 3, 31),
    )
    bench.seed_listings(40, seed=5, progress=False, base=None)
    base_counts = _through_counts()
    before = [services.search(q).count for q in QUERIES]
    assert any(before)
    changes = SearchChange.objects.count()

    report = replicate.replicate(120, batch=25, progress=False)

    assert report["base"] == 40 and report["copied"] == 80
    assert Listing.objects.count() == 120
    assert RegistryRecord.objects.count() == 121
    numbers = list(RegistryRecord.objects.values_list("registration_number", flat=True))
    assert len(set(numbers)) == len(numbers)
    assert all(len(n) == 6 and n.isdigit() for n in numbers)
    assert numbers.count("000000") == 1
    # Each copy has its own record, and the rows of the original.
    assert Listing.objects.values("record_id").distinct().count() == 120
    assert {name: n * 3 for name, n in base_counts.items()} == _through_counts()
    # Every copied key points at a row that exists (PostgreSQL skips the checks for speed).
    assert Listing.objects.filter(record__registration_number__isnull=False).count() == 120
    themes = Listing.themes.through.objects
    assert themes.filter(listing__record__isnull=False).count() == themes.count()
    offers = ServiceOffer.objects
    assert offers.filter(listing__record__isnull=False).count() == offers.count()
    courses = CourseCompletion.objects
    assert courses.filter(record__listing__isnull=False).count() == courses.count()
    original = Listing.objects.order_by("id").first()
    copy = Listing.objects.get(id=original.id + report["listing_step"])
    assert copy.profile == original.profile and copy.record.name == original.record.name
    assert copy.record.registration_number != original.record.registration_number
    assert set(copy.themes.values_list("pk", flat=True)) == set(
        original.themes.values_list("pk", flat=True)
    )
    assert set(copy.record.courses.values_list("kind", "completed_on")) == set(
        original.record.courses.values_list("kind", "completed_on")
    )

    # One change-log entry, and the index learns of the copies from it alone.
    assert SearchChange.objects.count() == changes + 1
    assert [services.search(q).count for q in QUERIES] == [3 * n for n in before]

    # Sequences follow the copied ids (PostgreSQL): an ordinary insert still works.
    extra = RegistryRecord.objects.create(
        registration_number="999999",
        name="追加 太郎",
        name_kana="ツイカ タロウ",
        registered_on=dt.date(2020, 4, 1),
        expires_on=dt.date(2030, 3, 31),
    )
    assert extra.id > max(r.id for r in RegistryRecord.objects.exclude(pk=extra.pk).only("id"))


@pytest.mark.django_db
def test_a_partial_last_copy_and_nothing_to_do():
    bench.seed_listings(30, seed=6, progress=False, base=None)
    assert replicate.replicate(30, progress=False)["copied"] == 0
    report = replicate.replicate(75, batch=7, progress=False)
    assert report["copied"] == 45
    assert Listing.objects.count() == RegistryRecord.objects.count() == 75


@pytest.mark.django_db
def test_seed_listings_seeds_a_base_and_copies_the_rest():
    seeded = bench.seed_listings(50, seed=7, progress=False, base=20)
    assert seeded["seeded"] == 20 and seeded["replicated"] == 30
    assert Listing.objects.count() == 50


def test_too_many_copies_for_six_digits_is_refused():
    with pytest.raises(ValueError, match="registration numbers"):
        replicate.free_numbers({f"{n:06d}" for n in range(10)}, replicate.NUMBERS)


@given(
    used=st.sets(st.integers(0, 199), max_size=60),
    count=st.integers(1, 100),
)
def test_free_numbers_are_the_lowest_unused(used, count):
    taken = {f"{n:06d}" for n in used}
    numbers = replicate.free_numbers(taken, count)
    assert len(numbers) == count == len(set(numbers))
    assert not taken & set(numbers)
    assert numbers == sorted(numbers)
    below = {f"{n:06d}" for n in range(int(numbers[-1]) + 1)}
    assert below - taken == set(numbers)


@given(base=st.integers(1, 30), extra=st.integers(0, 100), batch=st.integers(1, 40))
def test_batches_plan_each_copy_once(base, extra, batch):
    planned = [
        (k, pos)
        for k, lo, hi in replicate._batches(base, extra, batch)
        for pos in range(lo, hi)
        if hi - lo <= batch
    ]
    assert len(planned) == extra == len(set(planned))
    assert all(k >= 1 and 0 <= pos < base for k, pos in planned)
    # The registration number each copy takes: (k - 1) * base + pos, all distinct and in range.
    slots = sorted((k - 1) * base + pos for k, pos in planned)
    assert slots == list(range(extra))


class _Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.integers(1, 6),
    extra=st.integers(0, 14),
    batch=st.integers(1, 5),
    seed=st.integers(1, 50),
)
def test_every_listing_is_copied_as_often_as_planned_and_found_as_often(base, extra, batch, seed):
    try:
        with transaction.atomic():
            ix.reset_index()
            bench.seed_listings(base, seed=seed, progress=False, base=None)
            originals = list(Listing.objects.order_by("id").values_list("id", flat=True))
            themes = {
                lid: Listing.themes.through.objects.filter(listing_id=lid).count()
                for lid in originals
            }
            query = SearchQuery(include_not_accepting=True)
            matched = set(Listing.objects.visible().values_list("id", flat=True))
            assert services.search(query).count == len(matched)

            report = replicate.replicate(base + extra, batch=batch, progress=False)

            # Base listing at position i has extra // base copies, one more when i < extra % base.
            copies = [extra // base + (i < extra % base) for i in range(base)]
            assert report["copied"] == extra == sum(copies)
            assert Listing.objects.count() == base + extra
            numbers = list(RegistryRecord.objects.values_list("registration_number", flat=True))
            assert len(set(numbers)) == len(numbers) == base + extra
            assert Listing.themes.through.objects.count() == sum(
                themes[lid] * (1 + c) for lid, c in zip(originals, copies, strict=True)
            )
            visible = [c for lid, c in zip(originals, copies, strict=True) if lid in matched]
            assert services.search(query).count == sum(1 + c for c in visible)
            raise _Rollback
    except _Rollback:
        pass
    finally:
        ix.reset_index()


def _index_definitions(tables: list[str]) -> set[tuple[str, str, tuple, bool, bool]]:
    """Every index and unique or primary-key constraint of `tables`, as Django
    introspects them on either database (name, columns, kind)."""
    found = set()
    with connection.cursor() as cursor:
        for table in tables:
            for name, c in connection.introspection.get_constraints(cursor, table).items():
                if c["index"] or c["unique"] or c["primary_key"]:
                    found.add((table, name, tuple(c["columns"]), c["unique"], c["primary_key"]))
    return found


@pytest.mark.django_db
def test_the_bulk_load_gives_back_every_index_constraint_and_autovacuum():
    """On PostgreSQL the copy drops the secondary indexes and holds autovacuum;
    on SQLite it leaves them alone. Either way they are all there after."""
    bench.seed_listings(12, seed=8, progress=False, base=None)
    tables = [
        RegistryRecord._meta.db_table,
        Listing._meta.db_table,
        *(t.table for t in replicate._child_tables()),
    ]
    before = _index_definitions(tables)

    report = replicate.replicate(40, batch=5, progress=False)

    assert _index_definitions(tables) == before
    if connection.vendor == "postgresql":
        assert report["indexes_deferred"] > len(tables)  # it did drop them
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND reloptions IS NOT NULL",
                [tables],
            )
            assert cursor.fetchall() == []
    else:
        assert report["indexes_deferred"] == 0
    # The unique constraints are back: a taken number is refused.
    taken = RegistryRecord.objects.order_by("-id").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        RegistryRecord.objects.create(
            registration_number=taken.registration_number,
            name="重複",
            name_kana="ジュウフク",
            registered_on=dt.date(2020, 4, 1),
            expires_on=dt.date(2030, 3, 31),
        )


@pytest.mark.django_db
def test_the_bulk_load_restores_the_indexes_when_a_copy_fails(monkeypatch):
    bench.seed_listings(6, seed=9, progress=False, base=None)
    tables = [RegistryRecord._meta.db_table, Listing._meta.db_table]
    before = _index_definitions(tables)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(replicate, "_batches", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        replicate.replicate(20, progress=False)
    assert _index_definitions(tables) == before
