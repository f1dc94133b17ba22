"""The search text column (issue 18): read from the snapshot file with os.pread
rather than through the mapping, in chunks; it must match exactly what a plain
substring test on each row's text matches, wherever the chunks fall."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from sekispe.search import index as ix
from sekispe.search import snapshot as snap

ALPHABET = "ランサムウェアクラウド規程の整備佐藤abcISMS 中小企業診断士🙂é"
TERMS = ("ランサム", "クラウド", "規程", "ab", "ISMS", "診断士", "🙂", "é", "ム ", "佐藤佐藤", "zz")


def _texts(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60))) for _ in range(count)]


def _columns(texts: list[str]) -> dict[str, np.ndarray]:
    encoded = [t.encode() for t in texts]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return {
        "before": np.arange(7, dtype=np.int64),  # the text does not start the body
        "text_blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "text_offsets": offsets,
    }


@pytest.fixture
def stored(tmp_path):
    texts = _texts(400)
    columns = _columns(texts)
    path = tmp_path / "texts.snap"
    snap.write(path, {}, dict(columns))
    loaded = snap.read(path, schema=snap.schema_of(columns))
    on_file = ix.TextColumn(
        loaded.columns["text_blob"],
        loaded.columns["text_offsets"],
        file=loaded.file,
        file_offset=loaded.file_offset("text_blob"),
    )
    in_memory = ix.TextColumn(columns["text_blob"], columns["text_offsets"])
    return texts, on_file, in_memory


@pytest.mark.parametrize(("gap", "chunk"), [(16 << 10, 4 << 20), (0, 1), (8, 64), (200, 5)])
def test_a_term_matches_exactly_the_rows_whose_text_holds_it(stored, monkeypatch, gap, chunk):
    texts, on_file, in_memory = stored
    monkeypatch.setattr(ix.TextColumn, "READ_GAP", gap)
    monkeypatch.setattr(ix.TextColumn, "READ_CHUNK", chunk)
    rng = np.random.default_rng(5)
    for term in TERMS:
        for positions in (
            np.arange(len(texts)),
            np.sort(rng.choice(len(texts), 37, replace=False)),
        ):
            expected = np.array([term in texts[p] for p in positions.tolist()], dtype=bool)
            assert np.array_equal(on_file.containing(term, positions), expected), term
            assert np.array_equal(in_memory.containing(term, positions), expected), term


def test_rows_read_one_by_one_and_rewritten_rows(stored):
    texts, on_file, in_memory = stored
    assert [on_file[i] for i in range(len(texts))] == texts
    assert [in_memory[i] for i in range(len(texts))] == texts
    on_file.overrides[3] = "ランサムウェア"
    on_file.overrides[4] = ""
    positions = np.arange(len(texts))
    found = on_file.containing("ランサム", positions)
    assert found[3] and not found[4]
    assert on_file[3] == "ランサムウェア"
    assert np.array_equal(on_file.containing("ランサム", np.zeros(0, dtype=np.int64)), [])


def test_verify_term_on_a_column_agrees_with_a_list(stored):
    texts, on_file, _ = stored
    signatures = ix.text_signatures(texts)
    rows = np.ones(len(texts), dtype=bool)
    rows[::3] = False
    for term in TERMS:
        assert np.array_equal(
            ix.verify_term(signatures, on_file, term, rows),
            ix.verify_term(signatures, texts, term, rows),
        ), term


@pytest.mark.django_db
def test_a_mapped_snapshot_reads_its_text_from_the_file():
    from sekispe.search.services import SearchQuery, search
    from tests.factories import create_specialists, make_input

    today = dt.date(2026, 12, 4)
    create_specialists(
        make_input(registration_number="000001", profile="ランサムウェア対策"),
        make_input(registration_number="000002", profile="クラウドの設定"),
    )
    result = search(SearchQuery(q="ランサム"), today=today)
    assert [row["registration_number"] for row in result.results] == ["000001"]
    ix.reset_index(files=False)  # as a new process: map the file written
    index = ix.get_index(today)
    assert index.path and index.search_texts.file is not None
    result = search(SearchQuery(q="クラウド"), today=today)
    assert [row["registration_number"] for row in result.results] == ["000002"]
    # Over a few rows a term is scanned there only, until the rows scanned add
    # up to a whole-index match, which is then made once and cached.
    one_row = np.zeros(index.size, dtype=bool)
    one_row[0] = True
    assert "設定" not in index.search_texts[0]
    assert not index.verify_term("設定", one_row).any()
    assert "設定" not in index.term_cache
    index.verify_term("設定", index.live.copy())
    assert "設定" in index.term_cache
