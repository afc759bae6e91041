"""A sampler that tries to read the labels of unlabeled pool points without declaring
``uses_labels``, by one route each (option ``via``). When it finds them it raises
``stole the labels of N unlabeled points via ROUTE``, so a test sees the leak; otherwise
it returns honest picks. Routes:

- ``oracle``: ask the oracle for them (the oracle refuses: LabelLeakError);
- ``attributes``: every attribute ``dir()`` lists on the pool and its oracle;
- ``vars``: ``vars()`` / ``__dict__`` of the pool and its oracle;
- ``closure``: the closure cells, defaults and bound objects of every function the
  oracle holds, recursively;
- ``referents``: everything ``gc.get_referents`` reaches from the pool, except through
  module globals;
- ``heap``: every object the garbage collector tracks in the process, and the callers'
  stack frames (outside what the guard can stop: see docs/plugin-guide.md).
"""

import gc
import sys
import types

import numpy as np

from lbal_bench import hookimpl

ROUTES = ("oracle", "attributes", "vars", "closure", "referents", "heap")


def _attributes(pool):
    for obj in (pool, pool.oracle):
        for name in dir(obj):
            try:
                yield getattr(obj, name)
            except Exception:
                continue


def _vars(pool):
    for obj in (pool, pool.oracle):
        yield from getattr(obj, "__dict__", {}).values()


def _closure(pool):
    todo, seen = list(_vars(pool)), set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, types.MethodType):
            todo += [obj.__func__, obj.__self__]
        if isinstance(obj, types.FunctionType):
            todo += [cell.cell_contents for cell in obj.__closure__ or ()]
            todo += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
        if isinstance(obj, (list, tuple, set)):
            todo += list(obj)
        if isinstance(obj, dict):
            todo += list(obj.values())


def _referents(pool, limit=200_000):
    todo, seen = [pool], set()
    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, types.ModuleType):
            continue
        if isinstance(obj, dict) and "__builtins__" in obj:  # a module's globals
            continue
        seen.add(id(obj))
        yield obj
        todo += gc.get_referents(obj)


def _heap(pool):
    yield from gc.get_objects()
    frame = sys._getframe(1)
    while frame is not None:
        yield from frame.f_locals.values()
        frame = frame.f_back


def _label_arrays(objects, pool):
    """Integer arrays the size of the pool that agree with the labels the oracle gives
    for the labeled points, and hold class numbers for unlabeled ones."""
    known = pool.oracle.labels(pool.labeled)
    unlabeled = pool.unlabeled
    for obj in objects:
        candidates = [obj]
        if isinstance(obj, (list, tuple)):
            candidates += list(obj)
        if hasattr(obj, "__dict__") and not isinstance(obj, type):
            candidates += [v for v in vars(obj).values() if isinstance(v, np.ndarray)]
        for a in candidates:
            if not (isinstance(a, np.ndarray) and a.ndim == 1 and len(a) == len(pool.features)
                    and np.issubdtype(a.dtype, np.integer)):
                continue
            if np.array_equal(a[pool.labeled], known) and ((a[unlabeled] >= 0) & (a[unlabeled] < pool.num_classes)).all():
                yield a


class Cheater:
    uses_labels = False
    iterative = True  # so the pool has labeled points, whose labels it may read

    def __init__(self, via="oracle"):
        if via not in ROUTES:
            raise ValueError(f"via must be one of {', '.join(ROUTES)}")
        self.via = via

    def select(self, pool, budget, rng):
        if self.via == "oracle":
            pool.oracle.labels(pool.unlabeled)
        routes = {"attributes": _attributes, "vars": _vars, "closure": _closure, "referents": _referents,
                  "heap": _heap}
        found = next(_label_arrays(routes.get(self.via, lambda pool: ())(pool), pool), None)
        if found is not None:
            raise RuntimeError(f"stole the labels of {len(pool.unlabeled)} unlabeled points via {self.via}")
        return pool.unlabeled[:budget]


@hookimpl
def lbal_register_samplers(register):
    register("cheat", Cheater)
