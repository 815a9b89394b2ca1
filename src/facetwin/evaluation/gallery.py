"""Identity retrieval against a gallery of many people, as face-swap papers report it.

FaceShifter, SimSwap and FaceDancer measure "ID retrieval" on FaceForensics++: each
swapped face's identity vector is compared, by cosine similarity, with one vector per
identity of the test set, and the swap counts when the nearest identity is the target
(top-1; top-5 when the target is among the five nearest). A two-way test (nearer the
target than the source) has 50 % chance level and says nothing about how the swap
compares with everyone else; a gallery of many people does.

A person's gallery vector is the mean of the unit identity vectors of several of their
faces, for each recogniser (dlib's ResNet, and SFace where its model ships). People come
from the pairs under evaluation (their training parts) and from extra sources: a video
is one person, a folder of images is one person, a folder of videos or of such folders
is one person per entry (so ``../shared/data/pretrain`` gives its 79 people).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facetwin._check import check_array, check_range
from facetwin.errors import EmptyInputError, InputNotFoundError, InvalidOptionError
from facetwin.progress import Progress, ProgressFn

__all__ = ["Gallery", "Person", "gallery_sources", "person_vectors", "build_gallery", "target_ranks", "top_k"]


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Person:
    """One identity of a gallery.

    Attributes:
        name: what reports call the person (a video's or folder's name).
        key: what tells two people apart: the resolved path of their footage.
        vectors: recogniser name ("dlib", "sface") -> the person's unit mean vector.
        faces: how many faces the mean was taken over.
    """

    name: str
    key: str
    vectors: dict[str, np.ndarray] = field(repr=False)
    faces: int = 0


@dataclass
class Gallery:
    """People to retrieve among, each with one mean identity vector per recogniser.

    ``skipped``: footage given for the gallery that was left out, with the reason.
    """

    people: list[Person] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(self, person: Person) -> None:
        """Add ``person`` unless someone with the same key is already in (the same footage twice)."""
        if all(p.key != person.key for p in self.people):
            self.people.append(person)

    def index(self, key: str) -> int:
        for i, person in enumerate(self.people):
            if person.key == key:
                return i
        raise KeyError(key)

    def matrix(self, recogniser: str) -> np.ndarray:
        """(P, D) unit vectors of every person for ``recogniser``."""
        return np.stack([p.vectors[recogniser] for p in self.people])

    def __len__(self) -> int:
        return len(self.people)


def target_ranks(vectors: np.ndarray, gallery: np.ndarray, target: int) -> np.ndarray:
    """Rank of the target among the gallery for each vector: 1 when it is the nearest.

    Distances are cosine distances (1 - cosine similarity), as the papers use; a tie
    counts against the target (its rank is 1 + the number of people at most as near).

    Args:
        vectors: (N, D) identity vectors of swapped faces.
        gallery: (P, D) one vector per person.
        target: index of the target person in ``gallery``.

    Returns:
        int (N,) ranks in 1..P.

    >>> gallery = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> target_ranks(np.array([[2.0, 0.1], [0.1, 1.0], [-1.0, -0.2]]), gallery, 0).tolist()
    [1, 2, 3]
    """
    vectors = check_array(np.asarray(vectors, dtype=np.float64), "vectors", ["N", "D"])
    gallery = check_array(np.asarray(gallery, dtype=np.float64), "gallery", ["P", vectors.shape[1]])
    check_range(target, "target", low=0, high=len(gallery) - 1)
    distances = 1.0 - _unit(vectors) @ _unit(gallery).T  # (N, P)
    own = distances[:, target : target + 1]
    others = np.delete(distances, target, axis=1)
    return 1 + (others <= own).sum(axis=1)


def top_k(ranks: Iterable[int], k: int) -> float | None:
    """Share of ranks within the first ``k``; None for no ranks.

    >>> top_k([1, 2, 7, 1], 1), top_k([1, 2, 7, 1], 5)
    (0.5, 0.75)
    """
    ranks = np.asarray(list(ranks))
    return float(np.mean(ranks <= k)) if len(ranks) else None


# --- people from footage --------------------------------------------------------------------


def gallery_sources(paths: Sequence[str | Path]) -> list[Path]:
    """Expand ``--gallery`` arguments into one path per person.

    A video is one person; a folder with images in it is one person; any other folder
    stands for the people of its entries (videos and folders, recursively), in name
    order.

    Raises:
        InputNotFoundError: a path does not exist.
        EmptyInputError: a folder holds no video and no images.
    """
    from facetwin.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES

    people: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise InputNotFoundError(path)
        found = _people_in(path, IMAGE_SUFFIXES, VIDEO_SUFFIXES)
        if not found:
            raise EmptyInputError(path, VIDEO_SUFFIXES + IMAGE_SUFFIXES)
        people.extend(found)
    return people


def _people_in(path: Path, images: tuple[str, ...], videos: tuple[str, ...]) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix.lower() in videos else []
    entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    if any(p.is_file() and p.suffix.lower() in images for p in entries):
        return [path]
    return [person for entry in entries for person in _people_in(entry, images, videos)]


def person_vectors(source: Path, tools, *, frames: int = 12) -> Person:
    """One person's gallery entry from a video or an image folder.

    ``frames`` pictures spread evenly over the footage are searched in full for faces;
    the largest face of each gives one vector per recogniser.

    Raises:
        NoFaceFoundError: none of the pictures has a face.
    """
    from facetwin.config import ExtractConfig
    from facetwin.errors import NoFaceFoundError, TruncatedMediaError
    from facetwin.faces.find import FaceFinder, largest_face
    from facetwin.io.media import open_media

    finder = FaceFinder(ExtractConfig(), video=False)
    found_vectors: dict[str, list[np.ndarray]] = {"dlib": [], "sface": []}
    with open_media(source) as media:
        count = media.frame_count or frames
        picks = set(np.linspace(0, count - 1, num=min(frames, count)).round().astype(int).tolist())
        try:
            for frame in media.frames():
                if frame.index in picks:
                    found = finder(frame.image, frame.time)
                    if found:
                        face = largest_face(found)
                        found_vectors["dlib"].append(tools.dlib(frame.image, face.landmarks))
                        if tools.sface is not None:
                            found_vectors["sface"].append(tools.sface(frame.image, face.landmarks))
                if frame.index >= max(picks):
                    break
        except TruncatedMediaError:
            pass  # a container that announces more frames than it holds: the faces before the end serve
    if not found_vectors["dlib"]:
        raise NoFaceFoundError(str(source), len(picks), "no face to learn the person's identity from")
    return person_from_vectors(_name(source), source, found_vectors)


def person_from_vectors(name: str, source: Path, vectors: dict[str, list[np.ndarray]]) -> Person:
    """A gallery entry: the mean of each recogniser's unit vectors, made unit again."""
    means = {rec: _unit(np.mean(_unit(np.stack(vs)), axis=0)) for rec, vs in vectors.items() if len(vs)}
    return Person(name, str(Path(source).resolve()), means, len(vectors["dlib"]))


def _name(source: Path) -> str:
    return source.stem if source.is_file() else source.name


def build_gallery(
    sources: Sequence[Path],
    tools,
    *,
    frames: int = 12,
    cache: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> Gallery:
    """A gallery of the people of ``sources`` (see ``gallery_sources``); footage without a
    face, or that cannot be read, is left out and listed in ``skipped``.

    ``cache``: a JSON file of people measured before (written as people are added, so an
    interrupted run keeps them); a person is taken from it while their footage's files,
    sizes and modification times and ``frames`` are unchanged and every recogniser in
    use has a vector.

    Raises:
        InvalidOptionError: no source has a face.
    """
    from facetwin.errors import FacetwinError

    report = progress or (lambda event: None)
    stored = _read_cache(cache)
    recognisers = ["dlib"] + (["sface"] if tools.sface is not None else [])
    gallery = Gallery()
    for i, source in enumerate(sources):
        stamp = f"{_stamp(source)}|frames={frames}"
        entry = stored.get(str(Path(source).resolve()))
        if entry and entry["stamp"] == stamp and all(r in entry["vectors"] for r in recognisers):
            gallery.add(
                Person(
                    entry["name"],
                    str(Path(source).resolve()),
                    {r: np.asarray(v) for r, v in entry["vectors"].items()},
                    entry["faces"],
                )
            )
        else:
            try:
                person = person_vectors(source, tools, frames=frames)
            except FacetwinError as exc:
                gallery.skipped[str(source)] = str(exc)
            else:
                gallery.add(person)
                stored[person.key] = {
                    "name": person.name,
                    "stamp": stamp,
                    "faces": person.faces,
                    "vectors": {r: v.tolist() for r, v in person.vectors.items()},
                }
                _write_cache(cache, stored)
        report(Progress("gallery", i + 1, len(sources), "person"))
    if sources and not len(gallery):
        raise InvalidOptionError("gallery", str(sources[0]), "footage with faces")
    return gallery


_CACHE_FORMAT = "facetwin/gallery-cache"


def _stamp(source: Path) -> str:
    """What changes when the footage does: names, sizes and modification times."""
    files = [source] if source.is_file() else sorted(p for p in source.iterdir() if p.is_file())
    return ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)


def _read_cache(cache: str | Path | None) -> dict:
    import json

    if cache is None or not Path(cache).is_file():
        return {}
    try:
        doc = json.loads(Path(cache).read_text(encoding="utf-8"))
    except ValueError:
        return {}  # a damaged cache is measured again, never trusted
    return doc.get("people", {}) if doc.get("format") == _CACHE_FORMAT else {}


def _write_cache(cache: str | Path | None, people: dict) -> None:
    from facetwin.io.atomic import atomic_write_json

    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(cache, {"format": _CACHE_FORMAT, "version": 1, "people": people})
