"""Review scores on faces extracted from package portraits: blur, lighting, identity."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.ndimage

from facetwin import ExtractConfig, extract, load_alignments, save_alignments
from facetwin.errors import InputNotFoundError, InvalidOptionError
from facetwin.faces import FaceReview, crop_sharpness, order_for_review, review_faces
from facetwin.io import read_image, write_png


@pytest.fixture(scope="module")
def people(tmp_path_factory, astronaut, grace_hopper_path) -> Path:
    """Four views of the astronaut and, last, Grace Hopper: 128 px crops with identity vectors."""
    root = tmp_path_factory.mktemp("review")
    (root / "in").mkdir()
    turned = cv2.warpAffine(
        astronaut, cv2.getRotationMatrix2D((256, 256), 8, 1.0), (512, 512), borderMode=cv2.BORDER_REPLICATE
    )
    views = [astronaut, astronaut[:, ::-1], cv2.resize(astronaut, (400, 400)), turned]
    for i, view in enumerate(views, 1):
        write_png(root / "in" / f"{i}.png", np.ascontiguousarray(view))
    shutil.copy(grace_hopper_path, root / "in" / "5_grace.jpg")
    extract(root / "in", root / "out", config=ExtractConfig(identity=True, crop_size=128))
    return root / "out"


def copy_of(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def test_reviews_follow_the_alignments(people):
    reviews = review_faces(people)
    faces = load_alignments(people / "alignments.json").faces()
    assert [(r.crop, r.frame) for r in reviews] == [(face.crop, frame.index) for frame, face in faces]
    assert all(isinstance(r, FaceReview) and r.sharpness > 0 and r.identity_distance is not None for r in reviews)
    with pytest.raises(AttributeError):
        reviews[0].sharpness = 1.0  # frozen


def test_the_other_person_comes_first_by_identity(people):
    reviews = review_faces(people)
    first = order_for_review(reviews, "identity")[0]
    assert first.crop == "000004_0.png"  # 5_grace.jpg
    # Measured: 0.66 for Grace Hopper, 0.04 to 0.18 for the astronaut's views (the
    # mirrored one farthest): the median is the majority's identity.
    others = [r.identity_distance for r in reviews if r is not reviews[4]]
    assert first.identity_distance > 0.5 and max(others) < 0.3


def test_a_blurred_crop_scores_lower_and_a_dim_one_does_not(people, tmp_path):
    folder = copy_of(people, tmp_path)
    sharp = {r.crop: r.sharpness for r in review_faces(folder)}
    crop = read_image(folder / "000000_0.png")
    write_png(folder / "000000_0.png", cv2.GaussianBlur(crop, (0, 0), 1.5))
    dim = read_image(folder / "000001_0.png")
    write_png(folder / "000001_0.png", (dim * 0.5).astype(np.uint8))  # half the light
    reviews = review_faces(folder)
    scores = {r.crop: r.sharpness for r in reviews}
    # Measured: 0.45 sharp, 0.027 blurred; the dimmed crop within 1 %.
    assert scores["000000_0.png"] < 0.25 * sharp["000000_0.png"]
    assert scores["000001_0.png"] == pytest.approx(sharp["000001_0.png"], rel=0.05)
    assert order_for_review(reviews, "sharpness")[0].crop == "000000_0.png"


def test_crop_sharpness_matches_scipy(people):
    crop = read_image(people / "000000_0.png")
    grey = np.round(crop.astype(np.float64) @ [0.299, 0.587, 0.114]) / 255
    inner = (slice(26, 102), slice(26, 102))  # the middle 60 % of 128 px
    expected = scipy.ndimage.laplace(grey)[inner].var() / grey[inner].var()
    assert crop_sharpness(crop) == pytest.approx(expected, rel=1e-2)
    assert crop_sharpness(np.full((64, 64, 3), 200, np.uint8)) == 0.0


def test_without_identity_vectors(people, tmp_path):
    folder = copy_of(people, tmp_path)
    alignments = load_alignments(folder / "alignments.json")
    for i, (_, face) in enumerate(alignments.faces()):
        if i != 2:
            face.identity = None
    save_alignments(folder / "alignments.json", alignments)
    reviews = review_faces(folder)
    assert [r.identity_distance for r in reviews] == [None, None, 0.0, None, None]
    assert [r.frame for r in order_for_review(reviews, "identity")] == [2, 0, 1, 3, 4]
    for _, face in alignments.faces():
        face.identity = None
    save_alignments(folder / "alignments.json", alignments)
    reviews = review_faces(folder)
    assert all(r.identity_distance is None for r in reviews)
    assert order_for_review(reviews, "identity") == reviews


def test_a_missing_crop_is_left_out_with_a_warning(people, tmp_path, caplog):
    folder = copy_of(people, tmp_path)
    (folder / "000002_0.png").unlink()
    with caplog.at_level(logging.WARNING, logger="facetwin.faces.review"):
        reviews = review_faces(folder)
    assert [r.frame for r in reviews] == [0, 1, 3, 4]
    assert "1 crops listed in alignments.json are missing" in caplog.text


def test_errors(people, tmp_path):
    with pytest.raises(InputNotFoundError, match="alignments.json"):
        review_faces(tmp_path)
    with pytest.raises(InvalidOptionError, match="by must be one of sharpness, identity, got 'blur'"):
        order_for_review(review_faces(people), "blur")
    with pytest.raises(InvalidOptionError, match=r"image must be an array of shape \(H, W, 3\), got shape \(8, 8\)"):
        crop_sharpness(np.zeros((8, 8), np.uint8))
