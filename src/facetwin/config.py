"""Settings of each stage as frozen dataclasses; every CLI option maps to one field."""

from __future__ import annotations

import argparse
import functools
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from facetwin._check import check_choice, check_number, check_range
from facetwin.errors import InvalidOptionError
from facetwin.io.writers import X264_PRESETS

__all__ = [
    "architectures",
    "duration",
    "option",
    "option_spec",
    "OptionSpec",
    "literal_choices",
    "MaskMode",
    "ColourMode",
    "ExtractConfig",
    "TrainConfig",
    "ConvertConfig",
    "EvaluateConfig",
    "DatasetConfig",
    "DetectConfig",
    "DEFAULT_LADDER",
    "DATASET_STEPS",
    "parse_variant",
]


def duration(text: str) -> float:
    """'90', '90s', '30m', '2h', '1h30m' -> seconds."""
    import re

    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 90, 90s, 30m, 2h or 1h30m)")
    h, m, sec = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + sec


@functools.cache
def architectures() -> dict[str, str]:
    """The built-in architectures, name -> one-line description, sorted by name.

    Read from the model modules' source (each ``@register_model`` factory and the first
    line of its docstring) rather than by importing them: they import torch, and
    ``--help`` should answer at once. tests/test_options.py holds this to the registry.
    """
    import ast

    found = {}
    for path in sorted((Path(__file__).parent / "models").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "register_model" for d in node.decorator_list
            ):
                doc = ast.get_docstring(node) or ""
                found[node.name] = doc.strip().splitlines()[0] if doc.strip() else ""
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class OptionSpec:
    """A config field's command-line option: flag, help group, help text, allowed range.

    The type, the choices (a ``Literal``), on/off flags (a ``bool``) and lists (a
    ``tuple``) come from the field's annotation; ``kwargs`` holds what argparse needs
    beyond that (a metavar, a parsing function). ``facetwin.options`` builds every
    command's parser and the UI's forms from these.
    """

    flag: str
    group: str
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)


def option(
    default: Any,
    flag: str,
    group: str,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    **kwargs: Any,
) -> Any:
    """A config field with its option declared on it (the one place it is declared)."""
    spec = OptionSpec(flag, group, help, low, high, low_open, kwargs)
    return field(default=default, metadata={"option": spec})


def option_spec(cls: type, name: str) -> OptionSpec | None:
    """The option declared on a config field, or None."""
    found = cls.__dataclass_fields__.get(name)
    return None if found is None else found.metadata.get("option")


def _check_fields(config: object) -> None:
    """The declared choices and ranges of every field (None: unset, always allowed)."""
    _check_literals(config)
    hints = _hints(type(config))
    for name, spec in _specs(type(config)).items():
        value = getattr(config, name)
        if value is None or (spec.low is None and spec.high is None):
            continue
        check_range(value, name, low=spec.low, high=spec.high, low_open=spec.low_open)
        if hints[name] in (int, int | None):
            check_number(value, name, integral=True)


@functools.cache
def _specs(cls: type) -> dict[str, OptionSpec]:
    return {name: f.metadata["option"] for name, f in cls.__dataclass_fields__.items() if "option" in f.metadata}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


#: Where the conversion's mask comes from, and how its colour is corrected (the conversion's
#: functions take these too: spelled here once).
MaskMode = Literal["hull", "learned", "both"]
ColourMode = Literal["mean", "reinhard", "histogram", "none"]


def literal_choices(cls: type, name: str) -> tuple[str, ...] | None:
    """The values a field's ``Literal[...]`` annotation allows (the one place they are
    spelled: the checks, ``--help`` and the UI's dropdowns read them); None otherwise."""
    return _literals(cls).get(name)


@functools.cache
def _literals(cls: type) -> dict[str, tuple[str, ...]]:
    return {name: typing.get_args(hint) for name, hint in _hints(cls).items() if typing.get_origin(hint) is Literal}


def _check_literals(config: object) -> None:
    for name, choices in _literals(type(config)).items():
        check_choice(getattr(config, name), name, list(choices))


@dataclass(frozen=True, kw_only=True)
class ExtractConfig:
    """How faces are found and cut out.

    The defaults were chosen by measurement (docs/BENCHMARKS.md).
    """

    # Face detector: "yunet" (CNN, finds small and turned faces) or "hog" (dlib,
    # what the original code used).
    detector: Literal["hog", "yunet"] = option(
        "yunet",
        "--detector",
        "detection",
        "face detector: yunet (OpenCV CNN; finds small and turned faces) or hog (dlib, the original code's)",
    )
    # dlib HOG only: image doublings before detection (finds faces half as small each).
    hog_upsample: int = option(
        1,
        "--hog-upsample",
        "detection",
        "hog only: double the image N times to find faces half as small each time (each costs ~4x)",
        metavar="N",
        low=0,
        high=3,
    )
    # YuNet only: minimum confidence.
    yunet_threshold: float = option(
        0.6,
        "--yunet-threshold",
        "detection",
        "yunet only: minimum detection confidence 0-1",
        metavar="P",
        low=0,
        high=1,
    )
    # Side of the square aligned crop, pixels.
    crop_size: int = option(
        256,
        "--crop-size",
        "aligned crops",
        "side of the square aligned crop in pixels",
        metavar="PX",
        low=16,
        high=4096,
    )
    # Fraction of the crop side spanned by the mean face (brows to lips, outer brow to
    # outer brow); smaller shows more of the head. 0.35 holds a whole face (chin to
    # forehead) with the margin training's augmentation needs; 0.625 is the original's,
    # enough for the inner face only.
    coverage: float = option(
        0.35,
        "--coverage",
        "aligned crops",
        "fraction of the crop spanned by the inner face (brows to lips); smaller shows more head; 0.35 holds a whole face for training (train --face whole); 0.625 is the original code's framing",
        metavar="F",
        low=0.1,
        high=1.5,
    )
    # Faces whose detection box is narrower than this many pixels are dropped.
    min_size: int = option(
        0,
        "--min-size",
        "detection",
        "drop faces whose detection box is narrower than PX pixels (0 keeps all)",
        metavar="PX",
        low=0,
    )
    # Photos of the one person to keep; other faces are dropped. Empty keeps all.
    ref_faces: tuple[str, ...] = option(
        (),
        "--ref-face",
        "whose faces",
        "photos of the one person to keep (largest face in each); other people's faces are dropped",
        metavar="IMG",
    )
    # Identity distance under which a face counts as the reference person.
    ref_threshold: float = option(
        0.6,
        "--ref-threshold",
        "whose faces",
        "identity distance (dlib ResNet) under which a face is the reference person; lower is stricter",
        metavar="D",
        low=0,
        high=2,
        low_open=True,
    )
    # Compute identity vectors for every face (slow: ~75 ms per face on a 2-core CPU).
    identity: bool = option(
        False,
        "--identity",
        "whose faces",
        "store a 128-d identity vector for every face in the alignments file (~75 ms a face on a 2-core CPU)",
    )
    # Video: search the whole frame every N frames; in between, faces are followed in
    # a small window around their last position.
    redetect_every: int = option(
        10,
        "--redetect-every",
        "video",
        "search the whole frame every N frames; between, faces are followed near their last position",
        metavar="N",
        low=1,
    )
    # Video: smooth landmarks over time (One Euro filter) so crops do not jitter.
    smooth: bool = option(
        True,
        "--no-smooth",
        "video",
        "do not smooth landmarks over time (crops will jitter)",
    )
    smooth_min_cutoff: float = option(
        1.5,
        "--smooth-min-cutoff",
        "video",
        "smoothing strength at rest (One Euro filter cut-off); lower is steadier but lags more",
        metavar="HZ",
        low=0,
        low_open=True,
    )
    smooth_beta: float = option(
        2.0,
        "--smooth-beta",
        "video",
        "how quickly smoothing lets go when the face moves fast",
        metavar="B",
        low=0,
    )
    # Keep every Nth frame of a video (1 = all).
    every: int = option(
        1,
        "--every",
        "video",
        "keep every Nth frame (fewer, more varied training faces)",
        metavar="N",
        low=1,
    )
    # PNG compression level 0-9; 1 is 3-4x faster than 9 for ~10 % larger files.
    png_compression: int = option(
        1,
        "--png-compression",
        "aligned crops",
        "PNG compression level; crops are lossless at every level",
        metavar="0-9",
        low=0,
        high=9,
    )
    # Video: leave out the last fraction of frames, and a second before them, for
    # ``facetwin evaluate`` to test on (0 keeps all).
    held_out: float = option(
        0.0,
        "--held-out",
        "video",
        "leave the last fraction F of the video, and one second before it, unread: facetwin evaluate tests the model there (0.2 matches its default)",
        metavar="F",
        low=0,
        high=0.9,
    )

    def __post_init__(self) -> None:
        _check_fields(self)
        object.__setattr__(self, "ref_faces", tuple(str(p) for p in self.ref_faces))

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def result_settings(self) -> dict[str, Any]:
        """The fields that change what is written (resuming needs them unchanged)."""
        d = self.to_json()
        d.pop("png_compression")
        return d


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How a swap model is trained.

    Architecture fields (``model``, ``mask``) are fixed when a model directory is
    created; the rest may change when a run is resumed.
    """

    # Architecture from the registry (facetwin.models.list_models()).
    model: str = option(
        "fast128",
        "--arch",
        "model",
        "architecture, one of:{models}\n",
        metavar="ARCH",
    )
    # The part of the face the model sees and paints: "whole" (chin to forehead, jaw
    # and cheeks included) or "inner" (brows to lips, the original code's window).
    face: Literal["inner", "whole"] = option(
        "whole",
        "--face",
        "model",
        "the part of the face the model learns and paints: whole (chin to forehead, jaw and cheeks) or inner (brows to lips, the original code's window); extract at --coverage 0.35 for whole faces",
    )
    # Predict a face mask as a 4th channel (None: the architecture's default).
    mask: bool | None = option(
        None,
        "--mask",
        "model",
        "predict a face mask as a 4th output channel (default: the architecture's own choice)",
    )
    # Faces of each person per step. 32: a fast128 step at 32 takes 2.15 s on a 2-core
    # CPU against 3.9 s for fast64 at 64 (the former default), so a short fine-tune from
    # the base gets more updates in the same minutes (docs/BENCHMARKS.md).
    batch_size: int = option(
        32,
        "--batch-size",
        "optimisation",
        "faces of each person per step",
        metavar="N",
        low=1,
        high=4096,
    )
    # Adam, with the original's settings.
    lr: float = option(
        5e-5,
        "--lr",
        "optimisation",
        "Adam learning rate",
        metavar="LR",
        low=0,
        high=1,
        low_open=True,
    )
    beta1: float = option(
        0.5,
        "--beta1",
        "optimisation",
        "Adam beta1",
        metavar="B",
        low=0,
        high=1,
    )
    beta2: float = option(
        0.999,
        "--beta2",
        "optimisation",
        "Adam beta2",
        metavar="B",
        low=0,
        high=1,
    )
    # Loss weights: L1 (the original's), DSSIM, extra weight on eyes and mouth (0 = none;
    # 2 makes those pixels count three times), mask (used when the model predicts one).
    l1_weight: float = option(
        1.0,
        "--l1",
        "losses",
        "weight of the L1 loss (the original's)",
        metavar="W",
    )
    ssim_weight: float = option(
        0.0,
        "--ssim",
        "losses",
        "weight of the DSSIM loss",
        metavar="W",
    )
    eyes_mouth_weight: float = option(
        0.0,
        "--eyes-mouth",
        "losses",
        "extra weight of eye and mouth pixels (2 makes them count three times)",
        metavar="W",
    )
    mask_weight: float = option(
        1.0,
        "--mask-loss",
        "losses",
        "weight of the mask loss (models that predict a mask)",
        metavar="W",
    )
    # Shift each channel's mean of A's faces to B's (the original did).
    match_colour: bool = option(
        True,
        "--no-match-colour",
        "augmentation",
        "do not shift A's mean colour to B's (the original did)",
    )
    # Stop after this many steps in total, or this many seconds of this run (None: no limit).
    steps: int | None = option(
        None,
        "--steps",
        "length",
        "stop when the model has trained N steps in total (counting earlier runs when resuming). Default: no "
        "step limit (give --steps, --time or both: training stops at whichever comes first)",
        metavar="N",
    )
    time_limit: float | None = option(
        None,
        "--time",
        "length",
        "stop after this much time in this run: 90s, 30m, 2h, 1h30m. Default: no time limit",
        type=duration,
        metavar="T",
    )
    # Write a preview grid, and save a checkpoint, every N steps.
    preview_every: int = option(
        100,
        "--preview-every",
        "output",
        "write a preview grid every N steps",
        metavar="N",
    )
    save_every: int = option(
        500,
        "--save-every",
        "output",
        "save a checkpoint every N steps",
        metavar="N",
    )
    # Log losses (and refresh history.csv, loss.png) every N steps.
    log_every: int = option(
        10,
        "--log-every",
        "output",
        "record losses in history.csv every N steps",
        metavar="N",
    )
    # Also write TensorBoard event files to MODEL_DIR/tensorboard (needs the
    # `facetwin[tensorboard]` extra).
    tensorboard: bool = option(
        False,
        "--tensorboard",
        "output",
        "also log to DIR/tensorboard for TensorBoard (pip install 'facetwin[tensorboard]')",
    )
    seed: int = option(
        0,
        "--seed",
        "optimisation",
        "random seed (batches, augmentation)",
        metavar="N",
    )
    # "auto": bf16 autocast where the hardware has fast bf16 (CUDA, or CPUs with AMX/AVX512-BF16).
    precision: Literal["auto", "bf16", "fp32"] = option(
        "auto",
        "--precision",
        "optimisation",
        "bf16 autocast (losses stay float32); auto uses it where the hardware is fast at it",
    )
    channels_last: bool = option(
        True,
        "--no-channels-last",
        "optimisation",
        "keep tensors channels-first (channels-last is faster with bf16 on CPUs and GPUs)",
    )
    compile: bool = option(
        False,
        "--compile",
        "optimisation",
        "compile the model with torch.compile (slow start, faster steps on GPUs)",
    )
    # Threads for the model's arithmetic on the CPU (None: torch's own choice, a thread a core).
    threads: int | None = option(
        None,
        "--threads",
        "optimisation",
        "CPU threads for the model's arithmetic, for this run. Default: one a core (torch's); on a "
        "machine busy with other work fewer can be faster (docs/BENCHMARKS.md, 'Threads')",
        metavar="N",
        low=1,
    )
    # Parts to keep fixed: () or ("encoder",).
    freeze: tuple[str, ...] = option(
        (),
        "--freeze",
        "optimisation",
        "keep these parts fixed (with --init-from: reuse a trained encoder as it is)",
        choices=["encoder"],
    )
    # Random transform and warp settings.
    rotation: float = option(
        10.0,
        "--rotation",
        "augmentation",
        "random rotation range, degrees",
        metavar="DEG",
        low=0,
        high=180,
    )
    zoom: float = option(
        0.05,
        "--zoom",
        "augmentation",
        "random zoom range (0.05 = +-5 %)",
        metavar="F",
        low=0,
        high=0.5,
    )
    shift: float = option(
        0.05,
        "--shift",
        "augmentation",
        "random shift range, fraction of the face",
        metavar="F",
        low=0,
        high=0.5,
    )
    flip: float = option(
        0.4,
        "--flip",
        "augmentation",
        "probability of a horizontal flip",
        metavar="P",
        low=0,
        high=1,
    )
    warp_sigma: float = option(
        5 / 256,
        "--warp",
        "augmentation",
        "random warp noise, fraction of the face side (5/256 is the original's 5 px)",
        metavar="F",
        low=0,
        high=0.2,
    )
    colour_jitter: float = option(
        0.05,
        "--colour-jitter",
        "augmentation",
        "random brightness, contrast and saturation range",
        metavar="F",
        low=0,
        high=0.5,
    )

    def __post_init__(self) -> None:
        if self.model not in architectures():  # one registered by other code (importing the registry needs torch)
            from facetwin.models import list_models

            check_choice(self.model, "model", list_models())
        _check_fields(self)
        for name in ("l1_weight", "ssim_weight", "eyes_mouth_weight", "mask_weight"):
            check_range(getattr(self, name), name, low=0)
        if self.l1_weight == 0 and self.ssim_weight == 0:
            raise InvalidOptionError("l1_weight", 0, "> 0 when ssim_weight is 0 (no reconstruction loss)")
        if self.steps is not None:
            check_range(self.steps, "steps", low=1)
        if self.time_limit is not None:
            check_range(self.time_limit, "time_limit", low=0, low_open=True)
        for name in ("preview_every", "save_every", "log_every"):
            check_range(getattr(self, name), name, low=1)
        object.__setattr__(self, "freeze", tuple(self.freeze))
        for part in self.freeze:
            check_choice(part, "freeze", ["encoder"])

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    #: Fields that define the network; they cannot change once a model directory exists.
    ARCHITECTURE: ClassVar[tuple[str, ...]] = ("model", "mask", "face")


@dataclass(frozen=True, kw_only=True)
class ConvertConfig:
    """How a trained model's faces are put into frames.

    How faces are *found* is an ``ExtractConfig`` passed beside this one. Lengths of the
    mask settings are fractions of the face crop's side, so one setting suits faces of
    every size in the frame.
    """

    # Whose face the output shows: "a" puts person A's face on B (B's faces go through
    # decoder A), "b" the reverse; "auto" the other person than the input's, where the
    # model knows whose footage it is (facetwin.conversion.direction), else "a".
    to: Literal["auto", "a", "b"] = option(
        "auto",
        "--to",
        "swap",
        "whose face the output shows: a puts person A's face on B (B's faces through decoder A), b the reverse; "
        "auto the other person than the input's own: b for footage A's faces were extracted from, else a",
    )
    # Models from before face types only (they did not record their window): the
    # training faces' extract --coverage. None: 0.625, the default of those days.
    coverage: float | None = option(
        None,
        "--coverage",
        "swap",
        "models trained before face types only: the training faces' extract --coverage (default 0.625); newer models record their face window",
        metavar="F",
    )
    # Mask: "hull" of the landmarks, "learned" (the model's own, if it predicts one), or
    # "both" (where both keep the face).
    mask: MaskMode = option(
        "hull",
        "--mask",
        "mask",
        "hull of the landmarks, the model's learned mask, or both (where both keep the face)",
    )
    # Extend the hull above the brows by this fraction of the brow-to-chin height.
    # forehead 0.2, erode 0 and alpha blending: the output is recognised as the target
    # in 60-73 % of held-out faces instead of 0 % (benchmarks/convert_settings.py).
    forehead: float = option(
        0.2,
        "--forehead",
        "mask",
        "extend the hull above the brows by F times the brow-to-chin height",
        metavar="F",
        low=0,
        high=1,
    )
    # Shrink (> 0) or grow (< 0) the mask, then soften its edge (Gaussian sigma); both
    # as fractions of the crop side.
    erode: float = option(
        0.0,
        "--erode",
        "mask",
        "shrink the mask by F of the face crop's side (negative grows it)",
        metavar="F",
        low=-0.25,
        high=0.25,
    )
    feather: float = option(
        0.06,
        "--feather",
        "mask",
        "soften the mask edge (Gaussian sigma, fraction of the crop side)",
        metavar="F",
        low=0,
        high=0.25,
    )
    # Colour correction of the swapped face toward the face it replaces: "mean" (the
    # original's), "reinhard" (Lab mean and spread), "histogram", or "none".
    colour: ColourMode = option(
        "mean",
        "--colour",
        "blending",
        "colour correction toward the face being replaced: mean (the original's), reinhard (Lab), histogram, none",
    )
    # Video: weight of each new frame in a face's running colour statistics (1 = no
    # smoothing; smaller is steadier but follows lighting changes more slowly).
    colour_smoothing: float = option(
        0.25,
        "--colour-smoothing",
        "blending",
        "video: weight of each frame in a face's running colour statistics (1 = none; lower is steadier)",
        metavar="W",
        low=0,
        high=1,
        low_open=True,
    )
    # "alpha": feathered alpha compositing; "poisson": seamless (gradient-domain) cloning.
    # Poisson hides the seam best but carries the old face's colours and shading into
    # the new one, which made swaps read as the source person.
    blend: Literal["alpha", "poisson"] = option(
        "alpha",
        "--blend",
        "blending",
        "feathered alpha compositing, or Poisson (seamless) cloning",
    )
    # Faces per call of the model.
    batch_size: int = option(
        16,
        "--batch-size",
        "swap",
        "faces per model call",
        metavar="N",
        low=1,
        high=1024,
    )
    # "auto": bf16 where the hardware computes it fast.
    precision: Literal["auto", "bf16", "fp32"] = option(
        "auto",
        "--precision",
        "swap",
        "bf16 autocast for the model; auto uses it where the hardware is fast at it",
    )
    # Video output: H.264 quality (lower is better; 18 looks like the input) and speed.
    crf: int = option(
        18,
        "--crf",
        "output",
        "H.264 quality 0-51, lower is better (18 looks like the input)",
        metavar="Q",
        low=0,
        high=51,
    )
    preset: str = option(
        "veryfast",
        "--preset",
        "output",
        "H.264 speed preset (slower: smaller files)",
        choices=X264_PRESETS,
    )
    # Write input | output | mask side by side, for review.
    side_by_side: bool = option(
        False,
        "--side-by-side",
        "output",
        "write input | output | mask side by side, for review",
    )

    def __post_init__(self) -> None:
        _check_fields(self)
        if self.coverage is not None:
            check_range(self.coverage, "coverage", low=0.1, high=1.5)
        check_choice(self.preset, "preset", X264_PRESETS)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EvaluateConfig:
    # The last fraction of each video is the test part; training should stop a gap before it.
    held_out: float = option(
        0.2,
        "--held-out",
        "test part",
        "the last fraction of each video to test on",
        metavar="F",
        low=0,
        high=0.9,
        low_open=True,
    )
    gap_seconds: float = option(
        1.0, "--gap", "test part", "seconds between the training part and the test part", metavar="S", low=0
    )
    # Test frames per video, consecutive from the start of the test part (temporal
    # metrics need neighbours); 0 takes all.
    max_frames: int = option(
        90,
        "--max-frames",
        "test part",
        "test frames per video, consecutive (0: all of the test part)",
        metavar="N",
        low=0,
    )
    # Frames of each training part whose identity vectors make the person's mean.
    reference_frames: int = 24

    def __post_init__(self) -> None:
        _check_fields(self)
        check_range(self.reference_frames, "reference_frames", low=1)


# --- datasets -----------------------------------------------------------------------------

#: Training steps per pair: the default model from the shipped base, about the 15 CPU
#: minutes docs/BENCHMARKS.md measures ("Face types and the base model").
DATASET_STEPS = 300
#: FaceForensics++'s levels: c0 lossless, c23 (its "HQ") and c40 ("LQ") H.264 CRF.
DEFAULT_LADDER: dict[str, int] = {"c0": 0, "c23": 23, "c40": 40}


@dataclass(frozen=True, kw_only=True)
class DatasetConfig:
    """Settings of a dataset run; all of them are written to manifest.json."""

    # Compression levels: name -> x264 CRF (0 is lossless). The first is what the
    # conversion itself writes; masks are always lossless.
    ladder: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LADDER))
    # Degraded copies, each at ``variant_level``: "resize:F" (scale both sides by F),
    # "blur:S" (Gaussian sigma S px), "noise:S" (Gaussian noise, S levels). Applied to
    # originals and fakes alike, with the same random numbers.
    variants: tuple[str, ...] = ()
    variant_level: str = option(
        "c23", "--variant-level", "dataset", "the ladder level the variants are compressed at", metavar="LEVEL"
    )
    seed: int = option(0, "--seed", "dataset", "seed of every random choice", metavar="N")
    # Pairs run at the same time on this machine (each gets cores / jobs threads).
    jobs: int = option(
        1, "--jobs", "dataset", "pairs at the same time on this machine (cores are shared out)", metavar="N", low=1
    )
    # Copy the real videos into original/ instead of hard-linking them.
    copy_originals: bool = option(
        False, "--copy-originals", "dataset", "copy the real videos into original/ instead of hard-linking them"
    )
    # Where every pair's model starts: "base" (the model shipped with facetwin, where it
    # fits the architecture), another trained model's folder, or None (random weights).
    init_from: Path | str | None = "base"
    extract: ExtractConfig = field(default_factory=lambda: ExtractConfig(identity=True))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=DATASET_STEPS))
    convert: ConvertConfig = field(default_factory=lambda: ConvertConfig(to="b", preset="medium"))

    def __post_init__(self) -> None:
        if not self.ladder:
            raise InvalidOptionError("ladder", "{}", "at least one level, such as c0=0")
        for name, crf in self.ladder.items():
            if not name or "/" in name or not isinstance(crf, int) or not 0 <= crf <= 51:
                raise InvalidOptionError("ladder", f"{name}={crf}", "NAME=CRF with CRF 0-51")
        if self.variants and self.variant_level not in self.ladder:
            raise InvalidOptionError(
                "variant_level", self.variant_level, f"one of the ladder's levels {sorted(self.ladder)}"
            )
        for variant in self.variants:
            parse_variant(variant)
        _check_fields(self)
        if self.convert.to != "b":
            raise InvalidOptionError("convert.to", self.convert.to, "'b': the source (B) face goes into the target (A)")

    def to_json(self) -> dict[str, Any]:
        return {
            "ladder": dict(self.ladder),
            "variants": list(self.variants),
            "variant_level": self.variant_level,
            "seed": self.seed,
            "jobs": self.jobs,
            "copy_originals": self.copy_originals,
            "init_from": None if self.init_from is None else str(self.init_from),
            "extract": self.extract.to_json(),
            "train": self.train.to_json(),
            "convert": self.convert.to_json(),
        }


def parse_variant(text: str) -> tuple[str, float]:
    kind, _, value = text.partition(":")
    try:
        amount = float(value)
    except ValueError:
        amount = -1.0
    limits = {"resize": (0.05, 1.0), "blur": (0.1, 20.0), "noise": (0.1, 64.0)}
    if kind not in limits or not limits[kind][0] <= amount <= limits[kind][1]:
        raise InvalidOptionError("variant", text, "resize:F (0.05-1), blur:SIGMA (0.1-20) or noise:STD (0.1-64)")
    return kind, amount


# --- the baseline detector ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DetectConfig:
    """How the baseline detector is built and trained.

    Architecture fields (``crop_size``, ``box_scale``, ``width``) are fixed when a
    detector folder is created; the rest may change when a run is resumed.
    """

    # Side of the square face crop the detector sees, pixels. 96 against 64 and 128:
    # docs/design.md ("Detector") has the measurements.
    crop_size: int = option(
        96,
        "--crop-size",
        "detector",
        "side of the square face crop the detector sees",
        metavar="PX",
        low=32,
        high=512,
    )
    # The face box is enlarged this much around its centre before cropping, as
    # FaceForensics++ cuts its faces (1.3), so the crop holds the blend's edge and some
    # of the untouched face around it.
    box_scale: float = option(
        1.3,
        "--box-scale",
        "detector",
        "enlarge each face box F times around its centre before cropping (FaceForensics++: 1.3)",
        metavar="F",
        low=1.0,
        high=3.0,
    )
    # Channels of the first stage; each of the four stages doubles them.
    width: int = option(
        24,
        "--width",
        "detector",
        "channels of the network's first stage (doubled by each of its four stages)",
        metavar="N",
        low=4,
        high=256,
    )
    # Compression levels (and variants) to train on; empty: the dataset's lossless level,
    # so that the other levels test how the detector carries across compression.
    train_levels: tuple[str, ...] = option(
        (),
        "--train-levels",
        "data",
        "compression levels or variants to train on (the others then test how the detector carries across compression; none given: the dataset's lossless level)",
        metavar="LEVEL",
    )
    # At most this many frames of each fake video (and the same frames of its real
    # video), evenly spread; None: every labelled frame.
    frames_per_video: int | None = option(
        None,
        "--frames-per-video",
        "data",
        "at most N fake frames of each video (and the same real frames), evenly spread; default: all",
        metavar="N",
    )
    # Stop after this many steps in total, or this many seconds of this run.
    steps: int | None = option(
        600,
        "--steps",
        "length",
        "stop when the detector has trained N steps in total (counting earlier runs when resuming)",
        metavar="N",
    )
    time_limit: float | None = option(
        None,
        "--time",
        "length",
        "stop after this much time in this run: 90s, 30m, 2h (alone, it replaces the step limit)",
        type=duration,
        metavar="T",
    )
    # Crops per step, half fake and half real (a balanced batch whatever the counts).
    batch_size: int = option(
        32,
        "--batch-size",
        "optimisation",
        "crops per step, half fake and half real",
        metavar="N",
        low=2,
        high=4096,
    )
    # Adam; the learning rate warms up linearly over ``warmup`` steps, then follows a
    # cosine to a tenth of itself at ``steps`` (constant when only a time limit is set).
    lr: float = option(
        2e-3,
        "--lr",
        "optimisation",
        "Adam learning rate (warmed up, then a cosine to a tenth at the last step)",
        metavar="LR",
        low=0,
        high=1,
        low_open=True,
    )
    warmup: int = option(
        20,
        "--warmup",
        "optimisation",
        "steps of learning-rate warm-up",
        metavar="N",
        low=0,
    )
    weight_decay: float = option(
        0.0,
        "--weight-decay",
        "optimisation",
        "Adam weight decay",
        metavar="W",
        low=0,
        high=1,
    )
    # Augmentation: horizontal flip probability, and a random shift by whole pixels of up
    # to this fraction of the crop (no resampling: interpolation would blur away the
    # fine detail a swap leaves).
    flip: float = option(
        0.5,
        "--flip",
        "augmentation",
        "probability of a horizontal flip",
        metavar="P",
        low=0,
        high=1,
    )
    jitter: float = option(
        0.06,
        "--jitter",
        "augmentation",
        "random shift by whole pixels, up to this fraction of the crop",
        metavar="F",
        low=0,
        high=0.25,
    )
    seed: int = option(
        0,
        "--seed",
        "optimisation",
        "random seed (weights, batches, augmentation)",
        metavar="N",
    )
    # "auto": bf16 autocast where the hardware computes it fast.
    precision: Literal["auto", "bf16", "fp32"] = option(
        "auto",
        "--precision",
        "optimisation",
        "bf16 autocast; auto uses it on GPUs with bf16 only (on CPUs this small network is faster in float32)",
    )
    channels_last: bool = option(
        True,
        "--no-channels-last",
        "optimisation",
        "keep tensors channels-first (channels-last was 2-3x faster on the CPU)",
    )
    # Save a checkpoint (and score the validation pairs) every N steps; log every N steps.
    save_every: int = option(
        200,
        "--save-every",
        "output",
        "save a checkpoint and score the validation pairs every N steps",
        metavar="N",
    )
    log_every: int = option(
        10,
        "--log-every",
        "output",
        "record loss and accuracy every N steps",
        metavar="N",
    )

    #: Fields that define the network; they cannot change once a detector folder exists.
    ARCHITECTURE: ClassVar[tuple[str, ...]] = ("crop_size", "box_scale", "width")

    def __post_init__(self) -> None:
        if isinstance(self.train_levels, str):
            raise InvalidOptionError("train_levels", self.train_levels, "a list of level names such as ['c0']")
        object.__setattr__(self, "train_levels", tuple(self.train_levels))
        for level in self.train_levels:
            if not isinstance(level, str) or not level or "/" in level:
                raise InvalidOptionError("train_levels", level, "level names such as c0 or c23_resize0.5")
        if self.frames_per_video is not None:
            check_range(
                check_number(self.frames_per_video, "frames_per_video", integral=True), "frames_per_video", low=1
            )
        if self.steps is not None:
            check_range(check_number(self.steps, "steps", integral=True), "steps", low=1)
        if self.time_limit is not None:
            check_range(self.time_limit, "time_limit", low=0, low_open=True)
        if self.steps is None and self.time_limit is None:
            raise InvalidOptionError("steps", None, "given, or time_limit: how long should training run")
        check_number(self.seed, "seed", integral=True)
        _check_fields(self)
        for name in ("save_every", "log_every"):
            check_range(check_number(getattr(self, name), name, integral=True), name, low=1)

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
