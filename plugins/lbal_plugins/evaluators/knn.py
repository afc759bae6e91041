"""``knn``: k-nearest-neighbour classification with cosine similarity (paper §4, 1-NN).

The labeled features are the database; each test point takes the majority label of its
``k`` most similar labeled points (inner product on L2-normalised features, via faiss;
ties go to the smaller class index). Reports top-1 accuracy in percent.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from annotated_types import Ge

from lbal_bench import hookimpl
from lbal_bench.kit.compute import nearest


class KNN:
    """k-NN (default 1-NN) with cosine similarity."""

    def __init__(self, k: Annotated[int, Ge(1)] = 1):
        self.k = k

    def evaluate(self, train_x, train_y, test_x, test_y, num_classes, rng) -> dict[str, float]:
        k = min(self.k, len(train_x))
        _, idx = nearest(train_x, test_x, k, metric="ip")
        votes = np.zeros((len(test_x), num_classes), dtype=np.int64)
        np.add.at(votes, (np.arange(len(test_x))[:, None], train_y[idx]), 1)
        predicted = votes.argmax(axis=1)
        return {"top1": 100.0 * float((predicted == test_y).mean())}


@hookimpl
def lbal_register_evaluators(register):
    register("knn", KNN, description="k-NN (default 1-NN) with cosine similarity, top-1 %")
