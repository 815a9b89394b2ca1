"""Tests for facetwin.alignments: the versioned JSON alignments file."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from facetwin.alignments import (
    FORMAT,
    VERSION,
    Alignments,
    FaceRecord,
    FrameRecord,
    load_alignments,
    save_alignments,
)
from facetwin.errors import FacetwinError, InputNotFoundError, InvalidAlignmentsError
from facetwin.faces import create_detector
from facetwin.faces.align import crop_from_frame


@pytest.fixture(scope="module")
def alignments(astronaut, predictor) -> Alignments:
    """A document holding real numbers: the astronaut's box, landmarks and matrix."""
    found = create_detector("yunet")(astronaut)
    landmarks = predictor(astronaut, found.boxes[0])
    rng = np.random.default_rng(0)
    identity = rng.normal(0, 0.1, 128).astype(np.float32)
    face = FaceRecord(
        face=0,
        track=3,
        box=found.boxes[0],
        score=float(found.scores[0]),
        landmarks=landmarks + np.float32(0.123456),  # sub-pixel digits to round
        matrix=crop_from_frame(landmarks, crop_size=256),
        crop="000000_0.png",
        identity=identity,
    )
    second = copy.deepcopy(face)
    second.face, second.identity, second.crop = 1, None, "000000_1.png"
    return Alignments(
        source={"path": "talk ünïcode.mp4", "kind": "video", "fps": 29.97, "frame_count": 3},
        settings={"detector": "yunet", "redetect_every": 10},
        crop_size=256,
        frames=[
            FrameRecord(0, 0.0, None, [face, second]),
            FrameRecord(1, 1 / 29.97, None, []),
            FrameRecord(5, 5 / 29.97, "frame5.png", [face]),
        ],
        complete=True,
    )


def test_round_trip(tmp_path, alignments):
    path = tmp_path / "alignments.json"
    save_alignments(path, alignments)
    loaded = load_alignments(path)
    assert loaded.source == alignments.source and loaded.settings == alignments.settings
    assert loaded.crop_size == 256 and loaded.complete is True
    assert [f.index for f in loaded.frames] == [0, 1, 5]
    assert [f.name for f in loaded.frames] == [None, None, "frame5.png"]
    np.testing.assert_allclose([f.time for f in loaded.frames], [0, 1 / 29.97, 5 / 29.97], atol=1e-6)
    assert loaded.face_count == 3 and len(loaded.faces()) == 3
    for (_, got), (_, want) in zip(loaded.faces(), alignments.faces()):
        assert (got.face, got.track, got.crop) == (want.face, want.track, want.crop)
        # Each field keeps the digits documented for it (docs/formats.md).
        np.testing.assert_allclose(got.box, want.box, atol=0.005 + 1e-4)
        assert got.score == pytest.approx(want.score, abs=5e-5)
        np.testing.assert_allclose(got.landmarks, want.landmarks, atol=5e-4 + 1e-4)
        np.testing.assert_allclose(got.matrix, want.matrix, atol=5e-9)
        assert got.box.dtype == got.landmarks.dtype == np.float32 and got.matrix.dtype == np.float64
        assert got.landmarks.shape == (68, 2) and got.matrix.shape == (2, 3) and got.box.shape == (4,)
        if want.identity is None:
            assert got.identity is None
        else:
            assert got.identity.shape == (128,) and got.identity.dtype == np.float32
            np.testing.assert_allclose(got.identity, want.identity, atol=5e-7 + 1e-8)
    # Saving what was loaded gives the same bytes: nothing drifts through a round trip.
    again = tmp_path / "again.json"
    save_alignments(again, loaded)
    assert again.read_bytes() == path.read_bytes()


def test_resume_state_round_trips_exactly_on_one_line(tmp_path, alignments):
    # What an interrupted extraction keeps to continue bit for bit (extract.py).
    rng = np.random.default_rng(1)
    state = {
        "tracker": {
            "next_id": 2,
            "tracks": [{"box": rng.normal(200, 50, 4).tolist(), "extra": {"keep": True}}],
            "thumb": rng.normal(0, 1, (36, 64)).tolist(),
            "t": None,
        }
    }
    partial = copy.copy(alignments)
    partial.complete, partial.resume = False, state
    path = tmp_path / "alignments.json"
    save_alignments(path, partial)
    loaded = load_alignments(path)
    assert loaded.resume == state and loaded.complete is False  # every float64 as it was
    save_alignments(tmp_path / "again.json", loaded)
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    # A finished file does not say how it ran: the same file without that one line.
    finished = tmp_path / "finished.json"
    save_alignments(finished, alignments)
    assert "resume" not in json.loads(finished.read_text(encoding="utf-8")) and load_alignments(finished).resume is None
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith(' "resume": ')]
    assert len(kept) == len(lines) - 1
    assert "\n".join(kept).replace('"complete": false', '"complete": true') + "\n" == finished.read_text(
        encoding="utf-8"
    )


def test_saved_file_is_versioned_utf8_json(tmp_path, alignments):
    path = tmp_path / "alignments.json"
    save_alignments(path, alignments)
    doc = json.loads(path.read_bytes().decode("utf-8"))
    assert doc["format"] == FORMAT == "facetwin/alignments" and doc["version"] == VERSION == 1
    assert doc["source"]["path"] == "talk ünïcode.mp4"
    assert "NaN" not in path.read_text(encoding="utf-8")


def test_save_replaces_atomically(tmp_path, alignments):
    path = tmp_path / "alignments.json"
    path.write_text("old")
    save_alignments(path, alignments)
    assert load_alignments(path).face_count == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alignments.json"]  # no temp left


def test_save_refuses_nan_and_keeps_the_old_file(tmp_path, alignments):
    path = tmp_path / "alignments.json"
    save_alignments(path, alignments)
    before = path.read_bytes()
    bad = copy.deepcopy(alignments)
    bad.frames[0].faces[0].score = math.nan
    with pytest.raises(ValueError):
        save_alignments(path, bad)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alignments.json"]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(InputNotFoundError) as info:
        load_alignments(path)
    assert str(info.value) == f"input not found: {path}"
    assert isinstance(info.value, FileNotFoundError)


# --- malformed files ----------------------------------------------------------------

Edit = Callable[[dict], object]


def _face(doc: dict) -> dict:
    return doc["frames"][0]["faces"][0]


def _set(getter: Callable[[dict], dict], key: str, value: object) -> Edit:
    def edit(doc: dict) -> None:
        getter(doc)[key] = value

    return edit


def _drop(getter: Callable[[dict], dict], key: str) -> Edit:
    def edit(doc: dict) -> None:
        del getter(doc)[key]

    return edit


_top = lambda doc: doc  # noqa: E731
_frame0 = lambda doc: doc["frames"][0]  # noqa: E731
_frame1 = lambda doc: doc["frames"][1]  # noqa: E731

F = "frames[0].faces[0]"

# (edit of the valid document, where, problem)
DOCUMENT_CASES = {
    "missing format": (_drop(_top, "format"), "top level", 'missing field "format"'),
    "wrong format": (
        _set(_top, "format", "faceswap/alignments"),
        "format",
        'expected "facetwin/alignments", got "faceswap/alignments"',
    ),
    "missing version": (_drop(_top, "version"), "top level", 'missing field "version"'),
    "newer version": (
        _set(_top, "version", 2),
        "version",
        "2 is newer than this facetwin reads (1); upgrade facetwin",
    ),
    "version zero": (_set(_top, "version", 0), "version", "expected an integer >= 1, got 0"),
    "version as string": (_set(_top, "version", "1"), "version", 'expected an integer >= 1, got "1"'),
    "missing crop_size": (_drop(_top, "crop_size"), "top level", 'missing field "crop_size"'),
    "crop_size too small": (_set(_top, "crop_size", 4), "crop_size", "expected an integer >= 8, got 4"),
    "crop_size float": (_set(_top, "crop_size", 256.0), "crop_size", "expected an integer >= 8, got 256.0"),
    "source not object": (_set(_top, "source", "talk.mp4"), "source", "expected an object"),
    "settings missing": (_drop(_top, "settings"), "top level", 'missing field "settings"'),
    "complete not bool": (_set(_top, "complete", "yes"), "complete", "expected true or false"),
    "frames missing": (_drop(_top, "frames"), "top level", 'missing field "frames"'),
    "frames not a list": (_set(_top, "frames", {"0": []}), "frames", "expected a list"),
    "frame not object": (_set(_top, "frames", [7]), "frames[0]", "expected an object"),
    "frame index missing": (_drop(_frame1, "index"), "frames[1]", 'missing field "index"'),
    "frame index repeated": (
        _set(_frame1, "index", 0),
        "frames[1].index",
        "frame indices must increase (0 after 0)",
    ),
    "frame index decreasing": (
        lambda doc: doc["frames"].reverse(),
        "frames[1].index",
        "frame indices must increase (1 after 4)",
    ),
    "frame index negative": (
        _set(_frame0, "index", -1),
        "frames[0].index",
        "expected an integer >= 0, got -1",
    ),
    "frame time missing": (_drop(_frame0, "time"), "frames[0]", 'missing field "time"'),
    "frame time bool": (_set(_frame0, "time", True), "frames[0].time", "expected a finite number, got true"),
    "frame name number": (_set(_frame0, "name", 3), "frames[0].name", "expected a string or null"),
    "faces missing": (_drop(_frame0, "faces"), "frames[0]", 'missing field "faces"'),
    "faces not a list": (_set(_frame0, "faces", {"face": 0}), "frames[0].faces", "expected a list"),
    "face not object": (_set(_frame0, "faces", [[0, 1]]), F, "expected an object"),
    "face field missing": (_drop(_face, "landmarks"), F, 'missing field "landmarks"'),
    "landmarks 67 points": (
        lambda doc: _face(doc)["landmarks"].pop(),
        f"{F}.landmarks",
        "expected 68 points of 2 numbers, got shape (67, 2)",
    ),
    "landmarks ragged": (
        lambda doc: _face(doc)["landmarks"][5].append(1.0),
        f"{F}.landmarks",
        "expected 68 points of 2 numbers",
    ),
    "landmarks bool": (
        lambda doc: _face(doc)["landmarks"][3].__setitem__(0, True),
        f"{F}.landmarks",
        "expected 68 points of 2 numbers, found true",
    ),
    "landmarks string": (
        lambda doc: _face(doc)["landmarks"][3].__setitem__(0, "12.5"),
        f"{F}.landmarks",
        'expected 68 points of 2 numbers, found "12.5"',
    ),
    "landmarks null": (
        lambda doc: _face(doc)["landmarks"][3].__setitem__(0, None),
        f"{F}.landmarks",
        "expected 68 points of 2 numbers",
    ),
    "box x1 <= x0": (
        lambda doc: _face(doc)["box"].__setitem__(2, _face(doc)["box"][0]),
        f"{F}.box",
        "x1 must exceed x0 and y1 exceed y0",
    ),
    "box y1 < y0": (
        lambda doc: _face(doc)["box"].__setitem__(3, 0.0),
        f"{F}.box",
        "x1 must exceed x0 and y1 exceed y0",
    ),
    "box 5 numbers": (
        lambda doc: _face(doc)["box"].append(1.0),
        f"{F}.box",
        "expected 4 numbers x0, y0, x1, y1, got shape (5,)",
    ),
    "matrix 3x3": (
        lambda doc: _face(doc)["matrix"].append([0.0, 0.0, 1.0]),
        f"{F}.matrix",
        "expected a 2x3 matrix, got shape (3, 3)",
    ),
    "crop with slash": (_set(_face, "crop", "../faces/x.png"), f"{F}.crop", "expected a plain file name"),
    "crop with backslash": (_set(_face, "crop", "sub\\x.png"), f"{F}.crop", "expected a plain file name"),
    "crop hidden": (_set(_face, "crop", ".x.png"), f"{F}.crop", "expected a plain file name"),
    "crop empty": (_set(_face, "crop", ""), f"{F}.crop", "expected a plain file name"),
    "crop not string": (_set(_face, "crop", 12), f"{F}.crop", "expected a plain file name"),
    "identity 127": (
        lambda doc: _face(doc)["identity"].pop(),
        f"{F}.identity",
        "expected 128 numbers, got shape (127,)",
    ),
    "identity string": (_set(_face, "identity", "abc"), f"{F}.identity", "expected 128 numbers"),
    "score bool": (_set(_face, "score", True), f"{F}.score", "expected a finite number, got true"),
    "score string": (_set(_face, "score", "0.9"), f"{F}.score", 'expected a finite number, got "0.9"'),
    "face index bool": (_set(_face, "face", False), f"{F}.face", "expected an integer >= 0, got false"),
    "track negative": (_set(_face, "track", -2), f"{F}.track", "expected an integer >= 0, got -2"),
    "track float": (_set(_face, "track", 1.5), f"{F}.track", "expected an integer >= 0, got 1.5"),
    "resume list": (_set(_top, "resume", [1]), "resume", "expected an object or null"),
}


@pytest.fixture
def valid_doc(tmp_path, alignments) -> dict:
    path = tmp_path / "valid.json"
    save_alignments(path, alignments)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["frames"][2]["index"] = 4  # keep frames[1] < frames[2] once frames[1] is edited
    load_alignments(path)  # the unedited document is valid
    return doc


def _assert_invalid(path: Path, where: str, problem: str) -> InvalidAlignmentsError:
    with pytest.raises(InvalidAlignmentsError) as info:
        load_alignments(path)
    error = info.value
    assert error.path == path and error.where == where
    assert error.problem.startswith(problem), error.problem
    assert str(error).startswith(f"invalid alignments file {path}: {where}: {problem}")
    assert isinstance(error, ValueError) and isinstance(error, FacetwinError)
    return error


@pytest.mark.parametrize(("edit", "where", "problem"), DOCUMENT_CASES.values(), ids=DOCUMENT_CASES.keys())
def test_malformed_document(tmp_path, valid_doc, edit, where, problem):
    doc = copy.deepcopy(valid_doc)
    edit(doc)
    path = tmp_path / "alignments.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _assert_invalid(path, where, problem)


# Cases that need the raw text: JSON syntax, encoding, and NaN/Infinity literals,
# which Python's json module reads although JSON does not allow them.
TEXT_CASES = {
    "empty file": (lambda text: "", "line 1 column 1", "not valid JSON (Expecting value)"),
    "not JSON": (
        lambda text: "{format: facetwin}",
        "line 1 column 2",
        "not valid JSON (Expecting property name enclosed in double quotes)",
    ),
    "top level not object": (lambda text: "[" + text + "]", "top level", "expected a JSON object"),
    "top level string": (lambda text: '"frames"', "top level", "expected a JSON object"),
    "cut short": (lambda text: text[: len(text) // 2], "line ", "not valid JSON"),
    "NaN landmark": (
        lambda text: _replace_first_number_after(text, '"landmarks": ', "NaN"),
        f"{F}.landmarks",
        "contains a non-finite number",
    ),
    "NaN score": (
        lambda text: _replace_value(text, '"score": ', "NaN"),
        f"{F}.score",
        "expected a finite number, got NaN",
    ),
    "Infinity time": (
        lambda text: _replace_value(text, '"time": ', "Infinity"),
        "frames[0].time",
        "expected a finite number, got Infinity",
    ),
    "NaN in matrix": (
        lambda text: _replace_first_number_after(text, '"matrix": ', "NaN"),
        f"{F}.matrix",
        "contains a non-finite number",
    ),
    "NaN in box": (
        lambda text: _replace_first_number_after(text, '"box": ', "-Infinity"),
        f"{F}.box",
        "contains a non-finite number",
    ),
}


def _replace_value(text: str, key: str, literal: str) -> str:
    start = text.index(key) + len(key)
    end = min(text.index(",", start), text.index("\n", start))
    return text[:start] + literal + text[end:]


def _replace_first_number_after(text: str, key: str, literal: str) -> str:
    start = text.index(key) + len(key)
    i = start
    while not (text[i].isdigit() or text[i] == "-"):
        i += 1
    j = i + 1
    while text[j] not in ",\n]":
        j += 1
    return text[:i] + literal + text[j:]


@pytest.mark.parametrize(("edit", "where", "problem"), TEXT_CASES.values(), ids=TEXT_CASES.keys())
def test_malformed_text(tmp_path, alignments, edit, where, problem):
    path = tmp_path / "alignments.json"
    save_alignments(path, alignments)
    text = path.read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(InvalidAlignmentsError) as info:
        load_alignments(path)
    assert info.value.where.startswith(where), info.value.where
    assert info.value.problem.startswith(problem), info.value.problem
    assert str(info.value).startswith(f"invalid alignments file {path}: {info.value.where}: {problem}")


def test_not_utf8(tmp_path, alignments):
    path = tmp_path / "alignments.json"
    save_alignments(path, alignments)
    # The same document with its non-ASCII source path saved as Latin-1.
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    _assert_invalid(path, "file", "not UTF-8 text")


def test_error_message_is_fixable_from_the_message_alone(tmp_path, valid_doc):
    valid_doc["frames"][2]["faces"][0]["landmarks"] = valid_doc["frames"][2]["faces"][0]["landmarks"][:67]
    path = tmp_path / "alignments.json"
    path.write_text(json.dumps(valid_doc), encoding="utf-8")
    with pytest.raises(InvalidAlignmentsError) as info:
        load_alignments(path)
    assert str(info.value) == (
        f"invalid alignments file {path}: frames[2].faces[0].landmarks: "
        "expected 68 points of 2 numbers, got shape (67, 2)"
    )


def test_optional_fields_default(tmp_path, valid_doc):
    for frame in valid_doc["frames"]:
        del frame["name"]
        for face in frame["faces"]:
            del face["identity"]
    del valid_doc["complete"]
    path = tmp_path / "alignments.json"
    path.write_text(json.dumps(valid_doc), encoding="utf-8")
    loaded = load_alignments(path)
    assert loaded.complete is False and loaded.resume is None
    assert all(f.name is None for f in loaded.frames)
    assert all(face.identity is None for _, face in loaded.faces())
