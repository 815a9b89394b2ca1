"""Tests for facetwin.conversion.masks: landmark hulls, erosion and feathering, combining."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from facetwin.conversion.masks import combine_masks, landmark_hull_mask, refine_mask
from facetwin.errors import InvalidOptionError

CROP = 256


@pytest.fixture(scope="module")
def landmarks(astronaut_crop) -> torch.Tensor:
    """(1, 68, 2) float32 crop landmarks of the astronaut."""
    return torch.from_numpy(astronaut_crop[1]).float()[None]


def _rotated(points: torch.Tensor, degrees: float, centre: float) -> torch.Tensor:
    a = math.radians(degrees)
    rotation = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (points - centre) @ rotation.T + centre


def _centroid(mask: torch.Tensor) -> torch.Tensor:
    """(x, y) centre of mass of a (H, W) mask."""
    ys, xs = torch.meshgrid(torch.arange(mask.shape[0]), torch.arange(mask.shape[1]), indexing="ij")
    total = mask.sum()
    return torch.stack([(xs * mask).sum() / total, (ys * mask).sum() / total])


# landmark_hull_mask ---------------------------------------------------------------------


def test_hull_covers_the_face_and_not_the_corners(landmarks):
    mask = landmark_hull_mask(landmarks, CROP)
    assert mask.shape == (1, 1, CROP, CROP) and mask.dtype == torch.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    inner = landmarks[0, 27:].round().long()  # nose, eyes and mouth lie inside the hull
    assert (mask[0, 0, inner[:, 1], inner[:, 0]] == 1.0).all()
    assert mask[0, 0, [0, 0, -1, -1], [0, -1, 0, -1]].eq(0).all()


def _all_pairs_hull_lines(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The hull edges as facetwin found them before issue 19: every pair of points tested
    against every point, in float64. Kept here as the reference the faster hull must match."""
    p = points.to(torch.float64)
    rel = p[:, None, :, :] - p[:, :, None, :]
    ex, ey = rel[..., 0], rel[..., 1]
    length = torch.hypot(ex, ey)
    cross = ex[..., :, None] * ey[..., None, :] - ey[..., :, None] * ex[..., None, :]
    valid = (length > 1e-9) & (cross >= -1e-6 * length[..., None]).all(dim=-1)
    best, successor = torch.where(valid, length, -1.0).max(dim=-1)
    is_start = best > 0
    start = points
    end = torch.gather(points, 1, successor[..., None].expand(-1, -1, 2))
    edge = end - start
    norm = torch.hypot(edge[..., 0], edge[..., 1]).clamp_min(1e-12)
    a, b = edge[..., 1] / norm, -edge[..., 0] / norm
    c = torch.where(is_start, -(a * start[..., 0] + b * start[..., 1]), -math.inf)
    return torch.stack([a, b, c], dim=-1), is_start.any(dim=1)


@pytest.mark.parametrize("forehead", [0.0, 0.25])
def test_hull_mask_equals_the_all_pairs_hull(landmarks, forehead, monkeypatch):
    """The same masks as before the faster hull (issue 19): real landmarks, turned and
    scaled, and random clouds with points on the hull's edges (collinear ones)."""
    import facetwin.conversion.masks as masks

    rng = np.random.default_rng(0)
    clouds = [_rotated(landmarks[0], angle, CROP / 2) * scale for angle, scale in ((0, 1), (17, 0.8), (-40, 0.5))]
    for _ in range(5):
        cloud = torch.from_numpy(rng.uniform(20, 230, (68, 2))).float()
        cloud[:6] = torch.tensor(
            [[20.0, 20.0], [60.0, 20.0], [100.0, 20.0], [230.0, 20.0], [20.0, 90.0], [20.0, 160.0]]
        )
        clouds.append(cloud)
    batch = torch.stack(clouds)
    new = landmark_hull_mask(batch, CROP, forehead=forehead)
    monkeypatch.setattr(masks, "_hull_lines", _all_pairs_hull_lines)
    old = landmark_hull_mask(batch, CROP, forehead=forehead)
    torch.testing.assert_close(new, old, rtol=0, atol=2e-5)


def test_hull_mask_keeps_its_gradient(landmarks):
    points = landmarks.clone().requires_grad_(True)
    landmark_hull_mask(points, CROP).sum().backward()
    assert points.grad is not None and points.grad.abs().sum() > 0


def test_hull_matches_opencv(landmarks):
    """Area equals the polygon's (cv2.contourArea) and the raster OpenCV's fill."""
    mask = landmark_hull_mask(landmarks, CROP)[0, 0].numpy()
    hull = cv2.convexHull(landmarks[0].numpy())
    assert mask.sum() == pytest.approx(cv2.contourArea(hull), rel=0.01)
    filled = np.zeros((CROP, CROP), np.uint8)
    cv2.fillConvexPoly(filled, np.round(hull * 16).astype(np.int32), 1, cv2.LINE_8, shift=4)
    ours = mask >= 0.5
    iou = (ours & (filled > 0)).sum() / (ours | (filled > 0)).sum()
    assert iou > 0.98


def test_hull_is_batched(landmarks):
    moved = torch.cat([landmarks, landmarks * 0.8 + 10.0])
    batch = landmark_hull_mask(moved, CROP, forehead=0.2)
    for i in range(2):
        assert torch.equal(batch[i : i + 1], landmark_hull_mask(moved[i : i + 1], CROP, forehead=0.2))


def test_forehead_grows_up_along_a_tilted_face(landmarks):
    centre = (CROP - 1) / 2
    tilted = _rotated(landmarks, 35.0, centre) * 0.8 + 0.1 * centre
    plain = landmark_hull_mask(tilted, CROP)
    taller = landmark_hull_mask(tilted, CROP, forehead=0.3)
    assert torch.equal(landmark_hull_mask(tilted, CROP, forehead=0.0), plain)
    assert (taller >= plain - 1e-6).all()  # only ever adds
    grown = (taller - plain).clamp_min(0)[0, 0]
    assert grown.sum() > 0.1 * plain.sum()
    # The added region lies toward the face's own up (chin -> brows), not the image's.
    up = tilted[0, 17:27].mean(0) - tilted[0, 8]
    shift = _centroid(grown) - _centroid(plain[0, 0])
    cosine = torch.dot(up, shift) / (up.norm() * shift.norm())
    assert cosine > 0.97
    assert abs(math.degrees(math.atan2(shift[0], -shift[1]))) > 20  # clearly not image-up


def test_hull_keeps_dtype_and_is_differentiable(landmarks):
    # dlib's landmarks sit on whole pixels, so some jaw points are exactly collinear,
    # where the hull is not differentiable; a little noise moves off that set.
    noise = 0.01 * torch.randn(landmarks.shape, generator=torch.Generator().manual_seed(0))
    small = ((landmarks + noise).double() * (24 / CROP)).requires_grad_()
    mask = landmark_hull_mask(small, 24, forehead=0.2)
    assert mask.dtype == torch.float64
    assert torch.autograd.gradcheck(lambda p: landmark_hull_mask(p, 24, forehead=0.2), (small,))


def test_hull_of_coincident_points_is_empty():
    assert landmark_hull_mask(torch.full((1, 68, 2), 5.0), 16).sum() == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: landmark_hull_mask(torch.zeros(1, 5, 2), 64),
            "landmarks must be a tensor of shape (B, 68, 2), got shape (1, 5, 2)",
        ),
        (
            lambda: landmark_hull_mask(np.zeros((1, 68, 2)), 64),
            "landmarks must be a tensor of shape (B, 68, 2), got 'ndarray'",
        ),
        (lambda: landmark_hull_mask(torch.zeros(1, 68, 2), 0), "size must be >= 1, got 0"),
        (lambda: landmark_hull_mask(torch.zeros(1, 68, 2), 64.0), "size must be an int, got 64.0"),
        (lambda: landmark_hull_mask(torch.zeros(1, 68, 2), 64, forehead=-0.1), "forehead must be >= 0, got -0.1"),
    ],
)
def test_hull_rejects_bad_arguments(call, message):
    with pytest.raises(InvalidOptionError) as caught:
        call()
    assert str(caught.value) == message


# refine_mask ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hull(landmarks) -> torch.Tensor:
    return landmark_hull_mask(landmarks, CROP, forehead=0.1)


def test_erode_shrinks_and_dilate_grows(hull):
    area = hull.sum()
    eroded, grown = refine_mask(hull, erode=6), refine_mask(hull, erode=-6)
    assert (eroded <= hull + 1e-6).all() and (grown >= hull - 1e-6).all()
    # Shrinking by r takes about r times the perimeter off (and adding puts it on).
    pixels = (hull[0, 0] >= 0.5).nonzero().numpy()[:, ::-1].astype(np.float32)  # (x, y)
    perimeter = cv2.arcLength(cv2.convexHull(pixels), True)
    assert area - eroded.sum() == pytest.approx(6 * perimeter, rel=0.1)
    assert grown.sum() - area == pytest.approx(6 * perimeter, rel=0.1)


def test_erode_matches_a_disc_within_the_octagon_tolerance():
    """A disc of radius 40 eroded by 12 keeps about radius 28, as with OpenCV's ellipse."""
    disc = np.zeros((128, 128), np.uint8)
    cv2.circle(disc, (64, 64), 40, 1, -1)
    ours = refine_mask(torch.from_numpy(disc).float()[None, None], erode=12)[0, 0].numpy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (25, 25))
    reference = cv2.erode(disc, kernel)
    # The octagon holds the disc, so it erodes a little more (5.5 % of the radius on
    # average over directions): 27.3 pixels left instead of 27.9.
    assert ours.sum() == pytest.approx(reference.sum(), rel=0.06)
    assert ours.sum() < reference.sum()


def test_fractional_erode_lies_between_the_integers(hull):
    areas = [refine_mask(hull, erode=r).sum() for r in (3.0, 3.5, 4.0)]
    assert areas[0] > areas[1] > areas[2]


def test_feather_is_smooth_and_in_range(hull):
    hard = (hull >= 0.5).float()
    soft = refine_mask(hard, erode=4, feather=5.0)
    assert 0.0 <= soft.min() and soft.max() <= 1.0
    step = max((soft.diff(dim=-1)).abs().max(), (soft.diff(dim=-2)).abs().max())
    assert step < 1.0 / (5.0 * math.sqrt(2 * math.pi)) * 1.05  # a Gaussian edge's slope
    assert soft[0, 0, 128, 128] > 0.99 and soft[0, 0, 0, 0] == 0


def test_the_crop_edge_counts_as_background():
    full = torch.ones(1, 1, 32, 32)
    eroded = refine_mask(full, erode=3)
    assert eroded[..., :3, :].sum() == 0 and eroded[..., 3:-3, 3:-3].eq(1).all()
    # The edge pixel's centre is half a pixel inside the crop: a little over one half.
    assert 0.5 < refine_mask(full, feather=3.0)[0, 0, 16, 0] < 0.6


def test_refine_is_batched_and_keeps_identity(hull):
    batch = torch.cat([hull, hull.flip(-1), torch.zeros_like(hull)])
    out = refine_mask(batch, erode=-2.5, feather=2.0)
    for i in range(3):
        assert torch.allclose(out[i : i + 1], refine_mask(batch[i : i + 1], erode=-2.5, feather=2.0))
    assert torch.equal(refine_mask(hull), hull)


def test_refine_gradcheck():
    mask = torch.rand(2, 1, 10, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m: refine_mask(m, erode=1.5, feather=1.0), (mask,))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(mask=torch.zeros(1, 3, 8, 8)), "mask must be a tensor of shape (B, 1, H, W), got shape (1, 3, 8, 8)"),
        (
            dict(mask=torch.zeros(1, 1, 8, 8, dtype=torch.uint8)),
            "mask must be a floating-point tensor, got dtype torch.uint8",
        ),
        (dict(feather=-1.0), "feather must be >= 0, got -1.0"),
        (dict(erode="2"), "erode must be a number, got '2'"),
        (dict(erode=float("nan")), "erode must be a number, got nan"),
    ],
)
def test_refine_rejects_bad_arguments(kwargs, message):
    kwargs = {"mask": torch.zeros(1, 1, 8, 8)} | kwargs
    mask = kwargs.pop("mask")
    with pytest.raises(InvalidOptionError) as caught:
        refine_mask(mask, **kwargs)
    assert str(caught.value) == message


# combine_masks --------------------------------------------------------------------------


def test_combine_modes(hull):
    learned = torch.rand_like(hull)
    assert combine_masks(hull, learned, "hull") is hull
    assert combine_masks(None, learned, "learned") is learned
    assert combine_masks(hull, None, "hull") is hull
    both = combine_masks(hull, learned, "both")
    assert torch.equal(both, torch.minimum(hull, learned))
    assert (both <= hull).all() and (both <= learned).all()  # neither lets more through


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), "union"),
            "mode must be one of hull, learned, both, got 'union'",
        ),
        ((torch.zeros(1, 1, 4, 4), None, "both"), "learned must be a tensor of shape (1, 1, 4, 4), got 'NoneType'"),
        (
            (torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5), "both"),
            "learned must be a tensor of shape (1, 1, 4, 4), got shape (1, 1, 4, 5)",
        ),
        ((None, torch.zeros(1, 1, 4, 4), "hull"), "hull must be a tensor of shape (B, 1, H, W), got 'NoneType'"),
    ],
)
def test_combine_rejects_bad_arguments(args, message):
    with pytest.raises(InvalidOptionError) as caught:
        combine_masks(*args)
    assert str(caught.value) == message
