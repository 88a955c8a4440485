"""Small-group suppression: small cells hidden, and no hidden cell recoverable from the totals."""

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.anonymize import (
    COMPLEMENTARY,
    NOTE_MERGED,
    NOTE_NO_RESPONDENTS,
    NOTE_USED,
    PRIMARY,
    SuppressedTable,
    rater_group_weights,
    suppress,
    suppress_groups,
)

# --- independent checks on a published table (they see only what a reader sees) ----------------


def lines_of(shown: pd.DataFrame) -> list[pd.Series]:
    """Every row and column of a published table, totals included."""
    return [shown.iloc[i, :] for i in range(shown.shape[0])] + [
        shown.iloc[:, j] for j in range(shown.shape[1])
    ]


def lines_with_one_hidden_cell(shown: pd.DataFrame) -> int:
    """How many rows/columns a reader could solve by subtracting the visible cells from the total."""
    return sum(int(line.isna().sum() == 1) for line in lines_of(shown))


def derivable_cells(hidden: np.ndarray) -> set[tuple[int, int]]:
    """Hidden cells a reader can compute by combining any rows and columns (row-space test)."""
    n_rows, n_cols = hidden.shape
    unknowns = [(int(r), int(c)) for r, c in np.argwhere(hidden)]
    if not unknowns:
        return set()
    position = {cell: i for i, cell in enumerate(unknowns)}
    equations = []  # per line: hidden interior cells - hidden total = (known from visible cells)
    for line in [[(r, c) for c in range(n_cols)] for r in range(n_rows)] + [
        [(r, c) for r in range(n_rows)] for c in range(n_cols)
    ]:
        equation = np.zeros(len(unknowns))
        for cell in line:
            if cell in position:
                equation[position[cell]] = -1.0 if cell == line[-1] else 1.0
        equations.append(equation)
    system = np.array(equations)
    rank = np.linalg.matrix_rank(system)
    found = set()
    for cell, i in position.items():
        unit = np.zeros((1, len(unknowns)))
        unit[0, i] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.add(cell)
    return found


def hidden_mask(shown: pd.DataFrame) -> np.ndarray:
    return shown.isna().to_numpy()


def assert_safe(result: SuppressedTable) -> None:
    assert lines_with_one_hidden_cell(result.table) == 0
    assert derivable_cells(hidden_mask(result.table)) == set()


def table(rows: list[list[int]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        index=[f"r{i}" for i in range(len(rows))],
        columns=[f"c{j}" for j in range(len(rows[0]))],
    )


# --- crafted tables -----------------------------------------------------------------------------


def test_one_small_cell_is_hidden_with_a_closing_rectangle():
    counts = table([[2, 10, 8], [12, 15, 20], [9, 7, 30]])
    result = suppress(counts, k=5)
    assert result.suppressed == {
        ("r0", "c0"): PRIMARY,
        ("r0", "c2"): COMPLEMENTARY,  # the next smallest in row r0 (8 < 10)
        ("r2", "c0"): COMPLEMENTARY,  # the next smallest in column c0 (9 < 12)
        ("r2", "c2"): COMPLEMENTARY,  # closes the rectangle
    }
    assert_safe(result)


def test_visible_cells_and_totals_keep_their_true_values():
    counts = table([[2, 10, 8], [12, 15, 20], [9, 7, 30]])
    shown = suppress(counts, k=5).table
    assert shown.loc["total", "total"] == 113
    assert list(shown.loc["total", ["c0", "c1", "c2"]]) == [23, 32, 58]
    assert list(shown["total"].iloc[:3]) == [20, 47, 46]
    assert shown.loc["r1", "c1"] == 15


def test_result_carries_no_hidden_value():
    counts = table([[2, 10, 8], [12, 15, 20], [9, 7, 30]])
    result = suppress(counts, k=5)
    assert {f.name for f in fields(result)} == {"table", "suppressed"}
    for row, column in result.suppressed:
        assert pd.isna(result.table.loc[row, column])
    assert set(result.suppressed.values()) <= {PRIMARY, COMPLEMENTARY}


def test_without_suppression_a_lone_hidden_cell_is_recoverable_by_subtraction():
    # the check itself must be able to fail: hide only the primary cell and it finds the hole
    counts = table([[2, 10, 8], [12, 15, 20], [9, 7, 30]])
    only_primary = suppress(counts, k=1).table.astype("Int64")
    only_primary.loc["r0", "c0"] = pd.NA
    assert lines_with_one_hidden_cell(only_primary) == 2
    assert (0, 0) in derivable_cells(hidden_mask(only_primary))


def test_row_total_that_equals_a_small_cell_is_hidden_too():
    result = suppress(table([[2, 0, 0], [20, 30, 40]]), k=5)
    assert result.suppressed[("r0", "c0")] == PRIMARY
    assert result.suppressed[("r0", "total")] == PRIMARY
    assert_safe(result)


def test_total_is_hidden_when_it_is_the_only_visible_non_zero_in_its_line():
    # (r1, c0) is hidden to protect (r0, c0); r1 then shows [hidden, 0 | total] and its total would
    # give the hidden cell away, so the total goes too
    result = suppress(table([[2, 30], [7, 0]]), k=5)
    assert result.suppressed[("r0", "c0")] == PRIMARY
    assert result.suppressed[("r1", "c0")] == COMPLEMENTARY
    assert result.suppressed[("r1", "total")] == COMPLEMENTARY
    assert result.table.loc["r1", "c1"] == 0
    assert_safe(result)


def test_single_row_table_hides_the_column_total_equal_to_the_cell():
    result = suppress(table([[2, 10, 8]]), k=5)
    assert result.suppressed[("total", "c0")] == PRIMARY
    assert_safe(result)


def test_blocks_joined_by_one_cell_are_protected_beyond_the_line_rule():
    counts = table(
        [
            [2, 3, 0, 0, 10],
            [3, 2, 0, 0, 10],
            [0, 4, 2, 3, 10],
            [0, 0, 3, 2, 10],
            [10, 10, 10, 10, 10],
        ]
    )
    primary_only = ((counts > 0) & (counts < 5)).to_numpy()
    grid_mask = np.zeros((6, 6), dtype=bool)
    grid_mask[:5, :5] = primary_only
    # every row and column already hides 0 or >= 2 cells, yet the joining cell (r2, c1) follows
    # from rows r0+r1 minus columns c0+c1: the line rule alone would publish it
    assert all(grid_mask[i, :].sum() != 1 and grid_mask[:, i].sum() != 1 for i in range(6))
    assert (2, 1) in derivable_cells(grid_mask)
    result = suppress(counts, k=5)
    assert COMPLEMENTARY in result.suppressed.values()
    assert_safe(result)


def test_table_without_small_cells_is_unchanged():
    counts = table([[5, 0, 8], [12, 15, 20]])
    result = suppress(counts, k=5)
    assert result.suppressed == {}
    assert result.table.notna().all().all()


def test_zero_cells_are_not_suppressed_as_small():
    result = suppress(table([[0, 10, 8], [12, 0, 20]]), k=5)
    assert result.suppressed == {}


@pytest.mark.parametrize(
    "bad",
    [
        table([[1, -1]]),
        table([[1.5, 2]]),
        pd.DataFrame([[1, None]], columns=["a", "b"]),
        pd.DataFrame(),
    ],
)
def test_invalid_count_tables_are_rejected(bad):
    with pytest.raises(ValueError):
        suppress(bad, k=5)


def test_k_must_be_positive():
    with pytest.raises(ValueError):
        suppress(table([[1, 2]]), k=0)


@settings(max_examples=150, deadline=None)
@given(
    data=st.integers(2, 5).flatmap(
        lambda n_cols: st.lists(
            st.lists(st.integers(0, 15), min_size=n_cols, max_size=n_cols), min_size=1, max_size=5
        )
    ),
    k=st.integers(2, 6),
)
def test_random_tables_hide_every_small_cell_and_leave_none_derivable(data, k):
    counts = table(data)
    result = suppress(counts, k=k)
    assert_safe(result)
    grid = result.table.copy()
    for (row, column), why in result.suppressed.items():
        true_value = (
            counts.to_numpy().sum()
            if (row, column) == ("total", "total")
            else counts[column].sum()
            if row == "total"
            else counts.loc[row].sum()
            if column == "total"
            else counts.loc[row, column]
        )
        assert (why == PRIMARY) == (0 < true_value < k)
    assert not any(0 < v < k for v in grid.stack().dropna())


# --- one list of group counts -------------------------------------------------------------------


def test_one_hidden_group_takes_the_next_smallest_with_it():
    result = suppress_groups({"上级": 12, "同级": 2, "下级": 8, "群众": 30}, k=5)
    assert result.counts == {"上级": 12, "同级": None, "下级": None, "群众": 30}
    assert result.total == 52
    assert result.suppressed == {"同级": PRIMARY, "下级": COMPLEMENTARY}


def test_two_small_groups_protect_each_other():
    result = suppress_groups({"上级": 12, "同级": 2, "下级": 3}, k=5)
    assert result.suppressed == {"同级": PRIMARY, "下级": PRIMARY}
    assert result.total == 17


def test_small_total_is_hidden_with_its_only_group():
    result = suppress_groups({"上级": 3, "同级": 0}, k=5)
    assert result.counts == {"上级": None, "同级": 0}
    assert result.total is None
    assert result.suppressed == {"上级": PRIMARY, "total": PRIMARY}


def test_complement_skips_zero_groups():
    result = suppress_groups({"上级": 2, "同级": 0, "下级": 40}, k=5)
    assert result.suppressed == {"上级": PRIMARY, "下级": COMPLEMENTARY}


# --- rater-group weights ------------------------------------------------------------------------

SCHEME = {
    "上级": {"n": 10, "weight": 0.4},
    "同级": {"n": 2, "weight": 0.2},
    "下级": {"n": 8, "weight": 0.4},
}


def test_small_group_is_dropped_and_other_weights_renormalized():
    result = rater_group_weights(SCHEME, k=5)
    assert result.weights == pytest.approx({"上级": 0.5, "下级": 0.5})
    assert sum(result.weights.values()) == pytest.approx(1.0)
    assert result.notes["上级"] == NOTE_USED
    assert result.notes["同级"].startswith("dropped: fewer than 5 raters")
    assert "同级" not in result.members


def test_small_group_is_merged_into_the_named_group():
    result = rater_group_weights(SCHEME, k=5, policy=("merge", "下级"))
    assert result.weights == pytest.approx({"上级": 0.4, "下级": 0.6})
    assert result.members["下级"] == ("下级", "同级")
    assert result.notes["同级"] == NOTE_MERGED.format(group="下级")


def test_zero_respondent_group_is_dropped_with_a_note():
    scheme = {**SCHEME, "服务对象": {"n": 0, "weight": 0.5}}
    result = rater_group_weights(scheme, k=2)
    assert result.notes["服务对象"] == NOTE_NO_RESPONDENTS
    assert result.weights == pytest.approx({"上级": 0.4, "同级": 0.2, "下级": 0.4})


def test_merged_group_still_below_k_is_dropped():
    scheme = {
        "上级": {"n": 10, "weight": 0.5},
        "同级": {"n": 1, "weight": 0.2},
        "下级": {"n": 2, "weight": 0.3},
    }
    result = rater_group_weights(scheme, k=5, policy=("merge", "下级"))
    assert result.weights == pytest.approx({"上级": 1.0})
    assert "even after merging" in result.notes["同级"]
    assert "even after merging" in result.notes["下级"]


def test_group_may_set_its_own_k():
    scheme = {"上级": {"n": 3, "weight": 0.5, "k": 3}, "下级": {"n": 4, "weight": 0.5}}
    assert rater_group_weights(scheme, k=5).weights == pytest.approx({"上级": 1.0})


def test_no_group_large_enough_gives_no_weights():
    result = rater_group_weights({"上级": {"n": 1, "weight": 1.0}}, k=5)
    assert result.weights == {}


def test_notes_never_state_a_small_group_size():
    result = rater_group_weights({**SCHEME, "同级": {"n": 3, "weight": 0.2}}, k=5)
    assert "3" not in result.notes["同级"]


@pytest.mark.parametrize(
    ("groups", "policy"),
    [
        (SCHEME, ("merge", "群众")),
        (SCHEME, "keep"),
        ({"上级": {"n": 5}}, "drop"),
        ({"上级": {"n": -1, "weight": 1}}, "drop"),
        ({"上级": {"n": 5, "weight": -1}}, "drop"),
    ],
)
def test_invalid_schemes_are_rejected(groups, policy):
    with pytest.raises(ValueError):
        rater_group_weights(groups, k=5, policy=policy)
