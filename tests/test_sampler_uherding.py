"""The ``uherding`` sampler: MaxHerding weighted by the margin uncertainty of a linear head."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_contract import assert_valid, blobs, check_contract, contract_cases, make_sampler, pool_of

from lbal_bench.testing import sampler_checks
from lbal_plugins.samplers.uherding import expected_calibration_error, smallest_gap

CASES = contract_cases()


@pytest.mark.parametrize("check", sampler_checks(), ids=str)
def test_conformance(check):
    check.run(make_sampler("uherding"))


@pytest.mark.parametrize("case", CASES)
def test_contract(case):
    check_contract(make_sampler("uherding"), *CASES[case])


def test_from_zero_labels_it_is_maxherding():
    features, blob = blobs(30, 6, seed=3)
    a, b = pool_of(features, (), 6, blob), pool_of(features, (), 6, blob)
    np.testing.assert_array_equal(make_sampler("uherding").select(a, 12, np.random.default_rng(0)),
                                  make_sampler("maxherding").select(b, 12, np.random.default_rng(0)))
    assert a.info == {"kernel_width": 1.0, "temperature": None, "candidates": 180}
    assert a.oracle.requests() == 0


def test_with_labels_the_width_is_the_smallest_labeled_gap_and_the_temperature_is_calibrated():
    features, blob = blobs(30, 6, seed=3)
    labeled = np.arange(0, 180, 9)  # 20 labeled points
    pool = pool_of(features, labeled, 6, blob)
    chosen = make_sampler("uherding").select(pool, 10, np.random.default_rng(0))
    assert_valid(chosen, pool, 10)
    d = np.linalg.norm(features[labeled, None].astype(np.float64) - features[None, labeled], axis=-1)
    assert pool.info["kernel_width"] == pytest.approx(d[d > 0].min(), rel=1e-4)
    assert 1.0 <= pool.info["temperature"] <= 19.9
    fixed = pool_of(features, labeled, 6, blob)
    make_sampler("uherding", adaptive_h=False, temperature_scaling=False).select(fixed, 10, np.random.default_rng(0))
    assert (fixed.info["kernel_width"], fixed.info["temperature"]) == (1.0, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uncertainty_moves_the_picks_towards_the_decision_boundary(seed):
    """Two labeled blobs: with a head that has learnt them (lr 0.05), the points weighed
    most lie between the blobs, and the picks move there compared with MaxHerding's."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 0.7, (150, 2)), rng.normal(2, 0.7, (150, 2))])
    features = np.hstack([x, np.ones((300, 1))]).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    labels = np.repeat([0, 1], 150)
    labeled = np.concatenate([np.arange(0, 150, 15), np.arange(150, 300, 15)])
    picks = {name: make_sampler(name, **options).select(pool_of(features, labeled, 2, labels), 10,
                                                       np.random.default_rng(seed))
             for name, options in (("uherding", {"lr": 0.05}), ("maxherding", {}))}
    assert np.median(np.abs(x[picks["uherding"], 0])) < np.median(np.abs(x[picks["maxherding"], 0]))


def test_expected_calibration_error_and_smallest_gap():
    logits = np.log(np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]]))
    labels = np.array([0, 1, 0, 0])
    # bins of width 0.5: all four in (0.5, 1]; confidence 0.75, accuracy 0.75
    assert expected_calibration_error(logits, labels, 2) == pytest.approx(0.0)
    # ten bins: (0.5, 0.6] holds 0.6 with accuracy 1, (0.8, 0.9] holds 0.9 with accuracy 0.5
    assert expected_calibration_error(logits, labels, 10) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    points = np.array([[0, 0], [0, 0], [3, 4], [0, 1]], np.float32)
    assert smallest_gap(points) == pytest.approx(1.0) and smallest_gap(points[:2]) is None
