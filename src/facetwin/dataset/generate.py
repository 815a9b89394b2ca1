"""FaceForensics++-style face-swap datasets: ``facetwin dataset``.

For each (target, source) pair of videos: extract both, train a model on the two
faces (or reuse one), and swap the source's face into the target video. What comes
out is made for training and testing detectors:

    OUT/
      manifest.json                      every setting, seed, model fingerprint, version, pair status
      original/<video>.mp4               the real videos (hard links, or copies across filesystems)
      original/<level>/<video>.mp4       the real videos re-encoded at each lossy level (and variant),
                                         so compression alone never tells fake from real
      manipulated/facetwin/<level>/<target>_<source>.mp4
                                         the swapped target at each compression level (c0 = lossless)
      masks/facetwin/<target>_<source>.mp4
                                         per-pixel manipulation mask (the final blend mask), lossless
      labels/<target>_<source>.json|.csv one row per frame: fake or real, faces, boxes, landmarks,
                                         the real frame each fake frame was made from
      work/                              extractions and models (reused when run again)

The videos of a pair are written together from the one pass of the conversion (every
level and the mask from the same frames), each atomically; the labels are written last
and mark the pair done, so an interrupted run redoes only unfinished pairs. A failing
pair is recorded in the manifest and the run goes on.

Every manipulated video carries facetwin's marks (watermark, tags, C2PA). The watermark
is frame-wide and 3 levels strong; masks and the IoU check use a threshold above it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import platform
import shutil
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facetwin._check import check_config, check_path, described
from facetwin.config import DATASET_STEPS, DEFAULT_LADDER, DatasetConfig, parse_variant
from facetwin.errors import (
    ClusterUnreachableError,
    FacetwinError,
    InputNotFoundError,
    InvalidOptionError,
    ModelDirError,
    OutputConflictError,
)
from facetwin.io.atomic import atomic_write_bytes, atomic_write_json
from facetwin.io.lock import locks_output
from facetwin.io.paths import refuse_input_file
from facetwin.pairs import Pair, read_pairs
from facetwin.progress import Progress, ProgressFn

__all__ = [
    "DatasetConfig",
    "Pair",
    "DatasetSummary",
    "read_pairs",
    "generate_dataset",
    "DEFAULT_LADDER",
    "split_pairs",
    "DATASET_STEPS",
]

log = logging.getLogger(__name__)

# Version 2: the originals at every level carry the fakes' watermark (version 1 left them
# unmarked, a pixel cue a detector could learn), and manifest.json holds the splits.
FORMAT, VERSION = "facetwin/dataset", 2
#: What manifest.json says about the marks (docs/design.md: "A dataset without a mark to learn").
MARKS = {
    "watermark": "on every frame of originals and fakes alike, at every level and variant: "
    "it cannot tell real from fake",
    "real_or_fake": "labels/*.json, the files' metadata, and their signed C2PA manifests "
    "(digitalCapture for originals, trainedAlgorithmicMedia for fakes)",
    "verify": "facetwin verify --trust-dir DATASET/signer reads the originals as REAL and the fakes as SYNTHETIC",
    "untouched_sources": "original/<video> (hard link or copy of the input, no facetwin mark)",
}
#: Share of pairs in the training and validation splits; the rest is the test split.
SPLIT_SHARES = {"train": 0.7, "val": 0.15}
METHOD = "facetwin"

#: (pair name, stage, done, total): stage is "extract", "train", "convert" or "pair".


@dataclass
class DatasetSummary:
    output: Path
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # finished in an earlier run
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


# --- the run --------------------------------------------------------------------------------


# The folders whose writers leave temporaries when killed (work/ is extract's and train's).
@locks_output("output", "dataset", clean=("original", "original/*", "manipulated/*/*", "masks/*", "labels"))
def generate_dataset(
    pairs: Sequence[Pair],
    output: str | Path,
    *,
    config: DatasetConfig | None = None,
    key_dir: str | Path | None = None,
    device: str = "auto",
    ray_address: str | None = None,
    progress: ProgressFn | None = None,
) -> DatasetSummary:
    """Make the dataset of ``pairs`` in ``output``; run again to finish an interrupted run.

    Args:
        pairs: from ``read_pairs`` or built by hand.
        output: the dataset folder (made if missing).
        config: the run's settings; they must match those of an earlier run in
            ``output`` except ``jobs``.
        key_dir: the C2PA signing key folder (see ``facetwin.forensics.c2pa``).
        device: for training and conversion: "auto", "cpu", "cuda".
        ray_address: run the pairs as tasks on this Ray cluster (``pip install
            'facetwin[ray]'``), one GPU each where the cluster has GPUs. ``output``
            must be a folder every node sees.
        progress: called with a ``Progress``: stage "pair" over the pairs, and each pair's
            (``item``) extract, train and convert.

    Returns:
        Which pairs were made, skipped as already done, or failed (with the reason).
    """
    if not isinstance(pairs, Sequence) or not all(isinstance(pair, Pair) for pair in pairs):
        raise InvalidOptionError("pairs", described(pairs, type(pairs).__name__), "a list of Pair (see read_pairs)")
    config = check_config(config, "config", DatasetConfig)
    out = check_path(output, "output")
    if config.init_from is not None and config.init_from != "base":
        from facetwin.models.checkpoint import is_model_dir, read_config, read_weights

        # Checked once, here, rather than by every pair's training: a damaged start
        # model would otherwise fail each pair in turn after its originals were written.
        if not is_model_dir(config.init_from):
            raise ModelDirError(config.init_from, "holds no trained model to start from (--init-from)")
        read_config(config.init_from)
        read_weights(config.init_from)
    refuse_input_file(out, [video for pair in pairs for video in (pair.target, pair.source)])
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    summary = DatasetSummary(out)
    manifest = _open_manifest(out, config, pairs)
    _publish_signer(out, key_dir)
    report = progress or (lambda event: None)

    todo = []
    for pair in pairs:
        if _pair_done(out, pair):
            summary.skipped.append(pair.name)
        else:
            todo.append(pair)
    report(Progress("pair", len(summary.skipped), len(pairs), "pair"))

    # Each video is extracted (and its originals written) once, before any pair uses it,
    # so pairs that share a video never work on the same folder at once.
    videos = list(dict.fromkeys(v for p in todo for v in (p.target, p.source)))
    for i, video in enumerate(videos):
        try:
            _prepare_video(out, video, config, key_dir, report)
        except FacetwinError as exc:
            for pair in todo:
                if video in (pair.target, pair.source) and pair.name not in summary.failed:
                    summary.failed[pair.name] = f"{video.name}: {exc}"
        report(Progress("video", i + 1, len(videos), "video"))
    todo = [p for p in todo if p.name not in summary.failed]

    def finished(pair: Pair, result: dict[str, Any]) -> None:
        if result["status"] == "done":
            summary.done.append(pair.name)
        else:
            summary.failed[pair.name] = result["error"]
        manifest["pairs"][pair.name].update(result)
        atomic_write_json(out / "manifest.json", manifest)
        report(Progress("pair", len(summary.done) + len(summary.skipped) + len(summary.failed), len(pairs), "pair"))

    for name, reason in summary.failed.items():
        manifest["pairs"][name].update({"status": "failed", "error": reason})
    atomic_write_json(out / "manifest.json", manifest)

    if ray_address is not None:
        _run_on_ray(ray_address, todo, out, config, key_dir, device, finished)
    elif config.jobs > 1 and len(todo) > 1:
        _run_in_processes(todo, out, config, key_dir, device, finished, report)
    else:
        for pair in todo:
            finished(pair, run_pair(pair, out, config, key_dir=key_dir, device=device, progress=report))
    summary.seconds = time.perf_counter() - started
    return summary


def run_pair(
    pair: Pair,
    out: Path,
    config: DatasetConfig,
    *,
    key_dir: str | Path | None = None,
    device: str = "auto",
    progress: ProgressFn | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Train (unless given a model), convert and label one pair; never raises for bad
    input: the result says ``status`` "done" or "failed" with ``error``."""
    started = time.perf_counter()
    progress = progress or (lambda event: None)
    from facetwin.device import cpu_threads

    try:
        with cpu_threads(threads):  # a pool worker's share of the cores, for this pair only
            model_dir = _train_pair(pair, out, config, device, progress)
            result = _convert_pair(pair, out, config, model_dir, key_dir, device, progress)
        result.update(status="done", seconds=round(time.perf_counter() - started, 1))
        return result
    except (FacetwinError, OSError, ValueError) as exc:
        log.warning("pair %s failed: %s", pair.name, exc)
        return {
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "seconds": round(time.perf_counter() - started, 1),
        }


def _prepare_video(
    out: Path, video: Path, config: DatasetConfig, key_dir: str | Path | None, report: ProgressFn
) -> None:
    from facetwin.extraction import extract

    faces = out / "work" / "faces" / video.stem
    extract(video, faces, config=config.extract, progress=lambda event: report(replace(event, item=video.stem)))
    _link_original(video, out / "original" / video.name, copy=config.copy_originals)
    _write_original_levels(out, video, config, key_dir)


def _link_original(video: Path, target: Path, *, copy: bool) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    tmp.unlink(missing_ok=True)
    if not copy:
        try:
            os.link(video, tmp)
        except OSError:  # another filesystem, or links not allowed
            copy = True
    if copy:
        shutil.copyfile(video, tmp)
    os.replace(tmp, target)


def _lossy_outputs(out: Path, kind: str, name: str, config: DatasetConfig) -> dict[str, tuple[Path, int, str | None]]:
    """Output file -> (path, crf, variant) of every level and variant of one video."""
    root = out / "original" if kind == "original" else out / "manipulated" / METHOD
    outputs = {level: (root / level / f"{name}.mp4", crf, None) for level, crf in config.ladder.items()}
    for variant in config.variants:
        level = f"{config.variant_level}_{variant.replace(':', '')}"
        outputs[level] = (root / level / f"{name}.mp4", config.ladder[config.variant_level], variant)
    return outputs


def _write_original_levels(out: Path, video: Path, config: DatasetConfig, key_dir: str | Path | None) -> None:
    """The real video at every level and variant, written exactly as the fakes are.

    Same encoder, settings and pixel mark as the fakes: facetwin's watermark goes on the
    real frames too, so that no pixel pattern separates the classes (a detector would
    learn the mark rather than the swap). What each file is, real or synthetic, is said
    by its metadata and its signed C2PA manifest, which ``verify`` reads; the source
    itself stays untouched in original/<video> (docs/design.md).
    """
    from facetwin.forensics.provenance import Provenance
    from facetwin.io.media import open_media
    from facetwin.io.writers import VideoWriter

    targets = {k: v for k, v in _lossy_outputs(out, "original", video.stem, config).items() if not v[0].exists()}
    if not targets:
        return
    provenance = Provenance(
        None, Path(key_dir) if key_dir is not None else None, {"dataset_video": video.name}, kind="dataset_original"
    )
    with open_media(video) as source:
        writers = {
            k: VideoWriter(path, like=source, crf=crf, preset=config.convert.preset, provenance=provenance)
            for k, (path, crf, _) in targets.items()
        }
        try:
            for frame in source.frames():
                for k, writer in writers.items():
                    image = _apply_variant(
                        frame.image, targets[k][2], _variant_seed(config.seed, video.stem, frame.index)
                    )
                    writer.write(image, time=frame.time)
            for writer in writers.values():
                writer.close()
        except BaseException:
            for writer in writers.values():
                writer.abort()
            raise


def _train_pair(pair: Pair, out: Path, config: DatasetConfig, device: str, report: ProgressFn) -> Path:
    from facetwin.models.checkpoint import is_model_dir, read_state
    from facetwin.training import train

    if pair.model is not None:
        if not is_model_dir(pair.model):
            raise InputNotFoundError(pair.model)
        return pair.model
    model_dir = out / "work" / "models" / pair.name
    faces = out / "work" / "faces"
    train_config = replace(config.train, seed=_pair_seed(config.seed, pair.name), tensorboard=False)
    resume = is_model_dir(model_dir)
    if resume and train_config.steps is not None and read_state(model_dir)["step"] >= train_config.steps:
        return model_dir
    if not resume and model_dir.exists():
        shutil.rmtree(model_dir)  # a model folder cut short before its first checkpoint
    train(
        faces / pair.target.stem,
        faces / pair.source.stem,
        model_dir,
        config=train_config,
        resume=resume,
        init_from=None if resume else config.init_from,
        device=device,
        progress=lambda event: report(replace(event, item=pair.name)),
    )
    return model_dir


def _convert_pair(
    pair: Pair,
    out: Path,
    config: DatasetConfig,
    model_dir: Path,
    key_dir: str | Path | None,
    device: str,
    report: ProgressFn,
) -> dict[str, Any]:
    from facetwin.conversion import convert
    from facetwin.forensics.provenance import Provenance
    from facetwin.io.media import open_media
    from facetwin.io.writers import VideoWriter
    from facetwin.models.checkpoint import model_fingerprint

    fingerprint = model_fingerprint(model_dir)
    provenance = Provenance(
        fingerprint,
        Path(key_dir) if key_dir is not None else None,
        {"dataset_pair": pair.name, "target": pair.target.name, "source": pair.source.name},
    )
    outputs = _lossy_outputs(out, "manipulated", pair.name, config)
    first = next(iter(config.ladder))
    main_path, main_crf, _ = outputs.pop(first)
    mask_path = out / "masks" / METHOD / f"{pair.name}.mp4"
    with open_media(pair.target) as probe:
        fps, total = probe.fps, probe.frame_count
    writers = {
        k: VideoWriter(path, like=pair.target, crf=crf, preset=config.convert.preset, provenance=provenance)
        for k, (path, crf, _) in outputs.items()
    }
    # The mask is a label, not a picture: no watermark, lossless 4:4:4, no sound.
    masks = VideoWriter(mask_path, like=pair.target, crf=0, preset="veryfast", pix_fmt="yuv444p", audio=False)
    rows: list[dict[str, Any]] = []

    def record(frame) -> None:
        grey = np.clip(frame.mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
        masks.write(np.repeat(grey[..., None], 3, axis=2), time=frame.time)
        for k, writer in writers.items():
            variant = outputs[k][2]
            writer.write(
                _apply_variant(frame.image, variant, _variant_seed(config.seed, pair.target.stem, frame.index)),
                time=frame.time,
            )
        rows.append(_label_row(frame))

    try:
        convert(
            pair.target,
            model_dir,
            main_path,
            config=replace(config.convert, crf=main_crf),
            faces=config.extract,
            device=device,
            key_dir=key_dir,
            on_frame=record,
            progress=lambda event: report(replace(event, item=pair.name)),
        )
        masks.close()
        for writer in writers.values():
            writer.close()
    except BaseException:
        masks.abort()
        for writer in writers.values():
            writer.abort()
        raise
    labels = _labels(pair, out, config, fingerprint, rows, fps, total)
    _write_labels(out, pair.name, labels)  # last: marks the pair done
    return {
        "model_fingerprint": fingerprint,
        "frames": len(rows),
        "fake_frames": labels["fake_frames"],
        "model": str(model_dir),
    }


def _label_row(frame) -> dict[str, Any]:
    fake = bool(frame.faces) and float(frame.mask.max()) > 0
    faces = []
    for face in frame.faces:
        landmarks = np.asarray(face.landmarks, np.float64)
        box = face.box if face.box is not None else np.r_[landmarks.min(axis=0), landmarks.max(axis=0)]
        faces.append(
            {
                "track": int(face.track_id),
                "box": [round(float(v), 2) for v in box],
                "landmarks": np.round(landmarks, 2).tolist(),
            }
        )
    return {
        "frame": int(frame.index),
        "real_frame": int(frame.index),
        "time": None if frame.time is None else round(float(frame.time), 6),
        "label": "fake" if fake else "real",
        "mask_fraction": round(float((frame.mask >= 0.5).mean()), 6),
        "faces": faces,
    }


def _labels(
    pair: Pair, out: Path, config: DatasetConfig, fingerprint: str, rows: list[dict], fps: float, total: int
) -> dict[str, Any]:
    return {
        "format": "facetwin/dataset-labels",
        "version": VERSION,
        "video": f"{pair.name}.mp4",
        "method": METHOD,
        "target": {"video": pair.target.name, "identity": _mean_identity(out, pair.target.stem)},
        "source": {"video": pair.source.name, "identity": _mean_identity(out, pair.source.stem)},
        "model_fingerprint": fingerprint,
        "frames": len(rows),
        "target_frames": total,
        "fps": float(fps),
        "fake_frames": sum(r["label"] == "fake" for r in rows),
        "mapping": "frame i of every manipulated video and mask is made from frame i of the target (real_frame)",
        "rows": rows,
    }


def _mean_identity(out: Path, stem: str) -> list[float] | None:
    """Mean dlib identity vector of a video's extracted faces (None if none were computed)."""
    from facetwin.alignments import load_alignments

    path = out / "work" / "faces" / stem / "alignments.json"
    if not path.is_file():
        return None
    vectors = [f.identity for fr in load_alignments(path).frames for f in fr.faces if f.identity is not None]
    if not vectors:
        return None
    return np.round(np.mean(vectors, axis=0), 6).tolist()


def _write_labels(out: Path, name: str, labels: dict[str, Any]) -> None:
    folder = out / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["frame", "real_frame", "time", "label", "faces", "mask_fraction", "boxes"])
    for row in labels["rows"]:
        writer.writerow(
            [
                row["frame"],
                row["real_frame"],
                row["time"],
                row["label"],
                len(row["faces"]),
                row["mask_fraction"],
                json.dumps([f["box"] for f in row["faces"]]),
            ]
        )
    atomic_write_bytes(folder / f"{name}.csv", text.getvalue().encode("utf-8"))
    atomic_write_json(folder / f"{name}.json", {**labels, "complete": True})


def _pair_done(out: Path, pair: Pair) -> bool:
    path = out / "labels" / f"{pair.name}.json"
    if not path.is_file():
        return False
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("complete"))
    except ValueError:
        return False


# --- manifest -------------------------------------------------------------------------------


def _software() -> dict[str, str]:
    from facetwin._version import __version__

    versions = {"facetwin": __version__, "python": platform.python_version()}
    for module in ("torch", "numpy", "cv2", "av", "dlib", "c2pa"):
        try:
            versions[module] = str(__import__(module).__version__)
        except (ImportError, AttributeError):
            versions[module] = "absent"
    return versions


def _open_manifest(out: Path, config: DatasetConfig, pairs: Sequence[Pair]) -> dict[str, Any]:
    path = out / "manifest.json"
    settings = {k: v for k, v in config.to_json().items() if k != "jobs"}
    if path.is_file():
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("settings") != settings:
            raise InvalidOptionError(
                "settings",
                str(path),
                "the settings of the run that started this dataset (give the same options, or another output folder)",
            )
        if manifest.get("version") != VERSION:
            raise OutputConflictError(
                out,
                f"holds a dataset of format version {manifest.get('version')}, whose originals carry no "
                "watermark: finishing it would mix marked and unmarked originals",
                "choose another output folder",
            )
    else:
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "method": METHOD,
            "settings": settings,
            "seed": config.seed,
            "software": _software(),
            "pairs": {},
            "marks": MARKS,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    manifest["software_last_run"] = _software()
    for pair in pairs:
        entry = manifest["pairs"].setdefault(pair.name, {"status": "pending"})
        entry.update(
            {"target": pair.target.name, "source": pair.source.name, "seed": _pair_seed(config.seed, pair.name)}
        )
        if _pair_done(out, pair):
            entry["status"] = "done"
    manifest["splits"] = split_pairs(
        {name: (e["target"], e["source"]) for name, e in manifest["pairs"].items()}, seed=config.seed
    )
    return manifest


def split_pairs(pairs: dict[str, tuple[str, str]], *, seed: int = 0) -> dict[str, Any]:
    """Train, validation and test pairs such that no video is in two splits.

    FaceForensics++ splits by video, so that a detector is tested on faces it never saw.
    Pairs that share a video stay together (connected components of the video graph);
    the groups are shuffled by ``seed`` and dealt out to fill about 70 / 15 / 15 % of the
    pairs, the test split first, so that even a few pairs give a test split.

    Args:
        pairs: pair name -> (target video, source video).

    >>> split_pairs({"a_b": ("a", "b"), "c_d": ("c", "d"), "e_f": ("e", "f")})["by"]
    'video'
    """
    parent: dict[str, str] = {}

    def root(video: str) -> str:
        while parent.setdefault(video, video) != video:
            video = parent[video]
        return video

    for target, source in pairs.values():
        parent[root(target)] = root(source)
    groups: dict[str, list[str]] = {}
    for name, (target, _) in sorted(pairs.items()):
        groups.setdefault(root(target), []).append(name)
    order = sorted(groups.values(), key=lambda names: zlib.crc32(f"{seed}:{names[0]}".encode("utf-8")))
    total = len(pairs)
    want = {"test": total * (1 - SPLIT_SHARES["train"] - SPLIT_SHARES["val"]), "val": total * SPLIT_SHARES["val"]}
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for names in order:
        # The test split is filled first (at least one group once there are two), then
        # validation (once there are three); the rest trains.
        if len(order) >= 2 and (not splits["test"] or len(splits["test"]) + len(names) <= want["test"]):
            splits["test"] += names
        elif len(order) >= 3 and (not splits["val"] or len(splits["val"]) + len(names) <= want["val"]):
            splits["val"] += names
        else:
            splits["train"] += names
    return {**{k: sorted(v) for k, v in splits.items()}, "by": "video", "seed": seed}


def _publish_signer(out: Path, key_dir: str | Path | None) -> None:
    """Put the signer's certificate chain (public, no key) in ``out/signer``.

    ``verify --trust-dir DATASET/signer`` then trusts this dataset's manifests: the
    originals read as REAL only on the word of a signer the reader chose to trust.
    """
    from facetwin.forensics.c2pa import CHAIN_FILE, ensure_signing_key

    key = ensure_signing_key(Path(key_dir) if key_dir is not None else None)
    (out / "signer").mkdir(exist_ok=True)
    target = out / "signer" / CHAIN_FILE
    if not target.is_file() or target.read_bytes() != key.chain_pem:
        atomic_write_bytes(target, key.chain_pem)


def _pair_seed(seed: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(name.encode("utf-8"))) % (2**31)


def _variant_seed(seed: int, video: str, index: int) -> int:
    return (_pair_seed(seed, video) + index * 7919) % (2**31)


# --- variants -------------------------------------------------------------------------------


def _apply_variant(image: np.ndarray, variant: str | None, seed: int) -> np.ndarray:
    if variant is None:
        return image

    kind, amount = parse_variant(variant)
    if kind == "resize":
        h, w = image.shape[:2]
        size = (max(2, round(w * amount / 2) * 2), max(2, round(h * amount / 2) * 2))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if kind == "blur":
        return cv2.GaussianBlur(image, (0, 0), amount)
    noise = np.random.default_rng(seed).normal(0.0, amount, image.shape).astype(np.float32)
    return np.clip(image.astype(np.float32) + noise + 0.5, 0, 255).astype(np.uint8)


# --- parallel runs ---------------------------------------------------------------------------


def _run_in_processes(todo, out, config, key_dir, device, finished, report) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    import torch

    threads = max(1, (os.cpu_count() or 1) // config.jobs)
    gpus = torch.cuda.device_count() if device in ("auto", "cuda") else 0
    context = multiprocessing.get_context("spawn")  # no forked torch/OpenMP state
    with context.Manager() as manager:
        queue = manager.Queue()
        with ProcessPoolExecutor(max_workers=config.jobs, mp_context=context) as pool:
            # Pairs take the GPUs in turn, so several jobs do not all land on the first.
            futures = {
                pool.submit(
                    _pair_in_process, pair, out, config, key_dir, f"cuda:{i % gpus}" if gpus else device, threads, queue
                ): pair
                for i, pair in enumerate(todo)
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                while not queue.empty():
                    report(queue.get())
                for future in done:
                    try:
                        result = future.result()
                    except Exception as exc:  # a worker that died (memory, a signal)
                        result = {"status": "failed", "error": f"worker stopped: {type(exc).__name__}: {exc}"}
                    finished(futures[future], result)


def _pair_in_process(pair, out, config, key_dir, device, threads, queue) -> dict[str, Any]:
    return run_pair(pair, out, config, key_dir=key_dir, device=device, threads=threads, progress=queue.put)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a cluster address where nothing listens, in seconds rather than Ray's minutes.

    ``ray.init`` retries an unreachable head for over 400 s before it gives up; one TCP
    connection tells the same in at most ``timeout``. "auto" and "local" are Ray's own
    words for a cluster found or started here and are left to it.
    """
    import socket

    if address in ("auto", "local"):
        return
    client = address.startswith("ray://")
    host_port = address.removeprefix("ray://")
    host, sep, port = host_port.rpartition(":")
    if not sep or not port.isdigit():
        host, port = host_port, "10001" if client else "6379"  # Ray's default client and head ports
    host = host.strip("[]")  # [::1]:6379
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else type(exc).__name__)
        raise ClusterUnreachableError(address, f"{host}:{port}", str(reason).lower()) from None


def _run_on_ray(address, todo, out, config, key_dir, device, finished) -> None:
    try:
        import ray
    except ImportError:
        raise InvalidOptionError("ray", address, "Ray installed: pip install 'facetwin[ray]'") from None
    _check_reachable(address)
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(num_gpus=gpus, max_retries=0)(run_pair)
    refs = {task.remote(pair, out, config, key_dir=key_dir, device=device): pair for pair in todo}
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        try:
            result = ray.get(done[0])
        except Exception as exc:  # the task's worker died
            last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]  # Ray prefixes a traceback
            result = {"status": "failed", "error": f"ray task failed: {last}"}
        finished(refs[done[0]], result)
