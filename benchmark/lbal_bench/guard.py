"""Guards against plugins that misbehave: nothing a plugin hands back is used unchecked,
and no plugin can end, hang or poison a run silently.

- :func:`flag`: a contract flag (``iterative``, ``uses_labels``, ``cold_start``) must be
  a real ``bool``; ``iterative = "no"`` is refused, not read as true.
- :func:`declared_kinds`: a dataset's ``provides`` must be a string, a backbone's
  ``accepts`` a tuple of strings (``lbal_bench.contracts.INPUT_KINDS``).
- :func:`checked_metrics`: an evaluator's result must be a non-empty ``dict`` of named
  metrics, each a finite number or a list of counts (:func:`lbal_bench.store.metric_problem`);
  NaN, ``{}``, strings, ``None``, tensors, arrays and non-string keys are refused.
- :func:`plain_data`: a fingerprint must be plain JSON data (an object in it would hash
  differently in every process, so resume would silently recompute everything).
- :func:`stopped`: ``sys.exit`` or ``KeyboardInterrupt`` inside a plugin becomes an
  ``LbalError`` naming the plugin instead of ending the process without a word.
- :class:`Worker` and :class:`TimeLimitExecutor`: work run in a child process that is
  killed when it takes longer than its time limit, or reported when a plugin ends it
  (``os._exit``, a crash); the error names the plugin that was running, and carries the
  problems the worker told of first (:func:`report`), which its result would have held.

Every refusal is one line that starts with the plugin (``sampler 'x' (dist) …``).
"""

from __future__ import annotations

import math
import multiprocessing
import numbers
import time
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .errors import LbalError

FLAGS = ("uses_labels", "iterative", "cold_start", "needs_images")
START_SECONDS = 120.0  # a fresh worker imports lbal-bench, the plugins and their libraries first


def describe(plugin: Any) -> str:
    """``kind 'name' (distribution)`` of a built plugin, as errors start."""
    return f"{plugin.info.kind} '{plugin.spec.name}' ({plugin.info.distribution})"


def flag(plugin: Any, name: str, default: bool = False) -> bool:
    """The contract flag ``name`` of ``plugin`` (``default`` when it has none); anything
    but ``True`` or ``False`` is an ``LbalError`` naming the plugin."""
    value = getattr(plugin.obj, name, default)
    if not isinstance(value, (bool, np.bool_)):
        raise LbalError(f"{describe(plugin)}: '{name}' must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def declared_kinds(plugin: Any, name: str) -> tuple[str, ...] | None:
    """The input kinds ``plugin`` declares as ``name``: a dataset's ``provides`` (one
    string) or a backbone's ``accepts`` (a tuple of strings; a lone string counts as one
    kind); None when it declares nothing. Anything else is an ``LbalError`` naming the
    plugin, never read as some kind."""
    value = getattr(plugin.obj, name, None)
    if value is None:
        return None
    found = kinds(value, name)
    if found is not None:
        return found
    expected = "a string such as 'pil_images'" if name == "provides" else "a tuple of strings such as ('pil_images',)"
    raise LbalError(f"{describe(plugin)}: '{name}' must be {expected}, got {type(value).__name__} {_short(value)}")


def kinds(value: Any, name: str) -> tuple[str, ...] | None:
    """``value`` read as a declaration of ``name`` (``provides``: one non-empty string;
    ``accepts``: non-empty strings in a tuple, list or set, or one string), or None when it
    is not one."""
    if name == "provides":
        return (value,) if isinstance(value, str) and value else None
    found = (value,) if isinstance(value, str) else value
    if isinstance(found, (tuple, list, set, frozenset)) and found and all(isinstance(k, str) and k for k in found):
        return tuple(sorted(found)) if isinstance(found, (set, frozenset)) else tuple(found)
    return None


def _metric(value: Any) -> Any:
    """A metric as it is stored: numpy scalars become Python numbers; anything else stays
    as it is, for ``metric_problem`` to judge."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, list):
        return [v.item() if isinstance(v, np.integer) else v for v in value]
    return value


def checked_metrics(plugin: Any, metrics: Any) -> dict:
    """The evaluator's result as a record stores it, or an ``LbalError`` naming the plugin."""
    from .store import metric_problem

    where = f"{describe(plugin)} returned"
    if not isinstance(metrics, dict):
        raise LbalError(f"{where} {type(metrics).__name__}, not a dict of named metrics")
    if not metrics:
        raise LbalError(f"{where} no metrics ({{}})")
    checked = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not name:
            raise LbalError(f"{where} a metric named {name!r}: metric names must be non-empty strings")
        value = _metric(value)
        if isinstance(value, np.ndarray):
            problem = f"is an array {list(value.shape)}: return a float (or a class histogram as a list of counts)"
        else:
            problem = metric_problem(value)
        if problem:
            raise LbalError(f"{where} metric '{name}' that {problem}")
        checked[name] = float(value) if isinstance(value, numbers.Real) else value
    return checked


def plain_data(plugin: Any, what: str, value: Any) -> Any:
    """``value`` (what ``plugin.what()`` returned) if it is plain JSON data: dicts with
    string keys, lists, strings, finite numbers, booleans and None; else an ``LbalError``
    naming the plugin and where in ``value`` the offending part is."""
    problem = _json_problem(value, what)
    if problem:
        raise LbalError(f"{describe(plugin)}: {problem}; a {what} must be plain JSON data "
                        "(strings, numbers, booleans, None, lists, dicts with string keys)")
    return value


def _json_problem(value: Any, where: str) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has the key {key!r} ({type(key).__name__})"
            problem = _json_problem(item, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(value, (list, tuple)):
        return next(filter(None, (_json_problem(v, f"{where}[{i}]") for i, v in enumerate(value))), None)
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value}"
    return f"{where} is of type {type(value).__name__}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class PluginStopped(LbalError):
    """A plugin ended or stopped the work it was given: ``sys.exit``, ``KeyboardInterrupt``,
    a killed or dead worker, a time limit. ``run`` adds how many cells are left."""


def stopped(plugin: Any, what: str, exc: BaseException) -> PluginStopped:
    """The error for ``SystemExit`` or ``KeyboardInterrupt`` raised inside a plugin call."""
    if isinstance(exc, SystemExit):
        return PluginStopped(f"{describe(plugin)} called sys.exit({exc.code!r}) in {what}")
    return PluginStopped(f"{describe(plugin)} was interrupted in {what} (KeyboardInterrupt)")


# --- work in a killable child process ----------------------------------------------------

_channel: Any = None  # in a worker: the connection to the parent


def entering(activity: str) -> None:
    """Say what this process starts now (``sampler 'x' (dist) in select``); in a worker,
    the parent names it if the worker then runs out of time or dies."""
    if _channel is not None:
        _channel.send(("enter", activity))


def report(problem: str) -> None:
    """In a worker, tell the parent at once of a problem found while working (a corrupt
    stored selection set aside, to be recomputed), so that it is not lost if the worker
    is then stopped or dies before its result comes back (the result holds it too, so
    the parent keeps it only then). Elsewhere nothing: the result carries it."""
    if _channel is not None:
        _channel.send(("problem", problem))


def _told(error: LbalError, problems: list[str]) -> LbalError:
    """``error`` with the ``problems`` a worker told of before it (``error.problems``)."""
    error.problems = list(problems)
    return error


def _serve(channel: Any) -> None:
    """A worker's loop: run each ``(function, args)`` sent, send back its items (a
    generator's, or the one result), then ``done``; a failure is sent as an error line."""
    global _channel
    _channel = channel
    while True:
        try:
            function, args = channel.recv()
        except EOFError:
            return
        try:
            result = function(*args)
            for item in result if hasattr(result, "__next__") else [result]:
                channel.send(("item", item))
            channel.send(("done", None))
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the parent decides
            channel.send(("error", f"{type(exc).__name__}: {exc}" if not isinstance(exc, LbalError) else str(exc)))


class Worker:
    """One child process (``spawn``) that runs work sent to it and is killed when an item
    of that work takes longer than its limit; it is started again for the next work."""

    def __init__(self) -> None:
        self.process = None
        self.channel = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.channel, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.fresh = True

    def run(self, function: Callable, args: tuple, limit: float | None, doing: str) -> Iterator[Any]:
        """The items ``function(*args)`` gives in the worker (a generator's items, or its
        result), each within ``limit`` seconds of the one before (None: no limit).
        ``LbalError``: what ``doing`` was at when time ran out or the worker died, and the
        plugin it was running (reported by :func:`entering`); its ``problems`` are those
        the worker told of (:func:`report`) since the last item, which no item holds."""
        if self.process is None or not self.process.is_alive():
            self._start()
        self.channel.send((function, args))
        activity = doing
        told: list[str] = []
        while True:
            wait = None if limit is None else limit + (START_SECONDS if self.fresh else 0.0)
            deadline = None if wait is None else time.monotonic() + wait
            message = self._receive(deadline)
            if message is None:
                self.stop()
                raise _told(PluginStopped(f"{activity} did not finish within {limit:g} s and was stopped"), told)
            if message == "died":
                self.process.join(5)
                code = self.process.exitcode
                self.stop()
                raise _told(PluginStopped(f"{activity} ended the worker process (exit status {code})"), told)
            kind, value = message
            self.fresh = False  # the worker has imported what it runs: from now on the limit alone
            if kind == "enter":
                activity = value
                continue
            if kind == "problem":
                told.append(value)
                continue
            if kind == "done":
                return
            if kind == "error":
                raise _told(LbalError(value), told)
            told = []  # the item holds what was told before it
            yield value

    def _receive(self, deadline: float | None) -> Any:
        """The next message; None when ``deadline`` passed first, ``"died"`` when the worker is gone."""
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            if self.channel.poll(0.2 if left is None else min(left, 0.2)):
                try:
                    return self.channel.recv()
                except EOFError:
                    return "died"
            if not self.process.is_alive() and not self.channel.poll():
                return "died"

    def stop(self) -> None:
        """Kill the worker (its work is lost; the next ``run`` starts another)."""
        if self.process is not None:
            self.process.kill()
            self.process.join()
            self.channel.close()
        self.process = None


class TimeLimitExecutor:
    """Runs each chain of a run in a worker process, one after another, and stops a chain
    that takes longer than ``seconds`` per cell (or whose worker a plugin ends); the run
    then fails with one line naming the plugin. An executor (see
    :mod:`lbal_bench.executors`)."""

    extracts_features = False  # extracted first, in the submitting process, without a limit

    def __init__(self, seconds: float):
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not seconds > 0:
            raise LbalError(f"time limit must be a number of seconds > 0, got {seconds!r}")
        self.seconds = float(seconds)
        self.worker = Worker()

    def map(self, function: Callable, items: Iterable) -> Iterator:
        try:
            for item in items:
                cells = len(getattr(item, "cells", [None]))
                yield from self.worker.run(function, (item,), self.seconds * cells, f"a chain of {cells} cell{'s' * (cells != 1)}")
        finally:
            self.worker.stop()


# --- the conformance checks in a worker ---------------------------------------------------


class PluginExit(Exception):
    """``sys.exit`` or ``KeyboardInterrupt`` inside a plugin, as an ordinary failure."""


class _Contained:
    """A sampler whose ``select`` cannot end the process: ``SystemExit`` and
    ``KeyboardInterrupt`` become ``PluginExit``; everything else is the sampler's."""

    def __init__(self, sampler: Any):
        self._sampler = sampler

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sampler, name)

    def select(self, *args: Any) -> Any:
        try:
            return self._sampler.select(*args)
        except SystemExit as exc:
            raise PluginExit(f"called sys.exit({exc.code!r})") from None
        except KeyboardInterrupt:
            raise PluginExit("raised KeyboardInterrupt") from None


def _checks_here(name: str, options: dict, time_limit: float) -> Iterator[Any]:
    from .testing import iter_checks, make_sampler

    return iter_checks(_Contained(make_sampler(name, **options)), time_limit)


def guarded_checks(name: str, label: str, options: dict, time_limit: float) -> Iterator[Any]:
    """The conformance checks of sampler ``name`` (built with ``options``), each run in a
    worker process and stopped when it takes longer than ``time_limit`` seconds (or ends
    the worker); that check then fails, naming why, and the rest are not run. ``label``
    (``sampler 'x' (dist)``) starts the message."""
    from .testing import CheckResult, sampler_checks

    checks = sampler_checks(time_limit)
    worker, done = Worker(), 0
    try:
        for result in worker.run(_checks_here, (name, options, time_limit), time_limit, label):
            done += 1
            yield result
    except LbalError as exc:
        if done == len(checks):
            raise
        check = checks[done]
        yield CheckResult(check.name, check.description, False, str(exc).removeprefix(f"{label} "), time_limit)
    finally:
        worker.stop()
