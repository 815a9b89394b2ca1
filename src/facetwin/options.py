"""The options of extract, train and convert: flag, config field, group and help text.

One table per config, read by the command line (argparse) and the web UI (form fields
with the same help), so the two cannot drift apart. The default each help text ends
with is read from the config.
"""

from __future__ import annotations

import argparse
from typing import NamedTuple

from facetwin.config import ConvertConfig, DetectConfig, ExtractConfig, TrainConfig, literal_choices
from facetwin.io.writers import X264_PRESETS

__all__ = [
    "Option",
    "EXTRACT_OPTIONS",
    "TRAIN_OPTIONS",
    "CONVERT_OPTIONS",
    "FIND_OPTIONS",
    "FLAGS",
    "DETECT_OPTIONS",
    "DETECT_FLAGS",
    "duration",
    "help_text",
]


class Option(NamedTuple):
    """One option: its help group, command-line flag, config field, argparse keywords, help."""

    group: str
    flag: str
    field: str
    kwargs: dict
    text: str


def help_text(option: Option, defaults: object) -> str:
    """The option's help, ending with the default read from ``defaults`` (a config)."""
    default = getattr(defaults, option.field)
    if option.kwargs.get("action") in ("store_true", "store_false") or default is None or option.field == "ref_faces":
        suffix = ". Default: keep everyone" if option.field == "ref_faces" else ""
    elif isinstance(default, tuple):
        suffix = f". Default: {' '.join(map(str, default))}" if default else ". Default: none"
    else:
        suffix = f". Default: {default}"
    text = option.text
    if "{models}" in text:
        text = text.replace("{models}", _model_choices())
    return text + suffix


# ExtractConfig's options: (group, flag, config field, argparse keywords, help). The
# default each help text ends with is read from the config, so it cannot drift.
# One option a row, its help below it: not reflowed by the formatter.
# fmt: off
EXTRACT_OPTIONS: list[Option] = [
    Option("detection", "--detector", "detector", {},
     "face detector: yunet (OpenCV CNN; finds small and turned faces) or hog (dlib, the original code's)"),
    Option("detection", "--hog-upsample", "hog_upsample", {"type": int, "metavar": "N"},
     "hog only: double the image N times to find faces half as small each time (each costs ~4x)"),
    Option("detection", "--yunet-threshold", "yunet_threshold", {"type": float, "metavar": "P"},
     "yunet only: minimum detection confidence 0-1"),
    Option("detection", "--min-size", "min_size", {"type": int, "metavar": "PX"},
     "drop faces whose detection box is narrower than PX pixels (0 keeps all)"),
    Option("whose faces", "--ref-face", "ref_faces", {"nargs": "+", "metavar": "IMG"},
     "photos of the one person to keep (largest face in each); other people's faces are dropped"),
    Option("whose faces", "--ref-threshold", "ref_threshold", {"type": float, "metavar": "D"},
     "identity distance (dlib ResNet) under which a face is the reference person; lower is stricter"),
    Option("whose faces", "--identity", "identity", {"action": "store_true"},
     "store a 128-d identity vector for every face in the alignments file (~75 ms a face on a 2-core CPU)"),
    Option("aligned crops", "--crop-size", "crop_size", {"type": int, "metavar": "PX"},
     "side of the square aligned crop in pixels"),
    Option("aligned crops", "--coverage", "coverage", {"type": float, "metavar": "F"},
     "fraction of the crop spanned by the inner face (brows to lips); smaller shows more head; "
     "0.35 holds a whole face for training (train --face whole); 0.625 is the original code's framing"),
    Option("aligned crops", "--png-compression", "png_compression", {"type": int, "metavar": "0-9"},
     "PNG compression level; crops are lossless at every level"),
    Option("video", "--every", "every", {"type": int, "metavar": "N"},
     "keep every Nth frame (fewer, more varied training faces)"),
    Option("video", "--held-out", "held_out", {"type": float, "metavar": "F"},
     "leave the last fraction F of the video, and one second before it, unread: facetwin evaluate "
     "tests the model there (0.2 matches its default)"),
    Option("video", "--redetect-every", "redetect_every", {"type": int, "metavar": "N"},
     "search the whole frame every N frames; between, faces are followed near their last position"),
    Option("video", "--no-smooth", "smooth", {"action": "store_false"},
     "do not smooth landmarks over time (crops will jitter)"),
    Option("video", "--smooth-min-cutoff", "smooth_min_cutoff", {"type": float, "metavar": "HZ"},
     "smoothing strength at rest (One Euro filter cut-off); lower is steadier but lags more"),
    Option("video", "--smooth-beta", "smooth_beta", {"type": float, "metavar": "B"},
     "how quickly smoothing lets go when the face moves fast"),
]
# fmt: on
def _model_choices() -> str:
    from facetwin.models import model_info

    return "; ".join(f"{name}: {doc}" for name, doc in model_info().items())


def duration(text: str) -> float:
    """'90', '90s', '30m', '2h', '1h30m' -> seconds."""
    import re

    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 90, 90s, 30m, 2h or 1h30m)")
    h, m, sec = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + sec


# TrainConfig's options, as for extraction.
# One option a row, its help below it: not reflowed by the formatter.
# fmt: off
TRAIN_OPTIONS: list[Option] = [
    Option("model", "--model", "model", {"metavar": "NAME"}, "architecture: " + "{models}"),
    Option("model", "--mask", "mask", {"action": argparse.BooleanOptionalAction},
     "predict a face mask as a 4th output channel (default: the architecture's own choice)"),
    Option("model", "--face", "face", {},
     "the part of the face the model learns and paints: whole (chin to forehead, jaw and cheeks) or "
     "inner (brows to lips, the original code's window); extract at --coverage 0.35 for whole faces"),
    Option("length", "--steps", "steps", {"type": int, "metavar": "N"},
     "stop when the model has trained N steps in total (counting earlier runs when resuming)"),
    Option("length", "--time", "time_limit", {"type": duration, "metavar": "T"},
     "stop after this much time in this run: 90s, 30m, 2h, 1h30m"),
    Option("optimisation", "--batch-size", "batch_size", {"type": int, "metavar": "N"}, "faces of each person per step"),
    Option("optimisation", "--lr", "lr", {"type": float, "metavar": "LR"}, "Adam learning rate"),
    Option("optimisation", "--beta1", "beta1", {"type": float, "metavar": "B"}, "Adam beta1"),
    Option("optimisation", "--beta2", "beta2", {"type": float, "metavar": "B"}, "Adam beta2"),
    Option("optimisation", "--precision", "precision", {},
     "bf16 autocast (losses stay float32); auto uses it where the hardware is fast at it"),
    Option("optimisation", "--no-channels-last", "channels_last", {"action": "store_false"},
     "keep tensors channels-first (channels-last is faster with bf16 on CPUs and GPUs)"),
    Option("optimisation", "--compile", "compile", {"action": "store_true"},
     "compile the model with torch.compile (slow start, faster steps on GPUs)"),
    Option("optimisation", "--freeze", "freeze", {"nargs": "+", "choices": ["encoder"]},
     "keep these parts fixed (with --init-from: reuse a trained encoder as it is)"),
    Option("optimisation", "--seed", "seed", {"type": int, "metavar": "N"}, "random seed (batches, augmentation)"),
    Option("losses", "--l1", "l1_weight", {"type": float, "metavar": "W"}, "weight of the L1 loss (the original's)"),
    Option("losses", "--ssim", "ssim_weight", {"type": float, "metavar": "W"}, "weight of the DSSIM loss"),
    Option("losses", "--eyes-mouth", "eyes_mouth_weight", {"type": float, "metavar": "W"},
     "extra weight of eye and mouth pixels (2 makes them count three times)"),
    Option("losses", "--mask-loss", "mask_weight", {"type": float, "metavar": "W"},
     "weight of the mask loss (models that predict a mask)"),
    Option("augmentation", "--rotation", "rotation", {"type": float, "metavar": "DEG"}, "random rotation range, degrees"),
    Option("augmentation", "--zoom", "zoom", {"type": float, "metavar": "F"}, "random zoom range (0.05 = +-5 %)"),
    Option("augmentation", "--shift", "shift", {"type": float, "metavar": "F"}, "random shift range, fraction of the face"),
    Option("augmentation", "--flip", "flip", {"type": float, "metavar": "P"}, "probability of a horizontal flip"),
    Option("augmentation", "--warp", "warp_sigma", {"type": float, "metavar": "F"},
     "random warp noise, fraction of the face side (5/256 is the original's 5 px)"),
    Option("augmentation", "--colour-jitter", "colour_jitter", {"type": float, "metavar": "F"},
     "random brightness, contrast and saturation range"),
    Option("augmentation", "--no-match-colour", "match_colour", {"action": "store_false"},
     "do not shift A's mean colour to B's (the original did)"),
    Option("output", "--preview-every", "preview_every", {"type": int, "metavar": "N"}, "write a preview grid every N steps"),
    Option("output", "--save-every", "save_every", {"type": int, "metavar": "N"}, "save a checkpoint every N steps"),
    Option("output", "--log-every", "log_every", {"type": int, "metavar": "N"},
     "record losses in history.csv every N steps"),
    Option("output", "--tensorboard", "tensorboard", {"action": "store_true"},
     "also log to DIR/tensorboard for TensorBoard (pip install 'facetwin[tensorboard]')"),
]
# fmt: on
# One option a row, its help below it: not reflowed by the formatter.
# fmt: off
CONVERT_OPTIONS: list[Option] = [
    Option("swap", "--to", "to", {},
     "whose face the output shows: a puts person A's face on B (B's faces through decoder A), b the reverse"),
    Option("swap", "--coverage", "coverage", {"type": float, "metavar": "F"},
     "models trained before face types only: the training faces' extract --coverage (default 0.625); "
     "newer models record their face window"),
    Option("swap", "--batch-size", "batch_size", {"type": int, "metavar": "N"}, "faces per model call"),
    Option("swap", "--precision", "precision", {},
     "bf16 autocast for the model; auto uses it where the hardware is fast at it"),
    Option("mask", "--mask", "mask", {},
     "hull of the landmarks, the model's learned mask, or both (where both keep the face)"),
    Option("mask", "--forehead", "forehead", {"type": float, "metavar": "F"},
     "extend the hull above the brows by F times the brow-to-chin height"),
    Option("mask", "--erode", "erode", {"type": float, "metavar": "F"},
     "shrink the mask by F of the face crop's side (negative grows it)"),
    Option("mask", "--feather", "feather", {"type": float, "metavar": "F"},
     "soften the mask edge (Gaussian sigma, fraction of the crop side)"),
    Option("blending", "--colour", "colour", {},
     "colour correction toward the face being replaced: mean (the original's), reinhard (Lab), histogram, none"),
    Option("blending", "--colour-smoothing", "colour_smoothing", {"type": float, "metavar": "W"},
     "video: weight of each frame in a face's running colour statistics (1 = none; lower is steadier)"),
    Option("blending", "--blend", "blend", {},
     "feathered alpha compositing, or Poisson (seamless) cloning"),
    Option("output", "--crf", "crf", {"type": int, "metavar": "Q"}, "H.264 quality 0-51, lower is better (18 looks like the input)"),
    Option("output", "--preset", "preset", {"choices": list(X264_PRESETS)}, "H.264 speed preset (slower: smaller files)"),
    Option("output", "--side-by-side", "side_by_side", {"action": "store_true"},
     "write input | output | mask side by side, for review"),
]
# fmt: on


def _with_choices(table: list[Option], cls: type) -> list[Option]:
    """The table with each ``Literal`` field's choices read from the config (one spelling)."""
    out = []
    for row in table:
        choices = literal_choices(cls, row.field)
        if choices is not None and "choices" not in row.kwargs:
            row = row._replace(kwargs={**row.kwargs, "choices": list(choices)})
        out.append(row)
    return out


EXTRACT_OPTIONS = _with_choices(EXTRACT_OPTIONS, ExtractConfig)
TRAIN_OPTIONS = _with_choices(TRAIN_OPTIONS, TrainConfig)
CONVERT_OPTIONS = _with_choices(CONVERT_OPTIONS, ConvertConfig)
FLAGS = {field: flag for table in (EXTRACT_OPTIONS, TRAIN_OPTIONS, CONVERT_OPTIONS) for _, flag, field, _, _ in table}
#: The extraction options that say how faces are found (convert finds them the same way).
FIND_OPTIONS = [
    row
    for row in EXTRACT_OPTIONS
    if row.group in ("detection", "whose faces", "video") and row.field not in ("identity", "every", "held_out")
]

# DetectConfig's options (facetwin detect train), as for training.
# One option a row, its help below it: not reflowed by the formatter.
# fmt: off
DETECT_OPTIONS: list[Option] = [
    Option("detector", "--crop-size", "crop_size", {"type": int, "metavar": "PX"},
     "side of the square face crop the detector sees"),
    Option("detector", "--box-scale", "box_scale", {"type": float, "metavar": "F"},
     "enlarge each face box F times around its centre before cropping (FaceForensics++: 1.3)"),
    Option("detector", "--width", "width", {"type": int, "metavar": "N"},
     "channels of the network's first stage (doubled by each of its four stages)"),
    Option("data", "--train-levels", "train_levels", {"nargs": "+", "metavar": "LEVEL"},
     "compression levels or variants to train on (the others then test how the detector carries across "
     "compression; none given: the dataset's lossless level)"),
    Option("data", "--frames-per-video", "frames_per_video", {"type": int, "metavar": "N"},
     "at most N fake frames of each video (and the same real frames), evenly spread; default: all"),
    Option("length", "--steps", "steps", {"type": int, "metavar": "N"},
     "stop when the detector has trained N steps in total (counting earlier runs when resuming)"),
    Option("length", "--time", "time_limit", {"type": duration, "metavar": "T"},
     "stop after this much time in this run: 90s, 30m, 2h (alone, it replaces the step limit)"),
    Option("optimisation", "--batch-size", "batch_size", {"type": int, "metavar": "N"},
     "crops per step, half fake and half real"),
    Option("optimisation", "--lr", "lr", {"type": float, "metavar": "LR"},
     "Adam learning rate (warmed up, then a cosine to a tenth at the last step)"),
    Option("optimisation", "--warmup", "warmup", {"type": int, "metavar": "N"}, "steps of learning-rate warm-up"),
    Option("optimisation", "--weight-decay", "weight_decay", {"type": float, "metavar": "W"}, "Adam weight decay"),
    Option("optimisation", "--precision", "precision", {},
     "bf16 autocast; auto uses it on GPUs with bf16 only (on CPUs this small network is faster in float32)"),
    Option("optimisation", "--no-channels-last", "channels_last", {"action": "store_false"},
     "keep tensors channels-first (channels-last was 2-3x faster on the CPU)"),
    Option("optimisation", "--seed", "seed", {"type": int, "metavar": "N"}, "random seed (weights, batches, augmentation)"),
    Option("augmentation", "--flip", "flip", {"type": float, "metavar": "P"}, "probability of a horizontal flip"),
    Option("augmentation", "--jitter", "jitter", {"type": float, "metavar": "F"},
     "random shift by whole pixels, up to this fraction of the crop"),
    Option("output", "--save-every", "save_every", {"type": int, "metavar": "N"},
     "save a checkpoint and score the validation pairs every N steps"),
    Option("output", "--log-every", "log_every", {"type": int, "metavar": "N"}, "record loss and accuracy every N steps"),
]
# fmt: on
DETECT_OPTIONS = _with_choices(DETECT_OPTIONS, DetectConfig)
DETECT_FLAGS = {row.field: row.flag for row in DETECT_OPTIONS}
