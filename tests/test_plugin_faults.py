"""Plugins that attack the process running them (lbal-hostile): ``lbal-bench check`` runs
the conformance checks in a worker process, so a sampler that hangs, exits or kills its
process fails a check, with the reason, instead of hanging or ending ``check`` itself."""

from __future__ import annotations

import re
import time

from conftest import tiny_suite
from hostile_plugins import plugin_dirs  # noqa: F401  (adds lbal-hostile)
from test_check import verdicts


def checked(cli, use_plugins, sampler: str, *args: str):
    use_plugins("hostile")
    result = cli("check", sampler, *args)
    assert result.exit_code == 1, result.output
    return verdicts(result.stdout), result.stdout.splitlines()[-1]


def test_a_sampler_that_hangs_is_stopped_at_the_time_limit(cli, use_plugins):
    start = time.monotonic()
    found, summary = checked(cli, use_plugins, "hostile_hang", "--time-limit", "2")
    assert time.monotonic() - start < 60
    assert found == {"declares": "pass single-batch, reads no hidden label",
                     "exact-count": "FAIL did not finish within 2 s and was stopped"}
    assert summary == "sampler 'hostile_hang' (lbal-hostile 0.0.1): 1 of 12 checks passed (10 not run)"


def test_a_sampler_that_kills_its_process_fails_its_check(cli, use_plugins):
    found, summary = checked(cli, use_plugins, "hostile_os_exit")
    assert found["exact-count"] == "FAIL ended the worker process (exit status 3)"
    assert summary.endswith("1 of 12 checks passed (10 not run)")


def test_sys_exit_and_keyboard_interrupt_in_select_fail_every_check_that_selects(cli, use_plugins):
    for sampler, reason in (("hostile_exit", "called sys.exit(0)"), ("hostile_interrupt", "raised KeyboardInterrupt")):
        found, summary = checked(cli, use_plugins, sampler)
        assert found["budget-1"] == f"FAIL select(pool of 120, budget 1) raised PluginExit: {reason}"
        assert summary == f"sampler '{sampler}' (lbal-hostile 0.0.1): 1 of 12 checks passed"  # declares only


def test_a_flag_that_is_not_a_bool_fails_declares(cli, use_plugins):
    found, summary = checked(cli, use_plugins, "hostile_flag")
    assert found == {"declares": "FAIL 'iterative' must be a bool attribute, got 'no'"}
    assert summary == "sampler 'hostile_flag' (lbal-hostile 0.0.1): 0 of 1 checks passed"


# --- the guards themselves, on a stand-in plugin -------------------------------------------

import os  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lbal_bench.errors import LbalError  # noqa: E402
from lbal_bench.guard import (PluginStopped, TimeLimitExecutor, checked_metrics, declared_kinds, flag,  # noqa: E402
                              plain_data)


def plugin(kind: str = "evaluator", **attributes) -> SimpleNamespace:
    return SimpleNamespace(info=SimpleNamespace(kind=kind, distribution="dist"), spec=SimpleNamespace(name="x"),
                           obj=SimpleNamespace(**attributes))


@pytest.mark.parametrize("result, problem", [
    ({"top1": float("nan")}, "metric 'top1' that is nan, not a finite number"),
    ({}, "no metrics ({})"),
    (None, "NoneType, not a dict of named metrics"),
    ({1: 2.0}, "a metric named 1: metric names must be non-empty strings"),
    ({"top1": np.array([42])}, "metric 'top1' that is an array [1]: return a float (or a class histogram as a list of counts)"),
    ({"top1": True}, "metric 'top1' that is bool True, not a number (or a list of counts)"),
    ({"hist": [1, -2]}, "metric 'hist' that is a list that is not all counts (integers >= 0)"),
])
def test_an_evaluator_result_that_no_record_can_hold_is_refused(result, problem):
    with pytest.raises(LbalError) as caught:
        checked_metrics(plugin(), result)
    assert str(caught.value) == f"evaluator 'x' (dist) returned {problem}"


def test_numpy_scalars_and_counts_are_stored_as_python_numbers():
    checked = checked_metrics(plugin(), {"top1": np.float32(50.0), "hist": [np.int64(3), 0], "n": np.int64(2)})
    assert checked == {"top1": 50.0, "hist": [3, 0], "n": 2.0}
    assert type(checked["top1"]) is float and type(checked["hist"][0]) is int


def test_flags_must_be_booleans_and_fingerprints_plain_data():
    assert flag(plugin("sampler", iterative=True), "iterative") is True
    assert flag(plugin("sampler"), "iterative") is False
    with pytest.raises(LbalError, match=r"^sampler 'x' \(dist\): 'iterative' must be True or False, got str 'no'$"):
        flag(plugin("sampler", iterative="no"), "iterative")
    assert plain_data(plugin("backbone"), "fingerprint", {"a": [1, 2.5, None, "s", {"b": True}]})
    for value, where in (({"t": object()}, "fingerprint.t is of type object"), ({"w": [1, {2: 3}]}, "fingerprint.w[1] has the key 2 (int)"),
                         ({"x": float("inf")}, "fingerprint.x is inf")):
        with pytest.raises(LbalError, match=rf"^backbone 'x' \(dist\): {re.escape(where)}; a fingerprint must be plain JSON"):
            plain_data(plugin("backbone"), "fingerprint", value)


def test_declared_input_kinds_are_plain_strings_or_nothing():
    assert declared_kinds(plugin("dataset", provides="pil_images"), "provides") == ("pil_images",)
    assert declared_kinds(plugin("dataset"), "provides") is None  # undeclared: not checked
    assert declared_kinds(plugin("backbone", accepts=("image_arrays", "pil_images")), "accepts") == ("image_arrays", "pil_images")
    assert declared_kinds(plugin("backbone", accepts={"pil_images", "image_arrays"}), "accepts") == ("image_arrays", "pil_images")
    assert declared_kinds(plugin("backbone", accepts="pil_images"), "accepts") == ("pil_images",)  # one kind
    for kind, name, value, expected in (
        ("dataset", "provides", ("pil_images",), "a string such as 'pil_images', got tuple ('pil_images',)"),
        ("dataset", "provides", "", "a string such as 'pil_images', got str ''"),
        ("backbone", "accepts", 3, "a tuple of strings such as ('pil_images',), got int 3"),
        ("backbone", "accepts", (), "a tuple of strings such as ('pil_images',), got tuple ()"),
        ("backbone", "accepts", ("pil_images", 1), "a tuple of strings such as ('pil_images',), got tuple ('pil_images', 1)"),
    ):
        with pytest.raises(LbalError) as caught:
            declared_kinds(plugin(kind, **{name: value}), name)
        assert str(caught.value) == f"{kind} 'x' (dist): '{name}' must be {expected}"


def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def die(code: int) -> None:
    os._exit(code)


def test_the_time_limit_executor_stops_a_slow_item_and_reports_a_dead_worker():
    executor = TimeLimitExecutor(1.0)
    assert list(executor.map(sleep_for, [0.1, 0.2])) == [0.1, 0.2]
    start = time.monotonic()
    with pytest.raises(PluginStopped, match=r"^a chain of 1 cell did not finish within 1 s and was stopped$"):
        list(executor.map(sleep_for, [0.1, 30]))
    assert time.monotonic() - start < 20
    with pytest.raises(PluginStopped, match=r"^a chain of 1 cell ended the worker process \(exit status 7\)$"):
        list(TimeLimitExecutor(5).map(die, [7]))
    with pytest.raises(LbalError, match="time limit must be a number of seconds > 0, got 0"):
        TimeLimitExecutor(0)


def tell_then_sleep(seconds: float) -> float:
    from lbal_bench.guard import report

    report(f"told before sleeping {seconds} s")
    time.sleep(seconds)
    return seconds


def test_what_a_time_limit_worker_told_of_comes_with_its_stop_not_twice():
    with pytest.raises(PluginStopped) as caught:
        list(TimeLimitExecutor(1.0).map(tell_then_sleep, [0.1, 30]))
    # the first item finished: its result would hold what it told of; the second was stopped
    assert caught.value.problems == ["told before sleeping 30 s"]
    assert list(TimeLimitExecutor(5.0).map(tell_then_sleep, [0.1])) == [0.1]


def test_a_sampler_that_kills_a_run_worker_is_one_line_with_the_missing_cells(cli, use_plugins, write_suite):
    use_plugins("hostile")
    suite = write_suite(tiny_suite(samplers=["random", "hostile_os_exit"], evaluators=["coverage"]))
    result = cli("run", str(suite), "--jobs", "2")
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"error: a worker process died while computing a chain \(a plugin called os\._exit or "
                        r"was killed\); \d+ of 8 cells have no record", last), last


def test_a_factory_that_raises_is_one_line_naming_the_plugin(cli, use_plugins, write_suite):
    use_plugins("hostile")
    path = write_suite(tiny_suite(samplers=["hostile_factory"]))
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        f"error: {path}:7: sampler 'hostile_factory': factory failed: RuntimeError: factory failed")
