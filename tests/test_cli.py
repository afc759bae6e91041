"""End to end through the CLI: run, resume, validate, dry-run, leaderboard."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, tiny_suite
from lbal_process import counts


def test_run_writes_records_and_leaderboard(cli, write_suite):
    result = cli("run", str(write_suite(tiny_suite())))
    assert result.exit_code == 0, result.output
    assert counts(result.stdout) == (24, 0)  # 2 samplers × 2 seeds × 2 budgets × 3 evaluators
    assert len(list(Path("results/tiny/records").glob("*.json"))) == 24
    board = pd.read_csv("leaderboard/tiny/leaderboard.csv")
    assert set(board["method"]) == {"random", "kmeans"}
    assert set(board["evaluator"]) == {"knn", "coverage", "linear"}
    assert (board["seeds"] == 2).all() and len(board) == 2 * 2 * 3
    markdown = Path("leaderboard/tiny/leaderboard.md").read_text()
    assert "## digits · pixels · knn top1" in markdown
    assert re.search(r"\| kmeans +\| from 0 +\| +(\*\*)?\d+\.\d ± \d+\.\d(\*\*)? \|", markdown)  # bold: best at its budget
    rows = json.loads(Path("leaderboard/tiny/leaderboard.json").read_text())["rows"]
    assert len(rows) == len(board)


def test_rerun_computes_only_missing_cells(cli, write_suite):
    suite = str(write_suite(tiny_suite()))
    first = cli("run", suite, "--only", "sampler=random")
    assert counts(first.stdout) == (12, 0)
    records = sorted(Path("results/tiny/records").glob("*.json"))
    records[0].unlink()  # as if killed before this record was written
    second = cli("run", suite)
    assert counts(second.stdout) == (13, 11)
    assert counts(cli("run", suite).stdout) == (0, 24)


def test_corrupt_record_is_reported_kept_aside_and_recomputed(cli, write_suite):
    suite = str(write_suite(tiny_suite(samplers=["random"], evaluators=["coverage"])))
    cli("run", suite)
    victim = sorted(Path("results/tiny/records").glob("*.json"))[0]
    victim.write_text(victim.read_text()[:50])
    result = cli("run", suite)
    assert counts(result.stdout) == (1, 3)
    assert f"warning: corrupt record {Path('results/tiny/records') / victim.name}" in result.stderr
    assert victim.with_suffix(".corrupt").exists()
    assert json.loads(victim.read_text())["fingerprint"] == victim.stem


@pytest.mark.parametrize("how", [[], ["--time-limit", "60"], ["--jobs", "2"]], ids=["here", "time-limit", "jobs"])
def test_a_corrupt_selection_is_reported_once_however_the_chains_run(cli, write_suite, how):
    suite = write_suite(tiny_suite(samplers=["random"], budgets=[10], seeds=[0], evaluators=["coverage"]))
    assert cli("run", str(suite)).exit_code == 0
    stored = next(Path("results/tiny/selections").glob("*.npz"))
    stored.write_bytes(stored.read_bytes()[:100])  # truncated
    shutil.rmtree("results/tiny/records")
    result = cli("run", str(suite), *how)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (f"warning: corrupt selection {stored.resolve()}: unreadable "
                                     "(BadZipFile: File is not a zip file); recomputing")
    assert stored.with_suffix(".corrupt").exists() and counts(result.stdout) == (1, 0)


def test_same_seed_gives_identical_selections_and_metrics(cli, write_suite):
    suite = str(write_suite(tiny_suite(samplers=["kmeans"])))
    cli("run", suite, "--out", "a")
    cli("run", suite, "--out", "b")
    files = sorted(p.name for p in Path("a/selections").glob("*.npz"))
    assert files == sorted(p.name for p in Path("b/selections").glob("*.npz")) and files
    for name in files:
        assert np.array_equal(np.load(f"a/selections/{name}")["indices"], np.load(f"b/selections/{name}")["indices"])
    for record in Path("a/records").glob("*.json"):
        other = Path("b/records") / record.name
        assert json.loads(record.read_text())["metrics"] == json.loads(other.read_text())["metrics"]


def test_other_seed_gives_other_selection(cli, write_suite):
    cli("run", str(write_suite(tiny_suite(samplers=["kmeans"], seeds=[0, 1], budgets=[30], evaluators=["coverage"]))))
    a, b = [np.load(p)["indices"] for p in sorted(Path("results/tiny/selections").glob("*.npz"))]
    assert not np.array_equal(np.sort(a), np.sort(b))


def test_dry_run_lists_pending_cells_and_computes_nothing(cli, write_suite):
    suite = str(write_suite(tiny_suite()))
    cli("run", suite, "--only", "evaluator=coverage")
    result = cli("run", suite, "--dry-run")
    assert result.exit_code == 0
    assert "24 cells: 8 done, 16 to compute" in result.stdout
    assert len(list(Path("results/tiny/records").glob("*.json"))) == 8


def test_validate_reports_cell_count(cli, write_suite):
    path = write_suite(tiny_suite())
    result = cli("validate", str(path))
    assert result.exit_code == 0
    assert result.stdout.strip() == f"{path}: valid suite 'tiny' with 24 cells"


def test_leaderboard_command_rebuilds_board(cli, write_suite):
    cli("run", str(write_suite(tiny_suite(evaluators=["coverage"]))), "--board", "first")
    result = cli("leaderboard", "results/tiny", "--board", "second")
    assert result.exit_code == 0, result.output
    assert Path("second/leaderboard.md").read_text() == Path("first/leaderboard.md").read_text()


def test_percent_budgets_resolve_against_pool(cli, write_suite):
    result = cli("run", str(write_suite(tiny_suite(budgets=["1%"], samplers=["random"], evaluators=["coverage"]))))
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv("leaderboard/tiny/leaderboard.csv")["budget"]) == {13}  # 1% of 1347


def test_default_suite_shows_the_papers_effect(cli, tmp_path):
    """K-means beats Random at 10 labels on coverage and 1-NN (seeds 0-2), on real digits."""
    suite = tmp_path / "digits.yaml"
    shutil.copy(ROOT / "suites" / "digits.yaml", suite)
    result = cli("run", str(suite), "--only", "budget=10")
    assert result.exit_code == 0, result.output
    board = pd.read_csv("leaderboard/digits/leaderboard.csv").set_index(["evaluator", "method"])
    for evaluator in ("coverage", "knn"):
        assert board.loc[(evaluator, "kmeans"), "mean"] > board.loc[(evaluator, "random"), "mean"] + 10


def test_explicit_default_options_name_the_same_cell(cli, write_suite):
    """Fingerprints use the factory's full options, so spelling out a default is the same cell."""
    cli("run", str(write_suite(tiny_suite(samplers=["kmeans"], evaluators=["coverage"]))))
    explicit = tiny_suite(samplers=[{"name": "kmeans", "options": {"niter": 20, "nredo": 1, "init": "greedy"}}],
                          evaluators=["coverage"])
    assert counts(cli("run", str(write_suite(explicit))).stdout) == (0, 4)
    changed = tiny_suite(samplers=[{"name": "kmeans", "options": {"nredo": 5}}], evaluators=["coverage"])
    assert counts(cli("run", str(write_suite(changed))).stdout) == (4, 0)


@pytest.mark.parametrize("command, text", [
    ("run", "Results directory [default: results/<suite name>]."),
    ("select", "Feature cache [default: $LBAL_CACHE_DIR or the user cache]."),
])
def test_help_shows_option_defaults_in_brackets(cli, command, text):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert text in " ".join(result.stdout.split())  # help text is plain: brackets are not markup


def test_a_dataset_can_have_its_own_budgets(cli, write_suite):
    small = {"train_size": 300, "test_size": 50, "dim": 8}
    own = tiny_suite(budgets=[10], seeds=[0], evaluators=["coverage"],
                     datasets=["digits", {"name": "synthetic", "options": small, "budgets": [5, 20]}])
    result = cli("run", str(write_suite(own)))
    assert result.exit_code == 0, result.output
    board = pd.read_csv("leaderboard/tiny/leaderboard.csv")
    assert board.groupby("dataset")["budget"].apply(set).to_dict() == {"digits": {10}, "synthetic": {5, 20}}
    # written in the suite or in the dataset's entry, a budget is the same cell
    shared = tiny_suite(budgets=[5, 20], seeds=[0], evaluators=["coverage"],
                        datasets=[{"name": "synthetic", "options": small}])
    assert counts(cli("run", str(write_suite(shared))).stdout) == (0, 4)


# --- backbones and datasets that cannot meet (their declared accepts and provides) --------

CANNOT_EMBED = ("backbone 'resnet18' (lbal-bench) takes PIL images, but dataset 'digits' (lbal-bench) gives "
                "image arrays (backbones that take image arrays: pixels, tiny_cnn)")


def test_a_backbone_that_cannot_embed_the_dataset_is_refused_by_every_command_before_any_work(cli, write_suite):
    suite = write_suite("name: tiny\ndatasets: [digits]\nbackbones:\n  - pixels\n  - name: resnet18\n"
                        "    options: {weights: random}\nsamplers: [random]\nbudgets: [10]\nevaluators: [coverage]\n")
    for command, where in ((["validate", str(suite)], f"{suite}:5: "), (["run", str(suite)], f"{suite}:5: "),
                           (["features", "digits", "resnet18", "-b", "weights=random"], ""),
                           (["select", "digits", "-n", "5", "--backbone", "resnet18", "-b", "weights=random"], "")):
        result = cli(*command)
        assert (result.exit_code, result.stderr.strip(), result.stdout) == (2, f"error: {where}{CANNOT_EMBED}", ""), command
    assert not Path("results").exists() and not Path("picks.csv").exists()
    assert not (Path.cwd() / "cache" / "features").exists()  # nothing was extracted


def test_undeclared_plugins_and_precomputed_features_pair_with_any_backbone(cli, use_plugins, write_suite):
    use_plugins("faulty")  # lbal-baddata: a features dataset ('tiny') and a backbone ('inf_pixels') that declare nothing
    pairs = {"digits": "inf_pixels", "tiny": "resnet18", "synthetic": "resnet18"}
    for dataset, backbone in pairs.items():
        options = {"train_size": 60, "test_size": 20, "dim": 4} if dataset == "synthetic" else {}
        suite = write_suite(tiny_suite(datasets=[{"name": dataset, "options": options}], samplers=["random"],
                                       backbones=[{"name": backbone, "options": {"weights": "random"}}
                                                  if backbone == "resnet18" else backbone],
                                       budgets=[10], seeds=[0], evaluators=["coverage"]))
        result = cli("validate", str(suite))
        assert result.exit_code == 0, (dataset, backbone, result.output)
