"""Plugins that attack the process running them (lbal-hostile): ``lbal-bench check`` runs
the conformance checks in a worker process, so a sampler that hangs, exits or kills its
process fails a check, with the reason, instead of hanging or ending ``check`` itself."""

from __future__ import annotations

import time

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
        assert summary == f"sampler '{sampler}' (lbal-hostile 0.0.1): 2 of 12 checks passed"  # declares, cold-start


def test_a_flag_that_is_not_a_bool_fails_declares(cli, use_plugins):
    found, summary = checked(cli, use_plugins, "hostile_flag")
    assert found == {"declares": "FAIL 'iterative' must be a bool attribute, got 'no'"}
    assert summary == "sampler 'hostile_flag' (lbal-hostile 0.0.1): 0 of 1 checks passed"
