"""Pair lists: which two videos go together, and the model made for them.

``facetwin dataset`` reads them to know which fakes to make and ``facetwin evaluate`` to
know which models to measure; both take the same files.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from facetwin._check import check_path
from facetwin.errors import InputNotFoundError, InvalidOptionError
from facetwin.io.media import VIDEO_SUFFIXES

__all__ = ["Pair", "read_pairs"]


@dataclass(frozen=True)
class Pair:
    """Two videos that go together: A = ``target``, B = ``source``.

    ``facetwin dataset`` puts the source's face into the target's video; ``facetwin
    evaluate`` measures ``model``, trained with A = target and B = source, both ways.
    """

    target: Path
    source: Path
    model: Path | None = None  # a trained model (A = target, B = source) to use instead of training

    @property
    def name(self) -> str:
        return f"{self.target.stem}_{self.source.stem}"


def read_pairs(path: str | Path, *, videos: str | Path | None = None) -> list[Pair]:
    """Read a pair list.

    JSON: FaceForensics++'s split files (``[["953", "974"], ...]``: ids of videos in
    ``videos``, target first), or a list of ``{"target": ..., "source": ..., "model": ...}``.
    CSV: rows ``target,source[,model]`` (a header row is allowed). Relative paths are
    taken from ``videos`` if given, else from the list's folder; a bare id finds
    ``<id>.mp4`` (or another video suffix).

    Raises:
        InputNotFoundError: the list or a video in it does not exist.
        InvalidOptionError: the list cannot be read as pairs.
    """
    path = check_path(path, "path")
    if not path.is_file():
        raise InputNotFoundError(path)
    base = check_path(videos, "videos") if videos is not None else path.parent
    rows: list[tuple[str, str, str | None]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidOptionError(
            "pairs", str(path), f"a UTF-8 text or JSON file (byte {exc.start} is not UTF-8: {exc.reason})"
        ) from None
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InvalidOptionError("pairs", str(path), f"a JSON list of pairs ({exc})") from None
        if not isinstance(doc, list):
            raise InvalidOptionError("pairs", str(path), "a JSON list of pairs")
        for item in doc:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                rows.append((str(item[0]), str(item[1]), None))
            elif isinstance(item, dict) and "target" in item and "source" in item:
                rows.append((str(item["target"]), str(item["source"]), item.get("model")))
            else:
                raise InvalidOptionError(
                    "pairs", json.dumps(item)[:60], '[target, source] or {"target": .., "source": ..}'
                )
    else:
        for row in csv.reader(io.StringIO(text)):
            row = [cell.strip() for cell in row]
            if not row or not any(row) or row[0].startswith("#"):
                continue
            if [c.lower() for c in row[:2]] == ["target", "source"]:
                continue
            if len(row) < 2:
                raise InvalidOptionError("pairs", ",".join(row), "rows of target,source[,model]")
            rows.append((row[0], row[1], row[2] if len(row) > 2 and row[2] else None))
    if not rows:
        raise InvalidOptionError("pairs", str(path), "at least one pair")
    pairs = [Pair(_find_video(t, base), _find_video(s, base), Path(base, m) if m else None) for t, s, m in rows]
    for pair in pairs:
        if pair.target == pair.source:
            raise InvalidOptionError("pairs", pair.name, "two different videos")
    names = [p.name for p in pairs]
    if len(set(names)) != len(names):
        raise InvalidOptionError("pairs", str(path), "each pair once (videos are told apart by file name)")
    return pairs


def _find_video(ref: str, base: Path) -> Path:
    path = Path(ref) if Path(ref).is_absolute() else base / ref
    if path.is_file():
        return path
    for suffix in VIDEO_SUFFIXES:
        if path.with_name(path.name + suffix).is_file():
            return path.with_name(path.name + suffix)
    raise InputNotFoundError(path)
