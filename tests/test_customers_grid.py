"""``customers._grid_sum`` adds exactly as ``np.add.at`` (the slow, obviously correct path)."""

from __future__ import annotations

import numpy as np
import pytest

from salesreport.customers import _grid_sum


@pytest.mark.parametrize("weighted", [True, False])
def test_grid_sum_equals_add_at_bit_for_bit(weighted):
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 7, 5000)
    cols = rng.integers(0, 30, 5000)
    w = rng.normal(size=5000) * 1e6 if weighted else None
    slow = np.zeros((7, 30))
    np.add.at(slow, (rows, cols), w if weighted else 1.0)
    np.testing.assert_array_equal(_grid_sum((7, 30), rows, cols, w), slow)


def test_grid_sum_small_case_by_hand():
    # cells (0, 1) twice (2.5 + 0.5 = 3.0) and (1, 0) once (4.0); the rest 0
    got = _grid_sum((2, 2), np.array([0, 1, 0]), np.array([1, 0, 1]), np.array([2.5, 4.0, 0.5]))
    np.testing.assert_array_equal(got, [[0.0, 3.0], [4.0, 0.0]])
    assert _grid_sum((2, 3), np.array([], dtype=int), np.array([], dtype=int)).shape == (2, 3)


def test_grid_sum_outside_the_grid_behaves_as_add_at():
    # a negative column wraps (as numpy indexing does): -1 is the last column
    got = _grid_sum((1, 3), np.array([0]), np.array([-1]), np.array([2.0]))
    np.testing.assert_array_equal(got, [[0.0, 0.0, 2.0]])
    with pytest.raises(IndexError):
        _grid_sum((1, 3), np.array([0]), np.array([3]))
