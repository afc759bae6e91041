"""Conformance checks for samplers: what ``lbal-bench check SAMPLER`` runs, and what a
third party can run from its own pytest suite::

    import pytest
    from lbal_bench.testing import sampler_checks
    from my_package import MySampler

    @pytest.mark.parametrize("check", sampler_checks(), ids=str)
    def test_conformance(check):
        check.run(MySampler())

Each check builds small pools the way the runner does (read-only, L2-normalised
features; an oracle that reveals the labels of labeled points only, unless the sampler
declares ``uses_labels``; iterative samplers get a labeled set, as they do after their
initial pool, and a sampler declaring ``cold_start`` an empty one too) and raises :class:`ConformanceError` (an ``AssertionError``) saying what is
wrong. The pool helpers (:func:`pool_of`, :func:`blobs`, :func:`contract_cases`) serve a
sampler's own tests too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from .contracts import LabelLeakError, LabelOracle, Pool, selection_problem, selection_problems
from .features import l2_normalise

TIME_LIMIT = 60.0
"""Seconds a sampler may take for 50 picks from a 2,000-point pool (``check --time-limit``)."""

POOL_SIZE = 120
LABELED = np.arange(0, POOL_SIZE, 7)  # 18 labeled points, every class among them


class ConformanceError(AssertionError):
    """A sampler broke the sampler contract; the message says how."""


# --- pools -------------------------------------------------------------------------------


def make_sampler(name: str, **options) -> Any:
    """Build an installed sampler through the plugin registry, as a suite would."""
    from .plugins import get_registry

    return get_registry().create("sampler", name, options)


def pool_of(features: np.ndarray, labeled=(), num_classes: int = 4, labels: np.ndarray | None = None,
            reveal_all: bool = False) -> Pool:
    """A pool over read-only ``features`` (labels default to index mod ``num_classes``)
    whose oracle reveals the labeled points only, unless ``reveal_all``."""
    features = np.array(features, dtype=np.float32)
    features.setflags(write=False)
    labeled = np.asarray(labeled, dtype=np.int64)
    labels = np.arange(len(features)) % num_classes if labels is None else np.asarray(labels)
    return Pool(features, labeled, num_classes, LabelOracle(labels, labeled, reveal_all))


def blobs(n_per: int, centres: int, dim: int = 8, spread: float = 1.0, seed: int = 0):
    """L2-normalised Gaussian blobs around random means of scale 5: ``(features, blob ids)``."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dim)) * 5
    x = np.concatenate([m + spread * rng.normal(size=(n_per, dim)) for m in means])
    return l2_normalise(x), np.repeat(np.arange(centres), n_per)


def duplicate_rows() -> np.ndarray:
    """120 rows with only 5 distinct values (24 copies each)."""
    return np.repeat(np.eye(5, 8, dtype=np.float32), 24, axis=0)


def contract_cases() -> dict[str, tuple[Pool, int]]:
    """Pools and budgets every sampler must handle: ``id -> (pool, budget)``."""
    features, _ = blobs(30, 4)
    return {
        "budget-1": (pool_of(features), 1),
        "some-labeled": (pool_of(features, LABELED), 20),
        "every-unlabeled-point": (pool_of(features, LABELED), POOL_SIZE - len(LABELED)),
        "duplicate-rows": (pool_of(duplicate_rows()), 30),
        "duplicate-rows-labeled": (pool_of(duplicate_rows(), LABELED), 60),
        "every-duplicate": (pool_of(duplicate_rows(), LABELED), POOL_SIZE - len(LABELED)),
    }


def assert_valid(chosen: Any, pool: Pool, budget: int) -> None:
    """Exactly ``budget`` unique int64 in-range indices, none labeled."""
    problem = selection_problem(chosen, budget, pool)
    if problem is None and np.asarray(chosen).dtype != np.int64:
        problem = f"returned {np.asarray(chosen).dtype} indices, not int64"
    if problem:
        raise ConformanceError(f"the sampler {problem}")


def check_contract(sampler: Any, pool: Pool, budget: int) -> None:
    """A valid selection, identical for the same seed."""
    chosen = sampler.select(pool, budget, np.random.default_rng(0))
    assert_valid(chosen, pool, budget)
    np.testing.assert_array_equal(chosen, sampler.select(pool, budget, np.random.default_rng(0)))


# --- the checks --------------------------------------------------------------------------


def _pool(sampler: Any, features: np.ndarray, labels: np.ndarray, num_classes: int, labeled=None) -> Pool:
    """A pool as the runner builds it for ``sampler``: a labeled set for iterative ones."""
    if labeled is None:
        labeled = LABELED if getattr(sampler, "iterative", False) else ()
    return pool_of(features, labeled, num_classes, labels, reveal_all=bool(getattr(sampler, "uses_labels", False)))


def _standard(sampler: Any, labeled=None) -> Pool:
    features, labels = blobs(30, 4)
    return _pool(sampler, features, labels, 4, labeled)


def _select(sampler: Any, pool: Pool, budget: int, seed: int = 0) -> np.ndarray:
    try:
        return np.asarray(sampler.select(pool, budget, np.random.default_rng(seed)))
    except LabelLeakError as exc:
        raise ConformanceError(f"read hidden labels: {exc}") from None
    except Exception as exc:
        raise ConformanceError(f"select(pool of {len(pool.features)}, budget {budget}) raised "
                               f"{type(exc).__name__}: {exc}") from exc


def _valid(sampler: Any, pool: Pool, budget: int, seed: int = 0) -> np.ndarray:
    chosen = _select(sampler, pool, budget, seed)
    problem = selection_problem(chosen, budget, pool)
    if problem:
        where = f"with {len(pool.labeled)} labeled of {len(pool.features)} and budget {budget}"
        raise ConformanceError(f"{where}: {problem}")
    return chosen


def _declares(sampler: Any) -> str:
    for name in ("uses_labels", "iterative"):
        if not isinstance(getattr(sampler, name, None), bool):
            raise ConformanceError(f"'{name}' must be a bool attribute, got {getattr(sampler, name, 'nothing')!r}")
    if not isinstance(getattr(sampler, "cold_start", False), bool):
        raise ConformanceError(f"'cold_start' must be a bool attribute when given, got {sampler.cold_start!r}")
    if not callable(getattr(sampler, "select", None)):
        raise ConformanceError("has no select(pool, budget, rng) method")
    kind = "iterative" if sampler.iterative else "single-batch"
    return f"{kind}, {'reads every label (†)' if sampler.uses_labels else 'reads no hidden label'}"


def _broken(sampler: Any, budget: int, labeled=None) -> tuple[np.ndarray, dict[str, str]]:
    """The sampler's answer on the standard pool and the rules it breaks
    (``contracts.selection_problems``)."""
    pool = _standard(sampler, labeled)
    chosen = _select(sampler, pool, budget)
    return chosen, selection_problems(chosen, budget, pool)


def _exact_count(sampler: Any) -> str:
    chosen, broken = _broken(sampler, 10)
    if chosen.ndim != 1 or "count" in broken:
        raise ConformanceError(broken.get("count") or broken["shape"])
    if chosen.dtype != np.int64:
        raise ConformanceError(f"returned {chosen.dtype} indices, not int64")
    return "10 int64 indices for a budget of 10"


def _obeys(rule: str, budget: int, passed: str, labeled=None) -> Callable[[Any], str]:
    """A check that the answer breaks no ``rule`` of ``contracts.selection_problems``."""
    def check(sampler: Any) -> str:
        chosen, broken = _broken(sampler, budget, labeled)
        if rule in broken or chosen.ndim != 1:  # not 1-D: the rule cannot be judged
            raise ConformanceError(broken.get(rule) or broken["shape"])
        return passed

    return check


def _deterministic(sampler: Any) -> str:
    for seed in (0, 1):
        pool = _standard(sampler)
        first, second = _select(sampler, pool, 10, seed), _select(sampler, pool, 10, seed)
        if not np.array_equal(first, second):
            raise ConformanceError(f"seed {seed} gave {first.tolist()}, then {second.tolist()}")
    return "same picks for the same seed (0 and 1)"


def _labels(sampler: Any) -> str:
    if getattr(sampler, "uses_labels", False):
        return "declares uses_labels = True: may read every label (marked † on the board)"
    pool = _standard(sampler)
    _select(sampler, pool, 10)
    seen = pool.oracle.requests()
    return f"asked only for labeled points' labels ({seen} handed out)"


def _cold_start(sampler: Any) -> str:
    if getattr(sampler, "iterative", False) and not getattr(sampler, "cold_start", False):
        return "iterative without cold_start: its chains start from an initial pool"
    _valid(sampler, _standard(sampler, labeled=()), 10)
    if not getattr(sampler, "iterative", False):
        return "single-batch: 10 valid picks with nothing labeled, as at every budget"
    return "declares cold_start: 10 valid picks with nothing labeled"


def _budget_one(sampler: Any) -> str:
    _valid(sampler, _standard(sampler), 1)
    return "1 valid index"


def _budget_all(sampler: Any) -> str:
    pool = _standard(sampler, LABELED)
    _valid(sampler, pool, POOL_SIZE - len(LABELED))
    return f"all {POOL_SIZE - len(LABELED)} unlabeled points"


def _duplicates(sampler: Any) -> str:
    features, labels = duplicate_rows(), np.repeat(np.arange(5), 24)
    _valid(sampler, _pool(sampler, features, labels, 5), 30)
    pool = _pool(sampler, features, labels, 5, LABELED)
    _valid(sampler, pool, POOL_SIZE - len(LABELED))
    return "30 picks among 5 distinct rows, and every unlabeled copy"


def _timed(limit: float) -> Callable[[Any], str]:
    def check(sampler: Any) -> str:
        features, labels = blobs(200, 10, dim=64, seed=1)
        labeled = np.random.default_rng(0).choice(len(features), 20, replace=False)
        pool = _pool(sampler, features, labels, 10, labeled if getattr(sampler, "iterative", False) else ())
        start = time.perf_counter()
        _valid(sampler, pool, 50)
        seconds = time.perf_counter() - start
        if seconds > limit:
            raise ConformanceError(f"took {seconds:.1f} s for 50 picks from 2,000 points (limit {limit:g} s)")
        return f"{seconds:.2f} s for 50 picks from 2,000 points × 64 dims (limit {limit:g} s)"

    return check


@dataclass(frozen=True)
class Check:
    """One conformance check: ``run(sampler)`` returns what it saw, or raises
    :class:`ConformanceError`."""

    name: str
    description: str
    run: Callable[[Any], str]

    def __str__(self) -> str:
        return self.name


def sampler_checks(time_limit: float = TIME_LIMIT) -> list[Check]:
    """Every check, in order (``declares`` first: the others read its attributes)."""
    return [
        Check("declares", "uses_labels and iterative are bools; select is a method", _declares),
        Check("exact-count", "returns exactly budget int64 indices", _exact_count),
        Check("unique", "returns no index twice", _obeys("unique", 40, "40 distinct indices")),
        Check("in-range", "returns indices into the pool only",
              _obeys("range", 40, f"every index in 0..{POOL_SIZE - 1}")),
        Check("not-labeled", "returns no already-labeled point",
              _obeys("labeled", 40, f"none of the {len(LABELED)} labeled points", LABELED)),
        Check("deterministic", "the same seed gives the same picks", _deterministic),
        Check("labels", "reads no unlabeled point's label unless it declares uses_labels", _labels),
        Check("cold-start", "selects with nothing labeled when it declares cold_start", _cold_start),
        Check("budget-1", "handles a budget of 1", _budget_one),
        Check("budget-all", "handles budget = pool size - labeled", _budget_all),
        Check("duplicate-rows", "handles duplicate feature rows", _duplicates),
        Check("time", f"50 picks from a 2,000-point pool within {time_limit:g} s", _timed(time_limit)),
    ]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one sampler."""

    name: str
    description: str
    passed: bool
    message: str
    seconds: float


def iter_checks(sampler: Any, time_limit: float = TIME_LIMIT) -> Iterator[CheckResult]:
    """Run every check on ``sampler``, giving each result as it comes; when the sampler
    does not even declare its attributes, the rest are not run."""
    for check in sampler_checks(time_limit):
        start = time.perf_counter()
        try:
            message, passed = check.run(sampler), True
        except ConformanceError as exc:
            message, passed = str(exc), False
        yield CheckResult(check.name, check.description, passed, message, time.perf_counter() - start)
        if check.name == "declares" and not passed:
            return


def run_checks(sampler: Any, time_limit: float = TIME_LIMIT) -> list[CheckResult]:
    """Every check's result on ``sampler`` (see :func:`iter_checks`)."""
    return list(iter_checks(sampler, time_limit))


def assert_conforms(sampler: Any, time_limit: float = TIME_LIMIT) -> None:
    """Raise :class:`ConformanceError` listing every failed check."""
    failed = [r for r in run_checks(sampler, time_limit) if not r.passed]
    if failed:
        raise ConformanceError("; ".join(f"{r.name}: {r.message}" for r in failed))
