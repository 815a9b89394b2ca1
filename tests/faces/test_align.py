"""Tests for facetwin.faces.align: similarity fits, crop matrices and crop warps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.transform

from facetwin.errors import InvalidOptionError
from facetwin.faces import create_detector
from facetwin.faces.align import (
    ALIGN_POINTS,
    MEAN_FACE,
    crop_from_frame,
    invert_affine,
    matrix_scale,
    transform_points,
    umeyama,
    warp_to_crop,
)


@pytest.fixture(scope="module")
def landmarks(astronaut, predictor) -> np.ndarray:
    """(68, 2) float64 landmarks of the astronaut's face, found by YuNet + dlib."""
    found = create_detector("yunet")(astronaut)
    assert len(found) == 1
    return predictor(astronaut, found.boxes[0]).astype(np.float64)


def _similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out = np.eye(3)
    out[:2, :2] = scale * rot
    out[:2, 2] = tx, ty
    return out


def _target(crop_size: int, coverage: float = 0.625) -> np.ndarray:
    return (MEAN_FACE - 0.5) * (crop_size * coverage) + (crop_size - 1) / 2


def _centroid(image: np.ndarray) -> np.ndarray:
    w = image.astype(np.float64)
    w = w.mean(axis=-1) if w.ndim == 3 else w
    ys, xs = np.mgrid[: w.shape[0], : w.shape[1]]
    return np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()


def _dot_frame(shape: tuple[int, ...], centre: np.ndarray, radius: float) -> np.ndarray:
    """Black frame with one anti-aliased white disc at a sub-pixel ``centre``."""
    frame = np.zeros(shape, np.uint8)
    c = tuple(int(v) for v in np.round(np.asarray(centre) * 256))
    colour = (255,) * (shape[2] if len(shape) == 3 else 1)
    cv2.circle(frame, c, int(radius * 256), colour, -1, cv2.LINE_AA, shift=8)
    return frame


# --- umeyama -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_umeyama_recovers_a_known_similarity(seed):
    rng = np.random.default_rng(seed)
    true = _similarity(rng.uniform(0.2, 5), rng.uniform(-180, 180), *rng.uniform(-300, 300, 2))
    src = rng.uniform(0, 500, (30, 2))
    dst = src @ true[:2, :2].T + true[:2, 2]
    fit = umeyama(src, dst)
    assert fit.shape == (3, 3) and fit.dtype == np.float64
    np.testing.assert_allclose(fit, true, atol=1e-9)


def test_umeyama_with_noise_matches_skimage(landmarks):
    rng = np.random.default_rng(1)
    true = _similarity(1.7, 25.0, 40.0, -12.0)
    dst = landmarks @ true[:2, :2].T + true[:2, 2] + rng.normal(0, 1.5, landmarks.shape)
    fit = umeyama(landmarks, dst)
    # Noise of 1.5 px over 68 points barely moves the fit...
    assert abs(matrix_scale(fit[:2]) - 1.7) < 0.02
    np.testing.assert_allclose(fit[:2, :2], true[:2, :2], atol=0.03)
    np.testing.assert_allclose(fit[:2, 2], true[:2, 2], atol=3.0)
    # ...and it is the same least-squares optimum that scikit-image computes.
    reference = skimage.transform.SimilarityTransform.from_estimate(landmarks, dst).params
    np.testing.assert_allclose(fit, reference, atol=1e-8)


def test_umeyama_is_least_squares_optimal(landmarks):
    target = _target(256)
    fit = umeyama(landmarks[ALIGN_POINTS], target)
    best = np.square(transform_points(landmarks[ALIGN_POINTS], fit[:2]) - target).sum()
    rng = np.random.default_rng(2)
    for _ in range(20):
        # Any other similarity (a general affine could fit better, so stay within them).
        ds, da, dx, dy = rng.normal(0, [0.01, 0.5, 0.5, 0.5])
        nudged = (_similarity(1 + ds, da, dx, dy) @ fit)[:2]
        worse = np.square(transform_points(landmarks[ALIGN_POINTS], nudged) - target).sum()
        assert worse > best


def test_umeyama_reflection_gives_a_proper_rotation():
    rng = np.random.default_rng(3)
    src = rng.uniform(-50, 50, (20, 2))
    dst = src * [-1.0, 1.0]  # mirror image: no rotation reproduces it
    fit = umeyama(src, dst)
    assert np.linalg.det(fit[:2, :2]) > 0
    rot = fit[:2, :2] / matrix_scale(fit[:2])
    np.testing.assert_allclose(rot @ rot.T, np.eye(2), atol=1e-12)
    # Same answer as scikit-image, which applies the same correction.
    reference = skimage.transform.SimilarityTransform.from_estimate(src, dst).params
    np.testing.assert_allclose(fit, reference, atol=1e-9)


def test_umeyama_rigid_has_unit_scale():
    rng = np.random.default_rng(4)
    src = rng.uniform(0, 100, (10, 2))
    true = _similarity(3.0, 40.0, 5.0, 7.0)
    dst = src @ true[:2, :2].T + true[:2, 2]
    fit = umeyama(src, dst, estimate_scale=False)
    assert matrix_scale(fit[:2]) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(fit[:2, :2], true[:2, :2] / 3.0, atol=1e-12)
    reference = skimage.transform.EuclideanTransform.from_estimate(src, dst).params
    np.testing.assert_allclose(fit, reference, atol=1e-9)


def test_umeyama_two_points_is_exact():
    src = np.array([[0.0, 0.0], [10.0, 0.0]])
    dst = np.array([[5.0, 5.0], [5.0, 25.0]])  # scale 2, rotate 90 degrees
    np.testing.assert_allclose(umeyama(src, dst), _similarity(2.0, 90.0, 5.0, 5.0), atol=1e-12)


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [
        (np.zeros((5, 3)), np.zeros((5, 2)), "src must be an array of shape (N, 2), got shape (5, 3)"),
        (np.zeros((5, 2)), np.zeros((4, 2)), "dst must be an array of shape (5, 2), got shape (4, 2)"),
        (np.zeros((1, 2)), np.zeros((1, 2)), "number of points must be >= 2, got 1"),
    ],
)
def test_umeyama_errors(src, dst, message):
    with pytest.raises(InvalidOptionError) as info:
        umeyama(src, dst)
    assert str(info.value) == message


# --- crop_from_frame ---------------------------------------------------------------


def test_crop_from_frame_maps_real_landmarks_onto_the_mean_face(landmarks):
    matrix = crop_from_frame(landmarks)
    assert matrix.shape == (2, 3) and matrix.dtype == np.float64
    mapped = transform_points(landmarks[ALIGN_POINTS], matrix)
    target = _target(256)
    span = 256 * 0.625  # pixels spanned by the mean face
    error = np.linalg.norm(mapped - target, axis=1)
    # A real smiling face is not the mean face, but it lies within a few percent.
    assert error.mean() < 0.06 * span
    assert error.max() < 0.16 * span
    for eye in (slice(19, 25), slice(25, 31)):  # eye rings in ALIGN_POINTS order
        assert np.linalg.norm(mapped[eye].mean(0) - target[eye].mean(0)) < 0.05 * span
    # Eyes end up level, left of centre and right of centre, above the mouth.
    left, right, mouth = mapped[19:25].mean(0), mapped[25:31].mean(0), mapped[31:51].mean(0)
    assert abs(left[1] - right[1]) < 2.0
    assert left[0] < 127.5 < right[0] and mouth[1] > left[1] + 60


def test_crop_from_frame_scales_with_crop_size_and_coverage(landmarks):
    base = crop_from_frame(landmarks, crop_size=256)
    # Doubling the crop doubles crop coordinates about the pixel-centre convention:
    # x_512 = 2 * x_256 + 0.5.
    double = np.array([[2.0, 0, 0.5], [0, 2.0, 0.5], [0, 0, 1]])
    np.testing.assert_allclose(
        crop_from_frame(landmarks, crop_size=512), (double @ np.vstack([base, [0, 0, 1]]))[:2], atol=1e-9
    )
    assert matrix_scale(crop_from_frame(landmarks, coverage=0.3125)) == pytest.approx(matrix_scale(base) / 2, rel=1e-9)


def test_crop_from_frame_uses_only_non_jaw_points(landmarks):
    moved = landmarks.copy()
    moved[:17] += 40.0  # the jaw line must not tilt or shift the crop
    np.testing.assert_allclose(crop_from_frame(moved), crop_from_frame(landmarks), atol=1e-12)


def test_crop_from_frame_follows_a_moved_face(landmarks):
    move = _similarity(0.5, 30.0, 100.0, -20.0)
    moved = transform_points(landmarks, move[:2])
    composed = (np.vstack([crop_from_frame(landmarks), [0, 0, 1]]) @ np.linalg.inv(move))[:2]
    np.testing.assert_allclose(crop_from_frame(moved), composed, atol=1e-9)


@pytest.mark.parametrize(
    ("landmarks", "kwargs", "message"),
    [
        (np.zeros((5, 2)), {}, "landmarks must be an array of shape (68, 2), got shape (5, 2)"),
        (np.zeros((68, 3)), {}, "landmarks must be an array of shape (68, 2), got shape (68, 3)"),
        (np.zeros((2, 68, 2)), {}, "landmarks must be an array of shape (68, 2), got shape (2, 68, 2)"),
        (np.zeros((68, 2)), {"crop_size": 4}, "crop_size must be >= 8, got 4"),
        (np.zeros((68, 2)), {"coverage": 0}, "coverage must be > 0 and <= 1.5, got 0"),
        (np.zeros((68, 2)), {"coverage": 2.0}, "coverage must be > 0 and <= 1.5, got 2.0"),
        (np.zeros((68, 2)), {"coverage": float("nan")}, "coverage must be > 0 and <= 1.5, got nan"),
    ],
)
def test_crop_from_frame_errors(landmarks, kwargs, message):
    with pytest.raises(InvalidOptionError) as info:
        crop_from_frame(landmarks, **kwargs)
    assert str(info.value) == message


# --- invert_affine, transform_points -----------------------------------------------


def test_round_trip_to_crop_and_back_to_frame(landmarks):
    matrix = crop_from_frame(landmarks, crop_size=256)
    in_crop = transform_points(landmarks, matrix)
    back = transform_points(in_crop, invert_affine(matrix))
    np.testing.assert_allclose(back, landmarks, atol=1e-6)


def test_invert_affine_matches_opencv(landmarks):
    matrix = crop_from_frame(landmarks)
    np.testing.assert_allclose(invert_affine(matrix), cv2.invertAffineTransform(matrix), atol=1e-12)
    np.testing.assert_allclose(invert_affine(invert_affine(matrix)), matrix, atol=1e-10)


def test_transform_points_matches_opencv(landmarks):
    matrix = crop_from_frame(landmarks)
    reference = cv2.transform(landmarks[None], matrix)[0]
    out = transform_points(landmarks, matrix)
    assert out.shape == (68, 2) and out.dtype == np.float64
    np.testing.assert_allclose(out, reference, atol=1e-9)
    assert transform_points(np.zeros((0, 2)), matrix).shape == (0, 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: invert_affine(np.eye(3)),
            "matrix must be an array of shape (2, 3), got shape (3, 3)",
        ),
        (
            lambda: transform_points(np.zeros((4, 3)), np.eye(3)[:2]),
            "points must be an array of shape (N, 2), got shape (4, 3)",
        ),
        (
            lambda: transform_points(np.zeros((4, 2)), np.eye(2)),
            "matrix must be an array of shape (2, 3), got shape (2, 2)",
        ),
    ],
)
def test_matrix_helpers_errors(call, message):
    with pytest.raises(InvalidOptionError) as info:
        call()
    assert str(info.value) == message


# --- warp_to_crop ------------------------------------------------------------------


@pytest.mark.parametrize("crop_size", [64, 256])
def test_warp_to_crop_equals_opencv_when_not_shrinking(astronaut, landmarks, crop_size):
    matrix = crop_from_frame(landmarks, crop_size=crop_size)
    assert matrix_scale(matrix) >= 0.5
    crop = warp_to_crop(astronaut, matrix, crop_size)
    # Bicubic when enlarging, bilinear when shrinking (warp_to_crop's documented choice).
    flags = cv2.INTER_CUBIC if matrix_scale(matrix) > 1 else cv2.INTER_LINEAR
    reference = cv2.warpAffine(astronaut, matrix, (crop_size, crop_size), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    assert crop.shape == (crop_size, crop_size, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, reference)


def test_warp_to_crop_grey_frame(astronaut, landmarks):
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    matrix = crop_from_frame(landmarks, crop_size=32)
    crop = warp_to_crop(grey, matrix, 32)
    assert crop.shape == (32, 32) and crop.dtype == np.uint8
    colour = cv2.cvtColor(warp_to_crop(astronaut, matrix, 32), cv2.COLOR_RGB2GRAY)
    assert np.abs(crop.astype(int) - colour).max() <= 2  # same geometry, only rounding


def test_warp_to_crop_strong_downscale_is_area_averaged(astronaut, landmarks):
    size, factor = 32, 8
    matrix = crop_from_frame(landmarks, crop_size=size)
    assert matrix_scale(matrix) < 0.5  # the pre-shrink path
    # Reference: warp at 8x the size (no shrinking there), then area-average down.
    big = crop_from_frame(landmarks, crop_size=size * factor)
    assert matrix_scale(big) >= 1.0
    sharp = cv2.warpAffine(astronaut, big, (size * factor,) * 2, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    reference = cv2.resize(sharp, (size, size), interpolation=cv2.INTER_AREA).astype(np.float64)
    crop = warp_to_crop(astronaut, matrix, size)
    assert crop.shape == (size, size, 3)
    diff = np.abs(crop - reference).mean()
    naive = cv2.warpAffine(astronaut, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    assert diff < 3.0
    assert diff < 0.6 * np.abs(naive - reference).mean()  # plain warping aliases


def test_warp_to_crop_strong_downscale_removes_aliasing():
    # A one-pixel checkerboard is uniform grey at a fifth of the size; a warp that
    # skips pixels turns it into a moire of near-black and near-white.
    yy, xx = np.mgrid[:400, :400]
    board = (((xx + yy) % 2) * 255).astype(np.uint8)
    matrix = np.array([[0.2, 0.0, 0.0], [0.0, 0.2, 0.0]])
    crop = warp_to_crop(board, matrix, 64)
    assert abs(crop.mean() - 127.5) < 3 and crop.std() < 4
    naive = cv2.warpAffine(board, matrix, (64, 64), flags=cv2.INTER_CUBIC)
    assert naive.std() > 40


@pytest.mark.parametrize("crop_size", [20, 32, 48, 96, 256])
@pytest.mark.parametrize("point", [30, 36, 45, 48, 54])
def test_warp_to_crop_puts_a_landmark_where_transform_points_says(landmarks, crop_size, point):
    matrix = crop_from_frame(landmarks, crop_size=crop_size)
    frame = _dot_frame((512, 512, 3), landmarks[point], radius=12)
    crop = warp_to_crop(frame, matrix, crop_size)
    expected = transform_points(landmarks[point : point + 1], matrix)[0]
    # A half-pixel error in the pre-shrink's pixel-centre maths would show as ~0.5 px.
    np.testing.assert_allclose(_centroid(crop), expected, atol=0.1)


def test_warp_to_crop_replicates_the_border():
    frame = np.full((100, 100, 3), 200, np.uint8)
    matrix = np.array([[1.0, 0, 50], [0, 1.0, 50]])  # half the crop lies outside
    crop = warp_to_crop(frame, matrix, 100)
    assert (crop == 200).all()


RGB8 = np.zeros((8, 8, 3), np.uint8)


@pytest.mark.parametrize(
    ("frame", "matrix", "crop_size", "message"),
    [
        (RGB8, np.eye(3), 8, "matrix must be an array of shape (2, 3), got shape (3, 3)"),
        (RGB8, np.eye(3)[:2], 0, "crop_size must be >= 1, got 0"),
        (RGB8, np.zeros((2, 3)), 8, "scale of matrix must be > 0, got 0.0"),
        (RGB8.astype(np.float32), np.eye(3)[:2], 8, "frame must be of dtype uint8, got dtype float32"),
        (np.zeros(8, np.uint8), np.eye(3)[:2], 8, "frame must be an array of shape (H, W, C), got shape (8,)"),
    ],
)
def test_warp_to_crop_errors(frame, matrix, crop_size, message):
    with pytest.raises(InvalidOptionError) as info:
        warp_to_crop(frame, matrix, crop_size)
    assert str(info.value) == message


def test_matrix_scale(landmarks):
    assert matrix_scale(_similarity(2.5, 33.0, 1.0, 2.0)[:2]) == pytest.approx(2.5, rel=1e-12)
    matrix = crop_from_frame(landmarks)
    fitted, _ = cv2.estimateAffinePartial2D(landmarks, transform_points(landmarks, matrix))
    reference = np.hypot(*fitted[:, 0])
    assert matrix_scale(matrix) == pytest.approx(reference, rel=1e-6)
