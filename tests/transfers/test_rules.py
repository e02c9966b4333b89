"""Tests for cases.transfers.rules: the kind of a residence change (R23). Plain pytest
functions; no database."""

import pytest

import cases.transfers.rules as rules

# R23: placements are (county, township, village, grid, micro_grid) ids.
A = (1, 10, 100, 1000, 10000)


@pytest.mark.parametrize("new,kind", [
    ((1, 10, 100, 1000, 10000), None),  # same micro-grid: no move
    ((1, 10, 100, 1000, 10001), "micro_grid"),  # same grid
    ((1, 10, 100, 1001, 10010), "grid"),  # same village
    ((1, 10, 101, 1010, 10100), "village"),  # same township
    ((1, 11, 110, 1100, 11000), "township"),  # same county
    ((2, 20, 200, 2000, 20000), "county"),  # another stored county
    ((None,) * 5, "outside"),  # in no stored unit
    ((1, 10, 100, 1001, None), "grid"),  # a unit without micro-grids still has a level
])
def test_R23_move_kind_is_the_level_crossed(new, kind):
    assert rules.move_kind(A, new) == kind


def test_R23_from_outside_or_unknown_is_a_county_move_and_outside_to_outside_is_none():
    assert rules.move_kind((None,) * 5, A) == "county"
    assert rules.move_kind((None,) * 5, (None,) * 5) is None
    # A village without grids to one of its micro-grids: they share the village.
    assert rules.move_kind((1, 10, 100, None, None), (1, 10, 100, 1000, 10000)) == "grid"
