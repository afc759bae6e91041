"""The reference plugins' option declarations (issue 16): each option's type and range is
in its annotation, checked by ``registry.build`` before the factory runs, refused in one
line naming the plugin, and listed by ``lbal-bench plugins --json``. What an annotation
cannot say (a relation between two options, an order, a file) is still raised by the
factory and reported the same way.

Every declared range of the converted plugins is refused once here; the edges of the
ranges (and ints for float options, lists for sequences) are accepted, as before."""

from __future__ import annotations

import json

import pytest

from lbal_bench import LbalError
from lbal_bench.plugins import get_registry

HEAD = "milestones must be increasing epoch numbers of at least 1"

REFUSED = [
    # samplers
    ("sampler", "typiclust", {"knn": 0}, "option 'knn' must be int (>= 1), got 0"),
    ("sampler", "typiclust", {"max_clusters": 0}, "option 'max_clusters' must be int (>= 1), got 0"),
    ("sampler", "typiclust", {"min_cluster_size": -1}, "option 'min_cluster_size' must be int (>= 0), got -1"),
    ("sampler", "usl", {"knn": 0}, "option 'knn' must be int (>= 1), got 0"),
    ("sampler", "usl", {"niter": 0}, "option 'niter' must be int (>= 1), got 0"),  # its own default, K-means' range
    ("sampler", "usl", {"tol": -1.0}, "option 'tol' must be float | None (>= 0), got -1.0"),  # inherited
    ("sampler", "usl", {"lam": -1}, "option 'lam' must be float (>= 0), got -1"),
    ("sampler", "usl", {"alpha": 0}, "option 'alpha' must be float (> 0), got 0"),
    ("sampler", "usl", {"momentum": 1}, "option 'momentum' must be float (>= 0, < 1), got 1"),
    ("sampler", "usl", {"iters": 0}, "option 'iters' must be int (>= 1), got 0"),
    ("sampler", "usl", {"horizon": 0.0}, "option 'horizon' must be float (> 0), got 0.0"),
    ("sampler", "maxherding", {"h": 0}, "option 'h' must be float (> 0), got 0"),
    ("sampler", "maxherding", {"subset_size": 0}, "option 'subset_size' must be int (>= 1), got 0"),
    ("sampler", "uherding", {"h": -1.5}, "option 'h' must be float (> 0), got -1.5"),
    ("sampler", "uherding", {"subset_size": 2.5}, "option 'subset_size' must be int (>= 1), got 2.5"),
    ("sampler", "uherding", {"adaptive_h": "yes"}, "option 'adaptive_h' must be bool, got 'yes'"),
    ("sampler", "uherding", {"temperature_scaling": 1}, "option 'temperature_scaling' must be bool, got 1"),
    ("sampler", "uherding", {"epochs": 0}, "option 'epochs' must be int (>= 1), got 0"),
    ("sampler", "uherding", {"lr": 0}, "option 'lr' must be float (> 0), got 0"),
    ("sampler", "uherding", {"batch_size": 0}, "option 'batch_size' must be int (>= 1), got 0"),
    ("sampler", "uherding", {"milestones": [50, "x"]}, "option 'milestones' must be Sequence[int], got [50, 'x']"),
    ("sampler", "uherding", {"milestones": [75, 50]}, HEAD),
    ("sampler", "max_entropy", {"epochs": 0}, "option 'epochs' must be int (>= 1), got 0"),
    ("sampler", "max_entropy", {"lr": 0}, "option 'lr' must be float (> 0), got 0"),
    ("sampler", "max_entropy", {"batch_size": 0}, "option 'batch_size' must be int (>= 1), got 0"),
    ("sampler", "max_entropy", {"standardise": "no"}, "option 'standardise' must be bool, got 'no'"),
    ("sampler", "max_entropy", {"milestones": [75, 50]}, HEAD),
    ("sampler", "max_entropy", {"milestones": [0, 50]}, HEAD),
    ("sampler", "margin", {"lr": -1.0}, "option 'lr' must be float (> 0), got -1.0"),
    ("sampler", "least_confidence", {"standardise": "yes"}, "option 'standardise' must be bool, got 'yes'"),
    ("sampler", "badge", {"batch_size": 0}, "option 'batch_size' must be int (>= 1), got 0"),
    ("sampler", "dcom", {"initial_delta": 0}, "option 'initial_delta' must be float (> 0), got 0"),
    ("sampler", "dcom", {"max_delta": 0}, "option 'max_delta' must be float (> 0), got 0"),
    ("sampler", "dcom", {"delta_resolution": 0}, "option 'delta_resolution' must be float (> 0), got 0"),
    ("sampler", "dcom", {"k_logistic": 0}, "option 'k_logistic' must be float (> 0), got 0"),
    ("sampler", "dcom", {"a_logistic": 1.5}, "option 'a_logistic' must be float (>= 0, <= 1), got 1.5"),
    ("sampler", "dcom", {"initial_delta": 2.0}, "initial_delta must be at most max_delta (1.1), got 2.0"),
    ("sampler", "dcom", {"delta_resolution": 0.5, "max_delta": 0.5, "initial_delta": 0.5},
     "delta_resolution must be below max_delta (0.5), got 0.5"),
    ("sampler", "dcom", {"epochs": 0}, "option 'epochs' must be int (>= 1), got 0"),
    ("sampler", "dcom", {"lr": 0}, "option 'lr' must be float (> 0), got 0"),
    ("sampler", "dcom", {"batch_size": 0}, "option 'batch_size' must be int (>= 1), got 0"),
    ("sampler", "dcom", {"milestones": [75, 50]}, HEAD),
    ("sampler", "activeft", {"temperature": 0}, "option 'temperature' must be float (> 0), got 0"),
    ("sampler", "activeft", {"iterations": -1}, "option 'iterations' must be int (>= 0), got -1"),
    ("sampler", "activeft", {"lr": 0}, "option 'lr' must be float (> 0), got 0"),
    ("sampler", "activeft", {"balance": 0}, "option 'balance' must be float (> 0), got 0"),
    ("sampler", "activeft", {"subset_size": 0}, "option 'subset_size' must be int (>= 1), got 0"),
    ("sampler", "vaal", {"iterations": 0}, "option 'iterations' must be int (>= 1), got 0"),
    ("sampler", "vaal", {"latent_dim": 0}, "option 'latent_dim' must be int (>= 1), got 0"),
    ("sampler", "vaal", {"hidden_dim": 0}, "option 'hidden_dim' must be int (>= 1), got 0"),
    ("sampler", "vaal", {"batch_size": 0}, "option 'batch_size' must be int (>= 1), got 0"),
    ("sampler", "vaal", {"vae_steps": 0}, "option 'vae_steps' must be int (>= 1), got 0"),
    ("sampler", "vaal", {"lr": -1.0}, "option 'lr' must be float (> 0), got -1.0"),
    ("sampler", "vaal", {"beta": -1.0}, "option 'beta' must be float (>= 0), got -1.0"),
    ("sampler", "vaal", {"adversary_param": -1}, "option 'adversary_param' must be float (>= 0), got -1"),
    # evaluators
    ("evaluator", "linear", {"epochs": 0}, "option 'epochs' must be int (>= 1), got 0"),
    ("evaluator", "linear", {"lr": 0}, "option 'lr' must be float (> 0), got 0"),
    ("evaluator", "linear", {"batch_size": 0}, "option 'batch_size' must be int (>= 1), got 0"),
    ("evaluator", "finetune", {"epochs": 0}, "option 'epochs' must be int (>= 1), got 0"),
    ("evaluator", "finetune", {"batch_size": 1}, "option 'batch_size' must be int (>= 2), got 1"),
    ("evaluator", "finetune", {"workers": -1}, "option 'workers' must be int (>= 0), got -1"),
    ("evaluator", "finetune", {"lr": 0}, "option 'lr' must be float | None (> 0), got 0"),
    ("evaluator", "finetune", {"head_lr": -1.0}, "option 'head_lr' must be float | None (> 0), got -1.0"),
    ("evaluator", "finetune", {"optimizer": "adamw"},
     "option 'optimizer' must be 'adam' | 'sgd' | None, got 'adamw'"),
    ("evaluator", "finetune", {"augment": "flip"},
     "option 'augment' must be 'crop' | 'translate' | 'none', got 'flip'"),
    ("evaluator", "fixmatch", {"steps": 0}, "option 'steps' must be int (>= 1), got 0"),
    ("evaluator", "fixmatch", {"batch_size": 0}, "option 'batch_size' must be int (>= 1), got 0"),
    ("evaluator", "fixmatch", {"mu": 0}, "option 'mu' must be int (>= 1), got 0"),
    ("evaluator", "fixmatch", {"workers": -1}, "option 'workers' must be int (>= 0), got -1"),
    ("evaluator", "fixmatch", {"threshold": 1.5}, "option 'threshold' must be float (>= 0, <= 1), got 1.5"),
    ("evaluator", "fixmatch", {"lambda_u": -1}, "option 'lambda_u' must be float (>= 0), got -1"),
    ("evaluator", "fixmatch", {"lr": 0}, "option 'lr' must be float (> 0), got 0"),
    ("evaluator", "fixmatch", {"momentum": 1.0}, "option 'momentum' must be float (>= 0, < 1), got 1.0"),
    ("evaluator", "fixmatch", {"weight_decay": -1e-4}, "option 'weight_decay' must be float (>= 0), got -0.0001"),
    ("evaluator", "fixmatch", {"ema": 1}, "option 'ema' must be float (>= 0, < 1), got 1"),
    ("evaluator", "fixmatch", {"init": "random"}, "option 'init' must be 'backbone' | 'scratch', got 'random'"),
    # datasets (the range is checked before the files are looked for)
    ("dataset", "digits", {"test_size": 1}, "option 'test_size' must be float (> 0, < 1), got 1"),
    ("dataset", "dtd", {"partition": 11}, "option 'partition' must be int (>= 1, <= 10), got 11"),
    ("dataset", "aircraft", {"val_fraction": 1.0}, "option 'val_fraction' must be float (>= 0, < 1), got 1.0"),
    ("dataset", "synthetic", {"train_size": 0}, "option 'train_size' must be int (>= 1), got 0"),
    ("dataset", "synthetic", {"test_size": 0}, "option 'test_size' must be int (>= 1), got 0"),
    ("dataset", "synthetic", {"dim": 2.5}, "option 'dim' must be int (>= 1), got 2.5"),
    ("dataset", "synthetic", {"num_classes": 0}, "option 'num_classes' must be int (>= 1), got 0"),
    ("dataset", "synthetic", {"spread": 0}, "option 'spread' must be float (> 0), got 0"),
    ("dataset", "synthetic", {"imbalance": 0.5}, "option 'imbalance' must be float (>= 1), got 0.5"),
    # backbones
    ("backbone", "tiny_cnn", {"max_value": 0}, "option 'max_value' must be float | None (> 0), got 0"),
    ("backbone", "tiny_cnn", {"size": 1}, "option 'size' must be int | None (>= 2), got 1"),
    ("backbone", "tiny_cnn", {"weights": "/nowhere/tiny.pt"},
     "weights must be 'random' or a checkpoint file; /nowhere/tiny.pt is missing"),
]


@pytest.mark.parametrize("kind, name, options, message", REFUSED,
                         ids=[f"{name}-{'-'.join(options)}" for _, name, options, _ in REFUSED])
def test_a_value_out_of_the_declared_range_is_refused_in_one_line(kind, name, options, message):
    with pytest.raises(LbalError) as refused:
        get_registry().create(kind, name, options)
    assert str(refused.value) == f"{kind} '{name}': {message}"


ACCEPTED = [
    ("sampler", "typiclust", {"knn": 1, "max_clusters": 1, "min_cluster_size": 0}),
    ("sampler", "usl", {"lam": 0, "alpha": 1, "momentum": 0, "horizon": 2}),
    ("sampler", "maxherding", {"h": 2, "subset_size": 1}),
    ("sampler", "uherding", {"h": 1e-3, "epochs": 1, "lr": 1, "milestones": [1, 1], "batch_size": 1}),
    ("sampler", "max_entropy", {"milestones": [], "standardise": False}),
    ("sampler", "dcom", {"initial_delta": 1.1, "k_logistic": 1, "a_logistic": 0}),
    ("sampler", "dcom", {"max_delta": 2, "a_logistic": 1}),
    ("sampler", "activeft", {"iterations": 0, "temperature": 1, "lr": 1, "balance": 2}),
    ("sampler", "vaal", {"lr": 1, "beta": 0, "adversary_param": 0}),
    ("evaluator", "finetune", {"batch_size": 2, "workers": 0, "lr": 1, "head_lr": None, "optimizer": "sgd",
                               "augment": "none", "milestones": [1, 2]}),
    ("evaluator", "fixmatch", {"threshold": 1, "ema": 0, "momentum": 0, "lambda_u": 0, "weight_decay": 0, "lr": 1,
                               "init": "scratch"}),
    ("dataset", "digits", {"test_size": 0.5}),
    ("dataset", "synthetic", {"spread": 1, "imbalance": 1}),
    ("backbone", "tiny_cnn", {"max_value": 255, "size": 2}),
    ("backbone", "tiny_cnn", {"max_value": None, "size": None}),
]


@pytest.mark.parametrize("kind, name, options", ACCEPTED, ids=[name for _, name, _ in ACCEPTED])
def test_the_edges_of_the_ranges_and_ints_for_floats_are_accepted(kind, name, options):
    get_registry().create(kind, name, options)  # an LbalError if refused


def test_plugins_json_lists_the_declared_ranges(cli):
    result = cli("plugins", "--json")
    assert result.exit_code == 0, result.output
    options = {(p["name"], o["name"]): {k: o[k] for k in ("type", "range", "default")}
               for p in json.loads(result.stdout) for o in p["options"]}
    assert options["typiclust", "min_cluster_size"] == {"type": "int", "range": ">= 0", "default": 5}
    assert options["usl", "momentum"] == {"type": "float", "range": ">= 0, < 1", "default": 0.9}
    assert options["uherding", "epochs"] == {"type": "int", "range": ">= 1", "default": 100}
    assert options["fixmatch", "threshold"] == {"type": "float", "range": ">= 0, <= 1", "default": 0.95}
    assert options["finetune", "optimizer"] == {"type": "'adam' | 'sgd' | None", "range": None, "default": None}
    assert options["dtd", "partition"] == {"type": "int", "range": ">= 1, <= 10", "default": 1}
    assert options["tiny_cnn", "size"] == {"type": "int | None", "range": ">= 2", "default": None}
