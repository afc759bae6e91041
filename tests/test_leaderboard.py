"""The leaderboard on fixed records: Markdown and CSV snapshots, the paper comparison, the
best-method highlight, plots, merging result directories, schema versions, submission."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from leaderboard_records import check_snapshot, fixed_records, make_record, write_results
from lbal_bench import store
from lbal_bench.errors import LbalError
from lbal_bench.leaderboard import aggregate, write_leaderboard
from lbal_bench.leaderboard.plots import write_plots
from lbal_bench.leaderboard.reference import main_rows, paper_reference
from lbal_bench.store import merge_results, read_record

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
    assert [p.name for p in paths] == ["leaderboard.md", "leaderboard.csv", "leaderboard.json"]


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


def test_two_settings_under_one_label_are_refused(cli, tmp_path):
    write_results(tmp_path / "a", [make_record(options={"nredo": 5})])
    write_results(tmp_path / "b", [make_record(options={"nredo": 1})])
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
                             "is missing or unreadable\n")


def test_submit_refuses_a_selection_outside_the_results_directory(cli, tmp_path):
    record = make_record(selection={"file": "../elsewhere.npz", "count": 10, "labels_seen": 0})
    write_results(tmp_path / "run", [record])
    assert refusal(cli, "submit", "run") == (f"error: run/records/{record.fingerprint}.json: selection file '../elsewhere.npz' "
                             "is not selections/*.npz\n")
    assert not (tmp_path / "leaderboard").exists()


def test_submit_refuses_records_that_disagree_with_the_board(cli, tmp_path):
    write_results(tmp_path / "leaderboard" / "results" / "fixture", [make_record(options={"nredo": 5})])
    write_results(tmp_path / "run", [make_record(options={"nredo": 1})])
    assert "with different settings (sampler.options.nredo: 5 ≠ 1)" in refusal(cli, "submit", "run")
