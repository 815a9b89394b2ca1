"""Blending the swapped face into the frame.

``alpha_blend`` is the batched torch blend with a feathered mask (a few milliseconds for
a 1080p frame). ``poisson_blend`` is gradient-domain cloning with OpenCV
(``cv2.seamlessClone``), which also evens out a remaining difference in lighting
between the face and its surroundings; it is numpy at the I/O edge, one frame at a time.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from facetwin._check import check_array, check_tensor

__all__ = ["alpha_blend", "poisson_blend"]

#: Frame pixels kept around the mask's bounding box for ``poisson_blend``. The Poisson
#: solve needs a ring of frame pixels outside the mask as its boundary condition, and
#: OpenCV erodes the mask a little internally; a few pixels more cost almost nothing.
_MARGIN = 8


def alpha_blend(frame: torch.Tensor, face: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``frame * (1 - mask) + face * mask``.

    Args:
        frame: float (B, 3, H, W) RGB in [0, 1], the picture the face goes into.
        face: float (B, 3, H, W) RGB in [0, 1], the swapped face already warped into
            frame coordinates.
        mask: float (B, 1, H, W) in [0, 1], 1 where the face is kept (usually refined
            with ``refine_mask`` and warped back with the face).

    Returns:
        float (B, 3, H, W) RGB in [0, 1], the dtype of ``frame``.

    >>> frame, face = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    >>> alpha_blend(frame, face, torch.full((1, 1, 2, 2), 0.25))[0, :, 0, 0]
    tensor([0.2500, 0.2500, 0.2500])
    """
    check_tensor(frame, "frame", ["B", 3, "H", "W"], floating=True)
    check_tensor(face, "face", list(frame.shape), floating=True)
    batch, _, height, width = frame.shape
    check_tensor(mask, "mask", [batch, 1, height, width], floating=True)
    return torch.lerp(frame, face.to(frame.dtype), mask.to(frame.dtype))


def poisson_blend(frame: np.ndarray, face: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Clone the masked face into the frame in the gradient domain (Perez et al. 2003).

    The output keeps the face's gradients inside the mask and meets the frame at the
    mask's border, so a difference in overall colour or brightness is spread smoothly
    over the face instead of showing as an edge. ``cv2.seamlessClone`` with
    ``NORMAL_CLONE`` does the work, with these differences from calling it directly:

    - It runs on the mask's bounding box plus a margin of 8 pixels, not the frame.
      OpenCV solves the Poisson equation over the whole destination image it is given
      (a transform of every pixel), so cropping makes a face in a 1080p frame several
      times faster and leaves the rest of the frame byte-identical.
    - Where that box would leave the frame, the frame and face are padded by reflection
      and the mask by zeros. The solver pins the outermost ring of its image to the
      destination, so a mask reaching the frame's edge would keep a line of frame
      pixels inside the face there (OpenCV 4.14 accepts such a mask without an error,
      which makes the kept line easy to miss). With the padding
      the mask never reaches that ring, and the reflected frame stands in for the
      frame beyond its edge: the face is still pulled toward the frame's colours at
      the edge, as everywhere along the mask's border, but no frame pixel is kept.
    - Outside the mask the frame is copied back exactly: the solver returns the frame
      there only up to float rounding (values off by one level).
    - An empty mask returns a copy of the frame; OpenCV would fail on it.
    - A copy of the mask is passed, because ``cv2.seamlessClone`` erodes the mask array
      it is given in place.

    The solver truncates rather than rounds its results (OpenCV's choice), so the
    cloned region is on average half a level darker than exact.

    Args:
        frame: uint8 (H, W, 3) RGB, the picture the face goes into.
        face: uint8 (H, W, 3) RGB, the swapped face already warped into frame
            coordinates (only its pixels inside the mask are used).
        mask: uint8 or bool (H, W); every nonzero pixel is inside. Threshold a feathered
            mask first (``mask >= 128`` for a uint8 one, ``>= 0.5`` for a float one).

    Returns:
        uint8 (H, W, 3) RGB, a new array.

    >>> frame = np.full((32, 32, 3), 100, np.uint8)
    >>> face = np.full((32, 32, 3), 200, np.uint8)
    >>> mask = np.zeros((32, 32), bool)
    >>> mask[8:24, 8:24] = True
    >>> out = poisson_blend(frame, face, mask)  # a flat face takes the frame's level
    >>> int(np.abs(out.astype(int) - 100).max()) <= 1
    True
    """
    check_array(frame, "frame", ["H", "W", 3], dtypes=[np.uint8])
    check_array(face, "face", list(frame.shape), dtypes=[np.uint8])
    check_array(mask, "mask", list(frame.shape[:2]), dtypes=[np.uint8, np.bool_])
    inside = mask != 0
    if not inside.any():
        return frame.copy()

    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    height, width = inside.shape
    # The ROI wanted: the bounding box grown by the margin, in frame coordinates, and
    # how much of it lies beyond each edge of the frame.
    top, bottom = rows[0] - _MARGIN, rows[-1] + 1 + _MARGIN
    left, right = cols[0] - _MARGIN, cols[-1] + 1 + _MARGIN
    pads = (max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width))
    y0, y1, x0, x1 = max(top, 0), min(bottom, height), max(left, 0), min(right, width)

    def roi(image: np.ndarray, border: int) -> np.ndarray:
        return cv2.copyMakeBorder(image[y0:y1, x0:x1], *pads, border, value=0)

    dst = roi(np.ascontiguousarray(frame), cv2.BORDER_REFLECT)
    src = roi(np.ascontiguousarray(face), cv2.BORDER_REFLECT)
    clone_mask = roi(inside.astype(np.uint8) * 255, cv2.BORDER_CONSTANT)
    # OpenCV places the mask's bounding box (x, y, w, h) of the source centred on p at
    # (x + w // 2, y + h // 2) in the destination; this p puts it back where it was.
    x, y, w, h = cv2.boundingRect(clone_mask)
    centre = (x + w // 2, y + h // 2)
    cloned = cv2.seamlessClone(src, dst, clone_mask.copy(), centre, cv2.NORMAL_CLONE)

    out = frame.copy()
    cloned = cloned[pads[0] : pads[0] + (y1 - y0), pads[2] : pads[2] + (x1 - x0)]
    keep = inside[y0:y1, x0:x1, None]
    out[y0:y1, x0:x1] = np.where(keep, cloned, frame[y0:y1, x0:x1])
    return out
