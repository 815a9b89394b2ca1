"""Tests for facetwin.data.augment: batched random transform, random warp and colour jitter."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from facetwin.data import AugmentConfig, Augmented, augment_batch, umeyama_batched
from facetwin.errors import InvalidOptionError
from facetwin.faces.align import umeyama

SIDE = 256
CENTRE = (SIDE - 1) / 2
#: Everything random switched off: the target is a plain resize of the central region.
OFF = dict(rotation=0.0, zoom=0.0, shift=0.0, flip=0.0, warp_sigma=0.0)


@pytest.fixture(scope="module")
def crop(astronaut) -> np.ndarray:
    """RGB uint8 (256, 256, 3): the astronaut portrait at crop size."""
    return cv2.resize(astronaut, (SIDE, SIDE), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def crops(crop, grace_hopper) -> torch.Tensor:
    """uint8 (8, 256, 256, 3): two portraits, each plain, mirrored, rolled and darkened."""
    h, w = grace_hopper.shape[:2]
    top = (h - w) // 2
    hopper = cv2.resize(grace_hopper[top : top + w], (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    faces = []
    for face in (crop, hopper):
        faces += [face, face[:, ::-1], np.roll(face, 9, axis=1), face // 2]
    return torch.from_numpy(np.ascontiguousarray(np.stack(faces)))


def _run(images: torch.Tensor, size: int = 64, seed: int = 0, **config: float) -> Augmented:
    generator = torch.Generator().manual_seed(seed)
    return augment_batch(images, size=size, config=AugmentConfig(**config), generator=generator)


def _blobs(centres: np.ndarray, side: int = SIDE, sigma: float = 4.0) -> torch.Tensor:
    """float32 (B, K, side, side) Gaussian dots at ``centres`` (B, K, 2) pixel (x, y)."""
    axis = torch.arange(side, dtype=torch.float32)
    c = torch.as_tensor(centres, dtype=torch.float32)
    dx = axis - c[..., 0, None]  # (B, K, side)
    dy = axis - c[..., 1, None]
    gx, gy = torch.exp(-0.5 * (dx / sigma) ** 2), torch.exp(-0.5 * (dy / sigma) ** 2)
    return gy[..., :, None] * gx[..., None, :]


def _centroids(maps: torch.Tensor) -> np.ndarray:
    """(B, K, 2) intensity centroids (x, y) of each channel of (B, K, H, W) maps."""
    w = maps.double()
    ys = torch.arange(w.shape[-2], dtype=torch.float64)[:, None]
    xs = torch.arange(w.shape[-1], dtype=torch.float64)
    total = w.sum(dim=(-2, -1))
    x = (w * xs).sum(dim=(-2, -1)) / total
    y = (w * ys).sum(dim=(-2, -1)) / total
    return torch.stack([x, y], dim=-1).numpy()


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(B, 2, 3) matrices applied to (B, K, 2) points."""
    return np.einsum("bij,bkj->bki", matrix[:, :, :2], points) + matrix[:, None, :, 2]


def _in_disc(rng: np.random.Generator, shape: tuple[int, ...], radius: float) -> np.ndarray:
    """Points (shape..., 2) uniform in a disc of ``radius`` about the crop centre."""
    r = radius * np.sqrt(rng.uniform(size=shape))
    a = rng.uniform(0, 2 * np.pi, size=shape)
    return np.stack([CENTRE + r * np.cos(a), CENTRE + r * np.sin(a)], axis=-1)


def _dot_images(centres: np.ndarray) -> torch.Tensor:
    """uint8 (B, 256, 256, 3): black crops with one dot per colour channel."""
    blobs = _blobs(centres)  # (B, 3, H, W)
    return (blobs * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


# --- shapes, dtypes, determinism ------------------------------------------------------


@pytest.mark.parametrize("size", [64, 128])
@pytest.mark.parametrize("layout", ["uint8_hwc", "float_chw"])
def test_shapes_dtypes_and_ranges(crops, size, layout):
    images = crops if layout == "uint8_hwc" else crops.permute(0, 3, 1, 2).float() / 255
    extra = torch.rand(len(crops), 2, SIDE, SIDE)
    out = augment_batch(
        images,
        size=size,
        config=AugmentConfig(),
        generator=torch.Generator().manual_seed(1),
        extra=extra,
    )
    b = len(crops)
    for image in (out.warped, out.target):
        assert image.shape == (b, 3, size, size)
        assert image.dtype == torch.float32
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert image.std() > 0.05  # real picture content, not a flat border
    assert out.target_extra.shape == (b, 2, size, size)
    assert out.target_extra.dtype == torch.float32
    assert out.target_from_crop.shape == (b, 2, 3)
    assert out.warp_points.shape == (b, 5, 5, 2)
    assert out.angle.shape == out.scale.shape == out.flipped.shape == (b,)
    assert out.shift.shape == (b, 2)
    assert out.flipped.dtype == torch.bool
    assert _run(crops, size=size).target_extra is None


def test_uint8_and_float_inputs_agree(crops):
    a = _run(crops, seed=3)
    b = _run(crops.permute(0, 3, 1, 2).float() / 255, seed=3)
    torch.testing.assert_close(a.warped, b.warped, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.target, b.target, atol=1e-5, rtol=0)


def test_same_seed_same_batch_different_seed_different(crops):
    a, b, c = _run(crops, seed=7), _run(crops, seed=7), _run(crops, seed=8)
    assert torch.equal(a.warped, b.warped) and torch.equal(a.target, b.target)
    assert torch.equal(a.target_from_crop, b.target_from_crop)
    assert (a.warped - c.warped).abs().mean() > 0.02
    assert (a.target - c.target).abs().mean() > 0.02


# --- reference values ------------------------------------------------------------------


@pytest.mark.parametrize("size", [64, 128, 50])
def test_without_randomness_target_is_resize_of_central_region(crop, size):
    out = _run(torch.from_numpy(crop)[None], size=size, **OFF)
    # The 5x5 grid spans the central 160 of 256 pixels edge to edge: pixels 48..207.
    expected = cv2.resize(crop[48:208, 48:208], (size, size), interpolation=cv2.INTER_LINEAR)
    target = out.target[0].permute(1, 2, 0).numpy() * 255
    diff = np.abs(target - expected)
    assert diff.mean() < 0.3 and diff.max() < 2.0  # cv2 uses 11-bit fixed-point weights
    # No warp noise: the warped input is the target.
    torch.testing.assert_close(out.warped, out.target, atol=1e-4, rtol=0)
    scale = size / 160
    reference = np.array([[scale, 0, 0.5 * scale - 0.5 - 48 * scale], [0, scale, 0]])
    reference[1, 2] = reference[0, 2]
    np.testing.assert_allclose(out.target_from_crop[0].numpy(), reference, atol=1e-4)


def test_full_coverage_without_randomness_is_plain_resize(crop):
    out = _run(torch.from_numpy(crop)[None], size=64, warp_coverage=1.0, **OFF)
    expected = cv2.resize(crop, (64, 64), interpolation=cv2.INTER_LINEAR)
    diff = np.abs(out.target[0].permute(1, 2, 0).numpy() * 255 - expected)
    assert diff.mean() < 0.3 and diff.max() < 2.0


def _transform_reference(out: Augmented, side: int = SIDE) -> np.ndarray:
    """(B, 3, 3) random transforms rebuilt from the drawn values with OpenCV."""
    mats = []
    for angle, scale, (tx, ty), flipped in zip(
        out.angle.tolist(), out.scale.tolist(), out.shift.tolist(), out.flipped.tolist()
    ):
        m = np.eye(3)
        m[:2] = cv2.getRotationMatrix2D(((side - 1) / 2, (side - 1) / 2), angle, scale)
        m[:2, 2] += tx, ty
        if flipped:
            m = np.array([[-1.0, 0, side - 1], [0, 1, 0], [0, 0, 1]]) @ m
        mats.append(m)
    return np.stack(mats)


@pytest.mark.parametrize("size", [64, 128])
def test_outputs_match_the_seeds_recipe(crops, size):
    """Warped = cv2.remap through the 5x5 grid resized to 1.25 size and cropped; target =
    cv2.warpAffine with the Umeyama fit of the noisy grid onto the regular grid."""
    out = _run(crops, size=size, seed=5)
    transforms = _transform_reference(out)
    points = out.warp_points.double().numpy()  # (B, 5, 5, 2) in source crop pixels
    big, offset = size * 5 // 4, size // 8
    nodes = np.arange(5) * size / 4 - 0.5
    regular_out = np.stack(np.meshgrid(nodes, nodes), axis=-1).reshape(-1, 2)
    axis = np.linspace(-80, 80, 5) + CENTRE
    regular_crop = np.stack(np.meshgrid(axis, axis), axis=-1)
    noise = []
    for i, image in enumerate(crops.numpy()):
        window = slice(offset, offset + size)
        mapx = cv2.resize(points[i, ..., 0], (big, big))[window, window].astype(np.float32)
        mapy = cv2.resize(points[i, ..., 1], (big, big))[window, window].astype(np.float32)
        warped = cv2.remap(image, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        diff = np.abs(out.warped[i].permute(1, 2, 0).numpy() * 255 - warped)
        assert diff.mean() < 0.5 and np.percentile(diff, 99) < 3.0

        noisy = (transforms[i, :2, :2] @ points[i].reshape(-1, 2).T).T + transforms[i, :2, 2]
        noise.append(noisy - regular_crop.reshape(-1, 2))
        matrix = (umeyama(noisy, regular_out) @ transforms[i])[:2]
        np.testing.assert_allclose(out.target_from_crop[i].numpy(), matrix, atol=2e-3)
        target = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        diff = np.abs(out.target[i].permute(1, 2, 0).numpy() * 255 - target)
        assert diff.mean() < 0.5 and np.percentile(diff, 99) < 3.0
    # The grid noise is Gaussian with sigma 5 px at 256 (400 draws: std within 15 %).
    noise = np.concatenate(noise)
    assert abs(noise.mean()) < 1.0 and 4.25 < noise.std() < 5.75


# --- geometry -------------------------------------------------------------------------


def test_dots_land_where_the_similarity_says_and_warped_agrees_with_target():
    rng = np.random.default_rng(0)
    b = 16
    # Three dots per crop (one per colour channel) in the central face region, where
    # the warp grid is; extra holds six more dots as float maps. The discs keep every
    # dot whole inside the 64 px target under the largest rotation, zoom and shift.
    dots, more = _in_disc(rng, (b, 3), 36.0), _in_disc(rng, (b, 6), 40.0)
    generator = torch.Generator().manual_seed(11)
    out = augment_batch(
        _dot_images(dots),
        size=64,
        config=AugmentConfig(),
        generator=generator,
        extra=_blobs(more),
    )
    # (a) the target geometry is exactly the returned similarity.
    matrix = out.target_from_crop.double().numpy()
    error = np.linalg.norm(_centroids(out.target_extra) - _apply(matrix, more), axis=-1)
    assert error.max() < 0.02
    error = np.linalg.norm(_centroids(out.target) - _apply(matrix, dots), axis=-1)
    assert error.max() < 0.03  # uint8 dots: a little rounding

    # (b) in the warped input the dots sit within the warp noise of their target place
    # (sigma 5 px at 256 is 2 px at 64), far closer than in another sample's target.
    in_warped, in_target = _centroids(out.warped), _centroids(out.target)
    related = np.linalg.norm(in_warped - in_target, axis=-1).mean()
    unrelated = np.linalg.norm(in_warped - np.roll(in_target, 1, axis=0), axis=-1).mean()
    assert 0.5 < related < 2.5  # measured 1.2 to 1.5 over seeds
    assert unrelated > 4 * related  # measured 14 to 17

    # Same dots, no warp noise: warped and target agree to a fraction of a pixel.
    still = augment_batch(
        _dot_images(dots),
        size=64,
        config=AugmentConfig(warp_sigma=0.0),
        generator=torch.Generator().manual_seed(11),
    )
    assert np.abs(_centroids(still.warped) - _centroids(still.target)).max() < 0.05


def test_same_face_in_another_sample_is_not_aligned(crop):
    """A dot on one face, the whole batch the same crop: related pairs beat unrelated ones."""
    dots = np.tile([[30, -20], [-35, 10], [0, 40]], (32, 1, 1)) + CENTRE
    out = _run(_dot_images(dots), seed=4)
    in_warped, in_target = _centroids(out.warped), _centroids(out.target)
    related = np.linalg.norm(in_warped - in_target, axis=-1).mean()
    unrelated = np.linalg.norm(in_warped - np.roll(in_target, 1, axis=0), axis=-1).mean()
    assert related < 2.5 and unrelated > 4 * related  # measured about 1.5 and 11 to 15


def test_flip_mirrors_the_target(crop):
    images = torch.from_numpy(crop)[None].repeat(2, 1, 1, 1)
    plain = _run(images, **OFF)
    flipped = _run(images, **{**OFF, "flip": 1.0})
    assert flipped.flipped.all() and not plain.flipped.any()
    torch.testing.assert_close(flipped.target, plain.target.flip(-1), atol=1e-4, rtol=0)
    torch.testing.assert_close(flipped.warped, plain.warped.flip(-1), atol=1e-4, rtol=0)
    dot = _dot_images(np.array([[[CENTRE + 40, CENTRE - 20]] * 3]))
    found = _centroids(_run(dot, **{**OFF, "flip": 1.0}).target)[0, 0]
    np.testing.assert_allclose(found, [31.5 - 16, 31.5 - 8], atol=0.05)


def test_flip_probability():
    images = torch.zeros(400, 3, 8, 8)
    out = _run(images, size=8, flip=0.4)
    assert 0.33 < out.flipped.float().mean() < 0.47


def test_rotation_turns_counter_clockwise_for_positive_angles():
    # A dot 40 px right of the centre; at 64 px the crop is scaled by 64 / 160.
    dot = _dot_images(np.tile([[CENTRE + 40, CENTRE]], (16, 3, 1)))
    out = _run(dot, **{**OFF, "rotation": 10.0})
    assert (out.angle > 0).any() and (out.angle < 0).any()
    x, y = (_centroids(out.target)[:, 0] - 31.5).T
    measured = np.degrees(np.arctan2(-y, x))  # y points down: up on screen is -y
    np.testing.assert_allclose(measured, out.angle.numpy(), atol=0.3)
    np.testing.assert_allclose(np.hypot(x, y), 16.0, atol=0.05)
    # The same as OpenCV's getRotationMatrix2D, which the seeds used.
    source = np.tile([[CENTRE + 40, CENTRE]], (16, 1, 1))
    reference = (_apply(_transform_reference(out)[:, :2], source)[:, 0] - CENTRE) * 0.4
    np.testing.assert_allclose(np.stack([x, y], axis=-1), reference, atol=0.05)


def test_zoom_and_shift_move_the_dot_as_drawn():
    dot = _dot_images(np.tile([[CENTRE + 40, CENTRE]], (16, 3, 1)))
    out = _run(dot, **{**OFF, "zoom": 0.05, "shift": 0.05})
    assert 0.95 <= out.scale.min() and out.scale.max() <= 1.05
    assert out.shift.abs().max() <= 0.05 * SIDE
    found = _centroids(out.target)[:, 0]
    expected_x = 31.5 + 0.4 * (40 * out.scale.numpy() + out.shift[:, 0].numpy())
    expected_y = 31.5 + 0.4 * out.shift[:, 1].numpy()
    np.testing.assert_allclose(found, np.stack([expected_x, expected_y], -1), atol=0.05)


# --- batched Umeyama --------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 25, 51])
def test_umeyama_batched_matches_numpy(n):
    rng = np.random.default_rng(n)
    src = rng.normal(size=(32, n, 2)) * 50
    dst = rng.normal(size=(32, n, 2)) * 30 + 10
    # Half the batch: a noisy similarity; the other half a mirror image, where the best
    # orthogonal fit is a reflection and the correction must kick in.
    angle = rng.uniform(-np.pi, np.pi, 16)
    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.stack([[cos, -sin], [sin, cos]]).transpose(2, 0, 1)
    dst[:16] = 1.7 * src[:16] @ rot.transpose(0, 2, 1) + [5, -3] + rng.normal(size=(16, n, 2))
    dst[16:24] = src[16:24] * [-1, 1] + rng.normal(size=(8, n, 2)) * 0.1
    got = umeyama_batched(torch.from_numpy(src), torch.from_numpy(dst))
    assert got.dtype == torch.float64 and got.shape == (32, 3, 3)
    expected = np.stack([umeyama(s, d) for s, d in zip(src, dst)])
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-8)
    assert (np.linalg.det(got.numpy()[:, :2, :2]) > 0).all()
    rigid = umeyama_batched(torch.from_numpy(src), torch.from_numpy(dst), estimate_scale=False)
    expected = np.stack([umeyama(s, d, estimate_scale=False) for s, d in zip(src, dst)])
    np.testing.assert_allclose(rigid.numpy(), expected, atol=1e-8)


def test_umeyama_batched_round_trip_and_float32():
    rng = np.random.default_rng(1)
    src = torch.from_numpy(rng.uniform(0, 256, size=(4, 25, 2)).astype(np.float32))
    m = torch.tensor([[0.4, -0.1, -20.0], [0.1, 0.4, -15.0]])
    dst = src @ m[:, :2].T + m[:, 2]
    got = umeyama_batched(src, dst)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got[:, :2], m.expand(4, 2, 3), atol=1e-4, rtol=1e-4)
    back = umeyama_batched(dst, src)
    torch.testing.assert_close(back @ got, torch.eye(3).expand(4, 3, 3), atol=1e-4, rtol=1e-4)


def test_umeyama_batched_gradcheck():
    rng = np.random.default_rng(2)
    src = torch.from_numpy(rng.normal(size=(2, 5, 2))).requires_grad_()
    dst = torch.from_numpy(rng.normal(size=(2, 5, 2))).requires_grad_()
    assert torch.autograd.gradcheck(umeyama_batched, (src, dst))


def test_umeyama_batched_rejects_bad_points():
    message = r"src must be a tensor of shape \(B, N, 2\), got shape \(4, 3\)"
    with pytest.raises(InvalidOptionError, match=message):
        umeyama_batched(torch.zeros(4, 3), torch.zeros(4, 3))
    message = r"dst must be a tensor of shape \(2, 5, 2\), got shape \(2, 4, 2\)"
    with pytest.raises(InvalidOptionError, match=message):
        umeyama_batched(torch.zeros(2, 5, 2), torch.zeros(2, 4, 2))
    with pytest.raises(InvalidOptionError, match="number of points must be >= 2, got 1"):
        umeyama_batched(torch.zeros(2, 1, 2), torch.zeros(2, 1, 2))


# --- colour jitter -------------------------------------------------------------------


def test_colour_jitter_changes_images_not_extra_or_geometry(crops):
    extra = _blobs(np.full((len(crops), 2, 2), CENTRE))
    jitter = AugmentConfig(brightness=0.3, contrast=0.3, saturation=0.3)
    plain, shaken = (
        augment_batch(crops, size=64, config=c, generator=torch.Generator().manual_seed(2), extra=extra)
        for c in (AugmentConfig(), jitter)
    )
    assert torch.equal(plain.target_extra, shaken.target_extra)
    assert torch.equal(plain.target_from_crop, shaken.target_from_crop)
    assert (plain.target - shaken.target).abs().mean() > 0.01
    assert (plain.warped - shaken.warped).abs().mean() > 0.01
    assert 0.0 <= shaken.target.min() and shaken.target.max() <= 1.0


def test_brightness_uses_one_factor_per_sample_for_warped_and_target(crops):
    plain = _run(crops, seed=6)
    bright = _run(crops, seed=6, brightness=0.3)
    ratios = []
    for p, q in ((plain.target, bright.target), (plain.warped, bright.warped)):
        ok = (p > 0.05) & (q < 0.99)  # away from black and from clipping
        ratios.append(torch.stack([(q[i][ok[i]] / p[i][ok[i]]).median() for i in range(len(p))]))
    ratio = ratios[0]
    torch.testing.assert_close(ratios[1], ratio, atol=1e-3, rtol=0)
    assert ratio.min() >= 0.7 - 1e-3 and ratio.max() <= 1.3 + 1e-3
    assert ratio.std() > 0.02


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rotation", -1.0, "rotation must be >= 0 and <= 180, got -1.0"),
        ("zoom", 0.8, "zoom must be >= 0 and <= 0.5, got 0.8"),
        ("shift", -0.1, "shift must be >= 0 and <= 0.5, got -0.1"),
        ("flip", 1.5, "flip must be >= 0 and <= 1, got 1.5"),
        ("warp_sigma", 0.5, "warp_sigma must be >= 0 and <= 0.25, got 0.5"),
        ("warp_coverage", 0.0, "warp_coverage must be > 0 and <= 1, got 0.0"),
        ("brightness", float("nan"), "brightness must be >= 0 and <= 1, got nan"),
        ("contrast", 2.0, "contrast must be >= 0 and <= 1, got 2.0"),
        ("saturation", -0.5, "saturation must be >= 0 and <= 1, got -0.5"),
    ],
)
def test_config_rejects_out_of_range(field, value, message):
    with pytest.raises(InvalidOptionError) as info:
        AugmentConfig(**{field: value})
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_config_is_frozen_and_keyword_only():
    config = AugmentConfig()
    with pytest.raises(AttributeError):
        config.rotation = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        AugmentConfig(10.0)  # type: ignore[misc]


FLOAT_SHAPE = "images must be a tensor of shape (B, 3, N, N)"


@pytest.mark.parametrize(
    ("images", "extra", "message"),
    [
        (np.zeros((2, 64, 64, 3), np.uint8), None, "images must be a torch.Tensor, got 'ndarray'"),
        (
            torch.zeros(2, 3, 64, 64, dtype=torch.uint8),
            None,
            r"images must be a tensor of shape (B, N, N, 3), got shape (2, 3, 64, 64)",
        ),
        (torch.zeros(2, 64, 64, 3), None, f"{FLOAT_SHAPE}, got shape (2, 64, 64, 3)"),
        (torch.zeros(2, 3, 64, 48), None, f"{FLOAT_SHAPE}, got shape (2, 3, 64, 48)"),
        (torch.zeros(3, 64, 64), None, f"{FLOAT_SHAPE}, got shape (3, 64, 64)"),
        (
            torch.zeros(2, 3, 64, 64, dtype=torch.int64),
            None,
            "images must be uint8 (B, N, N, 3) or float (B, 3, N, N), got dtype torch.int64",
        ),
        (
            torch.zeros(2, 3, 64, 64),
            torch.zeros(2, 1, 32, 32),
            "extra must be a tensor of shape (2, K, 64, 64), got shape (2, 1, 32, 32)",
        ),
        (
            torch.zeros(2, 3, 64, 64),
            torch.zeros(2, 1, 64, 64, dtype=torch.uint8),
            "extra must be a floating-point tensor, got dtype torch.uint8",
        ),
    ],
)
def test_rejects_bad_inputs(images, extra, message):
    with pytest.raises(InvalidOptionError) as info:
        augment_batch(images, size=16, config=AugmentConfig(), generator=torch.Generator(), extra=extra)
    assert str(info.value) == message


def test_rejects_bad_arguments():
    images = torch.zeros(1, 3, 32, 32)
    g = torch.Generator()
    with pytest.raises(InvalidOptionError, match="size must be >= 1, got 0"):
        augment_batch(images, size=0, config=AugmentConfig(), generator=g)
    with pytest.raises(InvalidOptionError, match="size must be an int, got 64.0"):
        augment_batch(images, size=64.0, config=AugmentConfig(), generator=g)  # type: ignore
    with pytest.raises(InvalidOptionError, match="config must be an AugmentConfig, got 'dict'"):
        augment_batch(images, size=16, config={}, generator=g)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="generator must be a torch.Generator, got 'int'"):
        augment_batch(images, size=16, config=AugmentConfig(), generator=0)  # type: ignore


# --- scale ---------------------------------------------------------------------------


def test_batch_of_64_crops_at_256_to_64(crops):
    """The training shape: one batched call, no per-image loop (no timing asserted)."""
    images = crops.repeat(8, 1, 1, 1)
    out = _run(images, seed=9)
    assert out.warped.shape == out.target.shape == (64, 3, 64, 64)
    # Every sample got its own draw: identical sources still give distinct outputs.
    same_source = out.target[0::8]
    assert (same_source[1:] - same_source[:1]).abs().flatten(1).mean(1).min() > 0.01
