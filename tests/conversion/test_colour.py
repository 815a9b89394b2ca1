"""Tests for facetwin.conversion.colour: Lab conversion and masked colour transfer."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
import torch

from facetwin.conversion.colour import (
    COLOUR_MODES,
    apply_colour,
    colour_stats,
    lab_to_rgb,
    rgb_to_lab,
    transfer_colour,
)
from facetwin.conversion.masks import landmark_hull_mask, refine_mask
from facetwin.errors import InvalidOptionError

CROP = 256


def _tensor(image: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].to(dtype) / 255.0


@pytest.fixture(scope="module")
def reference(astronaut_crop) -> torch.Tensor:
    """(1, 3, 256, 256) the astronaut's face crop: the original face to match."""
    return _tensor(astronaut_crop[0])


@pytest.fixture(scope="module")
def mask(astronaut_crop) -> torch.Tensor:
    landmarks = torch.from_numpy(astronaut_crop[1]).float()[None]
    return refine_mask(landmark_hull_mask(landmarks, CROP), erode=3, feather=2.0)


@pytest.fixture(scope="module")
def cast(reference) -> torch.Tensor:
    """The same face under other light: warmer, duller and darker (a colour cast)."""
    gain = torch.tensor([1.0, 0.85, 0.7]).view(1, 3, 1, 1)
    return (0.08 + 0.75 * reference**1.15 * gain).clamp(0, 1)


def _masked_mean(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (x * weights).sum(dim=(2, 3)) / weights.sum(dim=(2, 3))


def _masked_cdf(x: torch.Tensor, inside: torch.Tensor) -> np.ndarray:
    """(3, 256) CDFs of the 8-bit levels of each channel where ``inside``."""
    levels = (x[0].clamp(0, 1) * 255).round().long()[:, inside[0, 0]]
    counts = np.stack([np.bincount(c.numpy(), minlength=256) for c in levels])
    return counts.cumsum(1) / counts.sum(1, keepdims=True)


# Lab --------------------------------------------------------------------------------------


def test_rgb_to_lab_matches_skimage(astronaut_crop):
    rgb = astronaut_crop[0]
    expected = skimage.color.rgb2lab(rgb.astype(np.float64) / 255.0)
    ours64 = rgb_to_lab(_tensor(rgb, torch.float64))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours64, expected, atol=1e-9)
    ours32 = rgb_to_lab(_tensor(rgb))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours32, expected, atol=2e-3)


def test_lab_to_rgb_matches_skimage_and_round_trips(astronaut_crop):
    rgb = _tensor(astronaut_crop[0], torch.float64)
    lab = rgb_to_lab(rgb)
    np.testing.assert_allclose(lab_to_rgb(lab).numpy(), rgb.numpy(), atol=1e-9)
    # Out of gamut, both clip the same way.
    shifted = lab + torch.tensor([0.0, 60.0, -40.0], dtype=torch.float64).view(1, 3, 1, 1)
    expected = skimage.color.lab2rgb(shifted[0].permute(1, 2, 0).numpy())
    np.testing.assert_allclose(lab_to_rgb(shifted)[0].permute(1, 2, 0).numpy(), expected, atol=1e-9)
    assert torch.allclose(lab_to_rgb(rgb_to_lab(rgb.float())), rgb.float(), atol=2e-5)


def test_lab_gradcheck():
    rgb = (0.05 + 0.9 * torch.rand(1, 3, 4, 5, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(rgb_to_lab, (rgb,))
    lab = rgb_to_lab(rgb.detach()).requires_grad_()
    assert torch.autograd.gradcheck(lab_to_rgb, (lab,))


# transfer ---------------------------------------------------------------------------------


def test_mean_matches_the_masked_mean(cast, reference, mask):
    out = transfer_colour(cast, reference, mask, mode="mean")
    before = (_masked_mean(cast, mask) - _masked_mean(reference, mask)).abs().max()
    after = (_masked_mean(out, mask) - _masked_mean(reference, mask)).abs().max()
    assert before > 0.05 and after < 0.005


def test_reinhard_matches_masked_lab_mean_and_std(cast, reference, mask):
    out = transfer_colour(cast, reference, mask, mode="reinhard")
    got, want = colour_stats(out, mask, mode="reinhard"), colour_stats(reference, mask, mode="reinhard")
    start = colour_stats(cast, mask, mode="reinhard")
    assert (start[..., 0] - want[..., 0]).abs().max() > 5.0  # Lab units
    assert (got[..., 0] - want[..., 0]).abs().max() < 0.5
    assert torch.allclose(got[..., 1], want[..., 1], rtol=0.03)


def test_histogram_matches_the_masked_distribution(cast, reference, mask):
    out = transfer_colour(cast, reference, mask, mode="histogram")
    inside = mask >= 0.5
    gap_before = np.abs(_masked_cdf(cast, inside) - _masked_cdf(reference, inside)).max()
    gap_after = np.abs(_masked_cdf(out, inside) - _masked_cdf(reference, inside)).max()
    assert gap_before > 0.3 and gap_after < 0.03  # Kolmogorov-Smirnov distances
    assert (_masked_mean(out, mask) - _masked_mean(reference, mask)).abs().max() < 0.005


@pytest.mark.parametrize("mode", ["mean", "reinhard", "histogram"])
def test_another_persons_face_moves_toward_the_reference(mode, grace_crop, reference, mask):
    """A real swap: Grace Hopper's face coloured toward the astronaut's, inside the mask."""
    face = _tensor(grace_crop)
    out = transfer_colour(face, reference, mask, mode=mode)
    before = (_masked_mean(face, mask) - _masked_mean(reference, mask)).abs().max()
    after = (_masked_mean(out, mask) - _masked_mean(reference, mask)).abs().max()
    assert after < before / 4
    assert 0.0 <= out.min() and out.max() <= 1.0


@pytest.mark.parametrize("mode", COLOUR_MODES)
def test_matching_a_face_to_itself_changes_nothing(mode, reference, mask):
    out = transfer_colour(reference, reference, mask, mode=mode)
    assert out.shape == reference.shape and out.dtype == reference.dtype
    # Histogram matching knows only the levels present inside the mask; the rest of the
    # crop (hair, background) is mapped to the nearest of those, so compare inside.
    inside = (mask > 0).expand_as(reference) if mode == "histogram" else slice(None)
    assert torch.allclose(out[inside], reference[inside], atol=1e-4)


def test_statistics_can_be_smoothed_over_frames(cast, reference, mask):
    """Averaged statistics are valid statistics: the mean of two frames' CDFs is the
    pooled CDF, and applying it lands between the two frames' own corrections."""
    frames = torch.cat([reference, (reference * 0.9).clamp(0, 1)])
    masks = mask.expand(2, -1, -1, -1)
    stats = colour_stats(frames, masks, mode="histogram")
    assert stats.shape == (2, 3, 256)
    assert (stats.diff(dim=-1) >= 0).all() and (stats[..., -1] == 1).all()
    smoothed = stats.mean(dim=0, keepdim=True)
    face_stats = colour_stats(cast, mask, mode="histogram")
    out = apply_colour(cast, face_stats, smoothed, mode="histogram")
    lows, highs = (
        _masked_mean(apply_colour(cast, face_stats, stats[i : i + 1], mode="histogram"), mask) for i in (1, 0)
    )
    middle = _masked_mean(out, mask)
    assert (lows < middle).all() and (middle < highs).all()


def test_stats_shapes_and_empty_mask(reference):
    empty = torch.zeros(1, 1, CROP, CROP)
    for mode, shape in zip(COLOUR_MODES, [(1, 3), (1, 3, 2), (1, 3, 256), (1, 0)]):
        stats = colour_stats(reference, empty, mode=mode)
        assert stats.shape == shape and torch.isfinite(stats).all()
    # An empty mask measures the whole image instead.
    assert torch.allclose(colour_stats(reference, empty, mode="mean"), reference.mean(dim=(2, 3)))


def test_apply_colour_gradcheck():
    face = (0.1 + 0.8 * torch.rand(1, 3, 4, 4, dtype=torch.float64)).requires_grad_()
    target = torch.tensor([[[55.0, 12.0], [8.0, 6.0], [15.0, 9.0]]], dtype=torch.float64)
    stats = colour_stats(face.detach(), torch.ones(1, 1, 4, 4, dtype=torch.float64), mode="reinhard")
    assert torch.autograd.gradcheck(lambda f: apply_colour(f, stats, target, mode="reinhard"), (face,))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda x, m: transfer_colour(x, x, m, mode="lab"),
            "mode must be one of mean, reinhard, histogram, none, got 'lab'",
        ),
        (
            lambda x, m: transfer_colour(x, x[..., :8], m, mode="mean"),
            "reference must be a tensor of shape (1, 3, 16, 16), got shape (1, 3, 16, 8)",
        ),
        (
            lambda x, m: colour_stats(x, m[..., :8], mode="mean"),
            "mask must be a tensor of shape (1, 1, 16, 16), got shape (1, 1, 16, 8)",
        ),
        (
            lambda x, m: colour_stats(x[:, :1], m, mode="mean"),
            "images must be a tensor of shape (B, 3, H, W), got shape (1, 1, 16, 16)",
        ),
        (
            lambda x, m: apply_colour(x, torch.zeros(1, 3), torch.zeros(1, 3, 2), mode="reinhard"),
            "face_stats must be a tensor of shape (1, 3, 2), got shape (1, 3)",
        ),
        (
            lambda x, m: apply_colour(x, torch.zeros(1, 3), torch.zeros(2, 3), mode="mean"),
            "target_stats must be a tensor of shape (1, 3), got shape (2, 3)",
        ),
        (
            lambda x, m: rgb_to_lab((x * 255).to(torch.uint8)),
            "image must be a floating-point tensor, got dtype torch.uint8",
        ),
    ],
)
def test_colour_rejects_bad_arguments(call, message):
    with pytest.raises(InvalidOptionError) as caught:
        call(torch.rand(1, 3, 16, 16), torch.ones(1, 1, 16, 16))
    assert str(caught.value) == message
