"""The mark facetwin wrote before (v1), read so that files it marked are still found.

It was one +-1 pattern of 64 x 64 cells stretched over the whole frame: found after
re-encoding and any resize, lost after a crop, a pad, a flip or a turn, which is why
``watermark.py`` replaced it. Only the reading side is kept; nothing writes it any more.
Its score is in standard deviations of 128 decoy patterns, a standard normal variable
on unmarked pictures.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

_GRID = 64
_SEED = 0x66616365  # "face"
_DECOYS = 128
_SIDE = _GRID * 2  # two detection pixels per cell
_HIGHPASS_SIGMA = 1.5


def legacy_residual(grey: np.ndarray) -> np.ndarray:
    """The whitened residual v1 was read from: ``grey`` (H, W) uint8 luma shrunk to 128 x 128."""
    small = cv2.resize(grey, (_SIDE, _SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    r = small - cv2.GaussianBlur(small, (0, 0), _HIGHPASS_SIGMA)
    return r / (np.sqrt(cv2.GaussianBlur(r * r, (0, 0), 4.0)) + 1.0)


def legacy_sigma(residual: np.ndarray) -> float:
    """v1's score of a residual (or a sum of them): the mark against its decoys, in sigma."""
    c = _templates() @ residual.ravel()
    spread = float(c[1:].std())
    return float((c[0] - c[1:].mean()) / spread) if spread > 0 else 0.0


@lru_cache(maxsize=1)
def _templates() -> np.ndarray:
    """Row 0: the v1 mark; rows 1..: decoys. Each as the detector sees it, unit length."""
    rows = []
    for seed in [_SEED] + [_SEED + 1 + k for k in range(_DECOYS)]:
        cells = np.random.default_rng(seed).choice(np.array([-1.0, 1.0], np.float32), size=(_GRID, _GRID))
        t = cv2.resize(cells, (_SIDE, _SIDE), interpolation=cv2.INTER_LINEAR)
        t = (t - cv2.GaussianBlur(t, (0, 0), _HIGHPASS_SIGMA)).ravel()
        rows.append(t / np.linalg.norm(t))
    return np.stack(rows)
