"""Face types: the training crop, the model's window in a frame, the augmentation grid,
the training regions and conversion's hull all describe the same part of the face."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facetwin.conversion.masks import landmark_hull_mask
from facetwin.data.augment import AugmentConfig, augment_batch
from facetwin.data.dataset import Faces, frame_faces
from facetwin.errors import FacesetError
from facetwin.faces import create_detector
from facetwin.faces.align import FACE_TYPES, crop_from_frame, face_window, transform_points, warp_to_crop
from facetwin.training.regions import FOREHEAD, region_masks

WINDOW = 64
FRACTION = AugmentConfig().warp_coverage


@pytest.fixture(scope="module")
def astronaut_landmarks(astronaut, predictor):
    box = create_detector("yunet")(astronaut).boxes[0]
    return predictor(astronaut, box)


def _extracted(image, landmarks, coverage, size=256):
    crop = warp_to_crop(image, crop_from_frame(landmarks, crop_size=size, coverage=coverage), size)
    return Faces(torch.from_numpy(crop[None]), ["0.png"], Path("astronaut"), coverage)


def _window_of(framed: Faces) -> np.ndarray:
    side = framed.size
    w = round(side * FRACTION)
    o = (side - w) // 2
    return framed.images[0, o : o + w, o : o + w].numpy()


@pytest.mark.parametrize("name", ["inner", "whole"])
@pytest.mark.parametrize("coverage", [0.35, 0.5])
def test_training_window_is_the_frames_model_window(astronaut, astronaut_landmarks, name, coverage):
    # What training cuts from an extracted crop is what conversion cuts from the frame.
    face = FACE_TYPES[name]
    framed = frame_faces(_extracted(astronaut, astronaut_landmarks, coverage), face, WINDOW, window_fraction=FRACTION)
    assert framed.size == round(WINDOW / FRACTION) and framed.face == face
    trained = _window_of(framed).astype(np.float32)
    w = trained.shape[0]
    seen = warp_to_crop(astronaut, face_window(astronaut_landmarks, w, face), w).astype(np.float32)
    # Two resamplings against one: a grey level or two of difference, not a shift (a
    # one-pixel shift of this face costs far more).
    assert np.abs(trained - seen).mean() < 4.0
    shifted = np.roll(seen, 1, axis=1)
    assert np.abs(trained - shifted)[:, 1:].mean() > 1.5 * np.abs(trained - seen)[:, 1:].mean()


def test_framing_twice_is_refused_unless_it_is_the_same(astronaut, astronaut_landmarks):
    whole = frame_faces(
        _extracted(astronaut, astronaut_landmarks, 0.35), FACE_TYPES["whole"], WINDOW, window_fraction=FRACTION
    )
    assert frame_faces(whole, FACE_TYPES["whole"], WINDOW, window_fraction=FRACTION) is whole
    with pytest.raises(FacesetError, match="already framed as whole"):
        frame_faces(whole, FACE_TYPES["inner"], WINDOW, window_fraction=FRACTION)


@pytest.mark.parametrize("name", ["inner", "whole"])
def test_the_augmentation_grid_spans_the_window(astronaut, astronaut_landmarks, name):
    # With no random transform and no warp, input and target are the window itself.
    face = FACE_TYPES[name]
    framed = frame_faces(_extracted(astronaut, astronaut_landmarks, 0.35), face, WINDOW, window_fraction=FRACTION)
    plain = AugmentConfig(rotation=0, zoom=0, shift=0, flip=0, warp_sigma=0)
    out = augment_batch(framed.images, size=WINDOW, config=plain, generator=torch.Generator().manual_seed(0))
    target = out.target[0].permute(1, 2, 0).numpy() * 255
    window = _window_of(framed).astype(np.float32)
    import cv2

    window = cv2.resize(window, (WINDOW, WINDOW), interpolation=cv2.INTER_AREA)
    assert np.abs(target - window).mean() < 4.0
    assert torch.allclose(out.warped, out.target, atol=1e-5)


@pytest.mark.parametrize("name", ["inner", "whole"])
def test_training_regions_match_the_conversion_hull(astronaut_landmarks, name):
    # The learned mask is trained on the region the hull mask draws at conversion time.
    face = FACE_TYPES[name]
    side = round(WINDOW / FRACTION)
    regions = region_masks(side, face, window_fraction=FRACTION)
    o = (side - round(side * FRACTION)) // 2
    learned = regions[0, o : o + WINDOW, o : o + WINDOW]
    # The mean face's 68 points (inner 51 + jaw) in the window, as a frame's landmarks would be.
    from facetwin.faces.align import MEAN_FACE, MEAN_JAW

    points = np.concatenate([MEAN_JAW, MEAN_FACE])
    k = WINDOW / face.span
    in_window = (points - np.asarray(face.centre)) * k + (WINDOW - 1) / 2
    hull = landmark_hull_mask(torch.tensor(in_window[None], dtype=torch.float32), WINDOW, forehead=FOREHEAD)[0, 0]
    a, b = learned > 0.5, hull > 0.5
    iou = (a & b).sum().item() / (a | b).sum().item()
    assert iou > 0.9, iou
    eyes, mouth = regions[1], regions[2]
    assert eyes.sum() > 0 and mouth.sum() > 0
    # Eyes above the mouth, both inside the face.
    ey = (eyes.sum(1) * torch.arange(side)).sum() / eyes.sum()
    my = (mouth.sum(1) * torch.arange(side)).sum() / mouth.sum()
    assert ey < my and (regions[0][eyes > 0.5] > 0.5).all() and (regions[0][mouth > 0.5] > 0.5).all()


def test_the_whole_window_holds_chin_and_jaw_and_the_inner_one_does_not(astronaut_landmarks):
    for name, jaw_inside in (("whole", True), ("inner", False)):
        points = transform_points(astronaut_landmarks, face_window(astronaut_landmarks, WINDOW, FACE_TYPES[name]))
        inside = ((points >= 0) & (points <= WINDOW - 1)).all(axis=1)
        assert inside[27:].all() and inside[:17].all() == jaw_inside, name


def test_whole_faces_from_crops_too_tight_for_them_are_warned_about(astronaut, astronaut_landmarks, caplog):
    tight = _extracted(astronaut, astronaut_landmarks, 0.625)  # the original's framing: no chin margin
    with caplog.at_level("WARNING"):
        frame_faces(tight, FACE_TYPES["inner"], WINDOW, window_fraction=FRACTION)
    assert not caplog.records
    with caplog.at_level("WARNING"):
        frame_faces(tight, FACE_TYPES["whole"], WINDOW, window_fraction=FRACTION)
    assert "extract them again at --coverage 0.35" in caplog.text
