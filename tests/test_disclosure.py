"""Small-cell suppression (insights.disclosure) as properties, no database."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sekispe.insights.disclosure import Grid, primary, protect, publish, suppress

counts = st.one_of(st.integers(0, 6), st.integers(0, 40))


@st.composite
def additive_grids(draw: st.DrawFn) -> Grid:
    rows = draw(st.integers(1, 4))
    columns = draw(st.integers(1, 4))
    cells = tuple(tuple(draw(counts) for _ in range(columns)) for _ in range(rows))
    with_rows = draw(st.booleans())
    with_columns = draw(st.booleans())
    with_total = draw(st.booleans())
    return Grid(
        cells,
        tuple(sum(r) for r in cells) if with_rows else None,
        tuple(sum(c) for c in zip(*cells, strict=True)) if with_columns else None,
        sum(map(sum, cells)) if with_total else None,
    )


def _rank_determined(grid: Grid, hidden: frozenset) -> set:
    """Independently of the module: a hidden value is determined by the
    equations iff dropping its column lowers the rank of the equations over
    the hidden values (no null vector moves it)."""
    unknown = sorted(hidden)
    if not unknown:
        return set()
    matrix = np.array(
        [[e.get(p, 0) for p in unknown] for e in grid.equations()] or [[0] * len(unknown)],
        dtype=float,
    )
    rank = np.linalg.matrix_rank(matrix)
    return {
        p
        for n, p in enumerate(unknown)
        if np.linalg.matrix_rank(np.delete(matrix, n, axis=1)) < rank
    }


@settings(max_examples=100, deadline=None)
@given(additive_grids())
def test_every_small_cell_and_margin_is_hidden(grid: Grid) -> None:
    hidden = suppress(grid)
    for position in grid.positions():
        if 0 < grid.value(position) < 5:
            assert position in hidden


@settings(max_examples=100, deadline=None)
@given(additive_grids())
def test_no_equation_has_exactly_one_unknown(grid: Grid) -> None:
    hidden = suppress(grid)
    for equation in grid.equations():
        assert sum(p in hidden for p in equation) != 1


@settings(max_examples=100, deadline=None)
@given(additive_grids())
def test_no_hidden_value_follows_from_the_published_ones(grid: Grid) -> None:
    assert _rank_determined(grid, suppress(grid)) == set()


@settings(max_examples=100, deadline=None)
@given(additive_grids())
def test_published_values_equal_the_inputs_and_zeros_are_published(grid: Grid) -> None:
    hidden = suppress(grid)
    published = publish(grid, hidden)
    for i, row in enumerate(published.cells):
        for j, value in enumerate(row):
            assert value == (None if ("c", i, j) in hidden else grid.cells[i][j])
    assert primary(grid) <= hidden
    for position in grid.positions():
        if grid.value(position) == 0:
            assert position not in primary(grid)


@settings(max_examples=100, deadline=None)
@given(additive_grids())
def test_suppression_is_idempotent(grid: Grid) -> None:
    hidden = suppress(grid)
    assert protect(grid, hidden) == hidden
    assert suppress(grid) == hidden


def test_a_bridge_between_two_protected_blocks_is_protected() -> None:
    # Two 2x2 blocks of small cells joined only by one small cell: every
    # row and column has two hidden cells, yet the joining cell follows from
    # the totals unless one more cell is hidden.
    big = 50
    cells = (
        (3, 3, big, big, big),
        (3, 3, 3, big, big),
        (big, big, big, 3, 3),
        (big, big, big, 3, 3),
    )
    grid = Grid(
        cells,
        tuple(map(sum, cells)),
        tuple(sum(c) for c in zip(*cells, strict=True)),
        sum(map(sum, cells)),
    )
    hidden = suppress(grid)
    assert _rank_determined(grid, hidden) == set()
    assert ("c", 1, 2) in hidden


def test_a_one_way_table_hides_a_second_cell_beside_a_lone_small_one() -> None:
    grid = Grid.one_way((3, 10, 12, 0), total=25)
    published = publish(grid)
    assert published.cells == ((None, None, 12, 0),)
    assert published.row_totals == (25,)


def test_a_small_total_is_hidden() -> None:
    grid = Grid.one_way((0, 0, 4), total=4)
    assert publish(grid).row_totals == (None,)
