"""An invisible watermark that says "made by facetwin", readable without the original.

Why not ``invisible-watermark``: its wheel requires ``opencv-python`` (it replaced our
``opencv-python-headless<5`` with OpenCV 5 on install) and an unpinned torch, its
DWT-DCT marks are lost when a frame is halved, and RivaGAN runs a network over every
full-resolution frame. benchmarks/watermark.py measures all three side by side.

The mark is one fixed pseudo-random +-1 tile of ``TILE`` x ``TILE`` cells, repeated over
the frame from its top-left corner and added to the luma, bilinearly smooth, a few
levels strong, stronger where the picture is busy and weaker where it is flat. A cell is
a whole number of pixels: 8 to 32 (``CELL_SIZES``), about ``CELLS_ACROSS`` cells across
the frame's short side, or 3 to 6 in frames under 320 px. The mark is the same in every
frame, so it adds no flicker and a codec keeps it in its references.

Because the tile repeats at a fixed pitch, a crop or a pad only shifts it, a flip or a
quarter turn only flips or turns it, and halving the frame (or scaling 720p or 1080p to
480p) turns the cell into another size the reader tries; other scales lose it. (The
first mark, one grid stretched over the whole frame, survived any scale but was lost
after a crop, a pad, a flip or a turn; ``_watermark_v1`` still reads it, as one more trial.)

Detection is blind. For each cell size of ``READ_CELLS`` the luma is shrunk to two
pixels a cell; uniform bars along its edges (a pad, a letterbox) are cut off; its low
frequencies are removed and each pixel is weighted by the inverse of its local noise;
and it is folded onto one tile period: the tiles add up, the picture does not. One FFT
correlation of the folded tile then scores every cyclic shift of the mark in its 8
orientations, at whole and half pixels. The best of these trials is measured in
standard deviations of all the others and turned into the sigma of a single test that
is as unlikely, so the score means what it meant for one test: on unmarked pictures it
behaves like a standard normal variable (measured: a little wider) whatever the picture
holds and however many trials were made; ``THRESHOLD`` sigma is far beyond anything
measured on unmarked frames (docs/BENCHMARKS.md).

The key is public on purpose: anyone can check a file for the mark. The mark is not
proof against removal, which is why facetwin also writes metadata and a signed C2PA
manifest; it is what survives when those are stripped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import cv2
import numpy as np

from facetwin._check import check_array
from facetwin.forensics._watermark_v1 import legacy_residual, legacy_sigma

__all__ = ["embed_watermark", "watermark_score", "WatermarkReader", "WatermarkResult", "THRESHOLD"]

#: Cells along each side of the repeating tile.
TILE = 16
#: Cell sizes (pixels) of frames 320 px and more on their short side, the one nearest to
#: ``CELLS_ACROSS`` cells across it. Not under 8 px: after CRF 35-40 or halving, 8 px
#: cells scored up to twice what 6 px cells did, although there are fewer of them.
CELL_SIZES = (8, 12, 16, 24, 32)
#: Cell sizes (pixels) of frames under 320 px: the largest that puts ``_FEWEST_CELLS``
#: cells across the short side (6 px from 240 px up: still read once halved, at 3 px).
SMALL_CELL_SIZES = (3, 4, 6)
#: Cells wanted across the frame's short side (90 in 720p at 8 px and in 1080p at 12 px).
CELLS_ACROSS = 80
_FEWEST_CELLS = 40  # across the short side of any frame 120 px or more
#: How the reader shrinks the luma to two pixels a cell, for each cell size it tries: by
#: num/den, then halving again and again. The written sizes, their halves, and two thirds
#: of 8 and 16 px (720p or 1080p scaled to 480p, 1440p to 960p).
_CHAINS = (((2, 1), (4, 8, 16, 32)), ((3, 2), (3, 6, 12, 24)), ((8, 3), (16 / 3, 32 / 3)))
#: Cell sizes the reader tries.
READ_CELLS = tuple(sorted(cell for _, cells in _CHAINS for cell in cells))
#: Base strength in 8-bit levels; scaled by local activity between 0.5x and 1.5x.
STRENGTH = 3.0
#: Scores (sigma) at or above which a frame or a file counts as marked.
THRESHOLD = 5.0
_SEED = 0x74776E32  # "twn2"
_PER_CELL = 2  # detection pixels per cell
_PERIOD = TILE * _PER_CELL  # the tile in detection pixels
_PHASES = 2  # sub-pixel offsets tried along each axis: whole and half detection pixels
_HIGHPASS_SIGMA = 1.5  # in detection pixels: keeps the cell-scale detail, drops the content
_FLAT = 0.5  # levels: an edge row or column varying less than this is a bar, not picture
_SPECTRUM_BOX = 5  # frequencies over which the folded tile's spectrum is flattened
_CODING_NOISE = 2.0  # levels of noise assumed even where the picture is flat


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

    About 41 dB PSNR; a few ms for a 720p frame.
    """
    check_array(image, "image", ["h", "w", 3], dtypes=[np.uint8])
    h, w = image.shape[:2]
    # image + delta rounded (half up) and clipped, as whole levels: the image is integer,
    # so round(image + delta) = image + round(delta), added and taken away with OpenCV's
    # saturating uint8 arithmetic (5.7x faster than a float32 copy of the frame at 720p).
    levels = np.floor(_pattern(w, h) * _strength(image) + 0.5)
    up = np.clip(levels, 0, 255).astype(np.uint8)
    down = np.clip(-levels, 0, 255).astype(np.uint8)
    # Equal in R, G and B: the luma moves, the colour does not.
    return cv2.subtract(cv2.add(image, cv2.merge([up, up, up])), cv2.merge([down, down, down]))


def watermark_score(image: np.ndarray) -> float:
    """The mark's score (sigma) in one RGB uint8 picture of any size."""
    return _sigma(*_read(image))


class WatermarkReader:
    """Scores a video from some of its frames.

    The folded residuals of the frames are added up before the correlation: the mark is
    the same in every frame and adds up, the moving picture does not. A still video
    gains nothing, but cannot score higher than its frames do.
    """

    def __init__(self) -> None:
        self._tiles: dict[float, np.ndarray] = {}
        self._legacy: np.ndarray | None = None
        self.frames = 0
        self.frames_marked = 0

    def add(self, image: np.ndarray) -> float:
        tiles, legacy = _read(image)
        score = _sigma(tiles, legacy)
        for cell, tile in tiles.items():
            self._tiles[cell] = self._tiles[cell] + tile if cell in self._tiles else tile
        self._legacy = legacy if self._legacy is None else self._legacy + legacy
        self.frames += 1
        self.frames_marked += score >= THRESHOLD
        return score

    def result(self) -> WatermarkResult:
        score = _sigma(self._tiles, self._legacy) if self._legacy is not None else 0.0
        return WatermarkResult(score, self.frames, self.frames_marked)


# --- writing ------------------------------------------------------------------------------


def _cell_size(height: int, width: int) -> int:
    short = max(min(height, width), 1)
    if short < _FEWEST_CELLS * CELL_SIZES[0]:
        return max([cell for cell in SMALL_CELL_SIZES if cell * _FEWEST_CELLS <= short], default=SMALL_CELL_SIZES[0])
    want = short / CELLS_ACROSS
    return min(CELL_SIZES, key=lambda cell: abs(math.log(cell / want)))


def _cells() -> np.ndarray:
    return np.random.default_rng(_SEED).choice(np.array([-1.0, 1.0], np.float32), size=(TILE, TILE))


def _smooth_tile(cell: int) -> np.ndarray:
    """The tile at ``cell`` pixels a cell, bilinear across cells and across its own edges."""
    wrapped = np.pad(_cells(), 1, mode="wrap")
    side = (TILE + 2) * cell
    return cv2.resize(wrapped, (side, side), interpolation=cv2.INTER_LINEAR)[cell:-cell, cell:-cell]


@lru_cache(maxsize=8)
def _pattern(width: int, height: int) -> np.ndarray:
    tile = _smooth_tile(_cell_size(height, width))
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]))
    pattern = np.ascontiguousarray(np.tile(tile, reps)[:height, :width])
    pattern.flags.writeable = False
    return pattern


def _strength(image: np.ndarray) -> np.ndarray:
    # Local contrast on a quarter-size luma: the eye misses changes in texture more than
    # on flat skin or sky, and the blur at full size cost 15 ms a 720p frame.
    h, w = image.shape[:2]
    small = cv2.resize(
        cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA
    ).astype(np.float32)
    mean = cv2.GaussianBlur(small, (0, 0), 1.0)
    var = cv2.GaussianBlur(small * small, (0, 0), 1.0) - mean * mean
    activity = np.clip(0.5 + np.sqrt(np.maximum(var, 0.0)) / 8.0, 0.5, 1.5)
    return STRENGTH * cv2.resize(activity, (w, h), interpolation=cv2.INTER_LINEAR)


# --- reading ------------------------------------------------------------------------------


def _read(image: np.ndarray) -> tuple[dict[float, np.ndarray], np.ndarray]:
    """The folded tile of each cell size that fits the picture, and v1's residual."""
    check_array(image, "image", ["h", "w", 3], dtypes=[np.uint8])
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    luma = grey.astype(np.float32)
    tiles = {}
    for step, cells in _CHAINS:
        level = _shrink(luma, *step)
        for cell in cells:
            if min(level.shape) < _PERIOD:
                break
            tile = _fold(level)
            if tile is not None:
                tiles[cell] = tile
            level = _shrink(level, 2, 1)
    return tiles, legacy_residual(grey)


def _shrink(x: np.ndarray, num: int, den: int) -> np.ndarray:
    """``x`` shrunk by num/den with area averaging; rows and columns past a whole step are dropped."""
    h, w = x.shape[0] // num, x.shape[1] // num
    if h == 0 or w == 0:
        return x[:0, :0]
    return cv2.resize(x[: h * num, : w * num], (w * den, h * den), interpolation=cv2.INTER_AREA)


def _fold(level: np.ndarray) -> np.ndarray | None:
    """The whitened residual of one shrunk luma, summed onto one tile period."""
    y0, y1, x0, x1 = _picture_box(level)
    if min(y1 - y0, x1 - x0) < _PERIOD:
        return None
    # A bar's edge with the picture would be the strongest line in the residual; cutting
    # the bar off leaves the picture's own edge, which the reflected blur does not see.
    r = level[y0:y1, x0:x1]
    r = r - cv2.GaussianBlur(r, (0, 0), _HIGHPASS_SIGMA)
    # Each pixel weighted by the inverse of its noise (the picture's local variance plus
    # some coding noise), as a matched filter wants: a few strong edges do not outvote
    # every cell, and busy areas, where compression leaves the mark alone, still count.
    r = r / (np.sqrt(cv2.GaussianBlur(r * r, (0, 0), _PER_CELL)) + _CODING_NOISE) ** 2
    # Folded where it lies in the whole frame, so frames with different bars add up alike.
    oy, ox = y0 % _PERIOD, x0 % _PERIOD
    h, w = r.shape
    canvas = np.zeros((-(-(oy + h) // _PERIOD) * _PERIOD, -(-(ox + w) // _PERIOD) * _PERIOD), np.float32)
    canvas[oy : oy + h, ox : ox + w] = r
    return canvas.reshape(canvas.shape[0] // _PERIOD, _PERIOD, canvas.shape[1] // _PERIOD, _PERIOD).sum(axis=(0, 2))


def _picture_box(level: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(np.ptp(level, axis=1) > _FLAT)
    cols = np.flatnonzero(np.ptp(level, axis=0) > _FLAT)
    if len(rows) == 0 or len(cols) == 0:
        return 0, 0, 0, 0
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


@lru_cache(maxsize=1)
def _templates() -> tuple[np.ndarray, np.ndarray]:
    """The mark as the reader sees it: every orientation at every sub-pixel phase.

    Returns the templates (N, P, P) and their conjugate spectra, P = ``_PERIOD``.
    """
    fine = _smooth_tile(_PER_CELL * _PHASES)
    f = np.fft.fftfreq(_PERIOD)
    blur = np.exp(-2.0 * (math.pi * _HIGHPASS_SIGMA * f) ** 2)
    highpass = 1.0 - np.outer(blur, blur)
    templates = []
    for dy in range(_PHASES):
        for dx in range(_PHASES):
            shifted = np.roll(fine, (-dy, -dx), axis=(0, 1))
            t = shifted.reshape(_PERIOD, _PHASES, _PERIOD, _PHASES).mean(axis=(1, 3))
            t = np.fft.ifft2(np.fft.fft2(t) * highpass).real
            for turns in range(4):
                turned = np.rot90(t, turns)
                templates += [turned, turned[:, ::-1]]
    spatial = np.stack(templates).astype(np.float32)
    return spatial, np.conj(np.fft.fft2(spatial)).astype(np.complex64)


def _tile_sigma(tile: np.ndarray) -> float | None:
    """The best trial of one folded tile, in standard deviations of all its trials."""
    spectrum = np.fft.fft2(tile)
    # Flattening the spectrum keeps what is left of the picture (smooth, strong at low
    # frequencies) from outweighing the mark, which is spread over all of them.
    edge = _SPECTRUM_BOX // 2  # the spectrum wraps around: so does its neighbourhood
    power = np.pad((spectrum.real**2 + spectrum.imag**2).astype(np.float32), edge, mode="wrap")
    power = cv2.blur(power, (_SPECTRUM_BOX, _SPECTRUM_BOX))[edge:-edge, edge:-edge]
    if power.max() <= 0:
        return None
    spectrum = spectrum / np.sqrt(power + 1e-12 * power.max())
    spatial, conj = _templates()
    surface = np.fft.ifft2(spectrum[None] * conj).real
    best = np.unravel_index(int(np.argmax(surface)), surface.shape)
    peak = float(surface[best])
    # The spread is measured with the best fit taken out: a strong mark also correlates a
    # little with itself at every other shift and orientation, which is not noise.
    fit = np.roll(spatial[best[0]], best[1:], axis=(0, 1))
    rest = spectrum - (peak / float((fit * fit).sum())) * np.fft.fft2(fit)
    others = np.fft.ifft2(rest[None] * conj).real
    spread = float(others.std())
    return (peak - float(others.mean())) / spread if spread > 0 else None


def _sigma(tiles: dict[float, np.ndarray], legacy: np.ndarray | None) -> float:
    """The single-test sigma of the best trial over all cell sizes, shifts and orientations."""
    raws = [s for s in (_tile_sigma(t) for t in tiles.values()) if s is not None]
    old = legacy_sigma(legacy) if legacy is not None else 0.0
    if not raws and old == 0.0:
        return 0.0  # a flat picture: nothing to read
    trials = len(raws) * len(_templates()[0]) * _PERIOD * _PERIOD + 1
    return _single_test_sigma(max(raws + [old]), trials)


_NORMAL = NormalDist()


def _single_test_sigma(best: float, trials: int) -> float:
    """The score of one standard normal test as unlikely as the best of ``trials`` scoring ``best``.

    With independent standard normal trials this is again standard normal. On real
    pictures it came out a little wider (sd 1.2, the highest of 3,000 at 3.8 sigma), the
    trials' own tails being a little heavier than normal; docs/BENCHMARKS.md.
    """
    log_tail = _log_normal_tail(max(best, -8.0))
    log_all_below = trials * math.log1p(-math.exp(log_tail))  # no trial at or above best
    if log_all_below < -math.log(2.0):  # below the median: as likely as not, or more
        return _NORMAL.inv_cdf(max(math.exp(log_all_below), 1e-300))
    log_any = math.log(-math.expm1(log_all_below)) if log_all_below < -1e-300 else math.log(trials) + log_tail
    return _inverse_log_normal_tail(log_any)


def _log_normal_tail(x: float) -> float:
    """log P(Z >= x) for a standard normal Z, without underflow."""
    if x < 30.0:
        return math.log(0.5 * math.erfc(x / math.sqrt(2.0)))
    return -0.5 * x * x - math.log(x * math.sqrt(2.0 * math.pi)) + math.log1p(-1.0 / (x * x))


def _inverse_log_normal_tail(log_p: float) -> float:
    if log_p > math.log(1e-300):
        return -_NORMAL.inv_cdf(math.exp(log_p))
    z = math.sqrt(-2.0 * log_p)
    for _ in range(30):  # Newton: d/dz log P(Z >= z) = -pdf(z) / P(Z >= z)
        slope = -math.exp(-0.5 * z * z - 0.5 * math.log(2.0 * math.pi) - _log_normal_tail(z))
        step = (_log_normal_tail(z) - log_p) / slope
        z -= step
        if abs(step) < 1e-9:
            break
    return z
