"""``facetwin evaluate --pairs``: many pairs at once, one gallery, one summary.

The pairs come from a pair list (``facetwin.pairs.read_pairs``: target = A, source = B,
and the model trained on them) or from a folder written by ``facetwin dataset`` (its
manifest names the videos, ``work/models/`` holds the models). Every pair is measured
both ways as ``evaluate`` does; then every swapped face is ranked among one gallery made
of every person of every pair plus the extra people given, so the top-1/top-5 figures of
all pairs are measured against the same people, as the papers do over a test set.

The summary gives each metric's mean and spread over pairs (each pair: the mean of its
two directions), and a row per pair and direction.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from facetwin.config import ConvertConfig, ExtractConfig
from facetwin.errors import FacetwinError, InputNotFoundError, InvalidOptionError
from facetwin.evaluation.gallery import Gallery, build_gallery
from facetwin.evaluation.runner import EvaluateConfig, Evaluation, evaluate, load_tools, rank_faces
from facetwin.pairs import Pair, read_pairs
from facetwin.progress import Progress, ProgressFn

__all__ = [
    "PairsEvaluation",
    "load_pairs",
    "evaluate_pairs",
    "pairs_summary",
    "format_pairs_table",
    "write_pairs_report",
]

log = logging.getLogger(__name__)


@dataclass
class PairsEvaluation:
    """Every pair's ``Evaluation`` (ranked in the shared gallery), and the pairs that failed."""

    pairs: dict[str, Evaluation]
    gallery: Gallery
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


# --- which pairs ----------------------------------------------------------------------------


def load_pairs(path: str | Path, *, videos: str | Path | None = None) -> list[Pair]:
    """The pairs to evaluate: a pair list with a model for every pair, or a dataset folder.

    Raises:
        InputNotFoundError: the list, a video or a model folder does not exist.
        InvalidOptionError: the list cannot be read as pairs, or a pair has no model.
    """
    from facetwin.models.checkpoint import is_model_dir

    path = Path(path)
    pairs = dataset_pairs(path) if path.is_dir() else read_pairs(path, videos=videos)
    for pair in pairs:
        if pair.model is None:
            raise InvalidOptionError("pairs", pair.name, "a model for every pair (target,source,model)")
        if not is_model_dir(pair.model):
            raise InputNotFoundError(pair.model)
    return pairs


def dataset_pairs(folder: str | Path) -> list[Pair]:
    """The pairs of a ``facetwin dataset`` folder with the models it trained.

    ``facetwin dataset`` trains on every frame of its videos, so the "held-out" end is
    not unseen there: such figures describe the dataset's fakes, not how a model does
    on new footage (the CLI says so when it reads a dataset folder).

    Raises:
        InputNotFoundError: no manifest.json (not a dataset folder).
        InvalidOptionError: the manifest cannot be read, or lists no pairs.
    """
    folder = Path(folder)
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise InputNotFoundError(manifest)
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        entries = doc["pairs"]
    except (ValueError, KeyError, TypeError):
        raise InvalidOptionError("pairs", str(manifest), "a manifest written by facetwin dataset") from None
    pairs = [
        Pair(folder / "original" / e["target"], folder / "original" / e["source"], folder / "work" / "models" / name)
        for name, e in entries.items()
    ]
    if not pairs:
        raise InvalidOptionError("pairs", str(manifest), "at least one pair")
    return pairs


# --- the run --------------------------------------------------------------------------------


def evaluate_pairs(
    pairs: Sequence[Pair],
    *,
    config: EvaluateConfig | None = None,
    convert: ConvertConfig | None = None,
    faces: ExtractConfig | None = None,
    gallery: Sequence[Path] = (),
    gallery_frames: int = 12,
    gallery_cache: str | Path | None = None,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> PairsEvaluation:
    """Evaluate every pair, then rank all swapped faces in one gallery.

    ``gallery``: extra people (``evaluate.gallery.gallery_sources``), each from
    ``gallery_frames`` pictures, kept in ``gallery_cache`` for the next run. A pair that cannot be evaluated (no face in its test
    part, an unreadable video) is recorded in ``failed`` and the run goes on.
    """
    started = time.perf_counter()
    report = progress or (lambda event: None)
    tools = load_tools()
    extra = (
        build_gallery(list(gallery), tools, frames=gallery_frames, cache=gallery_cache, progress=report)
        if gallery
        else Gallery()
    )
    done: dict[str, Evaluation] = {}
    failed: dict[str, str] = {}
    for i, pair in enumerate(pairs):
        try:
            done[pair.name] = evaluate(
                pair.model,
                pair.target,
                pair.source,
                config=config,
                convert=convert,
                faces=faces,
                gallery=extra,
                device=device,
                tools=tools,
                progress=lambda event, name=pair.name: report(replace(event, item=name)),
            )
        except FacetwinError as exc:
            log.warning("pair %s failed: %s", pair.name, exc)
            failed[pair.name] = str(exc)
        report(Progress("pair", i + 1, len(pairs), "pair"))
    # One gallery for all: the people of every pair, then the extra people.
    everyone = Gallery(skipped=dict(extra.skipped))
    for evaluation in done.values():
        for person in evaluation.people.values():
            everyone.add(person)
    for person in extra.people:
        everyone.add(person)
    for evaluation in done.values():
        rank_faces(evaluation, everyone)
    return PairsEvaluation(done, everyone, failed, time.perf_counter() - started)


# --- the summary ----------------------------------------------------------------------------

#: Counts, not qualities: left out of the means over pairs.
_NOT_AVERAGED = {"faces", "gallery_size"}


def pairs_summary(result: PairsEvaluation) -> dict[str, Any]:
    """``rows``: one summary row per pair and direction; ``pairs``: each pair's mean of its
    two directions; ``overall``: per metric, mean, standard deviation, min and max over
    pairs and how many pairs had a value."""
    from facetwin.evaluation.report import _mean, summary

    rows, per_pair = [], {}
    for name, evaluation in result.pairs.items():
        directions = summary(evaluation)
        for direction, values in directions.items():
            source, target = (evaluation.people[side].name for side in direction.split("_to_"))
            rows.append({"pair": name, "direction": f"{source}->{target}", **values})
        keys = {k for values in directions.values() for k in values} - _NOT_AVERAGED
        per_pair[name] = {k: _mean([v.get(k) for v in directions.values()]) for k in sorted(keys)}
    keys = sorted({k for values in per_pair.values() for k in values})
    overall = {}
    for key in keys:
        values = [v[key] for v in per_pair.values() if v.get(key) is not None]
        overall[key] = {
            "mean": float(np.mean(values)) if values else None,
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else (0.0 if values else None),
            "min": float(np.min(values)) if values else None,
            "max": float(np.max(values)) if values else None,
            "pairs": len(values),
        }
    return {
        "rows": rows,
        "pairs": per_pair,
        "overall": overall,
        "gallery_size": len(result.gallery),
        "gallery": [p.name for p in result.gallery.people],
        "gallery_skipped": result.gallery.skipped,
        "failed": result.failed,
        "seconds": round(result.seconds, 1),
    }


#: The summary table's rows: key, label, format, scale.
_TABLE = [
    ("id_top1_dlib", "ID top-1 in the gallery, dlib (%)", "{:.1f}", 100),
    ("id_top5_dlib", "ID top-5 in the gallery, dlib (%)", "{:.1f}", 100),
    ("id_top1_sface", "ID top-1 in the gallery, SFace (%)", "{:.1f}", 100),
    ("id_top5_sface", "ID top-5 in the gallery, SFace (%)", "{:.1f}", 100),
    ("id_retrieval_dlib", "ID two-way, dlib (%)", "{:.1f}", 100),
    ("id_retrieval_sface", "ID two-way, SFace (%)", "{:.1f}", 100),
    ("pose_error_l2", "pose error, L2 (deg)", "{:.2f}", 1),
    ("expression_error", "expression error / IOD", "{:.4f}", 1),
    ("expression_error_still", "  ... of a face that stays still", "{:.4f}", 1),
    ("landmark_error", "landmark error / IOD", "{:.4f}", 1),
    ("motion_ratio", "expression motion / input's", "{:.3f}", 1),
    ("detail_ratio", "detail / real face's", "{:.3f}", 1),
    ("flicker", "flicker / input's", "{:.3f}", 1),
    ("jitter_ratio", "landmark jitter / input's", "{:.3f}", 1),
    ("seam", "seam", "{:.3f}", 1),
]
#: The per-row table's columns: key, heading, format, scale.
_COLUMNS = [
    ("id_top1_dlib", "top1 dlib", "{:.0f}", 100),
    ("id_top5_dlib", "top5 dlib", "{:.0f}", 100),
    ("id_top1_sface", "top1 SF", "{:.0f}", 100),
    ("id_top5_sface", "top5 SF", "{:.0f}", 100),
    ("id_retrieval_dlib", "2way dlib", "{:.0f}", 100),
    ("id_retrieval_sface", "2way SF", "{:.0f}", 100),
    ("pose_error_l2", "pose", "{:.2f}", 1),
    ("expression_error", "expr", "{:.4f}", 1),
    ("expression_error_still", "expr still", "{:.4f}", 1),
    ("motion_ratio", "motion", "{:.2f}", 1),
    ("detail_ratio", "detail", "{:.2f}", 1),
    ("flicker", "flicker", "{:.2f}", 1),
    ("seam", "seam", "{:.2f}", 1),
]


def _cell(value, fmt: str, scale: float) -> str:
    return "n/a" if value is None else fmt.format(value * scale)


def format_pairs_table(result: PairsEvaluation, data: dict[str, Any] | None = None) -> str:
    """The summary over pairs (mean ± std, min, max), then one line per pair and direction."""
    data = data or pairs_summary(result)
    n = len(result.pairs)
    lines = [f"{n} pairs, both directions; gallery of {data['gallery_size']} people; mean ± std over pairs"]
    width = max(len(label) for _, label, _, _ in _TABLE)
    lines.append(f"{'metric':<{width}}  {'mean ± std':>18}  {'min':>8}  {'max':>8}")
    for key, label, fmt, scale in _TABLE:
        stats = data["overall"].get(key)
        if not stats or stats["mean"] is None:
            continue
        spread = f"{_cell(stats['mean'], fmt, scale)} ± {_cell(stats['std'], fmt, scale)}"
        lines.append(
            f"{label:<{width}}  {spread:>18}  {_cell(stats['min'], fmt, scale):>8}  "
            f"{_cell(stats['max'], fmt, scale):>8}"
        )
    lines.append("")
    heads = [head for _, head, _, _ in _COLUMNS]
    first = max([len("swap")] + [len(r["direction"]) for r in data["rows"]])
    lines.append(f"{'swap':<{first}}  " + "  ".join(f"{h:>9}" for h in heads))
    for row in data["rows"]:
        lines.append(
            f"{row['direction']:<{first}}  "
            + "  ".join(f"{_cell(row.get(key), fmt, scale):>9}" for key, _, fmt, scale in _COLUMNS)
        )
    for name, reason in result.failed.items():
        lines.append(f"failed {name}: {reason}")
    return "\n".join(lines)


def write_pairs_report(result: PairsEvaluation, folder: str | Path) -> dict[str, Path]:
    """``summary.json``, ``summary.csv`` (a row per pair and direction, then the mean and
    std over pairs) and each pair's ``report.json`` and contact sheet in ``<pair>/``."""
    from facetwin._version import __version__
    from facetwin.evaluation.report import FORMAT, VERSION, write_report
    from facetwin.io.atomic import atomic_write_bytes, atomic_write_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, evaluation in result.pairs.items():
        write_report(evaluation, folder / name)
    data = pairs_summary(result)
    paths = {"summary": folder / "summary.json", "csv": folder / "summary.csv"}
    atomic_write_json(
        paths["summary"], {"format": f"{FORMAT}-pairs", "version": VERSION, "facetwin": __version__, **data}
    )
    keys = [k for k in data["rows"][0] if k not in ("pair", "direction")] if data["rows"] else []
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["pair", "direction", *keys])
    for row in data["rows"]:
        writer.writerow([row["pair"], row["direction"], *(_csv(row.get(k)) for k in keys)])
    for stat in ("mean", "std"):
        writer.writerow(["all pairs", stat, *(_csv(data["overall"].get(k, {}).get(stat)) for k in keys)])
    atomic_write_bytes(paths["csv"], text.getvalue().encode("utf-8"))
    return paths


def _csv(value) -> str:
    return "" if value is None else f"{value:.6g}"
