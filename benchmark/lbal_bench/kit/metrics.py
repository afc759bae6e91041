"""Classification metrics shared by the evaluators that predict a class per test point."""

from __future__ import annotations

import numpy as np


def classification_metrics(predicted: np.ndarray, labels: np.ndarray, mean_per_class: bool = False) -> dict[str, float]:
    """``{"top1": %}``; with ``mean_per_class``, ``{"mean_per_class": %, "top1": %}``: the
    mean over the test classes of each class's accuracy first (the paper's metric for
    Flowers-102 and Aircraft, Table 15), so that it is the headline metric."""
    correct = np.asarray(predicted) == np.asarray(labels)
    top1 = 100.0 * float(correct.mean())
    if not mean_per_class:
        return {"top1": top1}
    per_class = [correct[labels == c].mean() for c in np.unique(labels)]
    return {"mean_per_class": 100.0 * float(np.mean(per_class)), "top1": top1}
