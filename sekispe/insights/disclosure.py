"""Small-cell suppression for the open statistics (docs/statistics.md).

A published table of counts of people or companies must not let anyone work
out a cell counting 1–4 of them. Primary suppression hides every such cell
(and every such margin); secondary suppression then hides the fewest, smallest
other cells so that no hidden cell can be solved for from the published cells
and the row, column and grand totals, taken as linear equations.

0 is published: a zero reveals no one, and hiding zeros would hide the gaps
the statistics exist to show.

Pure functions over plain numbers, no Django: `suppress` takes a `Grid` and
gives a `Mask` of the same shape (True = hidden).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Cells counting 1..THRESHOLD - 1 units are hidden.
THRESHOLD = 5
# Ranks are computed modulo a large prime: the equations have coefficients
# 0 and ±1 and form a network matrix (totally unimodular), so the rank over
# this field equals the rank over the rationals.
_PRIME = 2_147_483_647

# A position in a grid: ("c", row, column) a cell, ("r", row) a row total,
# ("k", column) a column total, ("t",) the grand total.
Position = tuple


@dataclass(frozen=True)
class Grid:
    """A table of counts with the margins that are published with it.

    A 1-D table with a total is one row whose `row_totals` is `(total,)`.
    Margins that are not published are None.
    """

    cells: tuple[tuple[int, ...], ...]
    row_totals: tuple[int, ...] | None = None
    column_totals: tuple[int, ...] | None = None
    total: int | None = None

    @classmethod
    def one_way(cls, values: Iterable[int], total: int | None = None) -> Grid:
        return cls((tuple(values),), None if total is None else (total,))

    def positions(self) -> list[Position]:
        found: list[Position] = [
            ("c", i, j) for i, row in enumerate(self.cells) for j in range(len(row))
        ]
        if self.row_totals is not None:
            found += [("r", i) for i in range(len(self.row_totals))]
        if self.column_totals is not None:
            found += [("k", j) for j in range(len(self.column_totals))]
        if self.total is not None:
            found.append(("t",))
        return found

    def value(self, position: Position) -> int:
        kind = position[0]
        if kind == "c":
            return self.cells[position[1]][position[2]]
        # Positions come from `positions()`, which lists only published margins.
        if kind == "r":
            return (self.row_totals or ())[position[1]]
        if kind == "k":
            return (self.column_totals or ())[position[1]]
        return self.total or 0

    def equations(self) -> list[dict[Position, int]]:
        """Each published total as `sum(coefficient * value) == 0`."""
        rows, columns = len(self.cells), len(self.cells[0]) if self.cells else 0
        found: list[dict[Position, int]] = []
        if self.row_totals is not None:
            for i in range(rows):
                found.append({**{("c", i, j): 1 for j in range(columns)}, ("r", i): -1})
            if self.total is not None:
                found.append({**{("r", i): 1 for i in range(rows)}, ("t",): -1})
        if self.column_totals is not None:
            for j in range(columns):
                found.append({**{("c", i, j): 1 for i in range(rows)}, ("k", j): -1})
            if self.total is not None:
                found.append({**{("k", j): 1 for j in range(columns)}, ("t",): -1})
        if self.total is not None and self.row_totals is None and self.column_totals is None:
            cells = {("c", i, j): 1 for i in range(rows) for j in range(columns)}
            found.append({**cells, ("t",): -1})
        return found


def is_small(value: int) -> bool:
    return 0 < value < THRESHOLD


def primary(grid: Grid) -> frozenset[Position]:
    """Every cell and margin counting 1–4 units."""
    return frozenset(p for p in grid.positions() if is_small(grid.value(p)))


def _eliminate(target: dict[int, int], pivot_row: dict[int, int], column: int) -> None:
    """Subtract the multiple of `pivot_row` (1 at `column`) that clears `column` in `target`."""
    factor = target.get(column)
    if not factor:
        return
    for k, v in pivot_row.items():
        target[k] = (target.get(k, 0) - factor * v) % _PRIME
        if not target[k]:
            del target[k]


def determined(grid: Grid, hidden: Iterable[Position]) -> set[Position]:
    """The hidden positions whose value follows from the published values and
    the totals: x is determined iff the unit vector of x lies in the row space
    of the equations restricted to the hidden positions."""
    unknown = sorted(set(hidden))
    index = {p: n for n, p in enumerate(unknown)}
    rows = []
    for equation in grid.equations():
        row = {index[p]: c % _PRIME for p, c in equation.items() if p in index}
        if row:
            rows.append(row)
    # Reduced row echelon form over GF(p), rows as sparse dicts.
    pivots: dict[int, dict[int, int]] = {}
    for row in rows:
        row = dict(row)
        for column, pivot_row in pivots.items():
            _eliminate(row, pivot_row, column)
        if not row:
            continue
        column = min(row)
        inverse = pow(row[column], _PRIME - 2, _PRIME)
        row = {k: v * inverse % _PRIME for k, v in row.items()}
        for other in pivots.values():
            _eliminate(other, row, column)
        pivots[column] = row
    return {unknown[column] for column, row in pivots.items() if len(row) == 1}


def _preference(grid: Grid, position: Position) -> tuple[bool, bool, int, Position]:
    # Interior cells before margins, non-zero before zero (beside a hidden 3,
    # a hidden 0 bounds it more tightly than a hidden 9 does), then smallest.
    value = grid.value(position)
    return (position[0] != "c", value == 0, value, position)


def protect(grid: Grid, hidden: Iterable[Position]) -> frozenset[Position]:
    """`hidden` plus the complementary cells that stop any of them being solved for."""
    hidden = set(hidden)
    equations = grid.equations()
    # First the cheap rule: no total equation may have exactly one unknown.
    changed = True
    while changed:
        changed = False
        for equation in equations:
            unknown = [p for p in equation if p in hidden]
            if len(unknown) == 1:
                rest = [p for p in equation if p not in hidden]
                hidden.add(min(rest, key=lambda p: _preference(grid, p)))
                changed = True
    # Then the exact check: a hidden cell can still be found by combining
    # equations (a "bridge" between two groups of hidden cells).
    while found := determined(grid, hidden):
        target = min(found)
        candidates = sorted(
            {p for e in equations if target in e for p in e if p not in hidden}
            | {p for p in grid.positions() if p not in hidden},
            key=lambda p: _preference(grid, p),
        )
        for candidate in candidates:
            if target not in determined(grid, hidden | {candidate}):
                hidden.add(candidate)
                break
        else:  # pragma: no cover - hiding everything always protects; kept as a guard
            hidden.update(candidates)
    return frozenset(hidden)


def suppress(grid: Grid) -> frozenset[Position]:
    """Primary and secondary suppression: the positions to hide."""
    return protect(grid, primary(grid))


@dataclass(frozen=True)
class Published:
    """A grid as published: None where a value is hidden."""

    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...] | None
    column_totals: tuple[int | None, ...] | None
    total: int | None


def publish(grid: Grid, hidden: frozenset[Position] | None = None) -> Published:
    hidden = suppress(grid) if hidden is None else hidden

    def shown(position: Position) -> int | None:
        return None if position in hidden else grid.value(position)

    return Published(
        cells=tuple(
            tuple(shown(("c", i, j)) for j in range(len(row))) for i, row in enumerate(grid.cells)
        ),
        row_totals=None
        if grid.row_totals is None
        else tuple(shown(("r", i)) for i in range(len(grid.row_totals))),
        column_totals=None
        if grid.column_totals is None
        else tuple(shown(("k", j)) for j in range(len(grid.column_totals))),
        total=None if grid.total is None else shown(("t",)),
    )
