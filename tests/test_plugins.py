"""Plugins through real entry points: listing, third-party distributions, broken ones."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import tiny_suite

SAMPLERS = ["random", "uniform", "uniform_kmeans", "kmeans", "multi_kmeans", "max_entropy", "coreset", "vaal", "typiclust",
            "probcover", "usl", "maxherding", "uherding", "activeft", "dcom", "margin", "least_confidence", "badge"]
EXECUTORS = {("executor", name) for name in ("local", "dask", "submitit")}  # the core's own: always loaded
REFERENCE = {
    *EXECUTORS,
    ("dataset", "digits"), ("backbone", "pixels"), *(("sampler", name) for name in SAMPLERS),
    ("evaluator", "knn"), ("evaluator", "linear"), ("evaluator", "coverage"), ("evaluator", "class_histogram"),
    ("evaluator", "finetune"), ("evaluator", "fixmatch"), ("backbone", "tiny_cnn"),
    *(("dataset", name) for name in ("cifar10", "cifar100", "imagenet", "imagenet_lt", "flowers102", "dtd",
                                     "aircraft", "features", "synthetic")),
    ("backbone", "resnet18"), ("backbone", "resnet50"),
}


def listed(result) -> dict:
    assert result.exit_code == 0, result.output
    return {(p["kind"], p["name"]): p for p in json.loads(result.stdout)}


def test_reference_plugins_come_from_entry_points(cli):
    plugins = listed(cli("plugins", "--json"))
    assert set(plugins) == REFERENCE
    assert {p["distribution"] for p in plugins.values()} == {"lbal-bench"}


def test_plugins_table_shows_distribution_and_version(cli):
    result = cli("plugins")
    assert result.exit_code == 0
    assert "kmeans" in result.stdout and "lbal-bench" in result.stdout and "0.1.0" in result.stdout


def test_third_party_sampler_appears_in_plugins_and_leaderboard(cli, use_plugins, write_suite):
    use_plugins("good")
    plugins = listed(cli("plugins", "--json"))
    farthest = plugins[("sampler", "farthest")]
    assert (farthest["distribution"], farthest["version"], farthest["entry_point"]) == ("lbal-mysampler", "0.3.0", "mysampler")
    result = cli("run", str(write_suite(tiny_suite(samplers=["farthest", "random"], evaluators=["coverage"]))))
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv("leaderboard/tiny/leaderboard.csv")["method"]) == {"farthest", "random"}


def test_load_plugins_env_restricts_what_loads(cli, use_plugins, monkeypatch):
    use_plugins("good")
    monkeypatch.setenv("LBAL_LOAD_PLUGINS", "kmeans,mysampler")
    assert set(listed(cli("plugins", "--json"))) == {("sampler", "kmeans"), ("sampler", "farthest"), ("executor", "reversed"),
                                                     *EXECUTORS}


def test_third_party_executor_registers_through_the_hook_and_runs_a_suite(cli, use_plugins, write_suite):
    use_plugins("good")
    reversed_ = listed(cli("plugins", "--json"))[("executor", "reversed")]
    assert (reversed_["distribution"], reversed_["entry_point"]) == ("lbal-mysampler", "mysampler")
    suite = str(write_suite(tiny_suite(evaluators=["coverage"])))
    result = cli("run", suite, "--executor", "reversed", "--executor-option", "note=hi")
    assert result.exit_code == 0, result.output
    assert "computed 8 cells" in result.stdout
    result = cli("run", suite, "--executor", "reversed", "--executor-option", "notes=hi")
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == "error: executor 'reversed': unknown option 'notes' (did you mean 'note'?)"


def test_broken_plugin_is_a_warning_and_the_rest_work(cli, use_plugins):
    use_plugins("broken")
    result = cli("plugins", "--json")
    assert set(listed(result)) == REFERENCE
    assert result.stderr.strip() == (
        "warning: plugin 'broken' from lbal-broken 0.0.1 failed to load: "
        "ModuleNotFoundError: No module named 'lbal_no_such_dependency'"
    )


def test_strict_mode_makes_a_broken_plugin_fatal(cli, use_plugins, monkeypatch):
    use_plugins("broken")
    monkeypatch.setenv("LBAL_STRICT_PLUGINS", "1")
    result = cli("plugins")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: plugin 'broken' from lbal-broken 0.0.1 failed to load")


def test_duplicate_name_is_refused_naming_both_distributions(cli, use_plugins):
    use_plugins("duplicate")
    result = cli("plugins")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: sampler 'kmeans' is registered twice: by lbal-duplicate (entry point 'duplicate') "
        "and by lbal-bench (entry point 'kmeans')"
    )


@pytest.mark.parametrize(
    "sampler, message",
    [
        ("bad_duplicates", "error: sampler 'bad_duplicates' (lbal-misbehave) returned index {} more than once"),
        ("bad_too_few", "error: sampler 'bad_too_few' (lbal-misbehave) returned 9 indices for a budget of 10"),
        ("bad_out_of_range", "error: sampler 'bad_out_of_range' (lbal-misbehave) returned index 1347 outside the pool of 1347 points"),
        ("bad_peek", "error: sampler 'bad_peek' (lbal-misbehave) failed in select: LabelLeakError: asked for the labels of 1347 unlabeled point(s) without declaring uses_labels = True"),
        ("bad_crash", "error: sampler 'bad_crash' (lbal-misbehave) failed in select: RuntimeError: sampler crashed"),
    ],
)
def test_runner_rejects_contract_breaking_samplers(cli, use_plugins, write_suite, sampler, message):
    use_plugins("good")
    result = cli("run", str(write_suite(tiny_suite(samplers=[sampler], budgets=[10], seeds=[0], evaluators=["coverage"]))))
    assert result.exit_code == 2
    first = 0  # the duplicated index is the pool's first unlabeled point
    assert result.stderr.strip() == message.format(first)


def test_plugins_json_lists_every_option_with_type_range_and_default(cli):
    plugins = listed(cli("plugins", "--json"))
    knn = {o["name"]: o for o in plugins[("evaluator", "knn")]["options"]}
    assert knn["k"] == {"name": "k", "type": "int", "range": ">= 1", "default": 1, "required": False}
    linear = {o["name"]: o for o in plugins[("evaluator", "linear")]["options"]}
    assert linear["milestones"]["default"] == [50, 75]


@pytest.mark.parametrize("options, message", [
    ({"k": 1.5}, "option 'k' must be int (>= 1), got 1.5"),
    ({"k": True}, "option 'k' must be int (>= 1), got True"),
    ({"k": "3"}, "option 'k' must be int (>= 1), got '3'"),
    ({"k": 0}, "option 'k' must be int (>= 1), got 0"),
])
def test_an_option_of_the_wrong_type_or_out_of_its_range_is_refused_by_validate_naming_the_suite_line(cli, write_suite, options, message):
    path = write_suite(tiny_suite(evaluators=["coverage", {"name": "knn", "options": options}]))
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {path}:17: evaluator 'knn': {message}"
