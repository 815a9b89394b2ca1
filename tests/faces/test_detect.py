"""Tests for facetwin.faces.detect (and the model files it loads, faces/models.py)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import skimage.data

from facetwin.errors import InvalidOptionError, ModelFileError
from facetwin.faces import DETECTORS, Detections, create_detector, models
from facetwin.faces.detect import HogDetector, YuNetDetector, box_from_landmarks
from facetwin.faces.track import box_iou

# Eye centres (x, y) picked by hand on the pictures; every detector box must hold them.
EYES = {
    "astronaut": [(203, 101), (247, 104)],
    "grace_hopper": [(223, 192), (308, 189)],
}


@pytest.fixture(scope="module")
def detectors() -> dict:
    # Built once: dlib's HOG detector takes about half a second to construct.
    return {name: create_detector(name) for name in DETECTORS}


@pytest.fixture(params=sorted(DETECTORS))
def detector(request, detectors):
    return detectors[request.param]


@pytest.fixture(scope="module")
def portraits(astronaut, grace_hopper) -> dict[str, np.ndarray]:
    return {"astronaut": astronaut, "grace_hopper": grace_hopper}


def _contains(box: np.ndarray, point: tuple[int, int], margin: float = 0.0) -> bool:
    x, y = point
    return box[0] + margin <= x <= box[2] - margin and box[1] + margin <= y <= box[3] - margin


@pytest.mark.parametrize("name", sorted(EYES))
def test_one_face_holding_both_eyes(detector, portraits, name):
    found = detector(portraits[name])
    assert isinstance(found, Detections) and len(found) == 1
    assert found.boxes.shape == (1, 4) and found.boxes.dtype == np.float32
    assert found.scores.shape == (1,) and found.scores.dtype == np.float32
    box = found.boxes[0]
    assert all(_contains(box, eye, margin=0.1 * (box[2] - box[0])) for eye in EYES[name])
    # dlib framing: roughly square, from the brows down, the eyes in the upper half.
    width, height = box[2] - box[0], box[3] - box[1]
    assert 0.8 < width / height < 1.25
    eye_y = np.mean([y for _, y in EYES[name]])
    assert box[1] < eye_y < box[1] + 0.5 * height
    eye_gap = abs(EYES[name][1][0] - EYES[name][0][0])
    assert 1.5 * eye_gap < width < 3.5 * eye_gap


@pytest.mark.parametrize("name", sorted(EYES))
def test_detectors_agree(detectors, portraits, name):
    hog = detectors["hog"](portraits[name])
    yunet = detectors["yunet"](portraits[name])
    iou = box_iou(hog.boxes, yunet.boxes)
    assert iou.shape == (1, 1) and iou[0, 0] > 0.5


def test_greyscale_input(detector, astronaut):
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    found = detector(grey)
    assert len(found) == 1
    assert box_iou(found.boxes, detector(astronaut).boxes)[0, 0] > 0.8


@pytest.mark.parametrize("view", ["padded rows", "mirrored"])
@pytest.mark.parametrize("grey", [False, True], ids=["rgb", "grey"])
def test_strided_views_find_the_same_face(detector, astronaut, view, grey):
    # Video decoders pad rows (a 642-px frame is 1,968 bytes a row): dlib's HOG found
    # nothing in such a view, without an error.
    image = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY) if grey else astronaut
    if view == "padded rows":
        wide = np.zeros((image.shape[0], image.shape[1] + 14, *image.shape[2:]), np.uint8)
        wide[:, : image.shape[1]] = image
        strided = wide[:, : image.shape[1]]
    else:
        strided = image[:, ::-1]
    assert not strided.flags["C_CONTIGUOUS"]
    found, expected = detector(strided), detector(np.ascontiguousarray(strided))
    assert len(expected) == 1 and len(found) == 1
    np.testing.assert_allclose(found.boxes, expected.boxes, atol=1e-3)


@pytest.mark.parametrize(
    "picture",
    [
        pytest.param(lambda: np.full((480, 640, 3), 128, np.uint8), id="flat-grey"),
        pytest.param(skimage.data.coffee, id="coffee"),
        pytest.param(skimage.data.chelsea, id="cat"),
        pytest.param(skimage.data.rocket, id="rocket"),
    ],
)
def test_no_face(detector, picture):
    found = detector(np.ascontiguousarray(picture()))
    assert len(found) == 0
    assert found.boxes.shape == (0, 4) and found.scores.shape == (0,)


def test_yunet_shrinks_large_images(astronaut):
    """A 4x upscaled frame is shrunk to max_side first; the box scales back to it."""
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    detector = create_detector("yunet", max_side=640)
    small_box = detector(astronaut).boxes[0]
    found = detector(big)
    assert len(found) == 1
    np.testing.assert_allclose(found.boxes[0], small_box * 4, atol=4 * 4.0)


def test_hog_upsampling_finds_small_faces(detectors, astronaut):
    small = cv2.resize(astronaut, (192, 192), interpolation=cv2.INTER_AREA)  # face ~33 px
    assert len(detectors["hog"](small)) == 0
    found = create_detector("hog", upsample=2)(small)
    assert len(found) == 1
    assert all(_contains(found.boxes[0], (x * 0.375, y * 0.375)) for x, y in EYES["astronaut"])


def test_box_from_landmarks_matches_the_detector_framing(detectors, astronaut, predictor):
    box = detectors["hog"](astronaut).boxes[0]
    landmarks = predictor(astronaut, box)
    again = box_from_landmarks(landmarks)
    assert again.shape == (4,) and again.dtype == np.float32
    assert box_iou(again[None], box[None])[0, 0] > 0.75


def test_create_detector_by_name(detectors):
    assert isinstance(detectors["hog"], HogDetector) and detectors["hog"].upsample == 0
    detector = create_detector("yunet", score_threshold=0.9)
    assert isinstance(detector, YuNetDetector) and detector.score_threshold == 0.9
    assert sorted(DETECTORS) == ["hog", "yunet"]


def test_create_detector_unknown_name_lists_choices():
    with pytest.raises(InvalidOptionError) as info:
        create_detector("nope")
    assert str(info.value) == "detector must be one of hog, yunet, got 'nope'"


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("hog", {"upsample": 4}, "upsample must be >= 0 and <= 3, got 4"),
        ("yunet", {"score_threshold": 1.5}, "score_threshold must be >= 0 and <= 1, got 1.5"),
        ("yunet", {"max_side": 16}, "max_side must be >= 32, got 16"),
    ],
)
def test_create_detector_bad_options(name, options, message):
    with pytest.raises(InvalidOptionError) as info:
        create_detector(name, **options)
    assert str(info.value) == message


def test_create_detector_unknown_option():
    with pytest.raises(
        InvalidOptionError, match="option of the hog detector must be one of upsample, threshold, got 'threshold_typo'"
    ):
        create_detector("hog", threshold_typo=1)


# --- model files -------------------------------------------------------------------


@pytest.fixture
def fresh_model_cache():
    """Clear model_path's cache so a test sees its patched entries, and after it."""
    models.model_path.cache_clear()
    yield
    models.model_path.cache_clear()


def test_model_files_are_found_and_checked(fresh_model_cache):
    for name, entry in models.MODEL_FILES.items():
        path = models.model_path(name)
        assert path.is_file() and path.as_posix().endswith(entry.relpath)


def test_wrong_checksum(monkeypatch, fresh_model_cache):
    entry = models.MODEL_FILES["yunet"]
    monkeypatch.setitem(models.MODEL_FILES, "yunet", dataclasses.replace(entry, sha256="0" * 64))
    with pytest.raises(ModelFileError) as info:
        YuNetDetector()
    path = info.value.path
    assert path.name == "face_detection_yunet_2023mar_int8bq.onnx"
    assert str(info.value) == (f"model file for yunet at {path} does not match its recorded sha256; reinstall facetwin")
    assert isinstance(info.value, OSError)


def test_damaged_copy(tmp_path, monkeypatch, fresh_model_cache):
    """A copy of the real file cut short, in a package of its own, fails its checksum."""
    entry = models.MODEL_FILES["yunet"]
    real = models.model_path("yunet")
    models.model_path.cache_clear()
    package = tmp_path / "facetwin_test_models"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models" / "yunet.onnx").write_bytes(real.read_bytes()[:-100])
    monkeypatch.syspath_prepend(str(tmp_path))
    copy = dataclasses.replace(entry, package=package.name, relpath="models/yunet.onnx")
    monkeypatch.setitem(models.MODEL_FILES, "yunet", copy)
    with pytest.raises(ModelFileError, match="does not match its recorded sha256"):
        models.model_path("yunet")
    # The intact copy passes, from its new place.
    (package / "models" / "yunet.onnx").write_bytes(real.read_bytes())
    assert models.model_path("yunet") == package / "models" / "yunet.onnx"


def test_missing_file_and_package(monkeypatch, fresh_model_cache):
    entry = models.MODEL_FILES["yunet"]
    monkeypatch.setitem(models.MODEL_FILES, "yunet", dataclasses.replace(entry, relpath="models/gone.onnx"))
    with pytest.raises(ModelFileError) as info:
        models.model_path("yunet")
    assert str(info.value).endswith("gone.onnx is missing; reinstall facetwin")
    gone = dataclasses.replace(entry, package="no_such_package_xyz")
    monkeypatch.setitem(models.MODEL_FILES, "yunet", gone)
    with pytest.raises(ModelFileError) as info:
        models.model_path("yunet")
    assert str(info.value) == (
        "model file for yunet at no_such_package_xyz is missing (package not installed); reinstall facetwin"
    )
