"""Checks of a finished dataset pair: ``facetwin dataset --check``.

Frame counts of every video against the labels; the mask against the pixels that
changed; the pixels away from the swap, which must be the same in the original and
the fake (no cue outside the face); and the container facts a detector could learn
instead of the swap (codec, colour range, size, rate, frame count, sound, tags).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facetwin.dataset.generate import METHOD

__all__ = ["check_pair"]


def check_pair(out: str | Path, name: str, *, threshold: int = 12) -> dict[str, Any]:
    """Consistency of one finished pair: frame counts of every video against the labels,
    and how well the mask covers the pixels that changed.

    Over fake frames, "changed" is max over channels of |lossless fake - real| >
    ``threshold`` (8-bit levels; above the watermark's 4.5 and the lossless level's
    rounding). Reported: IoU of (mask >= 0.5) with changed; the share of changed pixels
    inside the mask (mask > 0), which should be all of them; and the share of the mask
    (>= 0.5) that changed (less than all: a swapped pixel can come out close to the old one).
    """
    import av

    out = Path(out)
    labels = json.loads((out / "labels" / f"{name}.json").read_text(encoding="utf-8"))
    counts = {}
    for path in sorted(out.glob(f"manipulated/{METHOD}/*/{name}.mp4")) + [out / "masks" / METHOD / f"{name}.mp4"]:
        with av.open(str(path)) as container:
            counts[str(path.relative_to(out))] = sum(1 for _ in container.decode(video=0))
    ladder = json.loads((out / "manifest.json").read_text())["settings"]["ladder"]
    level = next((lvl for lvl, crf in ladder.items() if crf == 0), None)
    ious, inside, covered, outside = [], [], [], []
    lossless = out / "manipulated" / METHOD / str(level) / f"{name}.mp4"
    if level is not None and lossless.is_file():
        fake_rows = {r["frame"] for r in labels["rows"] if r["label"] == "fake"}
        target = Path(labels["target"]["video"]).stem
        real = out / "original" / level / f"{target}.mp4"  # marked like the fake: only the swap differs
        grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))
        with (
            av.open(str(lossless)) as f,
            av.open(str(real)) as r,
            av.open(str(out / "masks" / METHOD / f"{name}.mp4")) as m,
        ):
            for i, (ff, rf, mf) in enumerate(zip(f.decode(video=0), r.decode(video=0), m.decode(video=0))):
                difference = np.abs(
                    ff.to_ndarray(format="rgb24").astype(np.int16) - rf.to_ndarray(format="rgb24").astype(np.int16)
                ).max(axis=2)
                grey = mf.to_ndarray(format="gray")
                # Away from the swap (the mask grown by 15 px, past where the mark's
                # strength still follows the new face) both classes must be the same pixels.
                far = cv2.dilate((grey > 2).astype(np.uint8), grow) == 0
                if far.any():
                    outside.append(difference[far])
                if i not in fake_rows:
                    continue
                changed = difference > threshold
                mask, touched = grey >= 128, grey > 2  # > 2: above the lossless level's rounding
                union = np.logical_or(changed, mask).sum()
                ious.append(float(np.logical_and(changed, mask).sum() / union) if union else 1.0)
                if changed.any():
                    inside.append(float(np.logical_and(changed, touched).sum() / changed.sum()))
                if mask.any():
                    covered.append(float(np.logical_and(changed, mask).sum() / mask.sum()))
    return {
        "frames_labelled": labels["frames"],
        "target_frames": labels["target_frames"],
        "video_frames": counts,
        "counts_match": all(c == labels["frames"] for c in counts.values())
        and labels["frames"] == labels["target_frames"],
        "fake_frames": labels["fake_frames"],
        "mask_iou_median": float(np.median(ious)) if ious else None,
        "mask_iou_mean": float(np.mean(ious)) if ious else None,
        "changed_inside_mask": float(np.mean(inside)) if inside else None,
        "mask_changed": float(np.median(covered)) if covered else None,
        "outside_mask": _difference_stats(outside),
        "cues": {
            lvl: _cues(
                out / "original" / lvl / f"{Path(labels['target']['video']).stem}.mp4",
                out / "manipulated" / METHOD / lvl / f"{name}.mp4",
            )
            for lvl in sorted(p.parent.name for p in out.glob(f"manipulated/{METHOD}/*/{name}.mp4"))
        },
    }


def _difference_stats(parts: list[np.ndarray]) -> dict[str, float] | None:
    """|fake - original| away from the swap, 8-bit levels: should be the codec's noise only."""
    if not parts:
        return None
    values = np.concatenate(parts)
    return {
        "mean": round(float(values.mean()), 4),
        "p99": float(np.percentile(values, 99)),
        "max": int(values.max()),
        "pixels": int(values.size),
    }


def _cues(original: Path, fake: Path) -> dict[str, Any]:
    """Everything besides the pixels that could tell an original from a fake of one level.

    Facts that must agree (codec, pixel format, colour range and space, size, rate,
    frame count, sound, the set of container tags), the ones that differ, and the size
    ratio (the fake's bytes over the original's). Tag *values* are meant to differ:
    they say real or synthetic, as the labels do.
    """
    facts = {"original": _stream_facts(original), "fake": _stream_facts(fake)}
    differ = sorted(k for k in facts["original"] if k != "bytes" and facts["original"][k] != facts["fake"].get(k))
    ratio = facts["fake"]["bytes"] / facts["original"]["bytes"] if facts["original"].get("bytes") else None
    return {"same": not differ, "differ": differ, "size_ratio": None if ratio is None else round(ratio, 3), **facts}


def _stream_facts(path: Path) -> dict[str, Any]:
    import av

    if not path.is_file():
        return {"missing": True}
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        frames = sum(1 for _ in container.decode(video=0))
        audio = [
            (a.codec_context.name, a.codec_context.sample_rate, a.codec_context.channels)
            for a in container.streams.audio
        ]
        return {
            "codec": ctx.name,
            "profile": ctx.profile,
            "pix_fmt": ctx.format.name if ctx.format else None,
            "color_range": int(ctx.color_range),
            "colorspace": int(ctx.colorspace),
            "size": [ctx.width, ctx.height],
            "rate": str(video.average_rate),
            "frames": frames,
            "audio": [list(a) for a in audio],
            "tag_keys": sorted(k.lower() for k in container.metadata),
            "bytes": path.stat().st_size,
        }
