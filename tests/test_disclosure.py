"""Small-cell suppression (insights.disclosure) as properties, no database."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sekispe.insights.disclosure import Grid, primary, protect, publish, suppress

counts = st.one_of(st.integers(0, 6), st.integers(0, 40))


@st.composite
def additive_grids(draw: st.DrawFn) -> Grid:
    rows = draw(st.integers(1, 6))
    columns = draw(st.integers(1, 6))
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


def _degree_rule_only(grid: Grid) -> frozenset:
    """Primary suppression plus only the "no equation with one unknown" rule."""
    hidden = set(primary(grid))
    changed = True
    while changed:
        changed = False
        for equation in grid.equations():
            if sum(p in hidden for p in equation) == 1:
                rest = sorted(
                    (p for p in equation if p not in hidden),
                    key=lambda p: (p[0] != "c", grid.value(p) == 0, grid.value(p), p),
                )
                hidden.add(rest[0])
                changed = True
    return frozenset(hidden)


def test_a_cell_the_one_unknown_rule_leaves_solvable_is_protected() -> None:
    # Found by search: after the rule that no total has exactly one hidden
    # value, some hidden value still follows from combining totals (a bridge
    # between two groups of hidden cells); the rank step protects it.
    cells = (
        (20, 0, 50, 50, 1, 50),
        (20, 3, 3, 0, 0, 7),
        (50, 7, 0, 3, 0, 7),
        (1, 0, 3, 7, 7, 0),
        (0, 20, 20, 0, 7, 50),
        (20, 3, 20, 3, 20, 1),
    )
    grid = Grid(
        cells,
        tuple(map(sum, cells)),
        tuple(sum(c) for c in zip(*cells, strict=True)),
        sum(map(sum, cells)),
    )
    assert _rank_determined(grid, _degree_rule_only(grid))
    assert _rank_determined(grid, suppress(grid)) == set()


def test_a_one_way_table_hides_a_second_cell_beside_a_lone_small_one() -> None:
    grid = Grid.one_way((3, 10, 12, 0), total=25)
    published = publish(grid)
    assert published.cells == ((None, None, 12, 0),)
    assert published.row_totals == (25,)


def test_a_small_total_is_hidden() -> None:
    grid = Grid.one_way((0, 0, 4), total=4)
    assert publish(grid).row_totals == (None,)
