"""Test a trained detector on a dataset's test pairs: ``facetwin detect eval``.

Figures per compression level and variant, at frame level (every face crop) and at
video level (the mean score of a video's crops, as FaceForensics++ reports it), and
pooled over levels; the row of the cross-level table this detector gives (trained on
its levels, tested on each). Real crops shared by several test pairs (the same target
video) count once.

The shortcut probe asks whether the detector's decisions follow facetwin's watermark
instead of the manipulation. It scores every crop again cut from its frame with the
mark changed: fake frames with the mark taken out (what ``embed_watermark`` would add
to the frame, subtracted), and real frames given exactly the mark the fakes carry
(``embed_watermark`` on the whole frame), or, in datasets whose originals carry the
mark already (version 2), with it taken out; the watermark's score before and after
says how well each change worked. A detector that does not use the mark scores them
as it scores the crops as they are: mean shifts near 0, an AUC of changed against as
they are near 0.5, few decisions changed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from facetwin._check import check_choice, check_number, check_path, check_range
from facetwin.detection.data import PairCrops, crop_cache, load_crops, open_dataset
from facetwin.detection.metrics import detection_figures, group_means, roc_auc
from facetwin.detection.model import load_detector, score_crops, use_bf16
from facetwin.detection.splits import SPLITS, dataset_splits
from facetwin.device import pick_device
from facetwin.errors import DatasetFolderError
from facetwin.io.atomic import atomic_write_json
from facetwin.models.checkpoint import read_state
from facetwin.progress import ProgressFn

__all__ = ["evaluate_detector", "write_detect_report", "format_detect_report", "REPORT_FORMAT", "THRESHOLD"]

REPORT_FORMAT, REPORT_VERSION = "facetwin/detect-report", 1
#: A crop is called fake at this P(fake) or above.
THRESHOLD = 0.5


def evaluate_detector(
    detector: str | Path,
    dataset: str | Path,
    *,
    levels: Sequence[str] | None = None,
    split: Literal["train", "val", "test", "all"] = "test",
    probe: bool = True,
    frames_per_video: int | None = None,
    device: str = "auto",
    batch_size: int = 64,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Score a dataset's pairs with a trained detector; returns the report (see docs/formats.md).

    Args:
        detector: a folder written by ``train_detector``.
        dataset: a folder written by ``facetwin dataset`` (the one trained on, or another).
        levels: levels and variants to test (None: every one the dataset has).
        split: which pairs: "test" (default), "val", "train", or "all".
        probe: run the watermark shortcut probe (costs four watermark reads per probed
            frame and two more crops per face).
        frames_per_video: at most this many fake frames of each video, evenly spread.
        device: "auto", "cpu", "cuda", ...
        batch_size: crops per forward pass.
        progress: called with a ``Progress`` while crops are cut.

    Raises:
        NotAModelDirError, ModelDirError, CorruptCheckpointError: ``detector`` is not a
            usable detector folder.
        DatasetFolderError: not a dataset, no pairs in the split, a missing level.
    """
    check_choice(split, "split", [*SPLITS, "all"])
    if frames_per_video is not None:
        check_range(check_number(frames_per_video, "frames_per_video", integral=True), "frames_per_video", low=1)
    check_range(check_number(batch_size, "batch_size", integral=True), "batch_size", low=1)
    started = time.perf_counter()
    detector = check_path(detector, "detector")
    dev = pick_device(device)
    model, config = load_detector(detector, device=dev)
    state = read_state(detector)
    folder = open_dataset(dataset)
    splits = dataset_splits(folder)
    pairs = sorted({p for s in SPLITS for p in splits[s]}) if split == "all" else splits[split]
    if not pairs:
        raise DatasetFolderError(folder.root, f"has no pairs in its {split} split", "choose another --split")
    tested = list(levels) if levels else list(folder.levels)
    folder.check_levels(tested, "--levels")
    trained = list(config.get("levels", []))
    crops = load_crops(
        folder,
        pairs,
        tested,
        size=int(config["crop_size"]),
        scale=float(config["box_scale"]),
        frames_per_video=frames_per_video,
        probe=probe,
        cache=crop_cache(detector, folder),
        progress=progress,
    )
    bf16 = use_bf16(config.get("train", {}).get("precision", "auto"), dev)

    def score(images: np.ndarray) -> np.ndarray:
        return score_crops(model, torch.from_numpy(images), device=dev, bf16=bf16, batch_size=batch_size).numpy()

    per_level: dict[str, dict[str, Any]] = {}
    probes: dict[str, dict[str, Any]] = {}
    pooled: dict[str, list] = {"fake": [], "real": [], "fake_videos": [], "real_videos": []}
    for level in tested:
        level_crops = [c for c in crops if c.level == level]
        scored = _score_level(level_crops, score, probe)
        frames = detection_figures(scored["fake"], scored["real"], THRESHOLD)
        fake_videos = group_means(scored["fake"], scored["fake_video"])
        real_videos = group_means(scored["real"], scored["real_video"])
        videos = detection_figures(
            np.array(list(fake_videos.values())), np.array(list(real_videos.values())), THRESHOLD
        )
        per_level[level] = {
            "variant": folder.variants.get(level),
            "trained": level in trained,
            "frames": frames,
            "videos": videos,
        }
        pooled["fake"].append(scored["fake"])
        pooled["real"].append(scored["real"])
        pooled["fake_videos"] += list(fake_videos.values())
        pooled["real_videos"] += list(real_videos.values())
        if probe:
            probes[level] = _probe_figures(scored, level_crops)
    overall = {
        "frames": detection_figures(np.concatenate(pooled["fake"]), np.concatenate(pooled["real"]), THRESHOLD),
        "videos": detection_figures(np.array(pooled["fake_videos"]), np.array(pooled["real_videos"]), THRESHOLD),
    }
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "facetwin": _version(),
        "detector": str(detector),
        "step": int(state.get("step", 0)),
        "dataset": str(folder.root),
        "trained_on": trained,
        "split": {
            "tested": split,
            "method": splits.method,
            "note": splits.note,
            "pairs": pairs,
            "trained_on_dataset": config.get("dataset"),
        },
        "threshold": THRESHOLD,
        "crop_size": int(config["crop_size"]),
        "box_scale": float(config["box_scale"]),
        "levels": per_level,
        "all": overall,
        "cross_level": {
            "trained_on": "+".join(trained),
            "frame_auc": {lvl: v["frames"]["auc"] for lvl, v in per_level.items()},
            "frame_accuracy": {lvl: v["frames"]["accuracy"] for lvl, v in per_level.items()},
            "video_auc": {lvl: v["videos"]["auc"] for lvl, v in per_level.items()},
        },
        "probe": _probe_summary(probes) if probe else None,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return report


def _score_level(crops: list[PairCrops], score, probe: bool) -> dict[str, Any]:
    """Scores of a level's crops; real crops of a target shared by several pairs once."""
    keys = ("fake", "real", "real_changed", "fake_changed")
    out: dict[str, Any] = {**{k: [] for k in keys}, "fake_video": [], "real_video": []}
    seen: set[tuple[str, int, int]] = set()
    for c in crops:
        if not len(c):
            continue
        keep = []
        for i, (frame, track) in enumerate(zip(c.frames.tolist(), c.tracks.tolist())):
            if (c.target, frame, track) not in seen:
                seen.add((c.target, frame, track))
                keep.append(i)
        out["fake"].append(score(c.fake))
        out["fake_video"] += [c.pair] * len(c)
        out["real"].append(score(c.real[keep]))
        out["real_video"] += [c.target] * len(keep)
        if probe:
            out["real_changed"].append(score(c.real_changed[keep]))
            out["fake_changed"].append(score(c.fake_changed))
    for key in keys:
        out[key] = np.concatenate(out[key]) if out[key] else np.zeros(0)
    return out


def _probe_figures(scored: dict[str, Any], crops: list[PairCrops]) -> dict[str, Any]:
    def kind(scores: np.ndarray, mark: str | None = None) -> dict[str, Any]:
        figures = {
            "crops": int(scores.size),
            "mean_score": _mean(scores),
            "share_fake": _mean((scores >= THRESHOLD).astype(float)),
        }
        return figures if mark is None else {"mark": mark, **figures}

    def mark_of(side: str) -> str | None:
        marks = {getattr(c, f"{side}_mark") for c in crops if len(c)}
        return marks.pop() if len(marks) == 1 else ("mixed" if marks else None)

    keys = ("real", "real_changed", "fake", "fake_changed")
    real, real_changed, fake, fake_changed = (scored[k] for k in keys)
    marks = {
        k: np.concatenate(
            [c.watermark[k] for c in crops if c.watermark is not None and k in c.watermark] or [np.zeros(0)]
        )
        for k in keys
    }

    def auc(changed: np.ndarray, plain: np.ndarray) -> float | None:
        # The changed crops (1) against the same crops as they are (0): 0.5 when the mark
        # moves no score; above when the change raises scores, below when it lowers them.
        return roc_auc(np.r_[changed, plain], np.r_[np.ones(changed.size), np.zeros(plain.size)])

    def flipped(changed: np.ndarray, plain: np.ndarray) -> float | None:
        return _mean(((changed >= THRESHOLD) != (plain >= THRESHOLD)).astype(float))

    return {
        "real": kind(real),
        "real_changed": kind(real_changed, mark_of("real")),
        "fake": kind(fake),
        "fake_changed": kind(fake_changed, mark_of("fake")),
        "shift_real": _diff(_mean(real_changed), _mean(real)),
        "shift_fake": _diff(_mean(fake_changed), _mean(fake)),
        "auc_real_changed": auc(real_changed, real),
        "auc_fake_changed": auc(fake_changed, fake),
        "decisions_changed_real": flipped(real_changed, real),
        "decisions_changed_fake": flipped(fake_changed, fake),
        # The mark's strength (sigma, whole frames) in each kind: a change worked where the
        # changed frames read like the other kind.
        "watermark": {**{k: _mean(v) for k, v in marks.items()}, "frames": int(marks["fake"].size)},
    }


def _probe_summary(levels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    changed = [
        v for p in levels.values() for v in (p["decisions_changed_real"], p["decisions_changed_fake"]) if v is not None
    ]
    return {"levels": levels, "decisions_changed_max": max(changed) if changed else None}


def write_detect_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report as JSON, atomically; returns the path."""
    path = check_path(path, "path")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, report)
    return path


def format_detect_report(report: dict[str, Any]) -> str:
    """The report as a short text table (what ``facetwin detect eval`` prints)."""

    def f(value: float | None, digits: int = 3) -> str:
        return "  -  " if value is None else f"{value:.{digits}f}"

    split = report["split"]
    how = {"videos": "no video in two splits", "pairs": "split by pairs", "manifest": "the dataset's splits"}
    lines = [
        f"detector {report['detector']} (step {report['step']}, trained on {report['cross_level']['trained_on']}), "
        f"{split['tested']} split: {len(split['pairs'])} pairs ({how.get(split['method'], split['method'])})"
    ]
    if split.get("note"):
        lines.append(f"  note: {split['note']}")
    lines.append(f"{'level':<16} {'frames f/r':>11} {'acc':>6} {'AUC':>6}   {'videos f/r':>10} {'acc':>6} {'AUC':>6}")
    rows = [(("* " if v["trained"] else "  ") + name, v) for name, v in report["levels"].items()]
    rows.append(("  all levels", report["all"]))
    for name, v in rows:
        fr, vi = v["frames"], v["videos"]
        lines.append(
            f"{name:<16} {fr['fake']:>5}/{fr['real']:<5} {f(fr['accuracy']):>6} {f(fr['auc']):>6}   "
            f"{vi['fake']:>4}/{vi['real']:<5} {f(vi['accuracy']):>6} {f(vi['auc']):>6}"
        )
    lines.append("(* trained on this level)")
    probe = report.get("probe")
    if probe:
        lines.append(
            "shortcut probe, the same crops with the watermark added or removed: share called fake as they "
            "are -> changed, AUC changed vs as they are (0.5: the mark is not used), watermark sigma"
        )
        for name, p in probe["levels"].items():
            wm, real, fake = p["watermark"], p["real_changed"], p["fake_changed"]
            lines.append(
                f"  {name:<14} real {f(p['real']['share_fake'], 2)} -> {f(real['share_fake'], 2)} mark {real['mark']} "
                f"(AUC {f(p['auc_real_changed'], 2)}, sigma {f(wm['real'], 1)} -> {f(wm['real_changed'], 1)}); "
                f"fake {f(p['fake']['share_fake'], 2)} -> {f(fake['share_fake'], 2)} mark {fake['mark']} "
                f"(AUC {f(p['auc_fake_changed'], 2)}, sigma {f(wm['fake'], 1)} -> {f(wm['fake_changed'], 1)})"
            )
        lines.append(
            f"  decisions that follow the mark: at most {f(probe['decisions_changed_max'], 3)} of the crops "
            "of a level and kind"
        )
    return "\n".join(lines)


def _mean(x: np.ndarray) -> float | None:
    return float(np.mean(x)) if np.size(x) else None


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _version() -> str:
    from facetwin._version import __version__

    return __version__
