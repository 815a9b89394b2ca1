"""Several processes through torchrun (DDP over gloo on the CPU): the same code path
multi-GPU training takes, checked without GPUs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch.distributed as dist
from _helpers import faceset

from facetwin.training.plot import read_history


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="torch built without gloo")
def test_torchrun_two_processes(tmp_path, astronaut, grace_hopper, predictor):
    a = faceset(astronaut, tmp_path / "a", predictor)
    b = faceset(grace_hopper, tmp_path / "b", predictor)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "facetwin",
        "-q",
        "train",
        str(a),
        str(b),
        "-o",
        str(tmp_path / "m"),
        "--arch",
        "tiny64",
        "--steps",
        "3",
        "--batch-size",
        "2",
        "--precision",
        "fp32",
        "--log-every",
        "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    # Rank 0 alone writes and reports; the throughput counts both processes' faces.
    assert done.stdout.count("steps 0 -> 3") == 1
    assert json.loads((tmp_path / "m" / "state.json").read_text())["step"] == 3
    assert list(read_history(tmp_path / "m" / "history.csv")["step"]) == [1, 2, 3]
