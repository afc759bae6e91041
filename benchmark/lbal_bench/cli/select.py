"""``lbal-bench select``: which images to label next, from a folder, a dataset or a features file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from ..plugin_handle import build_plugin
from ..errors import LbalError
from ..features import FeatureCache, input_problem
from ..labeling import (SAMPLER, check_backbone, check_sampler, choose_backbone, cell_members, open_source, pick_clusters,
                        pool_features, read_labeled, select_points, write_picks)
from ..contactsheet import pool_images, write_contact_sheet
from .common import console, err_console, load_registry, parse_options, progress_bars

NAME = "select"
MEMBERS = 4  # cluster members shown beside each pick on the contact sheet


def _writable(path: Path, force: bool, flag: str) -> None:
    if path.is_dir():
        raise LbalError(f"{flag} {path} is a folder; name the file to write, e.g. {flag} {path / 'to_label.csv'}")
    if path.exists() and not force:
        raise LbalError(f"{path} exists; choose another {flag} or add --force to replace it")
    if path.parent.exists() and not path.parent.is_dir():
        raise LbalError(f"{flag} {path}: {path.parent} is not a folder")


def command(
    source: str = typer.Argument(..., help="A folder of images (searched recursively), a features file "
                                 "(.npy/.npz/.safetensors) or a dataset plugin name."),
    budget: int = typer.Option(..., "--budget", "-n", min=1, help="How many images to pick."),
    output: Path = typer.Option(Path("to_label.csv"), "--output", "-o", help="The CSV to write."),
    force: bool = typer.Option(False, "--force", help="Replace the output files if they exist."),
    sampler: Optional[str] = typer.Option(None, "--sampler", help="Sampler plugin (see `lbal-bench plugins`) [default: "
                                          "the one declared the default for select: kmeans]."),
    sampler_options: List[str] = typer.Option([], "--sampler-option", "-s", help="Sampler option KEY=VALUE; repeatable."),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="Backbone plugin [default: resnet18 with "
                                           "-b weights=torchvision:IMAGENET1K_V1 for images, pixels for features]."),
    backbone_options: List[str] = typer.Option([], "--backbone-option", "-b", help="Backbone option KEY=VALUE, e.g. weights=ckpt.pth; repeatable."),
    dataset_options: List[str] = typer.Option([], "--dataset-option", "-d", help="Dataset option KEY=VALUE; repeatable."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampler's random generator."),
    labeled: List[Path] = typer.Option([], "--labeled", help="CSV of images labeled already (an earlier output, or a "
                                       "'path' or 'index' column, optional 'label' column); repeatable."),
    classes: Optional[int] = typer.Option(None, "--classes", min=1, help="Number of classes, for samplers that use it "
                                          "[default: the dataset's, or the labels in --labeled]."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write a contact sheet page of the picks."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Feature cache [default: $LBAL_CACHE_DIR or the user cache]."),
) -> None:
    """Pick BUDGET images of SOURCE to label, with a sampler on cached backbone features; write
    them in rank order (largest cluster first) to a CSV, and with --html a contact sheet."""
    if seed < 0:
        raise LbalError(f"--seed {seed}: a seed is an integer >= 0")
    _writable(output, force, "-o")
    if html is not None:
        _writable(html, force, "--html")
    registry = load_registry()
    sampler = sampler or registry.default("sampler", SAMPLER, "--sampler NAME")[0]
    chosen = build_plugin(registry, "sampler", sampler, parse_options(sampler_options, "--sampler-option", "nredo=5"))
    check_sampler(chosen)
    given = parse_options(backbone_options, "--backbone-option", "weights=ckpt.pth")
    folder = Path(source).expanduser().is_dir()
    if folder:  # images: a missing weights file is one line now, not after reading every image
        name, options = choose_backbone(False, backbone, given, registry)
        model = build_plugin(registry, "backbone", name, options)
        check_backbone(model, default=backbone is None)
    cache = FeatureCache(cache_dir)
    with progress_bars() as progress:
        task = progress.add_task("checking images", total=None)
        data = open_source(source, registry, parse_options(dataset_options, "--dataset-option"), cache,
                           lambda done, total: progress.update(task, completed=done, total=total))
    if data.folder is not None:
        for path, reason in data.folder.skipped:
            err_console.print(f"skipped {path}: {reason}", markup=False)
        count = len(data.folder.skipped)
        if count:
            using = len(data.folder.paths)
            err_console.print(f"skipped {count} file{'s' if count > 1 else ''}; using {using} image{'s' if using > 1 else ''}",
                              markup=False)
    images = pool_images(data) if html is not None else None
    if not folder:
        name, options = choose_backbone(data.dataset.obj.split("train").features is not None, backbone, given, registry)
        model = build_plugin(registry, "backbone", name, options)
    problem = input_problem(data.dataset, model, registry)  # by their declarations: before any features
    if problem:
        raise LbalError(problem)
    done = read_labeled(labeled, data)
    start = time.perf_counter()
    with progress_bars() as progress:
        task = progress.add_task("features", total=len(data), unit="images")
        features, cached = pool_features(data, model, cache, default=backbone is None,
                                         progress=lambda n: progress.advance(task, n))
    how = "from the cache" if cached else f"extracted in {time.perf_counter() - start:.1f} s"
    console.print(f"features: {features.shape[0]} x {features.shape[1]} ({name}), {how}")
    num_classes = classes or max(int(data.dataset.obj.num_classes), len(done.names))
    picks = select_points(features, chosen, budget, seed, done, num_classes)
    clusters = pick_clusters(features, picks, done.indices)
    write_picks(output, data, clusters)
    console.print(f"{output}: {budget} to label, picked by {sampler} from {len(data) - len(done.indices)} unlabeled")
    if html is not None:
        about = {"sampler": sampler, "seed": seed, "backbone": name, "labeled": len(done.indices)}
        write_contact_sheet(html, data, images, clusters, cell_members(features, clusters, MEMBERS), about)
        console.print(f"{html}: contact sheet")
