"""A ``facetwin dataset`` folder seen by a detector: levels, pairs, and matched face crops.

Each crop is a labels row's face box enlarged ``box_scale`` (1.3, as FaceForensics++
cuts its faces) around its centre, made square, padded with black where it leaves the
frame, and resized to ``crop_size``. Fake crops come from the manipulated video at the
rows labelled fake; real crops from the real video at the same level, at the same frame
(``real_frame``), with the same box: matched pairs, so that what tells them apart is the
manipulation (and any mark one of them carries), never the framing or the compression.

Crops are kept per (level, pair) in a cache of safetensors files (uint8 arrays, no
pickle), checked against the labels and the videos they were cut from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facetwin._check import check_array, check_path
from facetwin.errors import DatasetFolderError, FacetwinError
from facetwin.io.atomic import atomic_write_bytes
from facetwin.progress import Progress, ProgressFn

__all__ = [
    "DatasetFolder",
    "PairCrops",
    "open_dataset",
    "crop_square",
    "cut_face",
    "pair_crops",
    "load_crops",
    "crop_cache",
    "fake_rows",
    "METHOD",
    "CROPS_FOLDER",
]

log = logging.getLogger(__name__)

METHOD = "facetwin"  # manipulated/<METHOD>/, masks/<METHOD>/
_DATASET_FORMAT = "facetwin/dataset"
_CACHE_VERSION = 1
# A face counts as swapped when this share of its box is inside the blend mask (>= 0.5);
# faces of a fake frame under it were left as they were (a second person, a face
# dropped by the identity filter) and are not fake crops.
_SWAPPED = 0.05
# Frames of each fake video whose watermark is measured for the probe (each costs four
# reads of a whole frame).
_PROBE_FRAMES = 8
#: The crop cache's folder in a detector folder.
CROPS_FOLDER = "crops"


@dataclass(frozen=True)
class DatasetFolder:
    """A dataset folder's finished pairs and the levels written for them.

    Attributes:
        root: the folder.
        manifest: manifest.json as read.
        pairs: finished pair name -> {"target": video file name, "source": video file name}.
        ladder: level name -> x264 CRF (0: lossless).
        levels: level folders of manipulated/facetwin/, ladder order first, then variants.
        variants: variant level name -> its degradation ("resize:0.5").
    """

    root: Path
    manifest: dict[str, Any]
    pairs: dict[str, dict[str, str]]
    ladder: dict[str, int]
    levels: tuple[str, ...]
    variants: dict[str, str] = field(default_factory=dict)

    @property
    def lossless(self) -> str | None:
        """The ladder's lossless level (CRF 0), else its first."""
        return next((name for name, crf in self.ladder.items() if crf == 0), next(iter(self.ladder), None))

    def fake_video(self, pair: str, level: str) -> Path:
        return self.root / "manipulated" / METHOD / level / f"{pair}.mp4"

    def real_video(self, pair: str, level: str) -> Path:
        """The real target video at ``level``: original/<level>/, or the original itself for the
        lossless level (the dataset links it instead of re-encoding it)."""
        target = self.pairs[pair]["target"]
        leveled = self.root / "original" / level / target
        if leveled.is_file() or self.ladder.get(level) != 0:
            return leveled
        return self.root / "original" / target

    def labels(self, pair: str) -> dict[str, Any]:
        return _read_json(self.root, self.root / "labels" / f"{pair}.json")

    def check_levels(self, levels: Sequence[str], option: str = "levels") -> None:
        """Refuse levels the dataset lacks, naming those it has."""
        missing = [level for level in levels if level not in self.levels]
        if missing:
            raise DatasetFolderError(
                self.root,
                f"has no level {', '.join(missing)} (it has {', '.join(self.levels) or 'none'})",
                f"give {option} from those",
            )


def open_dataset(path: str | Path) -> DatasetFolder:
    """Read a folder written by ``facetwin dataset``.

    Raises:
        DatasetFolderError: not such a folder, or no pair in it is finished.
    """
    root = check_path(path, "dataset")
    if not root.is_dir():
        raise DatasetFolderError(
            root, "is not a folder" if root.exists() else "does not exist", "give a folder written by facetwin dataset"
        )
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise DatasetFolderError(root, "has no manifest.json: it is not a folder written by facetwin dataset")
    manifest = _read_json(root, manifest_path)
    if manifest.get("format") != _DATASET_FORMAT or not isinstance(manifest.get("pairs"), dict):
        raise DatasetFolderError(root, f"manifest.json is not a {_DATASET_FORMAT} manifest")
    settings = manifest.get("settings") if isinstance(manifest.get("settings"), dict) else {}
    ladder = settings.get("ladder") if isinstance(settings.get("ladder"), dict) else {}
    variants = {}
    for variant in settings.get("variants") or ():
        variants[f"{settings.get('variant_level', 'c23')}_{str(variant).replace(':', '')}"] = str(variant)

    pairs = {}
    for name, entry in sorted(manifest["pairs"].items()):
        if not isinstance(entry, dict) or not _labels_complete(root / "labels" / f"{name}.json"):
            continue
        target, source = entry.get("target"), entry.get("source")
        if isinstance(target, str) and isinstance(source, str):
            pairs[name] = {"target": target, "source": source}
    if not pairs:
        raise DatasetFolderError(
            root,
            f"has no finished pairs ({len(manifest['pairs'])} listed, none with complete labels)",
            "run facetwin dataset to finish them",
        )
    folder = root / "manipulated" / METHOD
    present = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    levels = tuple(name for name in (*ladder, *variants) if name in present)
    levels += tuple(sorted(present - set(levels)))
    return DatasetFolder(root, manifest, pairs, {str(k): int(v) for k, v in ladder.items()}, levels, variants)


# --- geometry -------------------------------------------------------------------------------


def crop_square(box: Sequence[float], *, scale: float = 1.3) -> tuple[int, int, int]:
    """The square face crop of a box: ``(left, top, side)`` in whole frame pixels.

    Convention: ``box`` is [x0, y0, x1, y1] in frame pixels (x right, y down; x0, y0
    the top-left edge, x1, y1 the bottom-right edge). The square has the box's centre
    and ``scale`` times its longer side, rounded to whole pixels (halves up).

    >>> crop_square([40, 50, 80, 70], scale=1.3)
    (34, 34, 52)
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(1, math.floor(scale * max(x1 - x0, y1 - y0) + 0.5))
    left = math.floor((x0 + x1) / 2 - side / 2 + 0.5)
    top = math.floor((y0 + y1) / 2 - side / 2 + 0.5)
    return left, top, side


def cut_face(frame: np.ndarray, box: Sequence[float], *, size: int, scale: float = 1.3) -> np.ndarray:
    """The face crop of ``box`` in ``frame``: RGB uint8 (size, size, 3).

    The square of ``crop_square`` is cut from the frame, black where it lies outside,
    and resized to ``size`` (area-averaged when shrinking, bilinear when enlarging).

    Args:
        frame: RGB uint8 (H, W, 3).
        box: [x0, y0, x1, y1] in frame pixels (see ``crop_square``).
        size: side of the crop, pixels.
        scale: enlargement of the box around its centre.
    """
    import cv2

    check_array(frame, "frame", ["h", "w", 3], dtypes=[np.uint8])
    left, top, side = crop_square(box, scale=scale)
    h, w = frame.shape[:2]
    square = np.zeros((side, side, 3), np.uint8)
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + side, w), min(top + side, h)
    if x1 > x0 and y1 > y0:
        square[y0 - top : y1 - top, x0 - left : x1 - left] = frame[y0:y1, x0:x1]
    if side == size:
        return square
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)


# --- crops of a pair ------------------------------------------------------------------------


@dataclass
class PairCrops:
    """Matched crops of one pair at one level: row i of ``fake`` and of ``real`` share a
    frame and a box.

    For the probe, ``real_changed`` and ``fake_changed`` are the same crops cut from
    frames whose watermark was changed: added where the frame had none, taken out where
    it had one (``real_mark`` and ``fake_mark`` say which: "added" or "removed"), with
    the watermark's score (sigma) of whole frames of each kind in ``watermark``.
    """

    pair: str
    level: str
    target: str
    frames: np.ndarray  # (N,) frame index
    tracks: np.ndarray  # (N,) face track
    fake: np.ndarray  # (N, S, S, 3) uint8 RGB
    real: np.ndarray
    real_changed: np.ndarray | None = None
    fake_changed: np.ndarray | None = None
    real_mark: str | None = None
    fake_mark: str | None = None
    watermark: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.frames)


def pair_crops(
    dataset: DatasetFolder,
    pair: str,
    level: str,
    *,
    size: int,
    scale: float,
    frames_per_video: int | None = None,
    probe: bool = False,
    cache: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> PairCrops:
    """The matched face crops of ``pair`` at ``level``, from ``cache`` when it holds them.

    Args:
        dataset: from ``open_dataset``.
        pair, level: which videos.
        size, scale: crop side (pixels) and box enlargement.
        frames_per_video: at most this many fake frames, evenly spread (None: all).
        probe: also cut the probe's crops (see ``PairCrops``).
        cache: a folder for the crops (None: no cache).
        progress: called with the number of frames decoded since the last call.

    Raises:
        DatasetFolderError: a video of the pair is missing or cannot be decoded.
    """
    key = _cache_key(dataset, pair, level, size, scale, frames_per_video)
    path = None if cache is None else cache / level / f"{pair}.safetensors"
    if path is not None:
        cached = _load_cached(path, key, probe)
        if cached is not None:
            return cached
    crops = _cut_pair(
        dataset, pair, level, size=size, scale=scale, frames_per_video=frames_per_video, probe=probe, progress=progress
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, _encode(crops, key))
    return crops


def crop_cache(output: Path, dataset: DatasetFolder) -> Path:
    """The folder of ``dataset``'s crops inside a detector folder (one per dataset)."""
    name = hashlib.sha256(str(dataset.root.resolve()).encode("utf-8", "backslashreplace")).hexdigest()[:12]
    return output / CROPS_FOLDER / name


def load_crops(
    dataset: DatasetFolder,
    pairs: Sequence[str],
    levels: Sequence[str],
    *,
    size: int,
    scale: float,
    frames_per_video: int | None = None,
    probe: bool = False,
    cache: Path | None = None,
    progress: ProgressFn | None = None,
) -> list[PairCrops]:
    """Every (level, pair)'s crops, cut or read from ``cache``; progress in frames decoded."""
    # Frames decoded per pair: up to its last fake frame used.
    needed = {}
    for pair in pairs:
        rows = fake_rows(dataset, pair, frames_per_video)
        needed[pair] = int(rows[-1]["frame"]) + 1 if rows else 0
    total = sum(needed.values()) * len(levels)
    done = 0

    def advanced(frames: int) -> None:
        nonlocal done
        done += frames
        if progress is not None:
            progress(Progress("crops", min(done, total), total, "frame"))

    out = []
    for level in levels:
        for pair in pairs:
            before = done
            out.append(
                pair_crops(
                    dataset,
                    pair,
                    level,
                    size=size,
                    scale=scale,
                    frames_per_video=frames_per_video,
                    probe=probe,
                    cache=cache,
                    progress=advanced,
                )
            )
            advanced(max(0, needed[pair] - (done - before)))  # a cached pair counts at once
    return out


def fake_rows(dataset: DatasetFolder, pair: str, frames_per_video: int | None) -> list[dict[str, Any]]:
    """The labels rows a pair's crops come from: fake, with faces, evenly thinned."""
    rows = [r for r in dataset.labels(pair).get("rows", []) if r.get("label") == "fake" and r.get("faces")]
    if any(r.get("real_frame", r.get("frame")) != r.get("frame") for r in rows):
        # Fake and real frames are decoded side by side; every facetwin dataset maps frame i to i.
        raise DatasetFolderError(
            dataset.root,
            f"labels/{pair}.json maps fake frames to other real frames",
            "this detector reads datasets whose fake frame i is made from real frame i",
        )
    if frames_per_video is not None and len(rows) > frames_per_video:
        picks = np.linspace(0, len(rows) - 1, frames_per_video).round().astype(int)
        rows = [rows[i] for i in sorted(set(picks.tolist()))]
    return rows


def _cut_pair(dataset, pair, level, *, size, scale, frames_per_video, probe, progress) -> PairCrops:
    from facetwin.forensics.watermark import watermark_score

    rows = fake_rows(dataset, pair, frames_per_video)
    wanted = {int(r["frame"]): r for r in rows}
    masks = _mask_frames(dataset, pair, set(wanted))
    fakes, reals, real_changed, fake_changed, frames, tracks = [], [], [], [], [], []
    scores: dict[str, list[float]] = {k: [] for k in ("real", "real_changed", "fake", "fake_changed")}
    # Fakes always carry the mark; originals from dataset version 2 on carry it too.
    real_marked = int(dataset.manifest.get("version", 1)) >= 2
    score_frames = set(sorted(wanted)[:: max(1, math.ceil(len(wanted) / _PROBE_FRAMES))]) if probe else set()
    last = max(wanted, default=-1)
    fake_path, real_path = dataset.fake_video(pair, level), dataset.real_video(pair, level)
    for path in (fake_path, real_path):
        if not path.is_file():
            raise DatasetFolderError(
                dataset.root,
                f"has no {path.relative_to(dataset.root)} (pair {pair}, level {level})",
                "run facetwin dataset again to finish it",
            )
    decoded = 0
    for index, fake, real in _frames_together(dataset.root, fake_path, real_path, last):
        decoded += 1
        if progress is not None and decoded % 8 == 0:
            progress(8)
        row = wanted.get(index)
        if row is None:
            continue
        mask = masks.get(index)
        # Variants may be resized: boxes are in the frames' own pixels (the mask's size).
        ref_h, ref_w = mask.shape if mask is not None else fake.shape[:2]
        sx, sy = fake.shape[1] / ref_w, fake.shape[0] / ref_h
        if probe:
            real_other, fake_other = _change_mark(real, real_marked), _change_mark(fake, True)
            if index in score_frames:
                for name, image in (
                    ("real", real),
                    ("real_changed", real_other),
                    ("fake", fake),
                    ("fake_changed", fake_other),
                ):
                    scores[name].append(watermark_score(image))
        for face in row["faces"]:
            box = [float(v) for v in face["box"]]
            if mask is not None and not _swapped(mask, box):
                continue
            scaled = [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy]
            fakes.append(cut_face(fake, scaled, size=size, scale=scale))
            reals.append(cut_face(real, scaled, size=size, scale=scale))
            if probe:
                real_changed.append(cut_face(real_other, scaled, size=size, scale=scale))
                fake_changed.append(cut_face(fake_other, scaled, size=size, scale=scale))
            frames.append(index)
            tracks.append(int(face.get("track", 0)))
    if progress is not None and decoded % 8:
        progress(decoded % 8)

    def stack(images: list[np.ndarray]) -> np.ndarray:
        return np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)

    return PairCrops(
        pair=pair,
        level=level,
        target=dataset.pairs[pair]["target"],
        frames=np.asarray(frames, np.int64),
        tracks=np.asarray(tracks, np.int64),
        fake=stack(fakes),
        real=stack(reals),
        real_changed=stack(real_changed) if probe else None,
        fake_changed=stack(fake_changed) if probe else None,
        real_mark=("removed" if real_marked else "added") if probe else None,
        fake_mark="removed" if probe else None,
        watermark={k: np.asarray(v, np.float32) for k, v in scores.items()} if probe else None,
    )


def _change_mark(frame: np.ndarray, marked: bool) -> np.ndarray:
    """``frame`` with facetwin's watermark added (``marked`` False) or taken out (True).

    The mark is added to the luma, so taking it out subtracts what ``embed_watermark``
    would add to the frame as it is. Its strength follows the local contrast of the
    frame it is added to, which the mark itself barely changes, and a lossy level has
    blurred the mark a little: the removal is close, not exact, and the probe measures
    how close (the watermark's score before and after).
    """
    from facetwin.forensics.watermark import embed_watermark

    if not marked:
        return embed_watermark(frame)
    mark = embed_watermark(frame).astype(np.int16) - frame
    return np.clip(frame - mark, 0, 255).astype(np.uint8)


def _swapped(mask: np.ndarray, box: list[float]) -> bool:
    h, w = mask.shape
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(math.ceil(box[2])), w), min(int(math.ceil(box[3])), h)
    if x1 <= x0 or y1 <= y0:
        return False
    return float((mask[y0:y1, x0:x1] >= 128).mean()) >= _SWAPPED


def _mask_frames(dataset: DatasetFolder, pair: str, wanted: set[int]) -> dict[int, np.ndarray]:
    """Grey blend masks (H, W) uint8 of the wanted frames; none when the mask video is absent."""
    path = dataset.root / "masks" / METHOD / f"{pair}.mp4"
    if not wanted:
        return {}
    if not path.is_file():
        log.warning("%s is missing: every face of a fake frame counts as swapped", path)
        return {}
    import av

    masks = {}
    last = max(wanted)
    try:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in wanted:
                    masks[index] = frame.to_ndarray(format="gray")
                if index >= last:
                    break
    except av.error.FFmpegError as exc:
        raise DatasetFolderError(dataset.root, f"cannot decode {path.relative_to(dataset.root)} ({exc})") from None
    return masks


def _frames_together(root: Path, fake: Path, real: Path, last: int):
    """(index, fake frame, real frame) up to frame ``last``, both decoded upright."""
    from facetwin.io.media import open_media

    try:
        with open_media(fake) as f, open_media(real) as r:
            for a, b in zip(f.frames(), r.frames()):
                if a.index > last:
                    return
                yield a.index, a.image, b.image
    except FacetwinError as exc:
        raise DatasetFolderError(root, str(exc), "run facetwin dataset again, or remove the pair") from None


# --- cache ----------------------------------------------------------------------------------


def _file_stamp(path: Path) -> list[int]:
    try:
        stat = path.stat()
    except OSError:
        return [0, 0]
    return [stat.st_size, stat.st_mtime_ns]


def _cache_key(dataset, pair, level, size, scale, frames_per_video) -> dict[str, Any]:
    labels = dataset.root / "labels" / f"{pair}.json"
    return {
        "version": _CACHE_VERSION,
        "pair": pair,
        "level": level,
        "size": size,
        "scale": scale,
        "frames_per_video": frames_per_video,
        "labels": hashlib.sha256(labels.read_bytes()).hexdigest(),
        "fake": _file_stamp(dataset.fake_video(pair, level)),
        "real": _file_stamp(dataset.real_video(pair, level)),
        "mask": _file_stamp(dataset.root / "masks" / METHOD / f"{pair}.mp4"),
    }


def _encode(crops: PairCrops, key: dict[str, Any]) -> bytes:
    from safetensors.numpy import save

    tensors = {"frames": crops.frames, "tracks": crops.tracks, "fake": crops.fake, "real": crops.real}
    if crops.real_changed is not None:
        tensors.update(real_changed=crops.real_changed, fake_changed=crops.fake_changed)
        tensors.update({f"watermark.{k}": v for k, v in (crops.watermark or {}).items()})
    meta = {"key": key, "target": crops.target, "real_mark": crops.real_mark, "fake_mark": crops.fake_mark}
    return save(tensors, metadata={"facetwin": json.dumps(meta)})


def _load_cached(path: Path, key: dict[str, Any], probe: bool) -> PairCrops | None:
    from safetensors import SafetensorError
    from safetensors.numpy import load

    if not path.is_file():
        return None
    try:
        data = path.read_bytes()
        header_len = int.from_bytes(data[:8], "little")
        meta = json.loads(json.loads(data[8 : 8 + header_len])["__metadata__"]["facetwin"])
        if meta["key"] != key:
            return None
        t = load(data)
    except (SafetensorError, OSError, ValueError, KeyError, TypeError):
        log.warning("%s: damaged crop cache, cutting the crops again", path)
        return None
    if probe and "real_changed" not in t:
        return None
    return PairCrops(
        pair=key["pair"],
        level=key["level"],
        target=meta["target"],
        frames=t["frames"],
        tracks=t["tracks"],
        fake=t["fake"],
        real=t["real"],
        real_changed=t.get("real_changed"),
        fake_changed=t.get("fake_changed"),
        real_mark=meta.get("real_mark"),
        fake_mark=meta.get("fake_mark"),
        watermark=(
            {k.split(".", 1)[1]: v for k, v in t.items() if k.startswith("watermark.")} if "real_changed" in t else None
        ),
    )


def _labels_complete(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("complete"))
    except (ValueError, OSError):
        return False


def _read_json(root: Path, path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetFolderError(root, f"has no {path.relative_to(root)}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetFolderError(root, f"{path.relative_to(root)} cannot be read ({exc})") from None
    if not isinstance(doc, dict):
        raise DatasetFolderError(root, f"{path.relative_to(root)} does not hold a JSON object")
    return doc
