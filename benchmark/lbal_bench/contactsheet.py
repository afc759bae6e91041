"""The contact sheet of ``lbal-bench select --html``: the picks as thumbnails, one card
per cluster in rank order (the pick, then the images of its cluster nearest to it), for
annotators.

One self-contained HTML file (jinja2; thumbnails embedded as ``data:`` URIs, CSS inline,
no script): it opens from ``file://``, can be mailed or moved, and fetches nothing.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from . import __version__
from .atomic import atomic_write_text
from .errors import LbalError
from .labeling import Clusters, Source
from .leaderboard.html import page_environment

PICK_SIZE = 160  # thumbnail box of a pick, pixels
MEMBER_SIZE = 72  # of a cluster member
SMALL = 64  # thumbnails this small are stored losslessly (PNG), larger ones as JPEG


def as_image(item: Any):
    """An RGB ``PIL.Image`` of a pool item: a PIL image, or an array ``[H, W]``, ``[H, W, C]``
    or ``[C, H, W]`` (values scaled to 0–255 unless uint8)."""
    from PIL import Image

    if isinstance(item, Image.Image):
        return item.convert("RGB")
    pixels = np.asarray(item)
    if pixels.ndim == 3 and pixels.shape[0] in (1, 3) and pixels.shape[-1] not in (1, 3):
        pixels = pixels.transpose(1, 2, 0)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or not np.issubdtype(pixels.dtype, np.number):
        raise LbalError(f"cannot draw a pool item of type {type(item).__name__} {list(pixels.shape)}")
    if pixels.dtype != np.uint8:
        low, high = float(pixels.min()), float(pixels.max())
        pixels = ((pixels - low) * (255.0 / (high - low or 1.0))).round().astype(np.uint8)
    return Image.fromarray(pixels).convert("RGB")


def thumbnail(item: Any, size: int) -> str:
    """A ``data:`` URI of the item shrunk to fit ``size`` × ``size`` (never enlarged: the
    page scales small images up without smoothing)."""
    image = as_image(item)
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    small = max(image.size) <= SMALL
    image.save(buffer, format="PNG" if small else "JPEG", quality=85)
    return f"data:image/{'png' if small else 'jpeg'};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def pool_images(source: Source) -> Any:
    """The pool's images (index-able), or an error when the source holds features only."""
    images = source.dataset.obj.split("train").images
    if images is None:
        raise LbalError(f"--html needs images, and {source.text} holds features only")
    return images


def write_contact_sheet(path: Path, source: Source, images: Any, clusters: Clusters, members: list[np.ndarray],
                        about: dict) -> None:
    """Write the page: ``images`` are the pool's (``pool_images``), ``members`` the cluster
    members to show per pick (rank order, from ``labeling.cell_members``); ``about`` names
    the sampler, seed, backbone and the number labeled before, for the heading."""

    def card(index: int, size: int) -> dict:
        return {"name": source.name(index), "src": thumbnail(images[index], size)}

    cards = [
        {"rank": int(rank), "cluster": int(cluster), "size": int(count), "distance": f"{distance:.3f}",
         "pick": card(int(pick), PICK_SIZE), "members": [card(int(m), MEMBER_SIZE) for m in shown]}
        for pick, cluster, count, distance, rank, shown in zip(
            clusters.picks, clusters.cluster, clusters.size, clusters.distance, clusters.rank, members)
    ]
    page = page_environment("lbal_bench").get_template("contact_sheet.html.j2").render(
        source=source.text, cards=cards, about=about, version=__version__,
        pick_size=PICK_SIZE, member_size=MEMBER_SIZE, pool=len(source))
    atomic_write_text(path, page)
