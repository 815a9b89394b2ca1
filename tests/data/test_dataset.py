"""Loading training faces: folders, extraction output, and every bad-input case."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from facetwin.data import MIN_FACES, load_faces, match_mean_colour
from facetwin.errors import FacesetError


def write_faces(folder, image, n=10, size=64):
    folder.mkdir(parents=True, exist_ok=True)
    small = cv2.cvtColor(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.roll(small, i, axis=1))
    return folder


def test_load_folder(astronaut, tmp_path):
    faces = load_faces(write_faces(tmp_path / "a", astronaut))
    assert faces.images.shape == (10, 64, 64, 3) and faces.images.dtype == torch.uint8
    assert faces.size == 64 and len(faces) == 10 and faces.names[0] == "000.png"
    # RGB order: the astronaut's suit is orange (red above blue) in the lower half.
    lower = faces.images[0, 40:].float().mean(dim=(0, 1))
    assert lower[0] > lower[2]
    assert len(faces.fingerprint()) == 16
    assert faces.fingerprint() == load_faces(tmp_path / "a").fingerprint()


def test_load_extraction_folder_uses_alignments(grace_hopper_path, tmp_path):
    from facetwin import ExtractConfig, extract

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(MIN_FACES):
        (folder / f"{i}.jpg").write_bytes(grace_hopper_path.read_bytes())
    extract(folder, tmp_path / "faces", config=ExtractConfig(crop_size=64))
    (tmp_path / "faces" / "not_a_face.png").write_bytes((tmp_path / "faces" / "000000_0.png").read_bytes())
    faces = load_faces(tmp_path / "faces")
    assert len(faces) == MIN_FACES and "not_a_face.png" not in faces.names


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, im: d / "missing", "not a folder"),
        (lambda d, im: write_faces(d / "few", im, n=3), "found 3 face images; training needs at least 8"),
        (
            lambda d, im: (write_faces(d / "mixed", im), write_faces(d / "mixed", im, n=2, size=32))[0] and d / "mixed",
            r"faces of mixed sizes: 64x64 \(8 faces\), 32x32 \(2 faces\), e.g. 000.png",
        ),
        (
            lambda d, im: (write_faces(d / "bad", im), (d / "bad" / "zz.png").write_bytes(b"junk"))[0] and d / "bad",
            "cannot read zz.png",
        ),
    ],
    ids=["missing", "too-few", "mixed-sizes", "unreadable"],
)
def test_bad_facesets(astronaut, tmp_path, make, message):
    with pytest.raises(FacesetError, match=message):
        load_faces(make(tmp_path, astronaut))


def test_non_square(astronaut, tmp_path):
    folder = tmp_path / "rect"
    folder.mkdir()
    for i in range(MIN_FACES):
        cv2.imwrite(str(folder / f"{i}.png"), astronaut[:64, :48])
    with pytest.raises(FacesetError, match="must be square, these are 48x64"):
        load_faces(folder)


def test_match_mean_colour(astronaut, grace_hopper, tmp_path):
    a = load_faces(write_faces(tmp_path / "a", astronaut))
    b = load_faces(write_faces(tmp_path / "b", grace_hopper))
    matched = match_mean_colour(a, b)
    mean = lambda f: f.images.double().mean(dim=(0, 1, 2))  # noqa: E731
    shift = (mean(b) - mean(a)).round()
    assert shift.abs().max() > 10
    # Every pixel moves by the same per-channel shift, except where 0 or 255 clips it.
    moved = matched.images.double() - a.images.double()
    unclipped = (matched.images > 0) & (matched.images < 255)
    assert torch.equal(moved[unclipped], shift.expand_as(moved)[unclipped])
    assert (mean(matched) - mean(b)).abs().max() < (mean(a) - mean(b)).abs().max() / 2
