"""The alignments file: what extraction found, per source frame and per face.

A versioned JSON document (``"format": "facetwin/alignments"``), documented in
docs/formats.md. Loading validates every field and names the first problem with its
path inside the document (``frames[3].faces[0].landmarks``), so a hand-edited or
damaged file is fixable from the message alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facetwin.errors import InputNotFoundError, InvalidAlignmentsError
from facetwin.io.atomic import atomic_write_bytes

__all__ = [
    "FORMAT",
    "VERSION",
    "FaceRecord",
    "FrameRecord",
    "Alignments",
    "load_alignments",
    "save_alignments",
    "dumps_alignments",
]

FORMAT = "facetwin/alignments"
VERSION = 1


@dataclass
class FaceRecord:
    """One face in one frame.

    Attributes:
        face: index of the face within its frame, from 0.
        track: track id; the same person followed through consecutive video frames.
        box: (4,) ``x0, y0, x1, y1`` detection box, frame pixels.
        score: detector confidence.
        landmarks: (68, 2) frame coordinates (x, y), as used for the matrix.
        matrix: (2, 3) frame pixels -> crop pixels at the file's ``crop_size``.
        identity: (128,) identity vector, or None when not computed.
        crop: file name of the aligned crop, relative to the alignments file's folder.
    """

    face: int
    track: int
    box: np.ndarray
    score: float
    landmarks: np.ndarray
    matrix: np.ndarray
    crop: str
    identity: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "face": self.face,
            "track": self.track,
            "box": _rounded(self.box, 2),
            "score": round(float(self.score), 4),
            "landmarks": _rounded(self.landmarks, 3),
            "matrix": _rounded(self.matrix, 8),
            "identity": None if self.identity is None else _rounded(self.identity, 6),
            "crop": self.crop,
        }


@dataclass
class FrameRecord:
    """One source frame: its place in the source and the faces kept from it."""

    index: int
    time: float
    name: str | None = None
    faces: list[FaceRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": round(self.time, 6),
            "name": self.name,
            "faces": [f.to_json() for f in self.faces],
        }


@dataclass
class Alignments:
    """Everything extraction records about one source.

    Attributes:
        source: what was read (``path``, ``kind``, ``fps``, ``frame_count``, ...).
        settings: the extraction settings that produced it.
        crop_size: side of the aligned crops, in pixels; matrices map to this size.
        frames: every frame read so far, in order, with or without faces.
        complete: False while extraction is still running (or was interrupted).
        resume: while not complete, what extraction needs to continue exactly after the
            last frame (the face finder's state, JSON values); None once complete, or
            in a file written before facetwin kept it.
    """

    source: dict[str, Any]
    settings: dict[str, Any]
    crop_size: int
    frames: list[FrameRecord] = field(default_factory=list)
    complete: bool = False
    resume: dict[str, Any] | None = None

    @property
    def face_count(self) -> int:
        return sum(len(f.faces) for f in self.frames)

    def faces(self) -> list[tuple[FrameRecord, FaceRecord]]:
        return [(fr, fa) for fr in self.frames for fa in fr.faces]

    def to_json(self) -> dict[str, Any]:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "crop_size": self.crop_size,
            "complete": self.complete,
            "source": self.source,
            "settings": self.settings,
        }
        if self.resume is not None:  # absent once complete: the finished file does not say how it ran
            doc["resume"] = self.resume
        doc["frames"] = [f.to_json() for f in self.frames]
        return doc


def _rounded(a: np.ndarray, digits: int) -> list:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def dumps_alignments(alignments: Alignments, *, cache: dict[int, tuple[FrameRecord, str]] | None = None) -> str:
    """The file's text: a readable header, then one line per frame.

    ``cache`` (owned by a caller that appends frames and never edits them, as
    extraction does) keeps each frame's line, so periodic saves of a long extraction
    encode each frame once instead of the whole file every time (which grew
    quadratically: 0.2 s a save at 354 frames).
    """
    doc = alignments.to_json()
    doc.pop("frames")
    resume = doc.pop("resume", None)
    head = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)
    if resume is not None:  # one line: indented, its thumbnail alone would take 2,304
        head = head[:-2] + ',\n "resume": ' + json.dumps(resume, ensure_ascii=False, allow_nan=False) + "\n}"
    lines = []
    for frame in alignments.frames:
        hit = cache.get(id(frame)) if cache is not None else None
        if hit is not None and hit[0] is frame:
            text = hit[1]
        else:
            text = json.dumps(frame.to_json(), ensure_ascii=False, allow_nan=False)
            if cache is not None:
                cache[id(frame)] = (frame, text)
        lines.append(text)
    body = ",\n".join(lines)
    return head[:-2] + ',\n "frames": [\n' + body + ("\n" if lines else "") + "]\n}\n"


def save_alignments(
    path: str | Path, alignments: Alignments, *, cache: dict[int, tuple[FrameRecord, str]] | None = None
) -> None:
    """Write the file atomically: an interrupted save leaves the previous version."""
    # A file name that is not UTF-8 reaches Python as lone surrogates; "backslashreplace"
    # writes each as the JSON escape \udcXX, which json.loads turns back into the same name.
    atomic_write_bytes(path, dumps_alignments(alignments, cache=cache).encode("utf-8", "backslashreplace"))


# --- loading and validation -------------------------------------------------------

# One function per version step, so old files keep loading when the format grows.
_UPGRADES: dict[int, Any] = {}


class _Invalid(Exception):
    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem


def _get(obj: dict, key: str, where: str) -> Any:
    if key not in obj:
        raise _Invalid(where, f'missing field "{key}"')
    return obj[key]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Invalid(where, f"expected a finite number, got {json.dumps(value)[:40]}")
    return float(value)


def _integer(value: Any, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _Invalid(where, f"expected an integer >= {low}, got {json.dumps(value)[:40]}")
    return value


def _matrix(value: Any, where: str, shape: tuple[int, ...], what: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Invalid(where, f"expected {what}") from None
    if arr.shape != shape:
        raise _Invalid(where, f"expected {what}, got shape {arr.shape}")
    # np.array converts true, "12.5" and null to numbers (null to NaN): refuse them.
    for item in _leaves(value):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise _Invalid(where, f"expected {what}, found {json.dumps(item)[:40]}")
    if not np.isfinite(arr).all():
        raise _Invalid(where, "contains a non-finite number")
    return arr


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _parse_face(obj: Any, where: str) -> FaceRecord:
    if not isinstance(obj, dict):
        raise _Invalid(where, "expected an object")
    box = _matrix(_get(obj, "box", where), f"{where}.box", (4,), "4 numbers x0, y0, x1, y1")
    if box[2] <= box[0] or box[3] <= box[1]:
        raise _Invalid(f"{where}.box", "x1 must exceed x0 and y1 exceed y0")
    ident = obj.get("identity")
    crop = _get(obj, "crop", where)
    if not isinstance(crop, str) or not crop or "/" in crop or "\\" in crop or crop.startswith("."):
        raise _Invalid(f"{where}.crop", "expected a plain file name")
    return FaceRecord(
        face=_integer(_get(obj, "face", where), f"{where}.face"),
        track=_integer(_get(obj, "track", where), f"{where}.track"),
        box=box.astype(np.float32),
        score=_number(_get(obj, "score", where), f"{where}.score"),
        landmarks=_matrix(
            _get(obj, "landmarks", where), f"{where}.landmarks", (68, 2), "68 points of 2 numbers"
        ).astype(np.float32),
        matrix=_matrix(_get(obj, "matrix", where), f"{where}.matrix", (2, 3), "a 2x3 matrix"),
        identity=None
        if ident is None
        else _matrix(ident, f"{where}.identity", (128,), "128 numbers").astype(np.float32),
        crop=crop,
    )


def _parse(doc: Any) -> Alignments:
    if not isinstance(doc, dict):
        raise _Invalid("top level", "expected a JSON object")
    fmt = _get(doc, "format", "top level")
    if fmt != FORMAT:
        raise _Invalid("format", f'expected "{FORMAT}", got {json.dumps(fmt)[:60]}')
    version = _integer(_get(doc, "version", "top level"), "version", low=1)
    while version < VERSION:
        doc = _UPGRADES[version](doc)
        version += 1
    if version > VERSION:
        raise _Invalid("version", f"{version} is newer than this facetwin reads ({VERSION}); upgrade facetwin")
    crop_size = _integer(_get(doc, "crop_size", "top level"), "crop_size", low=8)
    source = _get(doc, "source", "top level")
    settings = _get(doc, "settings", "top level")
    for key, val in (("source", source), ("settings", settings)):
        if not isinstance(val, dict):
            raise _Invalid(key, "expected an object")
    complete = doc.get("complete", False)
    if not isinstance(complete, bool):
        raise _Invalid("complete", "expected true or false")
    # Its content belongs to extraction, which checks it when it resumes.
    resume = doc.get("resume")
    if resume is not None and not isinstance(resume, dict):
        raise _Invalid("resume", "expected an object or null")
    frames_doc = _get(doc, "frames", "top level")
    if not isinstance(frames_doc, list):
        raise _Invalid("frames", "expected a list")
    frames: list[FrameRecord] = []
    last = -1
    for i, fr in enumerate(frames_doc):
        where = f"frames[{i}]"
        if not isinstance(fr, dict):
            raise _Invalid(where, "expected an object")
        index = _integer(_get(fr, "index", where), f"{where}.index")
        if index <= last:
            raise _Invalid(f"{where}.index", f"frame indices must increase ({index} after {last})")
        last = index
        name = fr.get("name")
        if name is not None and not isinstance(name, str):
            raise _Invalid(f"{where}.name", "expected a string or null")
        faces_doc = _get(fr, "faces", where)
        if not isinstance(faces_doc, list):
            raise _Invalid(f"{where}.faces", "expected a list")
        faces = [_parse_face(fa, f"{where}.faces[{j}]") for j, fa in enumerate(faces_doc)]
        frames.append(FrameRecord(index, _number(_get(fr, "time", where), f"{where}.time"), name, faces))
    return Alignments(source, settings, crop_size, frames, complete, resume)


def load_alignments(path: str | Path) -> Alignments:
    """Read and validate an alignments file.

    Raises:
        InputNotFoundError: no such file.
        InvalidAlignmentsError: the first problem found, with where it is.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InvalidAlignmentsError(path, "file", "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidAlignmentsError(
            path, f"line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})"
        ) from None
    try:
        return _parse(doc)
    except _Invalid as exc:
        raise InvalidAlignmentsError(path, exc.where, exc.problem) from None
