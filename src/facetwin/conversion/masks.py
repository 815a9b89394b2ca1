"""Face masks for conversion: where the swapped face replaces the original.

A conversion mask lives in aligned-crop space, float (B, 1, H, W) in [0, 1], 1 where
the swapped face is kept. It is drawn from the landmarks (``landmark_hull_mask``), or
predicted by the model, or both (``combine_masks``), then shrunk or grown and softened
(``refine_mask``) and faded out before the crop's edges (``fade_at_edges``) before
colour correction and blending.

Everything here is batched torch on any device: no loop over images in Python.
"""

from __future__ import annotations

import math
import typing

import torch
import torch.nn.functional as F

from facetwin._check import check_choice, check_number, check_range, check_tensor
from facetwin.config import MaskMode

__all__ = ["MASK_MODES", "MaskMode", "landmark_hull_mask", "refine_mask", "combine_masks", "fade_at_edges"]

#: The choices of ``combine_masks``.
MASK_MODES: tuple[str, ...] = typing.get_args(MaskMode)

# dlib 68-point scheme: the chin tip and the ten brow points.
_CHIN = 8
_BROWS = slice(17, 27)


def landmark_hull_mask(landmarks: torch.Tensor, size: int, *, forehead: float = 0.0) -> torch.Tensor:
    """Convex hull of the 68 landmarks, rasterised with an antialiased edge.

    With ``forehead > 0`` the ten brow points are copied and moved up along the face's
    own vertical axis (chin tip to the brows' centroid) by ``forehead`` times the
    brow-to-chin height, and the hull takes them in too; the axis comes from the face,
    not the image, so a tilted face grows along its own up direction.

    Each pixel's coverage is ``clamp(0.5 - d, 0, 1)`` with ``d`` its signed distance (in
    pixels, positive outside) to the hull's edges, so the edge is a one-pixel ramp and
    the mask is differentiable with respect to the landmarks.

    Args:
        landmarks: float (B, 68, 2) points (x, y) in crop pixels, dlib's 68-point order
            (0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth); any device.
        size: side of the square crop in pixels, >= 1.
        forehead: how far above the brows to extend, as a fraction of the brow-to-chin
            height; >= 0 (0.0 keeps the plain hull, 0.3 reaches well into the forehead).

    Returns:
        (B, 1, size, size) mask in [0, 1], dtype and device of ``landmarks``.

    Convention:
        (x, y) points with pixel centres on integers: pixel (row i, column j) is the
        point (j, i), and a hull edge through pixel centres gives those pixels 0.5.

    >>> angle = torch.linspace(0, 2 * math.pi, 69)[:68]
    >>> ring = torch.stack([16 + 10 * angle.cos(), 16 + 10 * angle.sin()], -1)[None]
    >>> mask = landmark_hull_mask(ring, 32)
    >>> tuple(mask.shape), mask[0, 0, 16, 16].item(), mask[0, 0, 0, 0].item()
    ((1, 1, 32, 32), 1.0, 0.0)
    """
    check_tensor(landmarks, "landmarks", ["B", 68, 2], floating=True)
    size = check_number(size, "size", integral=True)
    check_range(size, "size", low=1)
    forehead = check_number(forehead, "forehead")
    check_range(forehead, "forehead", low=0)

    points = landmarks
    if forehead > 0:
        brows = landmarks[:, _BROWS]
        # Chin tip -> brow centroid is the face's up axis, and its length the
        # brow-to-chin height, so ``forehead * axis`` is the requested lift.
        axis = brows.mean(dim=1, keepdim=True) - landmarks[:, _CHIN : _CHIN + 1]
        points = torch.cat([landmarks, brows + forehead * axis], dim=1)

    lines, has_hull = _hull_lines(points)  # (B, K, 3), (B,)
    coords = torch.arange(size, dtype=landmarks.dtype, device=landmarks.device)
    a, b, c = (lines[..., i, None, None] for i in range(3))  # each (B, K, 1, 1)
    # A convex polygon is the intersection of its edges' half-planes, so the largest
    # signed line distance is the polygon's signed distance (exact inside and beside
    # the edges, slightly short past sharp corners, which a 1-pixel ramp never sees).
    distance = (a * coords + b * coords[:, None] + c).amax(dim=1, keepdim=True)
    mask = (0.5 - distance).clamp(0.0, 1.0)
    # Points that all coincide have no edges; their hull is empty, not the whole crop.
    return mask * has_hull[:, None, None, None].to(mask.dtype)


def refine_mask(mask: torch.Tensor, *, erode: float = 0.0, feather: float = 0.0) -> torch.Tensor:
    """Erode (or dilate), then feather a mask: the original face swap's "smooth mask".

    Erosion by ``r`` pixels takes each pixel's minimum over an octagon of radius ``r``
    (dilation the maximum), built from ``r`` steps of 3x3 square and cross max-pools:
    O(r) work per pixel instead of O(r**2) for a disc. The octagon holds the disc of
    radius ``r`` and reaches at most 8 % further (between the axes and the diagonals),
    5.5 % on average. A fractional radius interpolates the two neighbouring integer
    radii, so the size can be tuned smoothly. Feathering is a separable Gaussian blur.

    Outside the crop counts as background for both steps: the swapped face ends at the
    crop's edge, so a mask reaching it must shrink and fade away from it, or the pasted
    crop's square outline would show in the frame.

    Args:
        mask: float (B, 1, H, W) in [0, 1]; any device.
        erode: pixels to shrink by; negative values grow the mask by that many pixels.
        feather: standard deviation of the Gaussian blur in pixels, >= 0 (0 = none).

    Returns:
        float (B, 1, H, W) in [0, 1], dtype and device of ``mask``.

    >>> square = torch.zeros(1, 1, 16, 16)
    >>> square[..., 4:12, 4:12] = 1.0
    >>> int(refine_mask(square, erode=2).sum())  # 8 x 8 -> 4 x 4
    16
    >>> int(refine_mask(square, erode=-1).sum())  # 10 x 10 less the corners: an octagon
    96
    >>> soft = refine_mask(square, feather=2.0)
    >>> 0.0 < soft[0, 0, 4, 8].item() < 1.0
    True
    """
    check_tensor(mask, "mask", ["B", 1, "H", "W"], floating=True)
    erode = check_number(erode, "erode")
    check_range(erode, "erode")  # rejects NaN
    feather = check_number(feather, "feather")
    check_range(feather, "feather", low=0)

    out = mask
    if erode > 0:
        # Erosion is dilation of the background; outside the crop is background (= 1).
        out = 1.0 - _dilate(1.0 - out, erode, outside=1.0)
    elif erode < 0:
        out = _dilate(out, -erode, outside=0.0)
    if feather > 0:
        out = _gaussian_blur(out, feather)
    return out.clamp(0.0, 1.0)


#: The narrowest fade at the model window's edge, as a fraction of the window's side.
MIN_EDGE_FADE = 0.1


def fade_at_edges(mask: torch.Tensor, width: float) -> torch.Tensor:
    """Multiply a crop's mask by a ramp that is 0 on the crop's border and 1 from ``width`` pixels in.

    The swapped face ends where the model's window ends. Feathering alone leaves a mask
    that reaches the window's edge at about half strength (the hull raised up the
    forehead, a dilated mask or a learned mask that covers the crop all reach it), and
    the pasted window's straight outline then shows in every frame. The ramp is a
    smoothstep of the distance to the nearest edge (from the pixel centres), so the
    mask always ends inside the window, with no kink where the ramp ends.

    Args:
        mask: float (B, 1, H, W) in [0, 1].
        width: pixels over which the mask rises from 0 at the edge, > 0.

    >>> faded = fade_at_edges(torch.ones(1, 1, 9, 9), 4.0)
    >>> [round(v, 3) for v in faded[0, 0, 4].tolist()]
    [0.0, 0.156, 0.5, 0.844, 1.0, 0.844, 0.5, 0.156, 0.0]
    """
    check_tensor(mask, "mask", ["B", 1, "H", "W"], floating=True)
    width = check_number(width, "width")
    check_range(width, "width", low=0, low_open=True)
    h, w = mask.shape[-2:]

    def ramp(n: int) -> torch.Tensor:
        index = torch.arange(n, dtype=mask.dtype, device=mask.device)
        t = (torch.minimum(index, n - 1 - index) / width).clamp(0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    return mask * (ramp(h)[:, None] * ramp(w)[None, :])


def combine_masks(hull: torch.Tensor | None, learned: torch.Tensor | None, mode: MaskMode) -> torch.Tensor:
    """Choose or combine the landmark hull and the model's learned mask.

    ``"both"`` takes the pixelwise minimum (the fuzzy intersection): a pixel is kept
    only where both masks keep it, so neither mask can let background through. The
    hull alone includes background wherever the face is not convex (beside the cheeks
    of a turned head) and the learned mask alone can bleed onto hair or hands the model
    never saw; each fails where the other is reliable. The minimum also keeps the
    softer of the two edges, so a feathered hull stays feathered.

    Args:
        hull: float (B, 1, H, W) in [0, 1], or None when ``mode`` is ``"learned"``.
        learned: float (B, 1, H, W) in [0, 1], or None when ``mode`` is ``"hull"``.
        mode: ``"hull"``, ``"learned"`` or ``"both"``.

    Returns:
        float (B, 1, H, W) in [0, 1]: the chosen mask, or the minimum of the two.

    >>> hull, learned = torch.full((1, 1, 2, 2), 0.8), torch.full((1, 1, 2, 2), 0.3)
    >>> round(combine_masks(hull, learned, "both")[0, 0, 0, 0].item(), 4)
    0.3
    """
    check_choice(mode, "mode", MASK_MODES)
    if mode == "learned":
        return check_tensor(learned, "learned", ["B", 1, "H", "W"], floating=True)
    check_tensor(hull, "hull", ["B", 1, "H", "W"], floating=True)
    if mode == "hull":
        return hull
    check_tensor(learned, "learned", list(hull.shape), floating=True)
    return torch.minimum(hull, learned.to(hull.dtype))


def _hull_lines(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lines (a, b, c) of the convex hull's edges, ``a x + b y + c`` > 0 outside.

    Returns (B, K, 3) lines (unused slots have c = -inf) and (B,) whether a hull exists
    (three points or more not on one line).
    """
    import cv2
    import numpy as np

    batch = points.shape[0]
    with torch.no_grad():
        # Which points are hull vertices is a discrete choice: OpenCV's convex hull makes it
        # (O(n log n) a face; the all-pairs test it replaced cost 2x the model's time), and
        # the lines below are fitted in torch so that gradients still reach the points.
        p = points.detach().to("cpu", torch.float32).numpy()
        hulls = []
        for face in p:
            index = cv2.convexHull(face, clockwise=False, returnPoints=False).reshape(-1)
            v = face[index].astype(np.float64)
            # Drop vertices on a straight line between their neighbours: one edge a side.
            before, after = np.roll(v, 1, axis=0) - v, np.roll(v, -1, axis=0) - v
            turn = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
            scale = np.hypot(*before.T) * np.hypot(*after.T)
            index = index[np.abs(turn) > 1e-6 * np.maximum(scale, 1e-12)]
            if len(index) >= 3:
                v = face[index].astype(np.float64)
                # Edges run so that the face lies to their left (a positive shoelace area).
                area = np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1])
                index = index if area > 0 else index[::-1]
            hulls.append(index if len(index) >= 3 else index[:0])
        keep = max([1] + [len(h) for h in hulls])  # at least one slot, so an empty hull rasterises
        starts = torch.zeros(batch, keep, dtype=torch.long)
        ends = torch.zeros(batch, keep, dtype=torch.long)
        used = torch.zeros(batch, keep, dtype=torch.bool)
        for i, index in enumerate(hulls):
            n = len(index)
            starts[i, :n] = torch.from_numpy(index.astype(np.int64))
            ends[i, :n] = torch.from_numpy(np.roll(index, -1).astype(np.int64))
            used[i, :n] = True
        starts, ends, used = (t.to(points.device) for t in (starts, ends, used))

    start = torch.gather(points, 1, starts[..., None].expand(-1, -1, 2))
    end = torch.gather(points, 1, ends[..., None].expand(-1, -1, 2))
    edge = end - start
    length = torch.hypot(edge[..., 0], edge[..., 1]).clamp_min(1e-12)
    a, b = edge[..., 1] / length, -edge[..., 0] / length
    c = -(a * start[..., 0] + b * start[..., 1])
    c = torch.where(used, c, torch.full_like(c, -math.inf))
    return torch.stack([a, b, c], dim=-1), used.any(dim=1)


def _dilate(mask: torch.Tensor, radius: float, *, outside: float) -> torch.Tensor:
    """Grey dilation by an octagon of ``radius`` pixels; ``outside`` fills beyond the edge."""
    low = math.floor(radius)
    frac = radius - low
    out = _dilate_integer(mask, low, outside)
    if frac > 0:
        out = torch.lerp(out, _dilate_integer(mask, low + 1, outside), frac)
    return out


def _dilate_integer(mask: torch.Tensor, radius: int, outside: float) -> torch.Tensor:
    if radius == 0:
        return mask
    # Squares reach sqrt(2) per step along the diagonals, crosses 1; this split makes
    # an octagon whose diagonal reach matches a disc of the same radius.
    squares = round(radius * (math.sqrt(2.0) - 1.0))
    out = F.pad(mask, (radius,) * 4, value=outside)
    for step in range(radius):
        if step < squares:
            out = F.max_pool2d(out, 3, stride=1, padding=1)
        else:
            out = torch.maximum(
                F.max_pool2d(out, (1, 3), stride=1, padding=(0, 1)),
                F.max_pool2d(out, (3, 1), stride=1, padding=(1, 0)),
            )
    return out[..., radius:-radius, radius:-radius]


def _gaussian_blur(mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, 1, H, W), zeros beyond the edge, 3 sigma support."""
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=mask.dtype, device=mask.device)
    kernel = torch.exp(-(x**2) / (2.0 * sigma**2))
    kernel = kernel / kernel.sum()
    out = F.conv2d(mask, kernel.view(1, 1, 1, -1), padding=(0, radius))
    return F.conv2d(out, kernel.view(1, 1, -1, 1), padding=(radius, 0))
