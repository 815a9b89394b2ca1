"""Identity vectors: dlib's ResNet face descriptor (128-d, unit scale).

Two photos of one person are usually closer than 0.6 in Euclidean distance; of two
different people, further. dlib aligns the face itself from the 68 landmarks.
"""

from __future__ import annotations

import numpy as np

from facetwin._check import check_array
from facetwin.faces.models import model_path

__all__ = ["IdentityEncoder", "identity_distance", "DEFAULT_THRESHOLD"]

#: dlib's published operating point for "same person" on LFW.
DEFAULT_THRESHOLD = 0.6


class IdentityEncoder:
    """Computes 128-d identity vectors from an image and a face's 68 landmarks."""

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        self._net = dlib.face_recognition_model_v1(str(model_path("identity")))

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Identity vector of one face.

        Args:
            image: RGB (H, W, 3) uint8.
            landmarks: (68, 2) frame coordinates.

        Returns:
            (128,) float32.
        """
        landmarks = check_array(np.asarray(landmarks), "landmarks", [68, 2])
        pts = [self._dlib.point(int(round(x)), int(round(y))) for x, y in landmarks]
        lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
        rect = self._dlib.rectangle(int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        shape = self._dlib.full_object_detection(rect, pts)
        # dlib takes only C-contiguous pixels (a frame turned upright by a view is not).
        return np.asarray(self._net.compute_face_descriptor(np.ascontiguousarray(image), shape), dtype=np.float32)


def identity_distance(vector: np.ndarray, references: np.ndarray) -> float:
    """Smallest Euclidean distance from ``vector`` (128,) to any of ``references`` (N, 128).

    >>> identity_distance(np.zeros(128), np.stack([np.ones(128), np.zeros(128)]))
    0.0
    """
    references = check_array(np.atleast_2d(references), "references", ["N", 128])
    return float(np.linalg.norm(references - vector, axis=1).min())
