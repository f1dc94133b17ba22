"""The search snapshot file (issue 18): one build mapped by every process; a file of
another version, a corrupt or a truncated one is refused and rebuilt, never served."""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path

import pytest

from sekispe.listings.lifecycle import suspend_listing
from sekispe.listings.models import Listing
from sekispe.search import index as ix
from sekispe.search import snapshot as snap
from sekispe.search.services import SearchQuery, search
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 4)


def numbers(**query) -> list[str]:
    result = search(SearchQuery(page_size=100, **query), today=TODAY)
    return [row["registration_number"] for row in result.results]


@pytest.fixture
def listed():
    create_specialists(
        make_input(registration_number="000001", profile="ランサムウェア対策"),
        make_input(registration_number="000002", profile="クラウドの設定", prefectures=("27",)),
        make_input(registration_number="000003", profile="規程の整備"),
    )


def snapshot_files() -> list[Path]:
    return sorted(ix.snapshot_dir().glob("index-*.snap"))


def forget_process_state() -> None:
    """As a new process: no index in memory, the files on disk kept."""
    ix.reset_index(files=False)


def test_a_new_process_maps_the_snapshot_instead_of_building(listed, monkeypatch):
    expected = numbers()
    [path] = snapshot_files()
    forget_process_state()
    monkeypatch.setattr(ix, "build_index", lambda *a, **k: pytest.fail("built again"))
    assert numbers() == expected
    assert ix.get_index(TODAY).path == str(path)
    assert numbers(q="ランサム") == ["000001"]
    assert numbers(prefectures=("27",)) == ["000002"]


def test_the_mapping_is_copy_on_write_so_a_delta_never_writes_the_file(listed, operator):
    numbers()
    [path] = snapshot_files()
    before = path.read_bytes()
    suspend_listing(Listing.objects.get(record__registration_number="000001"), actor=operator,
                    reason="確認中")  # fmt: skip
    assert "000001" not in numbers()  # applied as a delta in this process...
    assert path.read_bytes() == before  # ...which the file (shared) never sees
    forget_process_state()
    assert "000001" not in numbers()  # a new process maps it and replays the log


def _rewrite(path: Path, change) -> None:
    data = bytearray(path.read_bytes())
    change(data)
    path.write_bytes(bytes(data))


def _header_at(data: bytearray) -> tuple[int, int]:
    start = len(snap.MAGIC) + struct.calcsize("<IQ")
    _, length = struct.unpack_from("<IQ", data, len(snap.MAGIC))
    return start, length


def _older_version(data: bytearray) -> None:
    struct.pack_into("<I", data, len(snap.MAGIC), snap.FORMAT_VERSION - 1)


def _flipped_byte(data: bytearray) -> None:
    data[-5] ^= 0xFF  # inside the last column


def _truncated(data: bytearray) -> None:
    del data[-100:]


def _other_columns(data: bytearray) -> None:
    start, length = _header_at(data)
    header = json.loads(bytes(data[start : start + length]))
    header["columns"]["capacity"]["dtype"] = "<i8"  # a column of another width
    encoded = json.dumps(header, separators=(",", ":")).encode().ljust(length)
    data[start : start + length] = encoded[:length]


def _not_a_snapshot(data: bytearray) -> None:
    data[:4] = b"JUNK"


@pytest.mark.parametrize(
    "damage", [_older_version, _flipped_byte, _truncated, _other_columns, _not_a_snapshot]
)
def test_a_damaged_or_foreign_snapshot_is_refused_and_rebuilt(listed, damage, caplog):
    expected = numbers()
    [path] = snapshot_files()
    _rewrite(path, damage)
    with pytest.raises(snap.SnapshotInvalid):
        snap.read(path, schema=ix.column_schema())
    forget_process_state()
    assert numbers() == expected  # rebuilt, not served from the damaged file
    assert "refused" in caplog.text
    [rebuilt] = snapshot_files()
    snap.read(rebuilt, schema=ix.column_schema())  # the new file is sound


def test_a_snapshot_of_another_database_state_is_not_served(listed):
    """A restored (or rolled-back) database: the change the file names is gone."""
    numbers()
    [path] = snapshot_files()
    meta = snap.read_meta(path)
    from sekispe.core.models import SearchChange

    SearchChange.objects.filter(pk=meta["generation"]).update(listing_id=None)  # same row...
    SearchChange.objects.filter(pk=meta["generation"]).delete()  # ...then gone
    create_specialists(make_input(registration_number="000004"))
    forget_process_state()
    assert sorted(numbers()) == ["000001", "000002", "000003", "000004"]
    assert ix.get_index(TODAY).path != str(path)


@pytest.mark.django_db(transaction=True)
def test_a_web_process_builds_in_a_child_so_the_build_memory_leaves_with_it(settings, monkeypatch):
    """SEARCH_BUILD_IN_SUBPROCESS (production): the child writes the file, we map it."""
    import os

    from django.db import connection

    settings.SEARCH_BUILD_IN_SUBPROCESS = True
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db['NAME']}")
    else:
        monkeypatch.setenv(
            "DATABASE_URL", f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "sekispe.settings.test")
    monkeypatch.setattr(ix, "build_index", lambda *a, **k: pytest.fail("built in the web process"))
    create_specialists(make_input(registration_number="000001", profile="ランサムウェア対策"))
    today = ix.timezone.localdate()
    index = ix.get_index(today)
    assert index.path and not index.path.endswith(f"-{os.getpid()}.snap")  # the child's file
    result = search(SearchQuery(q="ランサム"), today=today)
    assert [row["registration_number"] for row in result.results] == ["000001"]


@pytest.mark.django_db(transaction=True)
def test_a_parallel_build_writes_exactly_what_a_serial_one_does(monkeypatch):
    import numpy as np

    create_specialists(
        *[
            make_input(
                registration_number=f"{i:06d}", profile=f"規程 {i}", prefectures=("13", "27")
            )
            for i in range(1, 40)
        ]
    )
    serial_meta, serial = ix.build_columns(TODAY, 1, workers=1)
    monkeypatch.setattr(ix, "PARALLEL_BUILD_MIN", 0)
    parallel_meta, parallel = ix.build_columns(TODAY, 1, workers=3)
    assert parallel_meta == serial_meta
    assert serial_meta["visible"] == 39
    assert parallel.keys() == serial.keys()
    for name, column in serial.items():
        assert np.array_equal(parallel[name], column), name


def test_pruning_keeps_the_file_just_written_whatever_its_name(tmp_path, settings):
    import os
    import time

    settings.SEARCH_SNAPSHOT_DIR = str(tmp_path)
    names = [
        "index-2026-12-04-000000000000002-9999.snap",
        "index-2026-12-04-000000000000002-8888.snap",
    ]
    names += [
        "index-2026-12-04-000000000000002-1111.snap",
        "index-2026-12-03-000000000000001-5.snap",
    ]
    for age, name in enumerate(reversed(names)):
        path = tmp_path / name
        path.write_bytes(b"x")
        os.utime(path, (time.time() - 100 + age, time.time() - 100 + age))
    # Written last (newest), though its pid sorts first by name.
    (tmp_path / names[2]).touch()
    ix._prune(TODAY)
    kept = sorted(p.name for p in tmp_path.glob("*.snap"))
    assert names[2] in kept and len(kept) == 2
    assert names[3] not in kept  # another day's


def test_a_checked_file_is_not_read_again_but_one_written_since_is(listed, monkeypatch):
    """The first process to check a file marks it; the next maps it without
    reading 1.5 GB again, unless the file was written since (checked, refused)."""
    import os
    import zlib

    expected = numbers()
    [path] = snapshot_files()
    assert os.getxattr(path, snap.VERIFIED_ATTRIBUTE)
    checked: list[int] = []
    real_crc32 = zlib.crc32

    def counting(data, value=0):
        checked.append(len(data))
        return real_crc32(data, value)

    monkeypatch.setattr(snap.zlib, "crc32", counting)
    snap.read(path, schema=ix.column_schema())
    assert sum(checked) <= 1 << 16  # the mark's own tail, not the columns
    stat = path.stat()

    meta = snap.read_meta(path)
    inside = meta["_body_start"] + meta["columns"]["listing_ids"]["offset"]  # far from the tail

    def damage_a_column(data: bytearray) -> None:
        data[inside] ^= 0xFF

    _rewrite(path, damage_a_column)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # written later
    with pytest.raises(snap.SnapshotInvalid):
        snap.read(path, schema=ix.column_schema())
    monkeypatch.setattr(snap.zlib, "crc32", real_crc32)
    forget_process_state()
    assert numbers() == expected
