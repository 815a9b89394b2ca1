"""Shared by the training-quality benchmarks: a fixed evaluation and history helpers.

Training logs the L1 of single random batches, which is noisy (about +-0.01 at batch 64).
``held_out_l1`` instead scores a model on the same warped batches every time (fixed
seed, the training augmentation without colour jitter), so two models, or one model at
two moments, are compared on identical inputs.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import torch

from facetwin.data.augment import AugmentConfig, augment_batch
from facetwin.data.dataset import Faces
from facetwin.training.plot import read_history as _read_columns


@torch.no_grad()
def held_out_l1(model, faces: Faces, side: str, *, batches: int = 4, batch_size: int = 64, seed: int = 1234) -> float:
    """Mean L1 of ``side``'s reconstruction (RGB only) over fixed warped batches."""
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(batches):
        index = torch.randint(len(faces), (batch_size,), generator=gen)
        aug = augment_batch(faces.images[index], size=model.input_size, config=AugmentConfig(), generator=gen)
        out = model(aug.warped, to=side).float()[:, :3]
        total += float((out - aug.target).abs().mean())
    return total / batches


def read_history(model_dir: Path) -> list[dict[str, float]]:
    """history.csv as one dict per logged step (facetwin's own reader, by rows)."""
    columns = _read_columns(model_dir / "history.csv")
    return [dict(zip(columns, map(float, values))) for values in zip(*columns.values())]


def smoothed(rows: list[dict[str, float]], key: str, window: int = 5) -> list[float]:
    """Running mean over ``window`` logs (fewer at the start)."""
    values = [r[key] for r in rows]
    return [statistics.fmean(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))]


def mean_near(rows: list[dict[str, float]], key: str, step: float, half_width: float) -> float:
    near = [r[key] for r in rows if abs(r["step"] - step) <= half_width]
    return statistics.fmean(near) if near else float("nan")
