"""Face, eye and mouth regions of an aligned crop.

Every crop is aligned to facetwin's mean face, so in crop coordinates the eyes and the
mouth sit at the same place in every face (to within the few pixels that alignment
leaves). The regions are drawn once from ``MEAN_FACE`` and then follow each training
sample through the same random transform as its target.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from facetwin.faces.align import MEAN_FACE

__all__ = ["region_masks", "REGIONS"]

#: Channel order of ``region_masks``.
REGIONS = ("face", "eyes", "mouth")

# Indices into MEAN_FACE (the 51 points 17-67 of the 68-point scheme).
_EYES = [range(36 - 17, 42 - 17), range(42 - 17, 48 - 17)]
_MOUTH = range(48 - 17, 68 - 17)


def _hull(points: np.ndarray, size: int) -> np.ndarray:
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(canvas, cv2.convexHull(np.round(points * 16).astype(np.int32)), 255, cv2.LINE_AA, shift=4)
    return canvas


def region_masks(size: int, *, coverage: float = 0.625) -> torch.Tensor:
    """Soft masks (3, size, size) in [0, 1]: the face, the eyes, the mouth.

    Args:
        size: crop side in pixels.
        coverage: the crops' framing (``ExtractConfig.coverage``).

    The face region is the hull of the inner landmarks with the chin added below the
    lips (the 51 points stop at the lower lip; the jaw is not part of the mean face),
    feathered so that a mask loss does not punish the exact edge.
    """
    pts = (MEAN_FACE - 0.5) * size * coverage + (size - 1) / 2
    span = pts[:, 1].max() - pts[:, 1].min()
    cx = pts[:, 0].mean()
    chin = pts[_MOUTH].copy()
    chin[:, 0] = cx + (chin[:, 0] - cx) * 1.4
    chin[:, 1] = pts[:, 1].max() + 0.25 * span  # chin below the lower lip
    # Cheeks: the brows' outer ends carried down to the lips.
    cheeks = np.array([[pts[:, 0].min(), pts[_MOUTH, 1].mean()], [pts[:, 0].max(), pts[_MOUTH, 1].mean()]])
    face = _hull(np.concatenate([pts, chin, cheeks]), size)
    eyes = np.maximum(*[_hull(pts[list(r)], size) for r in _EYES])
    mouth = _hull(pts[list(_MOUTH)], size)
    k = max(3, size // 32) | 1
    eyes = cv2.dilate(eyes, np.ones((k, k), np.uint8))
    mouth = cv2.dilate(mouth, np.ones((k, k), np.uint8))
    masks = [cv2.GaussianBlur(m, (0, 0), size / 64) for m in (face, eyes, mouth)]
    return torch.from_numpy(np.stack(masks).astype(np.float32) / 255.0)
