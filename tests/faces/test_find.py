import numpy as np
import pytest

from facetwin.config import ExtractConfig
from facetwin.errors import NoFaceFoundError
from facetwin.faces.find import FaceFinder
from facetwin.io import write_png


def test_finds_the_face_with_landmarks_inside_its_box(astronaut):
    finder = FaceFinder(ExtractConfig(), video=False)
    faces = finder(astronaut, 0.0)
    assert len(faces) == 1
    face = faces[0]
    x0, y0, x1, y1 = face.box
    inside = (face.landmarks[:, 0] > x0 - 10) & (face.landmarks[:, 0] < x1 + 10) & (face.landmarks[:, 1] > y0 - 10)
    assert face.landmarks.shape == (68, 2) and inside.all()
    assert face.identity is None  # only computed when asked for or filtering by person


def test_min_size_drops_and_counts(astronaut):
    finder = FaceFinder(ExtractConfig(min_size=400), video=False)
    assert finder(astronaut, 0.0) == [] and finder(astronaut, 0.04) == []
    assert finder.dropped_small == 2
    assert "--min-size" in finder.no_face_hint()


def test_reference_photo_keeps_only_that_person(tmp_path, astronaut, grace_hopper):
    ref = tmp_path / "grace.png"
    write_png(ref, grace_hopper)
    finder = FaceFinder(ExtractConfig(ref_faces=(str(ref),)), video=False)
    assert finder(astronaut, 0.0) == []
    kept = finder(grace_hopper, 0.0)
    assert len(kept) == 1 and kept[0].identity is not None and kept[0].identity.shape == (128,)
    assert finder.dropped_other_person == 1 and "other people" in finder.no_face_hint()


def test_a_reference_photo_without_a_face_is_refused(tmp_path):
    blank = tmp_path / "wall.png"
    write_png(blank, np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(NoFaceFoundError, match="reference photo must show"):
        FaceFinder(ExtractConfig(ref_faces=(str(blank),)), video=False)
