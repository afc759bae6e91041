"""``lbal-bench features``: extract a dataset's features with a backbone into the cache, ahead of runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from ..plugin_handle import build_plugin, plugin_call
from ..errors import LbalError
from ..features import FeatureCache, input_problem
from .common import console, load_registry, parse_options, progress_bars

NAME = "features"


def command(
    dataset: str = typer.Argument(..., help="Dataset plugin, e.g. cifar10."),
    backbone: str = typer.Argument(..., help="Backbone plugin, e.g. resnet18."),
    dataset_options: List[str] = typer.Option([], "--dataset-option", "-d", help="Dataset option KEY=VALUE, e.g. root=/data/cifar; repeatable."),
    backbone_options: List[str] = typer.Option([], "--backbone-option", "-b", help="Backbone option KEY=VALUE, e.g. weights=ckpt.pth; repeatable."),
    splits: List[str] = typer.Option(["train", "test"], "--split", help="Split to extract; repeatable."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Feature cache [default: $LBAL_CACHE_DIR or the user cache]."),
    shard_size: int = typer.Option(32768, "--shard-size", min=1, help="Images per shard: a killed extraction resumes from finished shards."),
) -> None:
    """Extract and cache the features of DATASET by BACKBONE (what `run` would, with the same options)."""
    registry = load_registry()
    data = build_plugin(registry, "dataset", dataset, parse_options(dataset_options, "--dataset-option"))
    model = build_plugin(registry, "backbone", backbone, parse_options(backbone_options, "--backbone-option"))
    problem = input_problem(data, model, registry)  # by their declarations: before any image is read
    if problem:
        raise LbalError(problem)
    cache = FeatureCache(cache_dir, shard_size=shard_size)
    for split in splits:
        path = cache.path(data, model, split)
        if path.exists():
            console.print(f"{dataset}/{split}: already cached, {path}")
            continue
        total = len(data.obj.split(split))
        start = time.perf_counter()
        with progress_bars() as progress:
            task = progress.add_task(f"features {dataset}/{split}", total=total, unit="images")
            features = plugin_call(model, "embed", lambda: cache.get(data, model, split, lambda n: progress.advance(task, n)))
        seconds = time.perf_counter() - start
        console.print(
            f"{dataset}/{split}: {features.shape[0]} x {features.shape[1]} features in {seconds:.1f} s "
            f"({total / seconds:,.0f} images/s), {path}"
        )
