"""Tests for facetwin.conversion.metrics: seam and flicker scores on real pictures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import shifted

from facetwin.conversion.blend import alpha_blend, poisson_blend
from facetwin.conversion.masks import landmark_hull_mask, refine_mask
from facetwin.conversion.metrics import flicker_score, seam_score
from facetwin.errors import InvalidOptionError


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0


@pytest.fixture(scope="module")
def scene(astronaut, astronaut_landmarks, pasted_face):
    """Frame, pasted face (both float (1, 3, 512, 512)) and the hard hull mask."""
    landmarks = torch.from_numpy(astronaut_landmarks).float()[None]
    hull = (landmark_hull_mask(landmarks, astronaut.shape[0]) >= 0.5).float()
    return _tensor(astronaut), _tensor(pasted_face), hull


# seam_score -------------------------------------------------------------------------------


def test_a_hard_paste_scores_clearly_above_soft_blends(scene, astronaut, pasted_face):
    frame, face, hard = scene
    soft = refine_mask(hard, erode=4, feather=4.0)
    pasted = seam_score(alpha_blend(frame, face, hard), frame, hard)
    feathered = seam_score(alpha_blend(frame, face, soft), frame, soft)
    cloned = seam_score(_tensor(poisson_blend(astronaut, pasted_face, hard[0, 0].bool().numpy())), frame, hard)
    assert pasted > 1.4
    assert feathered < 1.15 and cloned < 1.15
    assert pasted > 1.3 * max(feathered, cloned)


def test_seam_score_is_one_without_change_or_without_a_seam(scene):
    frame, face, hard = scene
    assert seam_score(frame, frame, hard).item() == 1.0
    # A mask that never crosses 0.5 has no seam to measure.
    assert seam_score(face, frame, torch.zeros_like(hard)).item() == 1.0
    assert seam_score(face, frame, torch.ones_like(hard)).item() == 1.0


def test_seam_score_is_per_image(scene):
    frame, face, hard = scene
    outputs = torch.cat([frame, alpha_blend(frame, face, hard)])
    scores = seam_score(outputs, frame.expand(2, -1, -1, -1), hard.expand(2, -1, -1, -1))
    assert scores.shape == (2,)
    assert scores[0] == 1.0 and scores[1] == seam_score(outputs[1:], frame, hard)


def test_seam_score_is_the_ratio_of_step_heights():
    """A step of 0.1 along the mask's edge in the original and 0.3 in the output: Sobel
    reads each step's height on both sides of it, so the score is 3."""
    frame = torch.full((1, 3, 32, 32), 0.4)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1.0
    original, output = frame + 0.1 * mask, frame + 0.3 * mask
    assert seam_score(output, original, mask).item() == pytest.approx(3.0, rel=1e-4)


# flicker_score ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(astronaut):
    """8 frames of the astronaut's face drifting, (8, 3, 128, 128), and a face mask."""
    face = astronaut[40:260, 120:340]
    frames = np.stack([shifted(face, 0.8 * i, 0.5 * i)[40:168, 40:168] for i in range(8)])
    inputs = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
    masks = torch.zeros(8, 1, 128, 128)
    masks[..., 24:104, 28:100] = 1.0
    return inputs, masks


def test_identical_sequences_score_one(clip):
    inputs, masks = clip
    assert flicker_score(inputs, inputs, masks).item() == 1.0
    # A fixed contrast change scales the frame-to-frame change with it.
    assert flicker_score((inputs * 0.9 + 0.05), inputs, masks).item() == pytest.approx(0.9, abs=0.01)


def test_noise_in_the_face_adds_flicker(clip):
    inputs, masks = clip
    noise = 0.03 * torch.randn(inputs.shape, generator=torch.Generator().manual_seed(0))
    noisy = (inputs + noise * masks).clamp(0, 1)
    assert flicker_score(noisy, inputs, masks) > 1.5
    # Noise only outside the face region is not counted.
    outside = (inputs + noise * (1 - masks)).clamp(0, 1)
    assert flicker_score(outside, inputs, masks).item() == pytest.approx(1.0, abs=1e-6)


def test_still_input_and_output_score_one():
    still = torch.rand(1, 3, 8, 8).expand(3, -1, -1, -1)
    assert flicker_score(still, still, torch.ones(3, 1, 8, 8)).item() == 1.0


def _zeros(*shapes):
    return [torch.zeros(shape) for shape in shapes]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: flicker_score(*_zeros((1, 3, 4, 4), (1, 3, 4, 4), (1, 1, 4, 4))),
            "number of frames must be >= 2, got 1",
        ),
        (
            lambda: flicker_score(*_zeros((3, 3, 4, 4), (2, 3, 4, 4), (3, 1, 4, 4))),
            "inputs must be a tensor of shape (3, 3, 4, 4), got shape (2, 3, 4, 4)",
        ),
        (
            lambda: flicker_score(*_zeros((3, 3, 4, 4), (3, 3, 4, 4), (3, 4, 4))),
            "masks must be a tensor of shape (3, 1, 4, 4), got shape (3, 4, 4)",
        ),
        (lambda: seam_score(*_zeros((1, 3, 4, 4), (1, 3, 4, 4), (1, 1, 4, 4)), width=0), "width must be >= 1, got 0"),
        (
            lambda: seam_score(*_zeros((1, 3, 4, 4), (1, 3, 4, 4), (1, 1, 4, 4)), width=1.5),
            "width must be an int, got 1.5",
        ),
        (
            lambda: seam_score(*_zeros((3, 4, 4), (3, 4, 4), (1, 4, 4))),
            "output must be a tensor of shape (B, 3, H, W), got shape (3, 4, 4)",
        ),
    ],
)
def test_metrics_reject_bad_arguments(call, message):
    with pytest.raises(InvalidOptionError) as caught:
        call()
    assert str(caught.value) == message
