"""``lbal-bench select``: from a folder of images (or a dataset, or a features file) to a
list to label, through the CLI.

The folder is generated: 32×32 images of four visually distinct classes (a red disc, a
green square, a blue triangle, a yellow bar on grey noise), in every supported format,
spread over nested subfolders; the class of each file is known to the test only. The
backbone is a seeded random ResNet-18 (no weights to download).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from browser import assert_looks_like, open_browser
from conftest import tiny_suite
from leaderboard_records import SNAPSHOTS

SHAPES = {"red_disc": (220, 30, 30), "green_square": (30, 180, 40), "blue_triangle": (30, 60, 220),
          "yellow_bar": (230, 200, 20)}
SUFFIXES = (".png", ".jpg", ".bmp", ".gif", ".webp", ".tiff")
FOLDERS = ("", "day1", "day2/cam_a", "day2/cam_b")
TINY = ("--backbone", "resnet18", "-b", "weights=random", "-b", "transform=upsample224", "-b", "workers=0")
SCREENSHOT = SNAPSHOTS / "contact_sheet.png"


def shapes_folder(root: Path, per_class: int = 6, seed: int = 0) -> dict[str, str]:
    """Write the images under ``root``; returns relative path → class name."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    truth = {}
    for c, (name, colour) in enumerate(SHAPES.items()):
        for i in range(per_class):
            image = Image.fromarray(rng.integers(118, 138, (32, 32, 3), dtype=np.uint8))
            draw = ImageDraw.Draw(image)
            r = int(rng.integers(9, 14))
            x, y = (int(v) for v in rng.integers(r, 32 - r, 2))
            if name == "red_disc":
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
            elif name == "green_square":
                draw.rectangle([x - r, y - r, x + r, y + r], fill=colour)
            elif name == "blue_triangle":
                draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=colour)
            else:
                draw.rectangle([x - r, y - 3, x + r, y + 3], fill=colour)
            relative = Path(FOLDERS[int(rng.integers(len(FOLDERS)))]) / f"img_{c}{i:02d}{SUFFIXES[(c + i) % len(SUFFIXES)]}"
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            image.save(root / relative)
            truth[relative.as_posix()] = name
    return truth


@pytest.fixture
def folder(tmp_path):
    """``(folder, truth)``: the shapes under tmp_path/photos."""
    return tmp_path / "photos", shapes_folder(tmp_path / "photos")


def rows(path: str | Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: str, header: list[str], lines: list[list]) -> str:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([header, *lines])
    return path


def error(result) -> str:
    assert result.exit_code == 2, result.output
    return result.stderr.strip().splitlines()[-1]


def test_kmeans_on_a_folder_covers_more_classes_than_random(cli, folder):
    root, truth = folder
    coverage = {}
    for sampler in ("kmeans", "random"):
        for seed in range(5):
            result = cli("select", str(root), "-n", "4", "--sampler", sampler, "--seed", str(seed),
                         "-o", f"{sampler}{seed}.csv", *TINY)
            assert result.exit_code == 0, result.output
            picks = rows(f"{sampler}{seed}.csv")
            assert [r["rank"] for r in picks] == ["1", "2", "3", "4"]
            coverage.setdefault(sampler, []).append(len({truth[r["path"]] for r in picks}))
    assert np.mean(coverage["kmeans"]) > np.mean(coverage["random"]), coverage
    assert coverage["kmeans"] == [4, 4, 4, 4, 4]  # measured: random covers [3, 4, 3, 2, 2]


def test_output_lists_each_pick_with_its_cluster(cli, folder):
    root, truth = folder
    result = cli("select", str(root), "--budget", "4", *TINY)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "features: 24 x 512 (resnet18), " + result.stdout.split(", ", 1)[1].splitlines()[0],
        "to_label.csv: 4 to label, picked by kmeans from 24 unlabeled",
    ]
    picks = rows("to_label.csv")
    assert list(picks[0]) == ["path", "cluster", "cluster_size", "distance", "rank", "label"]
    assert sorted(int(r["cluster"]) for r in picks) == [0, 1, 2, 3]
    assert sum(int(r["cluster_size"]) for r in picks) == 24  # the cells split the pool
    sizes = [(-int(r["cluster_size"]), float(r["distance"])) for r in picks]
    assert sizes == sorted(sizes) and [r["rank"] for r in picks] == ["1", "2", "3", "4"]
    assert all(r["label"] == "" for r in picks) and all(r["path"] in truth for r in picks)


def test_unreadable_and_other_files_are_reported_and_skipped(cli, folder):
    root, truth = folder
    jpeg = root / next(p for p in truth if p.endswith(".jpg"))
    (root / "day1" / "cut.jpg").write_bytes(jpeg.read_bytes()[: len(jpeg.read_bytes()) // 2])  # truncated
    (root / "day2" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "notes.txt").write_text("shot on two days\n")
    (root / "day2" / "README").write_text("no suffix\n")
    (root / ".DS_Store").write_bytes(b"hidden: ignored")
    (root / ".thumbs").mkdir()
    (root / ".thumbs" / "small.png").write_bytes(b"hidden folder: ignored")
    result = cli("select", str(root), "-n", "4", *TINY)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "skipped day1/cut.jpg: cannot read (Truncated File Read)",
        f"skipped day2/README: not an image (no suffix)",
        f"skipped day2/broken.png: cannot read (cannot identify image file '{root / 'day2' / 'broken.png'}')",
        "skipped notes.txt: not an image (.txt)",
        "skipped 4 files; using 24 images",
    ]
    assert {r["path"] for r in rows("to_label.csv")} <= set(truth)


def test_second_select_reuses_the_cached_features_and_checks(cli, folder, monkeypatch):
    """Another budget and sampler on the same folder: nothing is decoded or embedded again."""
    import lbal_bench.imagefolder
    from lbal_bench.kit.torchvision_backbone import TorchvisionBackbone

    root, truth = folder
    (root / "notes.txt").write_text("not an image\n")
    assert cli("select", str(root), "-n", "4", *TINY).exit_code == 0

    def boom(*args, **kwargs):
        raise AssertionError("decoded or embedded again")

    with monkeypatch.context() as patch:
        patch.setattr(lbal_bench.imagefolder, "probe", boom)
        patch.setattr(TorchvisionBackbone, "embed", boom)
        result = cli("select", str(root), "-n", "6", "--sampler", "coreset", "-o", "more.csv", *TINY)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "features: 24 x 512 (resnet18), from the cache"
    assert result.stderr.splitlines()[0] == "skipped notes.txt: not an image (.txt)"
    assert len(rows("more.csv")) == 6
    os.utime(root / sorted(truth)[0], ns=(10**18, 10**18))  # an edited file: checked and embedded again
    result = cli("select", str(root), "-n", "4", "-o", "edited.csv", *TINY)
    assert result.exit_code == 0 and "extracted in" in result.stdout.splitlines()[0]


def test_cache_rm_all_deletes_the_folder_scans(cli, folder, monkeypatch):
    """``cache ls`` counts the records of which images a folder holds; ``cache rm --all``
    deletes them with the features, so the next select checks every image again."""
    import lbal_bench.imagefolder

    root, truth = folder
    assert cli("select", str(root), "-n", "4", *TINY).exit_code == 0
    cache = Path(os.environ["LBAL_CACHE_DIR"])
    assert cli("cache", "ls").stdout.splitlines()[-1] == (
        f"1 folder scan (which images `select` can read) in {cache / 'folders'}")
    result = cli("cache", "rm", "--all")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"deleted 1 entry from {cache / 'features'}",
                                          f"deleted 1 folder scan from {cache / 'folders'}"]
    assert list((cache / "folders").iterdir()) == []
    assert cli("cache", "ls").stdout.splitlines()[-1] == f"0 entries, 0.0 MB in {cache / 'features'}"
    probed = []
    monkeypatch.setattr(lbal_bench.imagefolder, "probe", lambda path: probed.append(path))
    assert cli("select", str(root), "-n", "4", "--force", *TINY).exit_code == 0
    assert len(probed) == len(truth)


@pytest.mark.slow
def test_later_rounds_continue_from_the_labeled_files(cli, folder):
    root, truth = folder
    assert cli("select", str(root), "-n", "4", "-o", "round1.csv", *TINY).exit_code == 0
    first = rows("round1.csv")
    # coreset continues from the labeled images: two classes labeled, it picks the other two
    two = [[p] for p, name in sorted(truth.items()) if name in ("red_disc", "green_square")]
    write_csv("two.csv", ["path"], two)
    assert cli("select", str(root), "-n", "2", "--sampler", "coreset", "--labeled", "two.csv", "-o", "c.csv", *TINY).exit_code == 0
    assert {truth[r["path"]] for r in rows("c.csv")} == {"blue_triangle", "yellow_bar"}
    # kmeans never repeats a labeled image, and counts only the unlabeled pool
    result = cli("select", str(root), "-n", "8", "--labeled", "two.csv", "--labeled", "round1.csv", "-o", "k.csv", *TINY)
    assert result.exit_code == 0, result.output
    labeled = {p for (p,) in two} | {r["path"] for r in first}
    assert result.stdout.splitlines()[1] == f"k.csv: 8 to label, picked by kmeans from {24 - len(labeled)} unlabeled"
    assert not {r["path"] for r in rows("k.csv")} & labeled
    # round 1 labeled by the annotators (absolute paths work too): max_entropy trains on those labels
    write_csv("done.csv", list(first[0]), [[root / r["path"], *list(r.values())[1:-1], truth[r["path"]]] for r in first])
    result = cli("select", str(root), "-n", "4", "--sampler", "max_entropy", "-s", "epochs=5", "--labeled", "done.csv",
                 "-o", "m.csv", *TINY)
    assert result.exit_code == 0, result.output
    assert len(rows("m.csv")) == 4 and not {r["path"] for r in rows("m.csv")} & {r["path"] for r in first}


def test_select_on_a_dataset_picks_what_the_benchmark_picks(cli, write_suite):
    """The same sampler, seed and labeled set give the runner's selections: the first
    K-means selection, and a Core-set step after its initial pool."""
    suite = tiny_suite(samplers=["kmeans", {"name": "coreset", "initial_pool": {"sampler": "random", "size": 10}}],
                       budgets=[10, 20], seeds=[1], evaluators=["coverage"])
    assert cli("run", str(write_suite(suite))).exit_code == 0
    stored = {}
    for record in Path("results/tiny/records").glob("*.json"):
        data = json.loads(record.read_text())
        config = data["config"]
        stored[config["sampler"]["name"], config["budget"]] = np.load(Path("results/tiny") / data["selection"]["file"])["indices"]
    assert cli("select", "digits", "-n", "10", "--seed", "1", "--backbone", "pixels").exit_code == 0
    assert sorted(int(r["index"]) for r in rows("to_label.csv")) == sorted(stored["kmeans", 10])
    write_csv("pool.csv", ["index"], [[i] for i in stored["coreset", 10]])
    result = cli("select", "digits", "-n", "10", "--seed", "1", "--backbone", "pixels", "--sampler", "coreset",
                 "--labeled", "pool.csv", "-o", "step.csv")
    assert result.exit_code == 0, result.output
    assert sorted(int(r["index"]) for r in rows("step.csv")) == sorted(stored["coreset", 20][10:])


@pytest.fixture
def features_file(tmp_path) -> Path:
    """A features file with 60 points in three groups (labels as the features plugin wants them)."""
    rng = np.random.default_rng(0)
    features = (np.repeat(np.eye(3, 8), 20, axis=0) + 0.1 * rng.normal(size=(60, 8))).astype(np.float32)
    path = tmp_path / "embeddings.npz"
    np.savez(path, features=features, labels=np.repeat(np.arange(3), 20))
    return path


def test_a_third_party_sampler_selects_from_a_features_file(cli, use_plugins, features_file):
    use_plugins("good")
    result = cli("select", str(features_file), "-n", "5", "--sampler", "farthest")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "features: 60 x 8 (pixels), extracted in " + \
        result.stdout.splitlines()[0].rsplit("extracted in ", 1)[1]
    with np.load(features_file) as data:
        x = data["features"] / np.linalg.norm(data["features"], axis=1, keepdims=True)
    expected = np.argsort(-np.linalg.norm(x - x.mean(axis=0), axis=1), kind="stable")[:5]
    assert sorted(int(r["index"]) for r in rows("to_label.csv")) == sorted(expected.tolist())


def test_an_iterative_plugin_reads_only_the_labels_of_the_labeled_file(cli, use_plugins, features_file):
    use_plugins("good")
    write_csv("labeled.csv", ["index", "label"], [[0, "cat"], [1, "dog"], [3, "cat"]])
    result = cli("select", str(features_file), "-n", "3", "--sampler", "stepper", "--labeled", "labeled.csv")
    assert result.exit_code == 0, result.output
    assert sorted(int(r["index"]) for r in rows("to_label.csv")) == [2, 4, 5]  # the lowest unlabeled
    write_csv("nolabels.csv", ["index"], [[0], [1]])
    result = cli("select", str(features_file), "-n", "3", "--sampler", "stepper", "--labeled", "nolabels.csv", "--force")
    assert error(result) == ("error: sampler 'stepper' reads the labels of the labeled points: "
                             "give them in a 'label' column of the --labeled file")


@pytest.fixture
def unlabeled(features_file) -> dict[str, Path]:
    """The points of ``features_file`` without labels: a ``.npy`` alone, and a ``.npz``
    holding only ``features``."""
    with np.load(features_file) as data:
        features = data["features"]
    np.save(features_file.with_name("embeddings.npy"), features)
    np.savez(features_file.with_name("only.npz"), features=features)
    return {"npy": features_file.with_name("embeddings.npy"), "npz": features_file.with_name("only.npz")}


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_a_features_file_needs_no_labels(cli, features_file, unlabeled, kind):
    """Select reads no label of the pool: a file without labels gives the picks of the
    same points with labels; only the number of classes is unknown then."""
    assert cli("select", str(features_file), "-n", "3", "-o", "labeled.csv").exit_code == 0
    result = cli("select", str(unlabeled[kind]), "-n", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "to_label.csv: 3 to label, picked by kmeans from 60 unlabeled"
    assert rows("to_label.csv") == rows("labeled.csv")
    assert sorted(int(r["index"]) // 20 for r in rows("to_label.csv")) == [0, 1, 2]  # one per group
    assert error(cli("select", str(unlabeled[kind]), "-n", "3", "--sampler", "probcover", "-o", "p.csv")) == (
        "error: sampler 'probcover' (lbal-bench) failed in select: ValueError: cannot seed 0 centres from 60 points "
        "(the number of classes is unknown here: if the sampler needs it, give --classes N)")
    result = cli("select", str(unlabeled[kind]), "-n", "3", "--sampler", "probcover", "--classes", "3", "-o", "p.csv")
    assert result.exit_code == 0, result.output


def test_a_benchmark_still_needs_the_labels_of_a_features_file(cli, write_suite, unlabeled):
    """The same files in a suite are refused: by the features dataset, and, when a suite
    turns its label check off as select does, by the runner."""
    def run(**options):
        suite = write_suite(tiny_suite(datasets=[{"name": "features", "options": options}], samplers=["kmeans"],
                                       budgets=[3], seeds=[0], evaluators=["coverage"]))
        return cli("run", str(suite)), suite

    result, suite = run(train=str(unlabeled["npy"]), test=str(unlabeled["npy"]))
    labels = unlabeled["npy"].with_name("embeddings.labels.npy")
    assert error(result) == f"error: {suite}:3: dataset 'features': train labels file {labels} is missing"
    result, suite = run(train=str(unlabeled["npz"]), test=str(unlabeled["npz"]))
    assert error(result) == f"error: {suite}:3: {unlabeled['npz']}: no array named 'labels' (found features)"
    result, _ = run(train=str(unlabeled["npy"]), test=str(unlabeled["npy"]), require_labels=False)
    assert error(result) == ("error: dataset 'features' (train): no labels (num_classes is 0); "
                             "a benchmark needs the label of every point")
    assert not list(Path("results").rglob("*.*"))  # no selection, no record


def test_contact_sheet_is_one_self_contained_page(cli, folder):
    root, _ = folder
    result = cli("select", str(root), "-n", "4", "--html", "sheet.html", *TINY)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "sheet.html: contact sheet"
    page = Path("sheet.html").read_text()
    assert "http://" not in page and "https://" not in page
    assert page.count('<section class="cluster"') == 4
    assert page.count('src="data:image/png;base64,') == 4 * 5  # each pick and 4 of its cluster


def test_contact_sheet_needs_images(cli, features_file):
    result = cli("select", str(features_file), "-n", "3", "--html", "sheet.html")
    assert error(result) == f"error: --html needs images, and {features_file} holds features only"


@pytest.mark.parametrize("args, message", [
    (["--sampler", "kmean"], "unknown sampler 'kmean' (did you mean 'kmeans'?)"),
    (["--sampler", "uniform"], "sampler 'uniform' reads the label of every pool point (uses_labels); "
                               "select knows only the labels given with --labeled"),
    (["-n", "61"], "--budget 61 is more than the 60 unlabeled points of the pool"),
    (["-s", "nredo"], "--sampler-option 'nredo': expected KEY=VALUE, e.g. --sampler-option nredo=5"),
    (["-s", "nredos=2"], "sampler 'kmeans': unknown option 'nredos' (did you mean 'nredo'?)"),
])
def test_bad_sampler_choices_are_one_line(cli, features_file, args, message):
    result = cli("select", str(features_file), *(["-n", "3"] if "-n" not in args else []), *args)
    assert error(result) == f"error: {message}"


def test_a_sampler_that_needs_the_number_of_classes_is_told_about_classes(cli, folder):
    root, _ = folder
    assert error(cli("select", str(root), "-n", "3", "--sampler", "probcover", *TINY)) == (
        "error: sampler 'probcover' (lbal-bench) failed in select: ValueError: cannot seed 0 centres from 24 points "
        "(the number of classes is unknown here: if the sampler needs it, give --classes N)")
    result = cli("select", str(root), "-n", "3", "--sampler", "probcover", "--classes", "4", *TINY)
    assert result.exit_code == 0, result.output


def test_bad_sources_are_one_line(cli, tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "a.txt").write_text("x")
    assert error(cli("select", "digit", "-n", "3")) == "error: unknown dataset 'digit' (did you mean 'digits'?)"
    assert error(cli("select", "data/photos", "-n", "3")) == (
        "error: data/photos: no such folder or features file (.npy, .npz, .safetensors)")
    assert error(cli("select", "missing.npz", "-n", "3")) == "error: missing.npz: no such features file"
    assert error(cli("select", "empty", "-n", "3", *TINY)) == (
        "error: empty: no readable image (.png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff, .webp) in the folder or below it")


def test_existing_output_is_not_overwritten(cli, features_file):
    Path("to_label.csv").write_text("precious\n")
    result = cli("select", str(features_file), "-n", "3")
    assert error(result) == "error: to_label.csv exists; choose another -o or add --force to replace it"
    assert Path("to_label.csv").read_text() == "precious\n"
    assert cli("select", str(features_file), "-n", "3", "--force").exit_code == 0
    assert len(rows("to_label.csv")) == 3


def test_bad_labeled_files_name_the_file_and_line(cli, folder, features_file):
    root, truth = folder
    (root / "notes.txt").write_text("x")
    write_csv("a.csv", ["path"], [[sorted(truth)[0]], ["nope.png"]])
    assert error(cli("select", str(root), "-n", "3", "--labeled", "a.csv", *TINY)) == (
        f"error: a.csv:3: 'nope.png' is not an image of {root} (no such image)")
    write_csv("b.csv", ["path"], [["notes.txt"]])
    assert error(cli("select", str(root), "-n", "3", "--labeled", "b.csv", *TINY)) == (
        f"error: b.csv:2: 'notes.txt' is not an image of {root} (it was skipped: not an image (.txt))")
    write_csv("c.csv", ["file"], [[sorted(truth)[0]]])
    assert error(cli("select", str(root), "-n", "3", "--labeled", "c.csv", *TINY)) == (
        "error: c.csv: no 'path' column (found: file)")
    write_csv("d.csv", ["index", "label"], [[1, "cat"], [2, ""]])
    assert error(cli("select", str(features_file), "-n", "3", "--labeled", "d.csv")) == (
        "error: d.csv:3: no label (give a label in every row of --labeled, or in none)")
    write_csv("e.csv", ["index", "label"], [[1, "cat"], [1, "dog"]])
    assert error(cli("select", str(features_file), "-n", "3", "--labeled", "e.csv")) == (
        "error: e.csv:3: '1' is labeled 'dog' here but 'cat' at e.csv:2")
    write_csv("f.csv", ["index"], [[60]])
    assert error(cli("select", str(features_file), "-n", "3", "--labeled", "f.csv")) == (
        f"error: f.csv:2: index 60 is outside the pool of 60 points of {features_file}")


def test_default_backbone_says_how_to_get_or_replace_its_weights(cli, folder, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    root, _ = folder
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert error(cli("select", str(root), "-n", "3")) == (
        f"error: backbone 'resnet18': torchvision weights 'IMAGENET1K_V1' are not in the torch hub cache "
        f"(expected {expected}); lbal-bench never downloads: fetch "
        "https://download.pytorch.org/models/resnet18-f37072fd.pth there; or choose the features: "
        "--backbone NAME -b weights=CHECKPOINT (the paper: resnet18 with CompRess weights)")


# --- in a real browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = open_browser(tmp_path_factory.mktemp("chromium-profile"), (1000, 900))
    yield driver
    driver.quit()


def test_contact_sheet_shows_the_picks_by_rank_in_a_browser(browser, cli, folder, tmp_path):
    _, truth = folder
    assert cli("select", "photos", "-n", "4", "--html", "sheet.html", *TINY).exit_code == 0  # tmp_path is the cwd
    browser.get(Path("sheet.html").resolve().as_uri())
    assert browser.find_element("tag name", "h1").text == "To label: 4 of 24 from photos"
    headings = [h.text for h in browser.find_elements("css selector", "section.cluster h2")]
    picks = rows("to_label.csv")
    assert headings == [f"#{r['rank']} cluster {r['cluster']} · {r['cluster_size']} images · distance "
                        f"{float(r['distance']):.3f}" for r in picks]
    captions = [c.text for c in browser.find_elements("css selector", "figure.pick figcaption")]
    assert captions == [r["path"] for r in picks]
    images = browser.find_elements("tag name", "img")
    assert len(images) == 20
    for image in images:
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) == 32
    # the cluster's small images show the pick's own class (the shapes are that distinct)
    for section in browser.find_elements("css selector", "section.cluster"):
        names = [truth[i.get_attribute("alt")] for i in section.find_elements("tag name", "img")]
        assert len(set(names)) == 1, names
    assert_looks_like(browser, SCREENSHOT, tmp_path)
