"""The one definition of a valid selection (``contracts.selection_problems``): what the
runner, ``select`` and ``lbal-bench check`` report for a broken answer."""

from __future__ import annotations

import numpy as np
import pytest

from lbal_bench.contracts import selection_problem, selection_problems
from lbal_bench.testing import pool_of

POOL = pool_of(np.zeros((10, 2), dtype=np.float32), labeled=[3])


@pytest.mark.parametrize("answer, budget, broken", [
    ([0, 1, 2], 3, {}),
    ([0, 1], 3, {"count": "returned 2 indices for a budget of 3"}),
    ([0, 1, 12], 3, {"range": "returned index 12 outside the pool of 10 points"}),
    ([0, 0, 1], 3, {"unique": "returned index 0 more than once"}),
    ([0, 3, 1], 3, {"labeled": "returned already-labeled index 3"}),
    ([3, 3, 11, -1], 3, {"count": "returned 4 indices for a budget of 3",
                         "range": "returned index 11 outside the pool of 10 points",
                         "unique": "returned index 3 more than once",
                         "labeled": "returned already-labeled index 3"}),
    (np.array([0.0, 0.0, 1.0]), 3, {"shape": "must return a 1-D array of integer indices, got float64 [3]",
                                    "unique": "returned index 0 more than once"}),
    (np.zeros((3, 1), dtype=np.int64), 3, {"shape": "must return a 1-D array of integer indices, got int64 [3, 1]"}),
    (["a", "b", "c"], 3, {"shape": "must return a 1-D array of integer indices, got <U1 [3]"}),
])
def test_every_broken_rule_is_named_in_order_and_the_first_is_the_runners(answer, budget, broken):
    assert selection_problems(answer, budget, POOL) == broken
    assert list(broken) == [r for r in ("shape", "count", "range", "unique", "labeled") if r in broken]
    assert selection_problem(answer, budget, POOL) == next(iter(broken.values()), None)
