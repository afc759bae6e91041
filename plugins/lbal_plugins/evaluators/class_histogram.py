"""``class_histogram``: how many classes have 0, 1, 2, … labeled examples (paper Table 6b, Fig. 3).

Needs only the labeled set. The metric is a vector: entry ``i`` is the number of classes
with exactly ``i`` labeled examples (its length is the largest class count + 1). The
leaderboard averages it over seeds and draws it as bars per budget.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import hookimpl


class ClassHistogram:
    """Distribution of labeled examples over classes."""

    def evaluate(self, train_x, train_y, test_x, test_y, num_classes, rng) -> dict[str, list[int]]:
        per_class = np.bincount(np.asarray(train_y, dtype=np.int64), minlength=num_classes)
        return {"classes_with_n_labels": np.bincount(per_class).tolist()}


@hookimpl
def lbal_register_evaluators(register):
    register("class_histogram", ClassHistogram, description="how many classes have 0, 1, 2, ... labels")
