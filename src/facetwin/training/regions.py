"""Face, eye and mouth regions of a training crop.

Every crop is aligned to facetwin's mean face and cut to its face type's window
(``facetwin.data.frame_faces``), so in crop coordinates the eyes and the mouth sit at
the same place in every face (to within the few pixels that alignment leaves). The
regions are drawn once from the mean face and then follow each training sample through
the same random transform as its target.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from facetwin.faces.align import MEAN_FACE, MEAN_JAW, FaceType

__all__ = ["region_masks", "REGIONS", "FOREHEAD"]

#: Channel order of ``region_masks``.
REGIONS = ("face", "eyes", "mouth")
#: How far above the brows the face region reaches, as a fraction of the brow-to-chin
#: height: conversion's default hull (``ConvertConfig.forehead``), so the learned mask
#: and the hull mean the same region.
FOREHEAD = 0.2

# Indices into MEAN_FACE (the 51 points 17-67 of the 68-point scheme).
_BROWS = range(0, 10)
_EYES = [range(36 - 17, 42 - 17), range(42 - 17, 48 - 17)]
_MOUTH = range(48 - 17, 68 - 17)
_CHIN = 8  # in MEAN_JAW


def _hull(points: np.ndarray, size: int) -> np.ndarray:
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(canvas, cv2.convexHull(np.round(points * 16).astype(np.int32)), 255, cv2.LINE_AA, shift=4)
    return canvas


def region_masks(size: int, face: FaceType, *, window_fraction: float) -> torch.Tensor:
    """Soft masks (3, size, size) in [0, 1]: the face, the eyes, the mouth.

    Args:
        size: side of the training crop in pixels (``frame_faces``'s output).
        face: the face type the crops are framed for.
        window_fraction: the central fraction of the crop that is the model's window.

    The face region is the hull of the mean face's 68 points with the brows copied
    ``FOREHEAD`` of the brow-to-chin height upwards, as conversion's hull mask draws it,
    feathered so that a mask loss does not punish the exact edge.
    """
    k = size * window_fraction / face.span
    centre = np.asarray(face.centre)
    inner = (MEAN_FACE - centre) * k + (size - 1) / 2
    jaw = (MEAN_JAW - centre) * k + (size - 1) / 2
    brows = inner[list(_BROWS)]
    lift = FOREHEAD * (brows.mean(axis=0) - jaw[_CHIN])
    face_mask = _hull(np.concatenate([inner, jaw, brows + lift]), size)
    eyes = np.maximum(*[_hull(inner[list(r)], size) for r in _EYES])
    mouth = _hull(inner[list(_MOUTH)], size)
    k_px = max(3, round(k / 20)) | 1
    eyes = cv2.dilate(eyes, np.ones((k_px, k_px), np.uint8))
    mouth = cv2.dilate(mouth, np.ones((k_px, k_px), np.uint8))
    masks = [cv2.GaussianBlur(m, (0, 0), k / 40) for m in (face_mask, eyes, mouth)]
    return torch.from_numpy(np.stack(masks).astype(np.float32) / 255.0)
