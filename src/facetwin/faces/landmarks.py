"""68-point facial landmarks with dlib's shape predictor (iBUG 300-W scheme)."""

from __future__ import annotations

import numpy as np

from facetwin._check import check_array
from facetwin.faces.models import model_path

__all__ = ["LandmarkPredictor"]


class LandmarkPredictor:
    """Predicts 68 landmarks inside a dlib-framed face box.

    The predictor is a cascade of regression trees: it starts from a mean shape placed
    in the box and refines it from pixel differences, so a box that is off by a few
    pixels (as when tracking from the previous frame) still converges.
    """

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(model_path("landmarks68")))

    def __call__(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Landmarks of the face in ``box``.

        Args:
            image: RGB (H, W, 3) or grey (H, W) uint8.
            box: (4,) ``x0, y0, x1, y1`` in pixels.

        Returns:
            (68, 2) float32 (x, y) frame coordinates.
        """
        box = check_array(np.asarray(box, dtype=np.float64), "box", [4])
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        rect = self._dlib.rectangle(x0, y0, x1 - 1, y1 - 1)
        shape = self._predictor(image, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
