"""An ``Evaluation`` as a JSON report, a table for the terminal and a contact sheet.

The JSON holds the summary of every metric per direction plus one row per swapped
face, so other tools can plot or compare runs; the table is the summary; the contact
sheet shows, per direction, the faces most like the target and the faces most like the
source (input | output), which is where a reader's eye should go first.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from facetwin.evaluation.runner import Evaluation, FaceResult
from facetwin.io.atomic import atomic_write_json

__all__ = ["summary", "report_json", "format_table", "write_report", "FORMAT", "VERSION"]

FORMAT, VERSION = "facetwin/evaluation", 1


def _median(values) -> float | None:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.median(values)) if values else None


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(values)) if values else None


def summary(evaluation: Evaluation) -> dict[str, dict[str, Any]]:
    """Per direction: the medians (and the retrieval rates) of every metric.

    The papers' figures are means over faces: gallery top-1/top-5, the L2 pose error and
    the expression error; the rest are medians, which one odd frame cannot move.
    """
    from facetwin.evaluation.gallery import top_k
    from facetwin.evaluation.metrics import pose_distance

    out = {}
    for name, faces in evaluation.directions.items():
        source = name.split("_to_")[0]
        row: dict[str, Any] = {
            "faces": len(faces),
            "gallery_size": len(evaluation.gallery),
            "id_top1_dlib": top_k([f.rank_dlib for f in faces if f.rank_dlib is not None], 1),
            "id_top5_dlib": top_k([f.rank_dlib for f in faces if f.rank_dlib is not None], 5),
            "identity_dlib_to_target": _median(f.dlib_to_target for f in faces),
            "identity_dlib_to_source": _median(f.dlib_to_source for f in faces),
            "id_retrieval_dlib": float(np.mean([f.dlib_to_target < f.dlib_to_source for f in faces]))
            if faces
            else None,
        }
        if evaluation.sface:
            row.update(
                {
                    "identity_sface_to_target": _median(f.sface_to_target for f in faces),
                    "identity_sface_to_source": _median(f.sface_to_source for f in faces),
                    "id_retrieval_sface": float(np.mean([f.sface_to_target < f.sface_to_source for f in faces]))
                    if faces
                    else None,
                    "id_top1_sface": top_k([f.rank_sface for f in faces if f.rank_sface is not None], 1),
                    "id_top5_sface": top_k([f.rank_sface for f in faces if f.rank_sface is not None], 5),
                }
            )
        poses = np.array([f.pose_error for f in faces]) if faces else np.zeros((0, 3))
        row.update(
            {
                "landmark_error": _median(f.landmark_error for f in faces),
                "pose_error_yaw": _median(poses[:, 0].tolist()),
                "pose_error_pitch": _median(poses[:, 1].tolist()),
                "pose_error_roll": _median(poses[:, 2].tolist()),
                "pose_error_l2": _mean(pose_distance(poses).tolist()) if len(poses) else None,
                "expression_error": _mean(f.expression_error for f in faces),
                "expression_error_still": evaluation.temporal[name].get("expression_still"),
                "motion_ratio": evaluation.temporal[name].get("motion_ratio"),
                "detail_ratio": _median(f.detail for f in faces),
                "seam": _median(f.seam for f in faces),
                "flicker": evaluation.temporal[name]["flicker"],
                "jitter_ratio": evaluation.temporal[name]["jitter_ratio"],
                f"reconstruction_psnr_{source}": evaluation.reconstruction[source]["psnr"],
                f"reconstruction_ssim_{source}": evaluation.reconstruction[source]["ssim"],
            }
        )
        out[name] = {k: _finite(v) for k, v in row.items()}
    return out


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def report_json(evaluation: Evaluation) -> dict[str, Any]:
    from facetwin._version import __version__
    from facetwin.models.checkpoint import model_fingerprint

    return {
        "format": FORMAT,
        "version": VERSION,
        "facetwin": __version__,
        "model": str(evaluation.model_dir),
        "model_fingerprint": model_fingerprint(evaluation.model_dir),
        "videos": {k: str(v) for k, v in evaluation.videos.items()},
        "splits": evaluation.splits,
        "sface": evaluation.sface,
        "gallery": evaluation.gallery,
        "gallery_skipped": evaluation.gallery_skipped,
        "seconds": round(evaluation.seconds, 1),
        "summary": summary(evaluation),
        "reconstruction": evaluation.reconstruction,
        "faces": {name: [_face_row(f) for f in faces] for name, faces in evaluation.directions.items()},
    }


def _face_row(face: FaceResult) -> dict[str, Any]:
    return {
        "frame": face.frame,
        "dlib_to_target": round(face.dlib_to_target, 5),
        "dlib_to_source": round(face.dlib_to_source, 5),
        "sface_to_target": None if face.sface_to_target is None else round(face.sface_to_target, 5),
        "sface_to_source": None if face.sface_to_source is None else round(face.sface_to_source, 5),
        "landmark_error": round(face.landmark_error, 5),
        "pose_error": [round(float(v), 3) for v in face.pose_error],
        "seam": round(face.seam, 5),
        "detail": round(face.detail, 5) if math.isfinite(face.detail) else None,
        "expression_error": round(face.expression_error, 5) if math.isfinite(face.expression_error) else None,
        "rank_dlib": face.rank_dlib,
        "rank_sface": face.rank_sface,
    }


_ROWS = [
    ("faces", "faces measured", "{:.0f}"),
    ("gallery_size", "people in the identity gallery", "{:.0f}"),
    ("id_top1_dlib", "ID top-1 in the gallery, dlib", "{:.1%}"),
    ("id_top5_dlib", "ID top-5 in the gallery, dlib", "{:.1%}"),
    ("id_top1_sface", "ID top-1 in the gallery, SFace", "{:.1%}"),
    ("id_top5_sface", "ID top-5 in the gallery, SFace", "{:.1%}"),
    ("id_retrieval_dlib", "ID two-way, dlib (share nearer the target)", "{:.1%}"),
    ("identity_dlib_to_target", "dlib distance to target (lower is better)", "{:.3f}"),
    ("identity_dlib_to_source", "dlib distance to source", "{:.3f}"),
    ("id_retrieval_sface", "ID two-way, SFace", "{:.1%}"),
    ("identity_sface_to_target", "SFace distance to target (1 - cos)", "{:.3f}"),
    ("identity_sface_to_source", "SFace distance to source", "{:.3f}"),
    ("landmark_error", "landmark error / inter-ocular", "{:.3f}"),
    ("pose_error_yaw", "head pose error, yaw (deg)", "{:.2f}"),
    ("pose_error_pitch", "head pose error, pitch (deg)", "{:.2f}"),
    ("pose_error_roll", "head pose error, roll (deg)", "{:.2f}"),
    ("pose_error_l2", "head pose error, L2 of the three (deg, mean)", "{:.2f}"),
    ("expression_error", "expression error / inter-ocular (mean)", "{:.4f}"),
    ("expression_error_still", "  the same for a face that stays still", "{:.4f}"),
    ("motion_ratio", "expression motion / input's (1 = all kept)", "{:.3f}"),
    ("detail_ratio", "detail / the real face's (1 = as sharp)", "{:.3f}"),
    ("flicker", "flicker in the face / input's (1 = none added)", "{:.3f}"),
    ("jitter_ratio", "landmark jitter / input's", "{:.3f}"),
    ("seam", "seam (1 = no edge added)", "{:.3f}"),
]


def format_table(evaluation: Evaluation) -> str:
    """The summary as aligned text, one column per direction."""
    data = summary(evaluation)
    names = list(data)
    heads = [n.replace("_to_", " -> ").upper() for n in names]
    lines = [("metric", heads)]
    for key, label, fmt in _ROWS:
        if all(key not in data[n] for n in names):
            continue
        lines.append((label, [_fmt(data[n].get(key), fmt) for n in names]))
    for side in ("a", "b"):
        rec = evaluation.reconstruction[side]
        lines.append(
            (
                f"reconstruction {side.upper()}->{side.upper()}: PSNR dB / SSIM",
                [f"{rec['psnr']:.2f} / {rec['ssim']:.3f}"] + [""] * (len(names) - 1),
            )
        )
    width = max(len(label) for label, _ in lines)
    col = max(12, *(len(v) for _, vals in lines for v in vals))
    return "\n".join(f"{label:<{width}}  " + "  ".join(f"{v:>{col}}" for v in vals) for label, vals in lines)


def _fmt(value, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def write_report(evaluation: Evaluation, folder: str | Path) -> dict[str, Path]:
    """Write ``report.json`` and ``contact_sheet.png`` into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"report": folder / "report.json", "sheet": folder / "contact_sheet.png"}
    atomic_write_json(paths["report"], report_json(evaluation))
    contact_sheet(evaluation, paths["sheet"])
    return paths


def contact_sheet(evaluation: Evaluation, path: Path, *, per_side: int = 4) -> None:
    """Per direction: the ``per_side`` faces most like the target, then the most like the
    source; each as input | output with its dlib distances. Marked as synthetic."""
    import cv2

    from facetwin.forensics.provenance import Provenance, write_marked_png

    rows = []
    for name, faces in evaluation.directions.items():
        ranked = sorted(faces, key=lambda f: f.margin, reverse=True)
        best, worst = ranked[:per_side], ranked[::-1][:per_side]
        for title, group in (("most like the target", best), ("most like the source", worst)):
            if not group:
                continue
            cells = [_cell(f) for f in group]
            label = np.full((28, sum(c.shape[1] for c in cells), 3), 255, np.uint8)
            cv2.putText(
                label,
                f"{name.replace('_to_', ' -> ').upper()}: {title}",
                (6, 20),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.55,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
            rows.append(np.concatenate([label, np.concatenate(cells, axis=1)], axis=0))
    if not rows:
        return
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    sheet = np.concatenate(rows, axis=0)
    write_marked_png(path, sheet, Provenance.for_model(evaluation.model_dir, evaluation="contact sheet"))


def _cell(face: FaceResult) -> np.ndarray:
    import cv2

    pair = np.concatenate([face.input_crop, face.output_crop], axis=1)
    caption = np.full((22, pair.shape[1], 3), 255, np.uint8)
    text = f"f{face.frame} tgt {face.dlib_to_target:.2f} src {face.dlib_to_source:.2f}"
    cv2.putText(caption, text, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    cell = np.concatenate([pair, caption], axis=0)
    return np.pad(cell, ((2, 2), (2, 2), (0, 0)), constant_values=255)
