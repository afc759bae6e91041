"""Loading self-supervised checkpoints into torchvision models, safely and strictly.

Checkpoints are read with ``torch.load(..., weights_only=True)`` (no pickled code runs;
``argparse.Namespace``, which training scripts often save beside the weights, is
allowed). The weights are found wherever the layout keeps them:

- CompRess: ``{"model": {"module.conv1.weight": …, "module.fc.weight": …}}``;
- MoCo v1/v2: ``{"state_dict": {"module.encoder_q.conv1.weight": …, "module.encoder_k…"}}``;
- BYOL and others: ``{"online_network.…"}``, ``{"backbone.…"}`` or a plain state dict.

The nested dict holding the most tensors is taken, and the key prefix under which the
most of the model's keys are found (a query/online/student encoder before a
key/target/momentum/teacher one). The model's classification head (``fc``) is never
loaded: self-supervised checkpoints keep a projection head there, and features are read
before it. Any other missing, unexpected or misshapen key refuses the checkpoint, with
one line naming the file and a few of the keys.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import re
from pathlib import Path

from ..errors import LbalError

SECONDARY = re.compile(r"encoder_k|target|momentum|teacher|ema")
SHOWN = 3


def _allowed_globals():
    """Let ``weights_only`` loading accept ``argparse.Namespace`` (on torch versions that can)."""
    import torch

    safe_globals = getattr(torch.serialization, "safe_globals", None)
    return safe_globals([argparse.Namespace]) if safe_globals else contextlib.nullcontext()


def read_state_dict(path: str | Path) -> dict:
    """The tensors of a checkpoint file: the (nested) dict of name → tensor with the most entries."""
    import torch

    try:
        with _allowed_globals():
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise LbalError(f"{path}: checkpoint file is missing") from None
    except pickle.UnpicklingError as exc:
        found = re.search(r"[Uu]nsupported (?:global: )?GLOBAL ([\w.]+)", str(exc))  # allowed or blocked module
        if not found:
            detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(exc))
            reason = detail.group(1).strip() if detail else str(exc).strip().splitlines()[0]
            raise LbalError(f"{path}: not a readable PyTorch checkpoint ({reason})") from None
        raise LbalError(
            f"{path}: refused: the checkpoint contains pickled Python code ({found.group(1)}), which "
            "torch.load(weights_only=True) does not run; re-save its state dict with "
            "torch.save(model.state_dict(), path)"
        ) from None
    except Exception as exc:  # torch raises many kinds on a file that is no checkpoint
        raise LbalError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {exc})") from None

    def tensors(d) -> int:
        return sum(isinstance(v, torch.Tensor) for v in d.values()) if isinstance(d, dict) else 0

    candidates = [obj] + (list(obj.values()) if isinstance(obj, dict) else [])
    best = max(candidates, key=tensors)
    if not tensors(best):
        keys = ", ".join(map(str, list(obj)[:SHOWN])) if isinstance(obj, dict) else type(obj).__name__
        raise LbalError(f"{path}: no tensors found in the checkpoint (top level: {keys})")
    return {str(k): v for k, v in best.items() if isinstance(v, torch.Tensor)}


def _few(keys: list[str]) -> str:
    more = f", … {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def match_state_dict(state: dict, model_state: dict, path: str | Path, arch: str, head: str = "fc.") -> dict:
    """``state`` renamed onto ``model_state``'s keys (minus ``head``), or an ``LbalError``.

    The prefix is chosen by how many model keys it explains; keys under it that the model
    lacks (other than the head), model keys it lacks (other than the BatchNorm counters
    ``num_batches_tracked``, which evaluation never reads) and shape differences refuse it.
    """
    wanted = {k: v for k, v in model_state.items() if not k.startswith(head)}
    anchor = next(iter(wanted))
    prefixes = {k[: -len(anchor)] for k in state if k == anchor or k.endswith("." + anchor)}

    def rank(prefix: str):
        return (-sum(prefix + k in state for k in wanted), bool(SECONDARY.search(prefix)), len(prefix))

    prefix = min(prefixes, key=rank, default=None)
    if prefix is None:
        raise LbalError(
            f"{path}: no torchvision {arch} weights found (expected keys like {anchor}; "
            f"the checkpoint has {_few(sorted(state))})"
        )
    missing = [k for k in wanted if prefix + k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k.startswith(prefix) and k[len(prefix):] not in wanted
                  and not k[len(prefix):].startswith(head)]
    misshapen = [
        f"{k} {list(state[prefix + k].shape)} vs {list(v.shape)}"
        for k, v in wanted.items() if prefix + k in state and state[prefix + k].shape != v.shape
    ]
    problems = [
        f"{len(items)} {what} ({_few(items)})"
        for what, items in (("missing keys", missing), ("unexpected keys", unexpected),
                            ("shape mismatches", misshapen)) if items
    ]
    if problems:
        under = f" under prefix '{prefix}'" if prefix else ""
        raise LbalError(f"{path}: checkpoint does not match torchvision {arch}{under}: {'; '.join(problems)}")
    return {k: state[prefix + k] if prefix + k in state else v for k, v in wanted.items()}


def state_sha256(model) -> str:
    """SHA-256 of a torch model's state dict (names and tensor bytes): the fingerprint of
    weights that come from a seeded initialisation rather than a file."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
