"""``coverage``: percent of classes with at least one labeled example (paper Table 6a)."""

from __future__ import annotations

import numpy as np

from lbal_bench import hookimpl


class Coverage:
    """Share of the classes that the labeled set contains."""

    def evaluate(self, train_x, train_y, test_x, test_y, num_classes, rng) -> dict[str, float]:
        return {"coverage": 100.0 * len(np.unique(train_y)) / num_classes}


@hookimpl
def lbal_register_evaluators(register):
    register("coverage", Coverage, description="% of classes with at least one label")
