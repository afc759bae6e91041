"""The ``synthetic`` dataset: clustered features at any scale, deterministic per seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_suite

from lbal_bench.plugins import get_registry

SMALL = {"train_size": 600, "test_size": 200, "dim": 16, "num_classes": 4}


def make(**options):
    return get_registry().create("dataset", "synthetic", {**SMALL, **options})


def test_splits_are_labelled_unit_features_of_the_requested_shape():
    dataset = make()
    train, test = dataset.split("train"), dataset.split("test")
    assert train.images is None and train.features.shape == (600, 16) and test.features.shape == (200, 16)
    assert train.features.dtype == np.float32 and train.labels.dtype == np.int64
    assert np.allclose(np.linalg.norm(train.features, axis=1), 1, atol=1e-6)
    assert set(np.unique(train.labels)) == set(np.unique(test.labels)) == {0, 1, 2, 3}
    assert dataset.num_classes == 4 and len(dataset.class_names) == 4


def test_points_sit_nearest_their_own_cluster():
    train = make(spread=0.3).split("train")
    means = np.stack([train.features[train.labels == c].mean(axis=0) for c in range(4)])
    assert ((train.features @ means.T).argmax(axis=1) == train.labels).mean() > 0.99


def test_a_seed_gives_the_same_data_and_another_seed_other_data():
    first, again, other = make(seed=3).split("train"), make(seed=3).split("train"), make(seed=4).split("train")
    assert np.array_equal(first.features, again.features) and np.array_equal(first.labels, again.labels)
    assert not np.array_equal(first.features, other.features)


def test_train_and_test_share_centres_but_not_points():
    dataset = make(spread=0.3)
    train, test = dataset.split("train"), dataset.split("test")
    centre = lambda split, c: split.features[split.labels == c].mean(axis=0)  # noqa: E731
    assert all(np.dot(centre(train, c), centre(test, c)) > 0.9 for c in range(4))
    assert not np.isin(test.features[:, 0], train.features[:, 0]).any()


def test_long_tail_train_split_and_balanced_test_split():
    dataset = make(train_size=20000, test_size=4000, imbalance=10.0)
    train_counts = np.bincount(dataset.split("train").labels, minlength=4)
    test_counts = np.bincount(dataset.split("test").labels, minlength=4)
    assert list(train_counts) == sorted(train_counts, reverse=True)
    assert 8 < train_counts[0] / train_counts[-1] < 12
    assert test_counts.max() / test_counts.min() < 1.2


@pytest.mark.parametrize("option, value", [("train_size", 601), ("test_size", 201), ("dim", 17),
                                           ("num_classes", 5), ("spread", 0.4), ("imbalance", 2.0), ("seed", 1)])
def test_every_option_is_in_the_fingerprint(option, value):
    assert make().fingerprint() != make(**{option: value}).fingerprint()
    assert make(**{option: value}).fingerprint()[option] == value


@pytest.mark.parametrize(
    "options, message",
    [
        ({"train_size": 0}, "option 'train_size' must be int (>= 1), got 0"),
        ({"dim": 2.5}, "option 'dim' must be int (>= 1), got 2.5"),
        ({"spread": 0}, "option 'spread' must be float (> 0), got 0"),
        ({"imbalance": 0.5}, "option 'imbalance' must be float (>= 1), got 0.5"),
    ],
)
def test_bad_options_name_the_plugin_and_the_suite_line(cli, write_suite, options, message):
    suite = write_suite(tiny_suite(datasets=[{"name": "synthetic", "options": options}]))
    result = cli("validate", str(suite))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {suite}:3: dataset 'synthetic': {message}"


def test_a_suite_runs_on_synthetic_features_without_embedding_them(cli, write_suite, tmp_path):
    suite = write_suite(tiny_suite(datasets=[{"name": "synthetic", "options": SMALL}], samplers=["kmeans"]))
    result = cli("run", str(suite))
    assert result.exit_code == 0, result.output
    assert "tiny: computed 12 cells, 0 already done" in result.stdout
    entries = [json.loads(p.read_text()) for p in Path(tmp_path / "cache" / "features").glob("*.json")]
    cached = {e["split"]: e["shape"] for e in entries}
    assert cached == {"train": [600, 16], "test": [200, 16]}
    coverage = [json.loads(p.read_text())["metrics"] for p in Path("results/tiny/records").glob("*.json")]
    assert {m["coverage"] for m in coverage if "coverage" in m} == {100.0}  # K-means finds all 4 clusters
