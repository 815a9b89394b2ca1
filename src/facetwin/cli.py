"""Command line: parse, build a config, call the library, report.

Bad input (a ``FacetwinError``) prints one line and exits 2; anything else is a bug:
one line pointing at a crash log with the traceback, exit 1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facetwin import __version__
from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig
from facetwin.errors import FacetwinError, InvalidOptionError
from facetwin.faces.detect import DETECTORS
from facetwin.demo import DEMO_STEPS
from facetwin.io.writers import X264_PRESETS

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
#: ``facetwin verify``: at least one file carries facetwin's marks.
EXIT_SYNTHETIC = 3

_KEY_DIR_HELP = ("folder of the key that signs the C2PA manifests of the outputs (made on first use; "
                 "keep it to prove the files are yours). Default: $FACETWIN_KEY_DIR or ~/.config/facetwin/c2pa")

_DEFAULTS = ExtractConfig()


# ExtractConfig's options: (group, flag, config field, argparse keywords, help). The
# default each help text ends with is read from the config, so it cannot drift.
_EXTRACT_OPTIONS: list[tuple[str, str, str, dict, str]] = [
    ("detection", "--detector", "detector", {"choices": sorted(DETECTORS)},
     "face detector: yunet (OpenCV CNN; finds small and turned faces) or hog (dlib, the original code's)"),
    ("detection", "--hog-upsample", "hog_upsample", {"type": int, "metavar": "N"},
     "hog only: double the image N times to find faces half as small each time (each costs ~4x)"),
    ("detection", "--yunet-threshold", "yunet_threshold", {"type": float, "metavar": "P"},
     "yunet only: minimum detection confidence 0-1"),
    ("detection", "--min-size", "min_size", {"type": int, "metavar": "PX"},
     "drop faces whose detection box is narrower than PX pixels (0 keeps all)"),
    ("whose faces", "--ref-face", "ref_faces", {"nargs": "+", "metavar": "IMG"},
     "photos of the one person to keep (largest face in each); other people's faces are dropped"),
    ("whose faces", "--ref-threshold", "ref_threshold", {"type": float, "metavar": "D"},
     "identity distance (dlib ResNet) under which a face is the reference person; lower is stricter"),
    ("whose faces", "--identity", "identity", {"action": "store_true"},
     "store a 128-d identity vector for every face in the alignments file (~75 ms a face on a 2-core CPU)"),
    ("aligned crops", "--crop-size", "crop_size", {"type": int, "metavar": "PX"},
     "side of the square aligned crop in pixels"),
    ("aligned crops", "--coverage", "coverage", {"type": float, "metavar": "F"},
     "fraction of the crop spanned by the inner face (brows to lips); smaller shows more head; "
     "0.625 is the original code's framing"),
    ("aligned crops", "--png-compression", "png_compression", {"type": int, "metavar": "0-9"},
     "PNG compression level; crops are lossless at every level"),
    ("video", "--every", "every", {"type": int, "metavar": "N"},
     "keep every Nth frame (fewer, more varied training faces)"),
    ("video", "--held-out", "held_out", {"type": float, "metavar": "F"},
     "leave the last fraction F of the video, and one second before it, unread: facetwin evaluate "
     "tests the model there (0.2 matches its default)"),
    ("video", "--redetect-every", "redetect_every", {"type": int, "metavar": "N"},
     "search the whole frame every N frames; between, faces are followed near their last position"),
    ("video", "--no-smooth", "smooth", {"action": "store_false"},
     "do not smooth landmarks over time (crops will jitter)"),
    ("video", "--smooth-min-cutoff", "smooth_min_cutoff", {"type": float, "metavar": "HZ"},
     "smoothing strength at rest (One Euro filter cut-off); lower is steadier but lags more"),
    ("video", "--smooth-beta", "smooth_beta", {"type": float, "metavar": "B"},
     "how quickly smoothing lets go when the face moves fast"),
]
def _model_choices() -> str:
    from facetwin.models import model_info

    return "; ".join(f"{name}: {doc}" for name, doc in model_info().items())


def _duration(text: str) -> float:
    """'90', '90s', '30m', '2h', '1h30m' -> seconds."""
    import re

    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 90, 90s, 30m, 2h or 1h30m)")
    h, m, sec = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + sec


# TrainConfig's options, as for extraction.
_TRAIN_OPTIONS: list[tuple[str, str, str, dict, str]] = [
    ("model", "--model", "model", {"metavar": "NAME"}, "architecture: " + "{models}"),
    ("model", "--mask", "mask", {"action": argparse.BooleanOptionalAction},
     "predict a face mask as a 4th output channel (default: the architecture's own choice)"),
    ("length", "--steps", "steps", {"type": int, "metavar": "N"},
     "stop when the model has trained N steps in total (counting earlier runs when resuming)"),
    ("length", "--time", "time_limit", {"type": _duration, "metavar": "T"},
     "stop after this much time in this run: 90s, 30m, 2h, 1h30m"),
    ("optimisation", "--batch-size", "batch_size", {"type": int, "metavar": "N"}, "faces of each person per step"),
    ("optimisation", "--lr", "lr", {"type": float, "metavar": "LR"}, "Adam learning rate"),
    ("optimisation", "--beta1", "beta1", {"type": float, "metavar": "B"}, "Adam beta1"),
    ("optimisation", "--beta2", "beta2", {"type": float, "metavar": "B"}, "Adam beta2"),
    ("optimisation", "--precision", "precision", {"choices": ["auto", "bf16", "fp32"]},
     "bf16 autocast (losses stay float32); auto uses it where the hardware is fast at it"),
    ("optimisation", "--no-channels-last", "channels_last", {"action": "store_false"},
     "keep tensors channels-first (channels-last is faster with bf16 on CPUs and GPUs)"),
    ("optimisation", "--compile", "compile", {"action": "store_true"},
     "compile the model with torch.compile (slow start, faster steps on GPUs)"),
    ("optimisation", "--freeze", "freeze", {"nargs": "+", "choices": ["encoder"]},
     "keep these parts fixed (with --init-from: reuse a trained encoder as it is)"),
    ("optimisation", "--seed", "seed", {"type": int, "metavar": "N"}, "random seed (batches, augmentation)"),
    ("losses", "--l1", "l1_weight", {"type": float, "metavar": "W"}, "weight of the L1 loss (the original's)"),
    ("losses", "--ssim", "ssim_weight", {"type": float, "metavar": "W"}, "weight of the DSSIM loss"),
    ("losses", "--eyes-mouth", "eyes_mouth_weight", {"type": float, "metavar": "W"},
     "extra weight of eye and mouth pixels (2 makes them count three times)"),
    ("losses", "--mask-loss", "mask_weight", {"type": float, "metavar": "W"},
     "weight of the mask loss (models that predict a mask)"),
    ("augmentation", "--rotation", "rotation", {"type": float, "metavar": "DEG"}, "random rotation range, degrees"),
    ("augmentation", "--zoom", "zoom", {"type": float, "metavar": "F"}, "random zoom range (0.05 = +-5 %%)"),
    ("augmentation", "--shift", "shift", {"type": float, "metavar": "F"}, "random shift range, fraction of the face"),
    ("augmentation", "--flip", "flip", {"type": float, "metavar": "P"}, "probability of a horizontal flip"),
    ("augmentation", "--warp", "warp_sigma", {"type": float, "metavar": "F"},
     "random warp noise, fraction of the face side (5/256 is the original's 5 px)"),
    ("augmentation", "--colour-jitter", "colour_jitter", {"type": float, "metavar": "F"},
     "random brightness, contrast and saturation range"),
    ("augmentation", "--no-match-colour", "match_colour", {"action": "store_false"},
     "do not shift A's mean colour to B's (the original did)"),
    ("output", "--preview-every", "preview_every", {"type": int, "metavar": "N"}, "write a preview grid every N steps"),
    ("output", "--save-every", "save_every", {"type": int, "metavar": "N"}, "save a checkpoint every N steps"),
    ("output", "--log-every", "log_every", {"type": int, "metavar": "N"},
     "record losses in history.csv every N steps"),
    ("output", "--tensorboard", "tensorboard", {"action": "store_true"},
     "also log to DIR/tensorboard for TensorBoard (pip install 'facetwin[tensorboard]')"),
]
_CONVERT_OPTIONS: list[tuple[str, str, str, dict, str]] = [
    ("swap", "--to", "to", {"choices": ["a", "b"]},
     "whose face the output shows: a puts person A's face on B (B's faces through decoder A), b the reverse"),
    ("swap", "--coverage", "coverage", {"type": float, "metavar": "F"},
     "the training faces' extract --coverage (the model sees the frame through the same window)"),
    ("swap", "--batch-size", "batch_size", {"type": int, "metavar": "N"}, "faces per model call"),
    ("swap", "--precision", "precision", {"choices": ["auto", "bf16", "fp32"]},
     "bf16 autocast for the model; auto uses it where the hardware is fast at it"),
    ("mask", "--mask", "mask", {"choices": ["hull", "learned", "both"]},
     "hull of the landmarks, the model's learned mask, or both (where both keep the face)"),
    ("mask", "--forehead", "forehead", {"type": float, "metavar": "F"},
     "extend the hull above the brows by F times the brow-to-chin height"),
    ("mask", "--erode", "erode", {"type": float, "metavar": "F"},
     "shrink the mask by F of the face crop's side (negative grows it)"),
    ("mask", "--feather", "feather", {"type": float, "metavar": "F"},
     "soften the mask edge (Gaussian sigma, fraction of the crop side)"),
    ("blending", "--colour", "colour", {"choices": ["mean", "reinhard", "histogram", "none"]},
     "colour correction toward the face being replaced: mean (the original's), reinhard (Lab), histogram, none"),
    ("blending", "--colour-smoothing", "colour_smoothing", {"type": float, "metavar": "W"},
     "video: weight of each frame in a face's running colour statistics (1 = none; lower is steadier)"),
    ("blending", "--blend", "blend", {"choices": ["alpha", "poisson"]},
     "feathered alpha compositing, or Poisson (seamless) cloning"),
    ("output", "--crf", "crf", {"type": int, "metavar": "Q"}, "H.264 quality 0-51, lower is better (18 looks like the input)"),
    ("output", "--preset", "preset", {"choices": list(X264_PRESETS)}, "H.264 speed preset (slower: smaller files)"),
    ("output", "--side-by-side", "side_by_side", {"action": "store_true"},
     "write input | output | mask side by side, for review"),
]
_FLAGS = {field: flag for table in (_EXTRACT_OPTIONS, _TRAIN_OPTIONS, _CONVERT_OPTIONS) for _, flag, field, _, _ in table}
#: The extraction options that say how faces are found (convert finds them the same way).
_FIND_OPTIONS = [row for row in _EXTRACT_OPTIONS if row[0] in ("detection", "whose faces", "video")
                 and row[2] not in ("identity", "every", "held_out")]


def _add_options(parser: argparse.ArgumentParser, table: list, defaults: object) -> None:
    """Add a config's options; defaults are None so unset options keep the config's."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for group, flag, field, kwargs, text in table:
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        default = getattr(defaults, field)
        if kwargs.get("action") in ("store_true", "store_false") or default is None or field == "ref_faces":
            suffix = ". Default: keep everyone" if field == "ref_faces" else ""
        else:
            suffix = f". Default: {' '.join(map(str, default)) if isinstance(default, tuple) else default}"
            if isinstance(default, tuple) and not default:
                suffix = ". Default: none"
        if "{models}" in text:
            text = text.replace("{models}", _model_choices())
        groups[group].add_argument(flag, dest=field, default=None, help=text + suffix, **kwargs)


def _config_from(args: argparse.Namespace, cls: type) -> Any:
    fields = cls.__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    try:
        return cls(**given)
    except InvalidOptionError as exc:
        # Name the option as the user typed it, not the config field.
        raise InvalidOptionError(_FLAGS.get(exc.name, exc.name), exc.value, exc.expected) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facetwin",
        description="Learn a face swap between two people from ordinary footage. "
        "Every output is marked as synthetic.",
    )
    parser.add_argument("--version", action="version", version=f"facetwin {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only the summary and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ex = sub.add_parser(
        "extract",
        help="find, align and save the faces in videos or photos",
        description="Find every face in a video, a folder of images or image files; align it to "
        "a mean face (Umeyama on 51 landmarks) and save a lossless crop plus alignments.json. "
        "An interrupted run continues where it stopped when run again.",
    )
    ex.add_argument("inputs", nargs="+", metavar="INPUT", help="a video, a folder of images, or image files")
    ex.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the crops and alignments.json")
    ex.add_argument(
        "--overwrite", action="store_true",
        help="replace an earlier extraction in DIR instead of continuing it",
    )
    _add_options(ex, _EXTRACT_OPTIONS, _DEFAULTS)

    tr = sub.add_parser(
        "train",
        help="train a face-swap model between person A and person B",
        description="Train one shared encoder and a decoder per person on randomly warped faces. "
        "Writes checkpoints, preview grids, history.csv and loss.png to MODEL_DIR; Ctrl-C saves "
        "and stops, --resume continues exactly. Several GPUs: torchrun --nproc-per-node N -m facetwin train ...",
    )
    tr.add_argument("faces_a", metavar="FACES_A", help="person A: an extraction folder or a folder of face images")
    tr.add_argument("faces_b", metavar="FACES_B", help="person B: likewise, at the same crop size")
    tr.add_argument("-o", "--model-dir", required=True, metavar="DIR", help="folder for the model and its training record")
    tr.add_argument("--resume", action="store_true", help="continue the model in DIR from its last checkpoint")
    tr.add_argument("--init-from", metavar="MODEL_DIR",
                    help="start from another model's weights (every part whose shape matches; the rest is reported)")
    tr.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda, cuda:1 ... Default: auto")
    _add_options(tr, _TRAIN_OPTIONS, TrainConfig())

    cv = sub.add_parser(
        "convert",
        help="swap faces in a video, an image or a folder with a trained model",
        description="Find the faces as extract does (or read them from its alignments.json), put each "
        "through the shared encoder and the other person's decoder, and blend the result back into the "
        "frame. A video keeps its frame count, timing, size and sound; frames without a face pass "
        "through untouched.",
    )
    cv.add_argument("input", metavar="INPUT", help="a video, an image, or a folder of images")
    cv.add_argument("model_dir", metavar="MODEL_DIR", help="a folder written by facetwin train")
    cv.add_argument("-o", "--output", required=True, metavar="OUT",
                    help="a video file (.mp4, .mov, .mkv), a folder for images, or a .png for one image")
    cv.add_argument("--alignments", metavar="FILE",
                    help="alignments.json from facetwin extract on the same input: use its faces")
    cv.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda. Default: auto")
    cv.add_argument("--key-dir", metavar="DIR", help=_KEY_DIR_HELP)
    _add_options(cv, _CONVERT_OPTIONS, ConvertConfig())
    _add_options(cv, _FIND_OPTIONS, _DEFAULTS)

    demo = sub.add_parser(
        "demo",
        help="run the pipeline on two portraits shipped with the installed packages",
        description="The whole pipeline on two portraits that ship inside installed packages "
        "(scikit-image's astronaut, matplotlib's Grace Hopper): extract faces from views of each, "
        "train a small model, swap each face into the other photo. Writes DIR/demo.png, the model "
        "with its loss plot and previews, and every intermediate step. Needs no data and no network; "
        "a few minutes on a 2-core CPU.",
    )
    demo.add_argument("-o", "--output", default="facetwin-demo", metavar="DIR", help="output folder. Default: ./facetwin-demo")
    demo.add_argument("--steps", type=int, default=DEMO_STEPS, metavar="N",
                      help=f"training steps (fewer is faster and blurrier). Default: {DEMO_STEPS}")
    demo.add_argument("--key-dir", metavar="DIR", help=_KEY_DIR_HELP)
    _add_options(demo, _EXTRACT_OPTIONS, _DEFAULTS)

    ve = sub.add_parser(
        "verify",
        help="check files for facetwin's marks: watermark, metadata, C2PA manifest",
        description="Report for each file whether it carries facetwin's invisible watermark (with its "
        "strength in standard deviations and the chance of a false alarm), facetwin's metadata, and a "
        "C2PA manifest (valid or not, signed by a trusted key or not). The watermark survives "
        "re-encoding and resizing; metadata and manifests do not. Exit code: 0 no file is marked, "
        f"{EXIT_SYNTHETIC} at least one file is synthetic, 2 a file could not be read.",
    )
    ve.add_argument("files", nargs="+", metavar="FILE", help="images or videos")
    ve.add_argument("--frames", type=int, default=32, metavar="N",
                    help="video frames to read the watermark from, spread over the video. Default: 32")
    ve.add_argument("--trust-dir", metavar="DIR",
                    help="signing key folder whose certificate counts as trusted. Default: the local key folder")
    ve.add_argument("--json", action="store_true", help="print one JSON report per file instead of the table")

    ds = sub.add_parser(
        "dataset",
        help="generate a FaceForensics++-style labelled face-swap dataset from video pairs",
        description="For each (target, source) pair: extract both videos, train a model (or use the one "
        "given), swap the source's face into the target. Writes original/ (real videos, and re-encoded at "
        "each level), manipulated/facetwin/<level>/ (every output marked as synthetic), masks/ (per-pixel "
        "blend masks, lossless), labels/ (one row per frame) and manifest.json (settings, seeds, model "
        "fingerprints, versions). Run the same command again to finish an interrupted run: finished pairs "
        "are skipped; a failing pair is recorded and the run goes on.",
    )
    ds.add_argument("pairs", metavar="PAIRS",
                    help="a JSON list of [target, source] (FaceForensics++ split files: video ids) or of "
                    "{\"target\", \"source\", \"model\"}; or a CSV of target,source[,model]")
    ds.add_argument("-o", "--output", required=True, metavar="DIR", help="the dataset folder")
    ds.add_argument("--videos", metavar="DIR", help="folder the pair list's names refer to. Default: the list's folder")
    ds.add_argument("--steps", type=int, default=2000, metavar="N", help="training steps per pair. Default: 2000")
    ds.add_argument("--model", default="fast64", metavar="NAME", help="architecture to train. Default: fast64")
    ds.add_argument("--batch-size", type=int, default=64, metavar="N", help="training batch size. Default: 64")
    ds.add_argument("--init-from", metavar="MODEL_DIR",
                    help="start every pair's model from this trained model (far fewer steps for the same quality)")
    ds.add_argument("--ladder", default="c0=0,c23=23,c40=40", metavar="LEVELS",
                    help="compression levels NAME=CRF, comma-separated; CRF 0 is lossless. Default: c0=0,c23=23,c40=40")
    ds.add_argument("--variant", dest="variants", action="append", default=[], metavar="KIND:AMOUNT",
                    help="also write degraded copies of fakes and originals: resize:F, blur:SIGMA, noise:STD "
                    "(repeatable)")
    ds.add_argument("--variant-level", default="c23", metavar="LEVEL",
                    help="the ladder level the variants are compressed at. Default: c23")
    ds.add_argument("--seed", type=int, default=0, metavar="N", help="seed of every random choice. Default: 0")
    ds.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="pairs at the same time on this machine (cores are shared out). Default: 1")
    ds.add_argument("--ray", metavar="ADDRESS",
                    help="run pairs on a Ray cluster (pip install 'facetwin[ray]'), one GPU each where there are "
                    "GPUs; DIR must be on storage every node sees")
    ds.add_argument("--copy-originals", action="store_true",
                    help="copy the real videos into original/ instead of hard-linking them")
    ds.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda. Default: auto")
    ds.add_argument("--key-dir", metavar="DIR", help=_KEY_DIR_HELP)
    ds.add_argument("--check", action="store_true",
                    help="after the run, check every finished pair: frame counts against the labels, mask IoU")

    ev = sub.add_parser(
        "evaluate",
        help="measure a trained model: identity, pose and expression kept, reconstruction, flicker, seams",
        description="Swap the faces of the held-out end of each person's video (the last --held-out "
        "fraction, which training should not have seen: extract with --held-out) and measure: identity "
        "of the swapped faces against both people (dlib ResNet and SFace; ID retrieval rate), landmark and "
        "head-pose error against the input face, A->A and B->B reconstruction (PSNR, SSIM), flicker and "
        "landmark jitter relative to the input, and the blend seam. Prints a table; writes report.json "
        "and contact_sheet.png (the faces most and least like their target).",
    )
    ev.add_argument("--model", required=True, metavar="DIR", help="a folder written by facetwin train")
    ev.add_argument("--a", required=True, metavar="VIDEO", help="person A's video (the model's FACES_A came from it)")
    ev.add_argument("--b", required=True, metavar="VIDEO", help="person B's video")
    ev.add_argument("-o", "--output", metavar="DIR", help="folder for report.json and contact_sheet.png. "
                    "Default: MODEL_DIR/evaluation")
    ev.add_argument("--held-out", type=float, default=0.2, metavar="F",
                    help="the last fraction of each video to test on. Default: 0.2")
    ev.add_argument("--gap", type=float, default=1.0, metavar="S",
                    help="seconds between the training part and the test part. Default: 1.0")
    ev.add_argument("--max-frames", type=int, default=90, metavar="N",
                    help="test frames per video, consecutive (0: all of the test part). Default: 90")
    ev.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda. Default: auto")
    ev.add_argument("--json", action="store_true", help="print the summary as JSON instead of the table")
    return parser


class _Bar:
    """tqdm progress over frames, drawn only by the CLI (the library only calls back)."""

    def __init__(self, desc: str, enabled: bool) -> None:
        self.desc, self.enabled, self.bar = desc, enabled, None

    def __call__(self, done: int, total: int, faces: int) -> None:
        if not self.enabled:
            return
        if self.bar is not None and done <= self.bar.n and done <= 1:
            self.close()  # a new run through the same callback (the demo's second portrait)
            self.bar = None
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total or None, initial=done - 1, desc=self.desc, unit="frame",
                            dynamic_ncols=True, file=sys.stderr, mininterval=0.5)
        self.bar.n = done
        self.bar.set_postfix_str(f"{faces} faces", refresh=False)
        self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _report(summary, label: str) -> str:
    rate = summary.frames_read / summary.seconds if summary.seconds > 0 else 0.0
    parts = [f"{label}: {summary.frames_read} frames read, {summary.faces_saved} faces saved, "
             f"{summary.frames_without_face} frames without a face"]
    if summary.dropped_small:
        parts.append(f"{summary.dropped_small} too small")
    if summary.dropped_other_person:
        parts.append(f"{summary.dropped_other_person} of other people dropped")
    if summary.already_complete:
        parts.append("already complete, nothing to do")
    elif summary.resumed_at is not None:
        parts.append(f"resumed at frame {summary.resumed_at}")
    text = ", ".join(parts)
    if not summary.already_complete:
        text += f" ({summary.seconds:.1f} s, {rate:.1f} frames/s)"
    return text + f" -> {summary.output}"


def _cmd_extract(args: argparse.Namespace) -> int:
    from facetwin.extract import extract

    config = _config_from(args, ExtractConfig)
    bar = _Bar("extract", not args.quiet)
    try:
        summary = extract(args.inputs, args.output, config=config, overwrite=args.overwrite, progress=bar)
    finally:
        bar.close()
    print(_report(summary, "extract"))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from facetwin.demo import run_demo

    bar = _Bar("demo extract", not args.quiet)
    train_bar = _TrainBar(not args.quiet)

    def train_progress(status) -> None:
        bar.close()  # extraction is over: one bar at a time
        train_bar(status)

    try:
        result = run_demo(args.output, steps=args.steps, config=_config_from(args, ExtractConfig), progress=bar,
                          train_progress=train_progress, key_dir=args.key_dir)
    finally:
        bar.close()
        train_bar.close()
    for side, summary in result.summaries.items():
        print(_report(summary, f"demo extract {side}"))
    print(f"model: {result.model_dir} (loss plot {result.loss_plot})")
    print(f"result: {result.figure}")
    return EXIT_OK


class _TrainBar:
    """tqdm over steps: rate, losses and ETA (when --steps is given)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.bar = enabled, None

    def __call__(self, status) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=status.total_steps, initial=status.step - 1, desc="train", unit="step",
                            dynamic_ncols=True, file=sys.stderr, mininterval=1.0)
        self.bar.n = status.step
        if status.loss_a is not None and status.loss_a == status.loss_a:
            rate = f", {status.samples_per_s:.1f} faces/s" if status.samples_per_s else ""
            self.bar.set_postfix_str(f"loss A {status.loss_a:.4f} B {status.loss_b:.4f}{rate}", refresh=False)
        self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _distributed_from_env():
    """torchrun's environment -> Distributed; starts the process group when there are several."""
    import os

    from facetwin.train.trainer import Distributed

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    import torch
    import torch.distributed as torch_dist

    torch_dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Distributed(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)


def _cmd_train(args: argparse.Namespace) -> int:
    from facetwin.train import train

    config = _config_from(args, TrainConfig)
    if config.steps is None and config.time_limit is None:
        raise InvalidOptionError("--steps or --time", None, "given: how long should training run")
    dist = _distributed_from_env()
    bar = _TrainBar(not args.quiet and dist.rank == 0)
    try:
        summary = train(args.faces_a, args.faces_b, args.model_dir, config=config, resume=args.resume,
                        init_from=args.init_from, device=args.device, distributed=dist, progress=bar)
    except KeyboardInterrupt:
        bar.close()
        print(f"facetwin train: interrupted; the last step is saved in {args.model_dir}, "
              "continue with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
        if dist.enabled:
            import torch.distributed as torch_dist

            # Leave together: a rank that tears down while rank 0 still writes the final
            # checkpoint can abort inside gloo.
            try:
                torch_dist.barrier()
            finally:
                torch_dist.destroy_process_group()
    if dist.rank == 0:
        if summary.transfer:
            print(f"init from {args.init_from}: {summary.transfer}")
        print(f"train: steps {summary.start_step} -> {summary.step} ({summary.stopped_by}), "
              f"L1 loss A {summary.loss_a:.4f} B {summary.loss_b:.4f}, {summary.samples_per_s:.1f} faces/s, "
              f"{summary.seconds:.0f} s -> {summary.model_dir}")
    return EXIT_OK


def _cmd_convert(args: argparse.Namespace) -> int:
    from facetwin.convert import convert

    config = _config_from(args, ConvertConfig)
    faces = _config_from(args, ExtractConfig)
    bar = _Bar("convert", not args.quiet)
    try:
        summary = convert(args.input, args.model_dir, args.output, config=config, faces=faces,
                          alignments=args.alignments, device=args.device, progress=bar, key_dir=args.key_dir)
    finally:
        bar.close()
    rate = summary.frames / summary.seconds if summary.seconds > 0 else 0.0
    print(f"convert: {summary.frames} frames, {summary.faces_swapped} faces swapped to {config.to.upper()} "
          f"in {summary.frames_with_faces} frames ({summary.seconds:.1f} s, {rate:.1f} frames/s) -> {summary.output}")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    import json

    from facetwin.forensics.report import verify

    if args.frames < 1:
        raise InvalidOptionError("--frames", args.frames, "1 or more")
    synthetic = unreadable = False
    for name in _expand_folders(args.files):
        try:
            report = verify(name, frames=args.frames, trust_dir=args.trust_dir)
        except FacetwinError as exc:
            unreadable = True
            if args.json:
                print(json.dumps({"path": name, "error": str(exc)}))
            else:
                print(f"{name}: cannot check: {exc}")
            continue
        synthetic |= report.synthetic
        print(json.dumps(report.as_dict()) if args.json else _verify_lines(report))
    if synthetic:
        return EXIT_SYNTHETIC
    return EXIT_BAD_INPUT if unreadable else EXIT_OK


def _expand_folders(names: list[str]) -> list[str]:
    """Folders become the images and videos inside them (recursively), sorted."""
    from facetwin.io.images import IMAGE_SUFFIXES
    from facetwin.io.media import VIDEO_SUFFIXES

    out = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            media = [p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")
                     and p.suffix.lower() in (*IMAGE_SUFFIXES, *VIDEO_SUFFIXES)]
            out.extend(str(p) for p in media)
        else:
            out.append(name)
    return out


def _verify_lines(report) -> str:
    mark = report.watermark
    frames = f", {mark.frames_marked}/{mark.frames} frames" if report.kind == "video" else ""
    chance = "< 1e-12" if mark.false_alarm < 1e-12 else f"{mark.false_alarm:.0e}"
    watermark = (f"found, {mark.score:.1f} sigma (chance of a false alarm {chance}){frames}"
                 if mark.found else f"not found ({mark.score:.1f} sigma{frames})")
    claim = report.claim
    metadata = (f"found: {claim.get('software')} {claim.get('version')}, model {claim.get('model_fingerprint')}"
                if claim is not None else "not found")
    c2pa = report.c2pa
    if not c2pa.present:
        unsupported = any("NotSupported" in p or "unsupported" in p for p in c2pa.problems)
        manifest = "none" + (" (this file type cannot carry one)" if unsupported
                             else f" ({c2pa.problems[0]})" if c2pa.problems else "")
    else:
        manifest = ("valid" if c2pa.valid else "INVALID") + (", trusted signer" if c2pa.trusted else ", untrusted signer")
        manifest += f", signed by {c2pa.signer}" if c2pa.signer else ""
        if not c2pa.valid and c2pa.problems:
            manifest += f" ({c2pa.problems[0]})"
    text = (f"{report.path}: {report.verdict}\n  watermark: {watermark}\n  metadata:  {metadata}\n"
            f"  C2PA:      {manifest}")
    return text + "".join(f"\n  note:      {problem}" for problem in report.problems)


def _parse_ladder(text: str) -> dict[str, int]:
    ladder = {}
    for item in text.split(","):
        name, _, crf = item.strip().partition("=")
        if not name or not crf.strip().isdigit():
            raise InvalidOptionError("--ladder", text, "NAME=CRF pairs such as c0=0,c23=23,c40=40")
        ladder[name.strip()] = int(crf)
    return ladder


class _DatasetBars:
    """One bar over pairs, and a ``_StageBar`` over the current pair's frames or steps."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.pairs = None
        self.stage = _StageBar(enabled, position=1)

    def __call__(self, name: str, stage: str, done: int, total: int) -> None:
        if not self.enabled or name == "videos":
            return
        if stage != "pair":
            self.stage(f"{name} {stage}", done, total)
            return
        if self.pairs is None:
            from tqdm import tqdm

            self.pairs = tqdm(total=total, desc="pairs", unit="pair", position=0, dynamic_ncols=True, file=sys.stderr)
        self.pairs.n = done
        self.pairs.refresh()

    def close(self) -> None:
        self.stage.close()
        if self.pairs is not None:
            self.pairs.close()


def _cmd_dataset(args: argparse.Namespace) -> int:
    from facetwin.forensics.dataset import DatasetConfig, check_pair, generate_dataset, read_pairs

    train_config = _config_from(argparse.Namespace(model=args.model, steps=args.steps, batch_size=args.batch_size,
                                                   seed=args.seed), TrainConfig)
    config = DatasetConfig(ladder=_parse_ladder(args.ladder), variants=tuple(args.variants),
                           variant_level=args.variant_level, seed=args.seed, jobs=args.jobs,
                           copy_originals=args.copy_originals, train=train_config,
                           init_from=Path(args.init_from) if args.init_from else None)
    pairs = read_pairs(args.pairs, videos=args.videos)
    bars = _DatasetBars(not args.quiet)
    try:
        summary = generate_dataset(pairs, args.output, config=config, key_dir=args.key_dir, device=args.device,
                                   ray_address=args.ray, progress=bars)
    finally:
        bars.close()
    print(f"dataset: {len(summary.done)} pairs made, {len(summary.skipped)} already done, "
          f"{len(summary.failed)} failed ({summary.seconds:.0f} s) -> {summary.output}")
    for name, reason in summary.failed.items():
        print(f"  failed {name}: {reason}")
    if args.check:
        for name in summary.done + summary.skipped:
            check = check_pair(summary.output, name)
            iou = "n/a" if check["mask_iou_median"] is None else f"{check['mask_iou_median']:.3f}"
            print(f"  check {name}: frames {'match' if check['counts_match'] else 'DO NOT MATCH'} "
                  f"({check['frames_labelled']} labelled, {check['fake_frames']} fake), mask IoU median {iou}")
    return EXIT_BAD_INPUT if summary.failed else EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from facetwin.evaluate.report import format_table, summary, write_report
    from facetwin.evaluate.runner import EvaluateConfig, evaluate

    config = EvaluateConfig(held_out=args.held_out, gap_seconds=args.gap, max_frames=args.max_frames)
    bar = _StageBar(not args.quiet)
    try:
        result = evaluate(args.model, args.a, args.b, config=config, device=args.device, progress=bar)
    finally:
        bar.close()
    paths = write_report(result, args.output or Path(args.model) / "evaluation")
    print(json.dumps(summary(result), indent=1) if args.json else format_table(result))
    print(f"evaluate: {result.seconds:.0f} s -> {paths['report']}, {paths['sheet']}")
    return EXIT_OK


class _StageBar:
    """One tqdm bar per named stage, replaced when the stage changes."""

    def __init__(self, enabled: bool, *, position: int | None = None) -> None:
        self.enabled, self.position, self.bar, self.stage = enabled, position, None, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            from tqdm import tqdm

            unit = "step" if stage.endswith("train") else "frame"
            self.bar = tqdm(total=total or None, desc=stage, unit=unit, dynamic_ncols=True, file=sys.stderr,
                            mininterval=0.5, position=self.position, leave=self.position is None)
            self.stage = stage
        self.bar.n = done
        self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _crash_log(exc: BaseException) -> Path:
    path = Path(tempfile.gettempdir()) / f"facetwin-crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    path.write_text(f"facetwin {__version__}\nargv: {sys.argv}\n\n{text}", encoding="utf-8")
    return path


def _terminate_as_interrupt() -> None:
    """Treat SIGTERM (a job scheduler, `kill`) like Ctrl-C, so work in progress is saved."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 internal error, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    commands = {"extract": _cmd_extract, "train": _cmd_train, "convert": _cmd_convert, "demo": _cmd_demo,
                "verify": _cmd_verify, "dataset": _cmd_dataset, "evaluate": _cmd_evaluate}
    _terminate_as_interrupt()
    try:
        return commands[args.command](args)
    except FacetwinError as exc:
        print(f"facetwin {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"facetwin {args.command}: interrupted; what was done is saved, run the same "
              "command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: keep the traceback, show one line
        log = _crash_log(exc)
        print(f"facetwin {args.command}: internal error: {type(exc).__name__}: {exc} "
              f"(traceback in {log})", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
