"""Fixtures for the conversion tests: real faces, their landmarks and a pasted swap."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facetwin.faces import create_detector
from facetwin.faces.align import (
    ALIGN_POINTS,
    crop_from_frame,
    transform_points,
    umeyama,
    warp_to_crop,
)

CROP = 256


def _landmarks(image: np.ndarray, predictor) -> np.ndarray:
    found = create_detector("yunet")(image)
    assert len(found) >= 1
    return predictor(image, found.boxes[0]).astype(np.float64)


@pytest.fixture(scope="session")
def astronaut_landmarks(astronaut, predictor) -> np.ndarray:
    """(68, 2) float64 frame landmarks of the astronaut (YuNet box, dlib points)."""
    return _landmarks(astronaut, predictor)


@pytest.fixture(scope="session")
def grace_landmarks(grace_hopper, predictor) -> np.ndarray:
    return _landmarks(grace_hopper, predictor)


@pytest.fixture(scope="session")
def astronaut_crop(astronaut, astronaut_landmarks) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's aligned 256 crop (uint8 RGB) and its landmarks in crop pixels."""
    matrix = crop_from_frame(astronaut_landmarks, crop_size=CROP)
    return warp_to_crop(astronaut, matrix, CROP), transform_points(astronaut_landmarks, matrix)


@pytest.fixture(scope="session")
def grace_crop(grace_hopper, grace_landmarks) -> np.ndarray:
    """Grace Hopper's aligned 256 crop, uint8 RGB: another person at the same framing."""
    return warp_to_crop(grace_hopper, crop_from_frame(grace_landmarks, crop_size=CROP), CROP)


@pytest.fixture(scope="session")
def pasted_face(astronaut, astronaut_landmarks, grace_hopper, grace_landmarks) -> np.ndarray:
    """Grace Hopper's face moved onto the astronaut's (similarity on the inner points),
    uint8 (512, 512, 3) RGB: what a swap model's output looks like once warped back."""
    fit = umeyama(grace_landmarks[ALIGN_POINTS], astronaut_landmarks[ALIGN_POINTS])[:2]
    height, width = astronaut.shape[:2]
    return cv2.warpAffine(grace_hopper, fit, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
