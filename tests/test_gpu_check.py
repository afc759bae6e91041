"""benchmarks/gpu_check on the CPU: the "no CUDA device" exit, and every step's wiring at
toy sizes (``--smoke``); the GPU figures themselves need a GPU (benchmarks/RESULTS.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check"
STEPS = ["faiss", "K-means k=10, CPU", "K-means k=20, CPU", "K-means k=10, subsample, CPU vs CPU", "linear head, cpu",
         "3 linear heads stacked", "vaal selection", "coreset selection",
         "close pairs, torch-cpu vs cpu", "tiny_cnn extraction", "finetune", "fixmatch", "synthetic ImageNet grid"]


def gpu_check(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine the check would run in full")
def test_without_a_cuda_device_it_says_so_and_exits_0(tmp_path):
    done = gpu_check(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "gpu_check: no CUDA device (torch sees none): nothing to measure on this machine"


def test_smoke_runs_every_step_and_prints_one_table(tmp_path, monkeypatch):
    monkeypatch.setenv("LBAL_CACHE_DIR", str(tmp_path / "cache"))
    done = gpu_check("--smoke", "--no-install", "--budget", "120", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].split("|")[1].strip() == "step" and len(table) == 1 + len(STEPS) + 1  # header, rule, rows
    names = [row.split("|")[1].strip() for row in table[2:]]
    assert names == STEPS
    assert not [row for row in table if "failed:" in row], "\n".join(table)
    assert re.search(r"\| [\d.]+ s a head against [\d.]+ s alone \([\d.]+x\); seed 0 equal to the lone head's weights "
                     r"within 0\.0e\+00", done.stdout), "\n".join(table)  # on the CPU a stacked head is the lone one
    assert re.search(r"all 28 cells in \d+ s|of 28 cells", done.stdout)
    assert re.search(r"\| radius [\d.]+ \(purity [\d.]+\): torch-cpu [\d.]+ s vs cpu [\d.]+ s \([\d.]+x\); [\d,]+ pairs, "
                     r"(equal sets|\d+ pairs differ)", done.stdout), "\n".join(table)
