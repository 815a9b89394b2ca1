"""An invisible watermark that says "made by facetwin", readable without the original.

Why not ``invisible-watermark``: its wheel requires ``opencv-python`` (it replaced our
``opencv-python-headless<5`` with OpenCV 5 on install) and an unpinned torch, its
DWT-DCT marks are lost when a frame is halved, and RivaGAN runs a network over every
full-resolution frame. benchmarks/watermark.py measures all three side by side.

The mark is one fixed pseudo-random +-1 pattern of ``GRID`` x ``GRID`` cells, stretched
over the whole frame (so it scales with the frame: a halved or re-encoded frame still
carries it at the same relative place) and added to the luma, bilinearly smooth, a few
levels strong, stronger where the picture is busy and weaker where it is flat. It is
the same in every frame, so it adds no flicker and a codec keeps it in its references.

Detection is blind: the frame is shrunk to ``GRID * 2`` squared, its low frequencies
removed and its local contrast evened out; the correlation with the pattern is then
compared with the correlations with ``_DECOYS`` other patterns of the same kind. The
score is in standard deviations of those decoys, so on unmarked pictures it behaves
like a standard normal variable whatever the picture holds; ``THRESHOLD`` sigma is far
beyond anything measured on unmarked frames (docs/BENCHMARKS.md).

The key is public on purpose: anyone can check a file for the mark. The mark is not
proof against removal, which is why facetwin also writes metadata and a signed C2PA
manifest; it is what survives when those are stripped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from facetwin._check import check_array

__all__ = ["embed_watermark", "watermark_score", "WatermarkReader", "WatermarkResult", "THRESHOLD"]

#: Cells of the pattern along each side of the frame: 20 px cells in a 1280 px frame,
#: still 5 px when a 480 px frame is halved (smaller cells did not survive H.264).
GRID = 64
#: Base strength in 8-bit levels; scaled by local activity between 0.5x and 1.5x.
STRENGTH = 3.0
#: Scores (sigma) at or above which a frame or a file counts as marked.
THRESHOLD = 5.0
_SEED = 0x66616365  # "face"
_DECOYS = 128
_SCALE = 2  # detection pixels per cell
_HIGHPASS_SIGMA = 1.5  # in detection pixels: keeps the cell-scale detail, drops the content


@dataclass(frozen=True)
class WatermarkResult:
    """What the reader found: the score in sigma, and how many frames it looked at."""

    score: float
    frames: int
    frames_marked: int

    @property
    def found(self) -> bool:
        return self.score >= THRESHOLD

    @property
    def false_alarm(self) -> float:
        """Chance that an unmarked picture scores this high (one-sided normal tail)."""
        return 0.5 * math.erfc(self.score / math.sqrt(2.0))


def embed_watermark(image: np.ndarray) -> np.ndarray:
    """Return RGB uint8 ``image`` (H, W, 3) with the mark added; the input is not changed.

    About 42 dB PSNR; a few ms for a 720p frame.
    """
    check_array(image, "image", ["h", "w", 3], dtypes=[np.uint8])
    h, w = image.shape[:2]
    delta = _pattern(w, h) * _strength(image)
    out = image.astype(np.float32)
    out += delta[..., None]  # equal in R, G and B: the luma moves, the colour does not
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def watermark_score(image: np.ndarray) -> float:
    """The mark's score (sigma) in one RGB uint8 picture of any size."""
    return _score(_residual(image))


class WatermarkReader:
    """Scores a video from some of its frames.

    The whitened residuals of the frames are averaged before the correlation: the mark
    is the same in every frame and adds up, the moving picture does not. A still video
    gains nothing, but cannot score higher than its frames do.
    """

    def __init__(self) -> None:
        self._sum: np.ndarray | None = None
        self.frames = 0
        self.frames_marked = 0

    def add(self, image: np.ndarray) -> float:
        residual = _residual(image)
        score = _score(residual)
        self._sum = residual if self._sum is None else self._sum + residual
        self.frames += 1
        self.frames_marked += score >= THRESHOLD
        return score

    def result(self) -> WatermarkResult:
        score = _score(self._sum) if self._sum is not None else 0.0
        return WatermarkResult(score, self.frames, self.frames_marked)


def _strength(image: np.ndarray) -> np.ndarray:
    # Local contrast on a quarter-size luma: the eye misses changes in texture more than
    # on flat skin or sky, and the blur at full size cost 15 ms a 720p frame.
    h, w = image.shape[:2]
    small = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (max(w // 4, 1), max(h // 4, 1)),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    mean = cv2.GaussianBlur(small, (0, 0), 1.0)
    var = cv2.GaussianBlur(small * small, (0, 0), 1.0) - mean * mean
    activity = np.clip(0.5 + np.sqrt(np.maximum(var, 0.0)) / 8.0, 0.5, 1.5)
    return STRENGTH * cv2.resize(activity, (w, h), interpolation=cv2.INTER_LINEAR)


def _cells(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(np.array([-1.0, 1.0], np.float32), size=(GRID, GRID))


@lru_cache(maxsize=8)
def _pattern(width: int, height: int) -> np.ndarray:
    pattern = cv2.resize(_cells(_SEED), (width, height), interpolation=cv2.INTER_LINEAR)
    pattern.flags.writeable = False
    return pattern


def _highpass(x: np.ndarray) -> np.ndarray:
    return x - cv2.GaussianBlur(x, (0, 0), _HIGHPASS_SIGMA)


@lru_cache(maxsize=1)
def _templates() -> np.ndarray:
    """Row 0: the mark; rows 1..: decoys. Each as seen by the detector, unit length."""
    side = GRID * _SCALE
    rows = []
    for seed in [_SEED] + [_SEED + 1 + k for k in range(_DECOYS)]:
        t = _highpass(cv2.resize(_cells(seed), (side, side), interpolation=cv2.INTER_LINEAR)).ravel()
        rows.append(t / np.linalg.norm(t))
    return np.stack(rows)


def _residual(image: np.ndarray) -> np.ndarray:
    check_array(image, "image", ["h", "w", 3], dtypes=[np.uint8])
    side = GRID * _SCALE
    luma = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (side, side), interpolation=cv2.INTER_AREA)
    r = _highpass(luma.astype(np.float32))
    # Evening out local contrast keeps a few strong edges from outvoting every cell.
    return r / (np.sqrt(cv2.GaussianBlur(r * r, (0, 0), 2.0 * _SCALE)) + 1.0)


def _score(residual: np.ndarray) -> float:
    c = _templates() @ residual.ravel()
    decoys = c[1:]
    spread = float(decoys.std())
    return float((c[0] - decoys.mean()) / spread) if spread > 0 else 0.0
