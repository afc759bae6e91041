"""``pixels``: the identity backbone; an image's flattened pixels are its features.

Used by the offline default suite, where no trained network is needed.
"""

from __future__ import annotations

import numpy as np

from lbal_bench import hookimpl


class Pixels:
    """Flatten each image into a float32 vector."""

    accepts = ("image_arrays", "pil_images")  # images of one size (lbal_bench.contracts.INPUT_KINDS)

    def fingerprint(self) -> dict:
        return {"name": "pixels", "version": 1}

    def embed(self, images, progress=None) -> np.ndarray:
        features = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
        if progress is not None:
            progress(len(features))
        return features


@hookimpl
def lbal_register_backbones(register):
    register("pixels", Pixels, description="flattened pixels (identity features)",
             default_for=["select_features"])  # `select` on a features file: the features as they are
