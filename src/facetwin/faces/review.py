"""Scores for reviewing an extraction folder's faces before training on them.

Each face gets a sharpness (blurred crops teach a blurred swap) and, where identity
vectors were extracted (``ExtractConfig(identity=True)``), a distance from the folder's
typical identity (misdetections and other people lie far from it). ``order_for_review``
lists the worst first, and ``facetwin.extraction.remove_faces`` takes the rejects out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from facetwin._check import check_array, check_choice
from facetwin.alignments import load_alignments
from facetwin.io import read_image

__all__ = ["FaceReview", "review_faces", "order_for_review", "crop_sharpness"]

log = logging.getLogger(__name__)

# The middle 60 % of the crop's side at the original's coverage (0.625): the inner face
# (eyes, nose, mouth) without the background and hair whose texture would outweigh it.
# Other framings scale it with their coverage.
_INNER = 0.6
_INNER_COVERAGE = 0.625
# Grey variance (of values in [0, 1]) below which the inner face counts as flat: a
# standard deviation of 1/100, about 2.5 grey levels, where the ratio is noise.
_FLAT_VARIANCE = 1e-4


@dataclass(frozen=True)
class FaceReview:
    """One face of an extraction folder, scored for review.

    Attributes:
        crop: file name of the aligned crop, as in alignments.json (``FaceRecord.crop``).
        frame: index of the source frame it was cut from.
        sharpness: variance of the Laplacian of the inner face over its grey variance,
            >= 0; higher is sharper. Comparable between crops of one size (one folder).
        identity_distance: Euclidean distance from the face's identity vector to the
            folder's median identity (about 0.6 separates people); None where the face
            has no identity vector.
    """

    crop: str
    frame: int
    sharpness: float
    identity_distance: float | None


def review_faces(folder: str | Path, *, workers: int = 2) -> list[FaceReview]:
    """Score every face of an extraction folder for sharpness and identity.

    Sharpness is the variance of the Laplacian (the usual focus measure) of the grey
    crop's middle 60 %, divided by that region's grey variance. The division makes it a
    share of the face's contrast found at the finest scale, so a dim or low-contrast
    frame of a sharp face does not rank as blurred; the Laplacian alone scales with the
    square of the contrast. Noise and JPEG grain raise it, as they raise any focus measure.

    The median identity is taken coordinate by coordinate over the faces that have a
    vector: the main person's while they are the majority of the folder, and unmoved by
    a few faces of others.

    Args:
        folder: an extraction folder (alignments.json and its crops).
        workers: threads reading crops (OpenCV's decoding and filters release the GIL).

    Returns:
        One review per face in the alignments' order. A listed crop whose file is
        missing is left out, with a warning logged, as ``load_faces`` leaves it out.

    Raises:
        InputNotFoundError: the folder holds no alignments.json.
        InvalidAlignmentsError: alignments.json is damaged.
        UnreadableMediaError: a crop that cannot be decoded.
    """
    folder = Path(folder)
    alignments = load_alignments(folder / "alignments.json")
    listed = alignments.faces()
    inner = min(1.0, _INNER * float(alignments.settings.get("coverage", _INNER_COVERAGE)) / _INNER_COVERAGE)
    faces = [(frame, face) for frame, face in listed if (folder / face.crop).is_file()]
    if len(faces) < len(listed):
        log.warning(
            "%s: %d crops listed in alignments.json are missing (removed by hand?)", folder, len(listed) - len(faces)
        )
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        scores = list(pool.map(lambda pair: crop_sharpness(read_image(folder / pair[1].crop), inner=inner), faces))
    vectors = [face.identity for _, face in faces if face.identity is not None]
    median = np.median(np.stack(vectors), axis=0) if vectors else None
    return [
        FaceReview(
            crop=face.crop,
            frame=frame.index,
            sharpness=score,
            identity_distance=None
            if face.identity is None or median is None
            else float(np.linalg.norm(face.identity.astype(np.float64) - median)),
        )
        for (frame, face), score in zip(faces, scores)
    ]


def order_for_review(reviews: Sequence[FaceReview], by: Literal["sharpness", "identity"]) -> list[FaceReview]:
    """The reviews worst first: least sharp first, or farthest identity first.

    Faces without an identity vector come last when ordering by identity; ties keep
    their order (the alignments' order when given ``review_faces``'s list).

    >>> a = FaceReview("000000_0.png", 0, sharpness=0.4, identity_distance=0.1)
    >>> b = FaceReview("000001_0.png", 1, sharpness=0.1, identity_distance=None)
    >>> c = FaceReview("000002_0.png", 2, sharpness=0.3, identity_distance=0.7)
    >>> [r.crop for r in order_for_review([a, b, c], "sharpness")]
    ['000001_0.png', '000002_0.png', '000000_0.png']
    >>> [r.crop for r in order_for_review([a, b, c], "identity")]
    ['000002_0.png', '000000_0.png', '000001_0.png']
    """
    check_choice(by, "by", ["sharpness", "identity"])
    if by == "sharpness":
        return sorted(reviews, key=lambda r: r.sharpness)
    return sorted(reviews, key=lambda r: (r.identity_distance is None, -(r.identity_distance or 0.0)))


def crop_sharpness(image: np.ndarray, *, inner: float = _INNER) -> float:
    """Variance of the Laplacian of the inner face over its grey variance (see ``review_faces``).

    Args:
        image: RGB uint8 (H, W, 3) aligned crop.
        inner: the central fraction of the side that is the inner face (0.6 at the
            original's coverage 0.625; ``review_faces`` scales it with the folder's).

    Returns:
        >= 0, higher is sharper; 0 for a flat inner face.

    >>> rng = np.random.default_rng(0)
    >>> sharp = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    >>> crop_sharpness(cv2.GaussianBlur(sharp, (0, 0), 2)) < crop_sharpness(sharp)
    True
    >>> crop_sharpness(np.full((64, 64, 3), 90, np.uint8))
    0.0
    """
    check_array(image, "image", ["H", "W", 3], dtypes=[np.uint8])
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255
    # The Laplacian of the whole crop, then cut: no border effects inside the region.
    laplacian = cv2.Laplacian(grey, cv2.CV_64F)
    h, w = grey.shape
    dy, dx = round(h * (1 - inner) / 2), round(w * (1 - inner) / 2)
    inner = (slice(dy, h - dy), slice(dx, w - dx))
    variance = float(grey[inner].var())
    if variance < _FLAT_VARIANCE:
        return 0.0
    return float(laplacian[inner].var()) / variance
