"""Tests for facetwin.conversion.blend: alpha blending and Poisson (seamless) cloning."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from facetwin.conversion.blend import alpha_blend, poisson_blend
from facetwin.conversion.masks import landmark_hull_mask
from facetwin.conversion.metrics import seam_score
from facetwin.errors import InvalidOptionError


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0


@pytest.fixture(scope="module")
def face_mask(astronaut, astronaut_landmarks) -> np.ndarray:
    """bool (512, 512): the astronaut's landmark hull with some forehead, in the frame."""
    landmarks = torch.from_numpy(astronaut_landmarks).float()[None]
    return (landmark_hull_mask(landmarks, astronaut.shape[0], forehead=0.15) >= 0.5)[0, 0].numpy()


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return (
        slice(max(rows[0] - margin, 0), rows[-1] + 1 + margin),
        slice(max(cols[0] - margin, 0), cols[-1] + 1 + margin),
    )


# alpha_blend ------------------------------------------------------------------------------


def test_alpha_blend_values(astronaut, pasted_face, face_mask):
    frame, face = _tensor(astronaut), _tensor(pasted_face)
    mask = torch.from_numpy(face_mask).float()[None, None]
    out = alpha_blend(frame, face, mask)
    assert out.shape == frame.shape
    inside = torch.from_numpy(face_mask)
    assert torch.equal(out[..., ~inside], frame[..., ~inside])
    assert torch.equal(out[..., inside], face[..., inside])
    half = alpha_blend(frame, face, torch.full_like(mask, 0.5))
    assert torch.allclose(half, (frame + face) / 2, atol=1e-6)


def test_alpha_blend_gradcheck():
    args = [torch.rand(2, c, 3, 4, dtype=torch.float64, requires_grad=True) for c in (3, 3, 1)]
    assert torch.autograd.gradcheck(alpha_blend, args)


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        (
            ((1, 3, 8, 8), (1, 3, 8, 9), (1, 1, 8, 8)),
            "face must be a tensor of shape (1, 3, 8, 8), got shape (1, 3, 8, 9)",
        ),
        (
            ((1, 3, 8, 8), (1, 3, 8, 8), (1, 3, 8, 8)),
            "mask must be a tensor of shape (1, 1, 8, 8), got shape (1, 3, 8, 8)",
        ),
        (
            ((1, 4, 8, 8), (1, 4, 8, 8), (1, 1, 8, 8)),
            "frame must be a tensor of shape (B, 3, H, W), got shape (1, 4, 8, 8)",
        ),
    ],
)
def test_alpha_blend_rejects_bad_shapes(shapes, message):
    with pytest.raises(InvalidOptionError) as caught:
        alpha_blend(*(torch.zeros(s) for s in shapes))
    assert str(caught.value) == message


# poisson_blend ----------------------------------------------------------------------------


def test_poisson_keeps_the_frame_outside_the_mask(astronaut, pasted_face, face_mask):
    out = poisson_blend(astronaut, pasted_face, face_mask)
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert np.array_equal(out[~face_mask], astronaut[~face_mask])  # byte-identical
    # Inside, the face's detail is kept: the output follows the face, not the frame.
    inside = face_mask & (cv2.erode(face_mask.astype(np.uint8), np.ones((9, 9))) > 0)

    def detail(img):
        return cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.CV_32F)[inside]

    assert np.corrcoef(detail(out), detail(pasted_face))[0, 1] > 0.9


def test_poisson_is_continuous_at_the_border(astronaut, pasted_face, face_mask):
    frame = _tensor(astronaut)
    mask = torch.from_numpy(face_mask).float()[None, None]
    hard = alpha_blend(frame, _tensor(pasted_face), mask)
    cloned = _tensor(poisson_blend(astronaut, pasted_face, face_mask))
    # The hull crosses hair and background, whose own edges the ratio divides by, so
    # even a hard paste of another person's face scores "only" about 1.5.
    assert seam_score(hard, frame, mask) > 1.4
    assert seam_score(cloned, frame, mask) < 1.1


def test_poisson_places_the_face_exactly(astronaut, face_mask):
    """A face with the frame's own gradients (a brighter copy) must give back the frame;
    a face placed one pixel off would not."""
    frame = (astronaut // 2 + 40).astype(np.uint8)
    face = (astronaut // 2 + 90).astype(np.uint8)
    out = poisson_blend(frame, face, face_mask)
    error = np.abs(out.astype(int) - frame)[face_mask]
    assert error.mean() < 1.0 and error.max() <= 3


def test_poisson_matches_opencv_on_the_whole_frame(astronaut, pasted_face, face_mask):
    """Cropping to the mask's box changes nothing that matters against a whole-frame clone."""
    mask = face_mask.astype(np.uint8) * 255
    x, y, w, h = cv2.boundingRect(mask)
    centre = (x + w // 2, y + h // 2)
    whole = cv2.seamlessClone(pasted_face, astronaut, mask.copy(), centre, cv2.NORMAL_CLONE)
    ours = poisson_blend(astronaut, pasted_face, face_mask)
    difference = np.abs(ours.astype(int) - whole)[face_mask]
    assert difference.mean() < 1.0 and np.percentile(difference, 99) <= 3


@pytest.mark.parametrize("corner", ["top-left", "bottom-right"])
def test_poisson_mask_touching_the_frame_border(astronaut, corner):
    frame = (astronaut // 2 + 40).astype(np.uint8)
    face = (astronaut // 2 + 90).astype(np.uint8)
    mask = np.zeros(frame.shape[:2], bool)
    if corner == "top-left":
        mask[:150, :180] = True
    else:
        mask[-150:, -180:] = True
    out = poisson_blend(frame, face, mask)
    assert np.array_equal(out[~mask], frame[~mask])
    error = np.abs(out.astype(int) - frame)[mask]
    assert error.mean() < 1.0 and error.max() <= 3  # no wrong values along the edge


def test_poisson_empty_mask_returns_the_frame(astronaut, pasted_face):
    for empty in (np.zeros(astronaut.shape[:2], np.uint8), np.zeros(astronaut.shape[:2], bool)):
        out = poisson_blend(astronaut, pasted_face, empty)
        assert out is not astronaut and out.tobytes() == astronaut.tobytes()


def test_poisson_leaves_its_arguments_alone(astronaut, pasted_face, face_mask):
    mask = face_mask.astype(np.uint8)  # 0/1, nonzero is inside
    kept = mask.copy(), astronaut.copy(), pasted_face.copy()
    out = poisson_blend(astronaut, pasted_face, mask)
    assert np.array_equal(out, poisson_blend(astronaut, pasted_face, face_mask))
    assert all(np.array_equal(a, b) for a, b in zip(kept, (mask, astronaut, pasted_face)))


def test_poisson_changes_only_the_box(astronaut, pasted_face, face_mask):
    out = poisson_blend(astronaut, pasted_face, face_mask)
    rows, cols = _box(face_mask, 0)
    outside = np.ones(face_mask.shape, bool)
    outside[rows, cols] = False
    assert np.array_equal(out[outside], astronaut[outside])


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), bool)),
            "frame must be of dtype uint8, got dtype float32",
        ),
        (
            (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8), np.zeros((8, 8), bool)),
            "face must be an array of shape (8, 8, 3), got shape (8, 9, 3)",
        ),
        (
            (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 1), bool)),
            "mask must be an array of shape (8, 8), got shape (8, 8, 1)",
        ),
        (
            (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.float32)),
            "mask must be of dtype uint8, bool, got dtype float32",
        ),
        (
            (torch.zeros(8, 8, 3), np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), bool)),
            "frame must be an array of shape (H, W, 3), got 'Tensor'",
        ),
    ],
)
def test_poisson_rejects_bad_arguments(arrays, message):
    with pytest.raises(InvalidOptionError) as caught:
        poisson_blend(*arrays)
    assert str(caught.value) == message
