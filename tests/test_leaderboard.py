"""The leaderboard on fixed records: Markdown and CSV snapshots, the paper comparison, the
best-method highlight, AUBC and ranks, rows per start and options, plots and their styles,
records with odd content, a board write killed half-way, merging result directories,
schema versions, submission."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

import lbal_process as lp
from leaderboard_records import BUDGETS, check_snapshot, fixed_records, make_record, variant_records, write_results
from lbal_bench import store
from lbal_bench.atomic import _umask
from lbal_bench.errors import LbalError
from lbal_bench.leaderboard import aggregate, write_leaderboard
from lbal_bench.leaderboard.aggregate import aubc, aubc_value, record_problems, variant_labels
from lbal_bench.leaderboard.plots import legend_entries, plot_styles, write_plots
from lbal_bench.leaderboard.reference import main_rows, paper_methods, paper_reference
from lbal_bench.leaderboard.render import md
from lbal_bench.store import Record, merge_results, read_record

PAPER = pd.read_csv(Path(store.__file__).parent / "reference" / "paper_tables.csv", dtype={"table": str})


def row(board: pd.DataFrame, **where) -> pd.Series:
    found = board[(board[list(where)] == pd.Series(where)).all(axis=1)]
    assert len(found) == 1, where
    return found.iloc[0]


def refusal(cli, *args: str) -> str:
    """The error line of a command that must be refused (exit status 2, one line)."""
    result = cli(*args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    return result.stderr


def squash(text: str) -> str:
    """Markdown with runs of spaces folded (tables are padded to their widest cell)."""
    return re.sub(r" {2,}", " ", text)


def paper_value(table: str, **where) -> float:
    found = PAPER[(PAPER["table"] == table) & (PAPER[list(where)] == pd.Series(where)).all(axis=1)]
    return float(found["mean"].iloc[0])


@pytest.fixture
def board_dir(tmp_path):
    write_leaderboard(fixed_records(), tmp_path / "board", "fixture")
    return tmp_path / "board"


def test_markdown_snapshot(board_dir):
    check_snapshot("leaderboard.md", (board_dir / "leaderboard.md").read_text())


def test_csv_snapshot(board_dir):
    check_snapshot("leaderboard.csv", (board_dir / "leaderboard.csv").read_text())


def test_paper_values_stand_beside_ours_with_the_difference():
    board = aggregate(fixed_records())
    kmeans = row(board, evaluator="linear", method="kmeans", budget=10)
    published = paper_value("1", dataset="cifar10", metric="linear", method="kmeans", budget=10)
    assert kmeans["paper_mean"] == published and kmeans["paper_table"] == "1"
    assert kmeans["paper_diff"] == pytest.approx(kmeans["mean"] - published)
    coverage = row(board, evaluator="coverage", method="random", budget=20)
    assert coverage["paper_mean"] == paper_value("2", dataset="cifar10", metric="coverage", method="random", budget=20)
    assert board.loc[board["method"] == "typiclust", "paper_mean"].isna().all()  # not in the paper


def test_only_the_headline_metric_meets_the_paper():
    """An evaluator's first metric is the paper's; a second one gets no paper value."""
    records = [make_record("kmeans", "linear", seed, 10, {"top1": 30.0, "mean_per_class": 20.0}) for seed in (0, 1)]
    board = aggregate(records)
    assert row(board, metric="top1")["paper_table"] == "1"
    assert pd.isna(row(board, metric="mean_per_class")["paper_mean"])


def test_main_table_wins_and_cross_backbone_ablation_is_left_out():
    reference = paper_reference().set_index(["dataset", "backbone", "metric", "method", "budget"])
    coreset = reference.loc[("imagenet", "resnet18_compress", "linear", "coreset", 1000)]
    assert (coreset["table"], coreset["mean"]) == ("5", 15.8)  # not Table 12's 24.6 (another initial pool)
    finetune = reference.loc[("imagenet", "resnet18_compress", "finetune", "kmeans", 1000)]
    assert (finetune["mean"], finetune["note"]) == (19.5, "selection=ssl;classification=ssl")  # not 12.2 (rand)
    assert not reference.index.duplicated().any()


def test_reference_without_a_column_is_refused():
    with pytest.raises(LbalError, match=r"^paper\.csv: missing column\(s\) note$"):
        main_rows(PAPER.drop(columns="note"), "paper.csv")


def test_best_is_the_top_method_that_reads_no_labels_and_ties_share_it():
    board = aggregate(fixed_records())
    best = board[board["best"]].groupby(["evaluator", "budget"])["method"].apply(sorted).to_dict()
    assert best[("linear", 10)] == ["kmeans"]  # uniform † is higher but reads labels
    assert best[("linear", 20)] == ["kmeans", "typiclust"]  # 45.0 both
    assert best[("coverage", 10)] == ["kmeans", "typiclust"]


def test_fewer_seeds_are_shown(board_dir):
    assert row(pd.read_csv(board_dir / "leaderboard.csv"), evaluator="linear", method="random", budget=50)["seeds"] == 2
    assert "38.5 ± 0.5 (n=2)" in (board_dir / "leaderboard.md").read_text()


def test_json_carries_rows_histograms_and_provenance(board_dir):
    document = json.loads((board_dir / "leaderboard.json").read_text())
    assert len(document["rows"]) == len(pd.read_csv(board_dir / "leaderboard.csv"))
    histogram = next(h for h in document["histograms"] if (h["method"], h["budget"]) == ("random", 50))
    # seeds 0 and 1 (seed 2 is missing): [3, 3, 1, 1, 1] and [2, 3, 2, 1, 1, 1], the shorter padded with 0
    assert histogram["seeds"] == 2 and histogram["mean"] == pytest.approx([2.5, 3, 1.5, 1, 1, 0.5])
    origin = next(p for p in document["provenance"] if (p["evaluator"], p["method"]) == ("linear", "random"))
    assert origin["records"] == 8 and origin["created"] == ["2024-03-01T12:00:00+00:00", "2024-03-03T12:00:00+00:00"]
    assert "sampler random: lbal-bench 0.1.0" in origin["plugins"]


def test_plots_are_written_deterministically_and_stale_ones_removed(tmp_path, board_dir):
    plots = board_dir / "plots"
    names = sorted(p.name for p in plots.iterdir())
    assert names == sorted(f"cifar10-resnet18_compress-{t}.{fmt}" for fmt in ("png", "svg")
                           for t in ("coverage-coverage", "linear-top1", "class_histogram-class_histogram"))
    before = {p.name: p.read_bytes() for p in plots.iterdir()}
    assert b"<dc:date>" not in before["cifar10-resnet18_compress-linear-top1.svg"]
    (plots / "gone-table.svg").write_text("<svg/>")
    records = fixed_records()
    write_plots(aggregate(records), [], plots)  # no histograms this time
    after = {p.name: p.read_bytes() for p in plots.iterdir()}
    assert set(after) == set(before) - {n for n in before if "class_histogram" in n}
    assert all(after[n] == before[n] for n in after)


def test_empty_board_is_written(tmp_path):
    paths = write_leaderboard([], tmp_path / "board", "empty")
    assert [p.name for p in paths] == ["leaderboard.md", "leaderboard.csv", "leaderboard_aubc.csv", "leaderboard.json"]


def test_a_single_seed_shows_no_spread(tmp_path):
    write_leaderboard([make_record(metrics={"top1": 50.0}), make_record(budget=20, metrics={"top1": 60.0})],
                      tmp_path / "board", "one")
    text = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "1 seed per cell." in text and "± 0.0" not in text
    assert "| kmeans | from 0 | **50.0** | **60.0** | **55.0** |" in squash(text)  # AUBC of 50 → 60: their mean
    assert pd.isna(pd.read_csv(tmp_path / "board" / "leaderboard.csv")["std"]).all()


# --- AUBC and ranks ------------------------------------------------------------------------


def test_aubc_is_the_curve_mean_over_the_log_budget_axis():
    summary = aubc(fixed_records())
    kmeans = row(summary, evaluator="linear", method="kmeans")
    # seed s: 35, 44, 52 at 10, 20, 50, plus s; trapezoids on ln(budget), over ln 50 − ln 10
    by_seed = [((35 + 44) / 2 * math.log(2) + (44 + 52) / 2 * math.log(2.5)) / math.log(5) + s for s in (0, 1, 2)]
    assert kmeans["aubc"] == pytest.approx(sum(by_seed) / 3)
    assert kmeans["aubc_std"] == pytest.approx(pd.Series(by_seed).std(ddof=0))
    assert (kmeans["budget_min"], kmeans["budget_max"], kmeans["budgets"], kmeans["seeds"]) == (10, 50, 3, 3)
    assert row(summary, evaluator="linear", method="random")["seeds"] == 2  # seed 2 lacks budget 50
    assert aubc_value([10, 100], [40.0, 60.0]) == 50.0 and aubc_value([10], [40.0]) == 40.0
    assert aubc_value([10, 20, 1000], [0.0, 100.0, 100.0]) == pytest.approx(100 * (1 - math.log(2) / 2 / math.log(100)))


def test_a_method_missing_a_budget_has_no_aubc():
    records = [make_record(m, "knn", s, b, {"top1": 50.0 + b / 10}) for m in ("kmeans", "random") for s in (0, 1)
               for b in (10, 20, 50) if (m, b) != ("random", 50)]
    summary = aubc(records)
    assert pd.isna(row(summary, method="random")["aubc"]) and pd.isna(row(summary, method="random")["rank"])
    assert row(summary, method="kmeans")["rank"] == 1


def test_ranks_per_dataset_and_the_mean_rank_across_datasets(tmp_path):
    summary = aubc(variant_records())
    ranks = {(r["dataset"], r["method"], r["start"], r["options"]): r["rank"] for _, r in summary.iterrows()}
    released = "sampler: init=random, nredo=5 · evaluator: normalise=l2"
    assert ranks == {("cifar10", "kmeans", "from 0", "default"): 2, ("cifar10", "kmeans", "from 0", released): 1,
                     ("cifar10", "typiclust", "from 0", "default"): 3,
                     ("cifar10", "typiclust", "from 10 random", "default"): 4,
                     ("cifar100", "kmeans", "from 0", "default"): 1, ("cifar100", "typiclust", "from 0", "default"): 2,
                     ("cifar100", "typiclust", "from 10 random", "default"): 3}
    kmeans = summary[(summary["method"] == "kmeans") & (summary["options"] == "default")]
    assert kmeans["mean_rank"].tolist() == [1.5, 1.5] and kmeans["datasets_ranked"].tolist() == [2, 2]
    write_leaderboard(variant_records(), tmp_path / "board", "variants")
    text = (tmp_path / "board" / "leaderboard.md").read_text()
    ranking = text[text.index("## Ranking: resnet18_compress · linear top1"):text.index("## cifar10")]
    # complete rankings first, by mean rank; the variant ranked on 1 of 2 datasets after them
    assert [line.split("|")[1].strip() + " " + line.split("|")[2].strip() for line in ranking.splitlines()
            if line.startswith("| ") and "method" not in line] == [
        "kmeans from 0", "typiclust from 0", "typiclust from 10 random", "kmeans from 0"]
    assert squash(ranking.splitlines()[-2]).endswith("| 47.3 ± 0.8 · #1 | — | 1.00 (1/2) |")
    document = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    assert len(document["aubc"]) == len(pd.read_csv(tmp_path / "board" / "leaderboard_aubc.csv")) == 7


def test_an_initial_pool_sized_per_dataset_is_one_row_of_the_ranking(tmp_path):
    """0.02% of CIFAR-10 is 10 points, 0.2% of CIFAR-100 is 100: one coreset protocol. Two
    pool sizes on one dataset stay two rows."""
    def records(dataset, start, shift, method="coreset"):
        return [make_record(method, "linear", seed, budget, {"top1": 30.0 + shift + i}, dataset=dataset, start=start)
                for seed in (0, 1) for i, budget in enumerate(BUDGETS)]
    board = [*records("cifar10", "from 10 random", 0), *records("cifar100", "from 100 random", 1),
             *records("cifar10", "from 0", 5, "kmeans"), *records("cifar100", "from 0", 5, "kmeans")]
    summary = aubc(board)
    coreset = summary[summary["method"] == "coreset"]
    assert coreset["rank_start"].tolist() == ["from n random"] * 2 and coreset["datasets_ranked"].tolist() == [2, 2]
    write_leaderboard(board, tmp_path / "board", "two")
    assert "| coreset | from 10 random, from 100 random | 31.1 · #2 | 32.1 · #2 | 2.00 |" in squash(
        (tmp_path / "board" / "leaderboard.md").read_text()).replace(" ± 0.0", "")
    both = aubc([*records("cifar10", "from 10 random", 0), *records("cifar10", "from 20 random", 1)])
    assert both["rank_start"].tolist() == ["from 10 random", "from 20 random"]


def test_label_readers_have_an_aubc_but_no_rank():
    summary = aubc(fixed_records())
    uniform = row(summary, evaluator="linear", method="uniform")
    assert uniform["aubc"] > row(summary, evaluator="linear", method="kmeans")["aubc"]
    assert pd.isna(uniform["rank"]) and not uniform["best"]
    assert row(summary, evaluator="linear", method="kmeans")[["rank", "best"]].tolist() == [1, True]


# --- start and options --------------------------------------------------------------------


def test_rows_of_one_method_that_started_or_ran_differently_are_separate_rows():
    board = aggregate(variant_records())
    cifar10 = board[(board["dataset"] == "cifar10") & (board["budget"] == 20)]
    assert sorted(zip(cifar10["method"], cifar10["start"], cifar10["options"])) == [
        ("kmeans", "from 0", "default"), ("kmeans", "from 0", "sampler: init=random, nredo=5 · evaluator: normalise=l2"),
        ("typiclust", "from 0", "default"), ("typiclust", "from 10 random", "default")]
    assert cifar10["seeds"].tolist() == [3, 3, 3, 3]
    typiclust = cifar10[cifar10["method"] == "typiclust"].set_index("start")["mean"]
    assert typiclust.to_dict() == {"from 0": 44.0, "from 10 random": 33.0}  # never averaged together


def test_markdown_shows_start_always_and_options_where_a_table_has_any(tmp_path, board_dir):
    write_leaderboard(variant_records(), tmp_path / "variants", "variants")
    text = (tmp_path / "variants" / "leaderboard.md").read_text()
    assert "| method | start | options | 10 | 20 | 50 | AUBC |" in squash(text)
    assert "| kmeans | from 0 | sampler: init=random, nredo=5 · evaluator: normalise=l2 | **38.0 ± 0.8** |" in squash(text)
    fixture = squash((board_dir / "leaderboard.md").read_text())
    assert "| method | start | 10 | 20 | 50 | AUBC |" in fixture  # every option the default: no column
    assert "| coreset | from 10 random | 21.0 ± 0.8 |" in fixture


def test_records_written_before_start_and_options_existed_read_unknown():
    old = make_record()
    old = old.model_copy(update={"display": {k: v for k, v in old.display.items() if k not in ("start", "options")}})
    found = row(aggregate([old]), method="kmeans")
    assert (found["start"], found["options"]) == ("unknown", "unknown")


def test_options_that_are_not_a_dict_are_shown_as_they_are():
    record = make_record()
    odd = record.model_copy(update={"display": {**record.display, "options": "nredo=5", "start": 7}})
    found = row(aggregate([odd]), method="kmeans")
    assert (found["start"], found["options"]) == ("unknown", "nredo=5")


# --- records with odd content ---------------------------------------------------------------


def _odd(record: Record, **update) -> Record:
    """``record`` changed without validation, as a hand-edited or foreign record may be."""
    return Record.model_construct(**{**dict(record), **update})


def test_odd_records_never_crash_the_board_and_are_named(tmp_path):
    good = make_record(metrics={"top1": 40.0})
    nameless = make_record(seed=1)
    odd = [
        _odd(nameless, display={"sampler": "kmeans"}),  # no dataset, backbone, evaluator names
        _odd(make_record(seed=2), metrics={"top1": "abc", "extra": True, "vector": ["a", "b"], "nested": {"x": 1},
                                           "nan": float("nan")}),
        _odd(make_record(seed=3), config={**good.config, "budget": "ten"}),
        _odd(make_record(seed=4), config={k: v for k, v in good.config.items() if k != "seed"}),
        _odd(make_record(seed=5), display="not a dict", metrics={"top1": 41.0}),
        _odd(make_record(seed=6, evaluator="class_histogram"), metrics={"class_histogram": [1, None, 2]}),
    ]
    paths = write_leaderboard([good, *odd], tmp_path / "board", "odd")
    assert (tmp_path / "board" / "leaderboard.md") in paths
    board = aggregate([good, *odd])
    assert sorted(board["dataset"].unique()) == ["cifar10"]  # names fall back to the config's plugin names
    assert row(board, start="from 0")[["seeds", "mean"]].tolist() == [1, 40.0]
    unknown = row(board, start="unknown", options="unknown")  # a display without start and options
    assert unknown["seeds"] == 2 and unknown["mean"] == (50.0 + 41.0) / 2
    problems = record_problems([good, *odd])
    assert problems == [
        f"record {odd[1].fingerprint}: metric 'top1' is not a finite number or a list of them (\"abc\"); left off the board",
        f"record {odd[1].fingerprint}: metric 'extra' is not a finite number or a list of them (true); left off the board",
        f"record {odd[1].fingerprint}: metric 'vector' is not a finite number or a list of them ([\"a\", \"b\"]); "
        "left off the board",
        f"record {odd[1].fingerprint}: metric 'nested' is not a finite number or a list of them ({{\"x\": 1}}); "
        "left off the board",
        f"record {odd[1].fingerprint}: metric 'nan' is not a finite number or a list of them (NaN); left off the board",
        f"record {odd[1].fingerprint}: no numeric metric; left off the board",
        f"record {odd[2].fingerprint}: budget \"ten\" is not a positive whole number; left off the board",
        f"record {odd[3].fingerprint}: seed null is not a whole number; left off the board",
        f"record {odd[5].fingerprint}: metric 'class_histogram' is not a finite number or a list of them "
        "([1, null, 2]); left off the board",
        f"record {odd[5].fingerprint}: no numeric metric; left off the board",
    ]


# --- Markdown escaping ----------------------------------------------------------------------


def test_labels_with_markdown_syntax_are_escaped(tmp_path):
    records = [make_record(label, "knn", seed, 10, {"top1": 50.0 + seed}, dataset="a|b", start="from 10 *x*")
               for label in ("k|means", "**bold**", "_under_") for seed in (0, 1)]
    write_leaderboard(records, tmp_path / "board", "t|itle")
    text = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "# lbal-bench leaderboard: t\\|itle" in text and "## a\\|b · resnet18\\_compress · knn top1" not in text
    assert "| k\\|means " in text and "| \\*\\*bold\\*\\* " in text and "| \\_under\\_ " in text
    assert "from 10 \\*x\\*" in text and "## a\\|b · resnet18_compress · knn top1" in text
    for line in text.splitlines():
        if line.startswith("|"):  # every table row has its columns: unescaped pipes only delimit
            assert len(re.findall(r"(?<!\\)\|", line)) == 5, line
    assert md("max_entropy") == "max_entropy" and md("[x](y)") == "\\[x\\](y)"


# --- writing a board whole --------------------------------------------------------------------


def test_a_board_write_killed_half_way_leaves_the_old_board(tmp_path):
    write_results(tmp_path / "results", fixed_records()[:9])
    first = lp.run("leaderboard", str(tmp_path / "results"), "--board", str(tmp_path / "board"))
    assert first.returncode == 0, first.stderr
    old = lp.board_files(tmp_path / "board")
    write_results(tmp_path / "results", fixed_records())  # more records: every file changes
    paused = lp.kill_at("write:*/leaderboard.md", "leaderboard", str(tmp_path / "results"), "--board",
                        str(tmp_path / "board"), log=tmp_path / "killed.log")
    assert paused.startswith(f"{lp.PAUSED}write {tmp_path}/.board.new-")
    assert lp.board_files(tmp_path / "board") == old  # no plot, no CSV of the half-written board
    rerun = lp.run("leaderboard", str(tmp_path / "results"), "--board", str(tmp_path / "board"))
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board", "killed.log", "results"]  # leftovers removed
    write_leaderboard(fixed_records(), tmp_path / "whole", "results")
    assert lp.board_files(tmp_path / "board") == lp.board_files(tmp_path / "whole")


def test_a_rewritten_board_keeps_files_that_are_not_the_boards(tmp_path):
    board = tmp_path / "board"
    write_leaderboard(fixed_records(), board, "fixture")
    (board / "README.md").write_text("notes")
    (board / "plots" / "stale.svg").write_text("<svg/>")
    write_leaderboard(fixed_records()[:3], board, "fixture")
    assert (board / "README.md").read_text() == "notes" and not (board / "plots" / "stale.svg").exists()
    assert oct(board.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def test_without_an_atomic_exchange_the_board_is_swapped_in_two_steps_and_recovered(tmp_path, monkeypatch):
    from lbal_bench.leaderboard import render

    monkeypatch.setattr(render, "_exchange", lambda a, b: False)  # e.g. a filesystem without RENAME_EXCHANGE
    board = tmp_path / "board"
    write_leaderboard(fixed_records()[:3], board, "fixture")
    (board / "README.md").write_text("notes")
    write_leaderboard(fixed_records(), board, "fixture")
    assert (board / "README.md").read_text() == "notes" and len(json.loads((board / "leaderboard.json").read_text())[
        "provenance"]) == 15
    # killed between the two renames: the old board is aside, none in place; the next write puts it back first
    aside = tmp_path / f".board.old-{render._HOST}.999999999.x"
    board.rename(aside)
    render._leftovers(board)
    assert board.is_dir() and not aside.exists() and (board / "README.md").exists()


def test_a_board_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "board").write_text("")
    with pytest.raises(LbalError, match=f"^cannot write {tmp_path / 'board'}: not a directory$"):
        write_leaderboard(fixed_records()[:3], tmp_path / "board", "x")


# --- plot styles ------------------------------------------------------------------------------


def test_every_method_has_its_own_look_and_paper_methods_differ_at_a_glance():
    paper = paper_methods(paper_reference())
    assert {"kmeans", "random", "coreset", "vaal", "max_entropy", "multi_kmeans", "uniform"} <= paper
    assert not {"typiclust", "probcover", "usl"} & paper  # later than the paper: not in its tables
    names = ["random", "kmeans", "multi_kmeans", "max_entropy", "coreset", "vaal", "typiclust", "probcover", "usl",
             "maxherding", "uherding", "activeft", "dcom", "margin", "least_confidence", "badge", "farthest",
             "kcenter_plus"]
    variants = {(name, False, "from 0", "default"): name in paper for name in names}
    variants[("uniform", True, "from 0", "default")] = True
    variants[("typiclust", False, "from 10 random", "default")] = False
    styles = plot_styles(variants)
    looks = {(s["color"], s["marker"]) for s in styles.values()}
    assert len(looks) == len(variants) == 20  # colour and marker together tell every one apart
    assert styles[("coreset", False, "from 0", "default")]["color"] != styles[("vaal", False, "from 0", "default")]["color"]
    for variant, style in styles.items():
        assert style["paper"] == variants[variant]
        line = ":" if variant[1] else "-" if style["paper"] else "--"
        filled = style["markerfacecolor"] == style["color"]
        assert (style["linestyle"], filled) == (line, style["paper"]), variant
    labels = variant_labels(list(styles))
    assert labels[("typiclust", False, "from 10 random", "default")] == "typiclust (from 10 random)"
    assert labels[("kmeans", False, "from 0", "default")] == "kmeans"


def test_evaluator_options_do_not_change_a_methods_look():
    """The linear evaluator with batch 4 (digits.yaml) and 1-NN with its defaults: coreset is
    one selection, drawn alike in both plots; sampler options make another look."""
    coreset = ("coreset", False, "from 0", "default")
    batch4 = ("coreset", False, "from 0", "evaluator: batch_size=4")
    nredo = ("coreset", False, "from 0", "sampler: nredo=5 · evaluator: batch_size=4")
    styles = plot_styles({coreset: True, batch4: True, nredo: True})
    assert styles[coreset] == styles[batch4] != styles[nredo]
    shown = dict(legend_entries(styles, [coreset, batch4]))  # both in one table (merged runs): told apart
    assert shown[coreset]["marker"] != shown[batch4]["marker"] and shown[batch4]["linestyle"] == "-."
    assert (shown[coreset]["label"], shown[batch4]["label"]) == ("coreset (default)", "coreset (evaluator: batch_size=4)")


def test_paper_methods_come_from_the_reference_table():
    reference = paper_reference()
    board = aggregate(fixed_records(), reference)
    assert board.groupby("method")["paper_method"].first().to_dict() == {
        "coreset": True, "kmeans": True, "random": True, "typiclust": False, "uniform": True}
    extended = pd.concat([reference, reference.iloc[:1].assign(method="typiclust")])
    assert aggregate(fixed_records(), extended).set_index("method")["paper_method"]["typiclust"].all()


# --- merging result directories -----------------------------------------------------


def test_merging_two_result_dirs_with_overlapping_cells_gives_one_row_per_cell(cli, tmp_path):
    records = fixed_records()
    write_results(tmp_path / "a", records[: len(records) * 2 // 3])
    write_results(tmp_path / "b", records[len(records) // 3:])
    merged, problems = merge_results([tmp_path / "a", tmp_path / "b"])
    assert len(merged) == len(records) and not problems
    result = cli("leaderboard", "a", "b", "--board", "merged")
    assert result.exit_code == 0, result.output
    assert f"leaderboard of {len(records)} records written to merged" in result.stdout
    merged_csv = pd.read_csv("merged/leaderboard.csv")
    assert not merged_csv.duplicated(["evaluator", "method", "budget"]).any()
    write_leaderboard(records, Path("whole"), "merged")
    assert merged_csv.equals(pd.read_csv("whole/leaderboard.csv"))


def test_same_fingerprint_with_other_metrics_is_reported_and_the_first_kept(tmp_path):
    first = make_record(metrics={"top1": 30.0})
    write_results(tmp_path / "a", [first])
    write_results(tmp_path / "b", [first.model_copy(update={"metrics": {"top1": 31.0}})])
    merged, problems = merge_results([tmp_path / "a", tmp_path / "b"])
    assert [r.metrics for r in merged] == [{"top1": 30.0}]
    assert problems == [f"{tmp_path / 'b/records' / first.fingerprint}.json repeats "
                        f"{tmp_path / 'a/records' / first.fingerprint}.json with other metrics (top1: 30.0 ≠ 31.0)"]


def default_then(**options) -> Record:
    """A kmeans record run with ``options`` when they were the plugin's defaults (a results
    directory kept records from before the defaults changed): same labels, start and shown
    options, other settings."""
    record = make_record(options=options)
    return record.model_copy(update={"display": {**record.display, "options": {"sampler": {}, "evaluator": {}}}})


def test_two_settings_under_one_label_are_refused(cli, tmp_path):
    write_results(tmp_path / "a", [default_then(nredo=5)])
    write_results(tmp_path / "b", [default_then(nredo=1)])
    message = refusal(cli, "leaderboard", "a", "b").strip()
    assert message.startswith("error: a/records/") and " and b/records/" in message
    assert message.endswith("are the same board cell (cifar10 · resnet18_compress · kmeans · linear, seed 0, "
                            "budget 10) with different settings (sampler.options.nredo: 5 ≠ 1); build the board with "
                            "`lbal-bench run SUITE` (its current cells only), give them distinct labels, or remove one")


# --- schema versions ------------------------------------------------------------------


def _write_raw(root: Path, record: dict) -> Path:
    path = root / "records" / f"{record['fingerprint']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def test_newer_schema_is_refused_with_one_clear_line(cli, tmp_path):
    write_results(tmp_path / "results", fixed_records()[:3])
    newer = {**make_record().model_dump(), "schema_version": store.SCHEMA_VERSION + 1}
    path = _write_raw(tmp_path / "results", newer)
    assert refusal(cli, "leaderboard", "results") == (f"error: incompatible record {path.relative_to(tmp_path)}: schema version "
                             f"{store.SCHEMA_VERSION + 1} is newer than this lbal-bench reads "
                             f"({store.SCHEMA_VERSION}); upgrade lbal-bench\n")


def test_older_schema_is_migrated_or_refused(tmp_path, monkeypatch):
    record = make_record().model_dump()
    old = {**{k: v for k, v in record.items() if k != "display"}, "schema_version": 0, "names": record["display"]}
    path = _write_raw(tmp_path, old)
    with pytest.raises(store.IncompatibleRecord, match=f"schema version 0 has no migration to {store.SCHEMA_VERSION}$"):
        read_record(path)
    monkeypatch.setitem(store.MIGRATIONS, 0, lambda d: {**{k: v for k, v in d.items() if k != "names"},
                                                         "display": d["names"]})
    migrated = read_record(path)
    assert migrated.schema_version == store.SCHEMA_VERSION and migrated.display == record["display"]


def test_a_version_1_record_gains_a_checksum_and_later_edits_are_caught(tmp_path):
    record = {k: v for k, v in make_record().model_dump(mode="json").items() if k != "checksum"}
    path = _write_raw(tmp_path, {**record, "schema_version": 1})
    migrated = read_record(path)  # written before checksums: trusted as it was
    assert migrated.schema_version == 2 and migrated.metrics == record["metrics"]
    path.write_text(migrated.model_dump_json())
    assert read_record(path) == migrated
    path.write_text(migrated.model_copy(update={"metrics": {"top1": 99.0}}).model_dump_json())
    with pytest.raises(store.CorruptRecord, match="checksum does not match its content \\(record was edited\\)$"):
        read_record(path)


def test_corrupt_record_is_skipped_with_a_warning(cli, tmp_path):
    write_results(tmp_path / "results", fixed_records()[:3])
    broken = tmp_path / "results" / "records" / "0000.json"
    broken.write_text("{")
    result = cli("leaderboard", "results", "--board", "board")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"warning: corrupt record {broken.relative_to(tmp_path)}: invalid JSON")


def test_directory_without_records_is_refused(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert refusal(cli, "leaderboard", "empty") == "error: empty: no result records found (expected empty/records/*.json)\n"


# --- submission -----------------------------------------------------------------------


def test_submit_copies_records_and_selections_once(cli, tmp_path):
    records = fixed_records()[:6]
    write_results(tmp_path / "run", records)
    first = cli("submit", "run")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("6 records added to leaderboard/results/fixture (0 already there)")
    board = tmp_path / "leaderboard" / "results" / "fixture"
    assert sorted(p.stem for p in (board / "records").glob("*.json")) == sorted(r.fingerprint for r in records)
    assert len(list((board / "selections").glob("*.npz"))) == 6
    assert cli("submit", "run").stdout.startswith("0 records added to leaderboard/results/fixture (6 already there)")
    assert cli("submit", "--check", str(board)).stdout.strip() == f"{board}: 6 records pass the checks"


def test_submit_refuses_an_edited_record(cli, tmp_path):
    write_results(tmp_path / "run", fixed_records()[:3])
    victim = sorted((tmp_path / "run" / "records").glob("*.json"))[0]
    victim.write_text(victim.read_text().replace('"seed": 0', '"seed": 7'))
    assert refusal(cli, "submit", "run") == (f"error: corrupt record {victim.relative_to(tmp_path)}: fingerprint does not match "
                             "its config (record was edited)\n")
    assert not (tmp_path / "leaderboard").exists()


def test_submit_refuses_a_missing_selection(cli, tmp_path):
    record = make_record()
    write_results(tmp_path / "run", [record])
    (tmp_path / "run" / record.selection["file"]).unlink()
    assert refusal(cli, "submit", "--check", "run") == (f"error: run/{record.selection['file']}: selection of record {record.fingerprint} "
                             "is missing\n")


def test_submit_refuses_a_selection_outside_the_results_directory(cli, tmp_path):
    record = make_record(selection={"file": "../elsewhere.npz", "count": 10, "labels_seen": 0})
    write_results(tmp_path / "run", [record])
    assert refusal(cli, "submit", "run") == (f"error: run/records/{record.fingerprint}.json: selection file '../elsewhere.npz' "
                             "is not selections/*.npz\n")
    assert not (tmp_path / "leaderboard").exists()


def test_submit_refuses_records_that_disagree_with_the_board(cli, tmp_path):
    write_results(tmp_path / "leaderboard" / "results" / "fixture", [default_then(nredo=5)])
    write_results(tmp_path / "run", [default_then(nredo=1)])
    assert "with different settings (sampler.options.nredo: 5 ≠ 1)" in refusal(cli, "submit", "run")
