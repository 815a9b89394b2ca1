"""Settings of each stage as frozen dataclasses; every CLI option maps to one field."""

from __future__ import annotations

import functools
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from facetwin._check import check_choice, check_number, check_range
from facetwin.errors import InvalidOptionError

__all__ = [
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
    hints = typing.get_type_hints(cls)
    return {name: typing.get_args(hint) for name, hint in hints.items() if typing.get_origin(hint) is Literal}


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
    detector: Literal["hog", "yunet"] = "yunet"
    # dlib HOG only: image doublings before detection (finds faces half as small each).
    hog_upsample: int = 1
    # YuNet only: minimum confidence.
    yunet_threshold: float = 0.6
    # Side of the square aligned crop, pixels.
    crop_size: int = 256
    # Fraction of the crop side spanned by the mean face (brows to lips, outer brow to
    # outer brow); smaller shows more of the head. 0.35 holds a whole face (chin to
    # forehead) with the margin training's augmentation needs; 0.625 is the original's,
    # enough for the inner face only.
    coverage: float = 0.35
    # Faces whose detection box is narrower than this many pixels are dropped.
    min_size: int = 0
    # Photos of the one person to keep; other faces are dropped. Empty keeps all.
    ref_faces: tuple[str, ...] = ()
    # Identity distance under which a face counts as the reference person.
    ref_threshold: float = 0.6
    # Compute identity vectors for every face (slow: ~75 ms per face on a 2-core CPU).
    identity: bool = False
    # Video: search the whole frame every N frames; in between, faces are followed in
    # a small window around their last position.
    redetect_every: int = 10
    # Video: smooth landmarks over time (One Euro filter) so crops do not jitter.
    smooth: bool = True
    smooth_min_cutoff: float = 1.5
    smooth_beta: float = 2.0
    # Keep every Nth frame of a video (1 = all).
    every: int = 1
    # PNG compression level 0-9; 1 is 3-4x faster than 9 for ~10 % larger files.
    png_compression: int = 1
    # Video: leave out the last fraction of frames, and a second before them, for
    # ``facetwin evaluate`` to test on (0 keeps all).
    held_out: float = 0.0

    def __post_init__(self) -> None:
        _check_literals(self)
        check_range(self.hog_upsample, "hog_upsample", low=0, high=3)
        check_range(self.yunet_threshold, "yunet_threshold", low=0, high=1)
        check_range(self.crop_size, "crop_size", low=16, high=4096)
        check_range(self.coverage, "coverage", low=0.1, high=1.5)
        check_range(self.min_size, "min_size", low=0)
        check_range(self.ref_threshold, "ref_threshold", low=0, high=2, low_open=True)
        check_range(self.redetect_every, "redetect_every", low=1)
        check_range(self.smooth_min_cutoff, "smooth_min_cutoff", low=0, low_open=True)
        check_range(self.smooth_beta, "smooth_beta", low=0)
        check_range(self.every, "every", low=1)
        check_range(self.png_compression, "png_compression", low=0, high=9)
        check_range(self.held_out, "held_out", low=0, high=0.9)
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
    model: str = "fast128"
    # The part of the face the model sees and paints: "whole" (chin to forehead, jaw
    # and cheeks included) or "inner" (brows to lips, the original code's window).
    face: Literal["inner", "whole"] = "whole"
    # Predict a face mask as a 4th channel (None: the architecture's default).
    mask: bool | None = None
    # Faces of each person per step. 32: a fast128 step at 32 takes 2.15 s on a 2-core
    # CPU against 3.9 s for fast64 at 64 (the former default), so a short fine-tune from
    # the base gets more updates in the same minutes (docs/BENCHMARKS.md).
    batch_size: int = 32
    # Adam, with the original's settings.
    lr: float = 5e-5
    beta1: float = 0.5
    beta2: float = 0.999
    # Loss weights: L1 (the original's), DSSIM, extra weight on eyes and mouth (0 = none;
    # 2 makes those pixels count three times), mask (used when the model predicts one).
    l1_weight: float = 1.0
    ssim_weight: float = 0.0
    eyes_mouth_weight: float = 0.0
    mask_weight: float = 1.0
    # Shift each channel's mean of A's faces to B's (the original did).
    match_colour: bool = True
    # Stop after this many steps in total, or this many seconds of this run (None: no limit).
    steps: int | None = None
    time_limit: float | None = None
    # Write a preview grid, and save a checkpoint, every N steps.
    preview_every: int = 100
    save_every: int = 500
    # Log losses (and refresh history.csv, loss.png) every N steps.
    log_every: int = 10
    # Also write TensorBoard event files to MODEL_DIR/tensorboard (needs the
    # `facetwin[tensorboard]` extra).
    tensorboard: bool = False
    seed: int = 0
    # "auto": bf16 autocast where the hardware has fast bf16 (CUDA, or CPUs with AMX/AVX512-BF16).
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    channels_last: bool = True
    compile: bool = False
    # Parts to keep fixed: () or ("encoder",).
    freeze: tuple[str, ...] = ()
    # Random transform and warp settings.
    rotation: float = 10.0
    zoom: float = 0.05
    shift: float = 0.05
    flip: float = 0.4
    warp_sigma: float = 5 / 256
    colour_jitter: float = 0.05

    def __post_init__(self) -> None:
        from facetwin.models import list_models

        check_choice(self.model, "model", list_models())
        _check_literals(self)
        check_range(self.batch_size, "batch_size", low=1, high=4096)
        check_range(self.lr, "lr", low=0, high=1, low_open=True)
        check_range(self.beta1, "beta1", low=0, high=1)
        check_range(self.beta2, "beta2", low=0, high=1)
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
        check_range(self.rotation, "rotation", low=0, high=180)
        check_range(self.zoom, "zoom", low=0, high=0.5)
        check_range(self.shift, "shift", low=0, high=0.5)
        check_range(self.flip, "flip", low=0, high=1)
        check_range(self.warp_sigma, "warp_sigma", low=0, high=0.2)
        check_range(self.colour_jitter, "colour_jitter", low=0, high=0.5)

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
    # decoder A), "b" the reverse.
    to: Literal["a", "b"] = "a"
    # Models from before face types only (they did not record their window): the
    # training faces' extract --coverage. None: 0.625, the default of those days.
    coverage: float | None = None
    # Mask: "hull" of the landmarks, "learned" (the model's own, if it predicts one), or
    # "both" (where both keep the face).
    mask: MaskMode = "hull"
    # Extend the hull above the brows by this fraction of the brow-to-chin height.
    # forehead 0.2, erode 0 and alpha blending: the output is recognised as the target
    # in 60-73 % of held-out faces instead of 0 % (benchmarks/convert_settings.py).
    forehead: float = 0.2
    # Shrink (> 0) or grow (< 0) the mask, then soften its edge (Gaussian sigma); both
    # as fractions of the crop side.
    erode: float = 0.0
    feather: float = 0.06
    # Colour correction of the swapped face toward the face it replaces: "mean" (the
    # original's), "reinhard" (Lab mean and spread), "histogram", or "none".
    colour: ColourMode = "mean"
    # Video: weight of each new frame in a face's running colour statistics (1 = no
    # smoothing; smaller is steadier but follows lighting changes more slowly).
    colour_smoothing: float = 0.25
    # "alpha": feathered alpha compositing; "poisson": seamless (gradient-domain) cloning.
    # Poisson hides the seam best but carries the old face's colours and shading into
    # the new one, which made swaps read as the source person.
    blend: Literal["alpha", "poisson"] = "alpha"
    # Faces per call of the model.
    batch_size: int = 16
    # "auto": bf16 where the hardware computes it fast.
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    # Video output: H.264 quality (lower is better; 18 looks like the input) and speed.
    crf: int = 18
    preset: str = "veryfast"
    # Write input | output | mask side by side, for review.
    side_by_side: bool = False

    def __post_init__(self) -> None:
        _check_literals(self)
        if self.coverage is not None:
            check_range(self.coverage, "coverage", low=0.1, high=1.5)
        check_range(self.forehead, "forehead", low=0, high=1)
        check_range(self.erode, "erode", low=-0.25, high=0.25)
        check_range(self.feather, "feather", low=0, high=0.25)
        check_range(self.colour_smoothing, "colour_smoothing", low=0, high=1, low_open=True)
        check_range(self.batch_size, "batch_size", low=1, high=1024)
        check_range(self.crf, "crf", low=0, high=51)
        from facetwin.io.writers import X264_PRESETS

        check_choice(self.preset, "preset", X264_PRESETS)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EvaluateConfig:
    # The last fraction of each video is the test part; training should stop a gap before it.
    held_out: float = 0.2
    gap_seconds: float = 1.0
    # Test frames per video, consecutive from the start of the test part (temporal
    # metrics need neighbours); 0 takes all.
    max_frames: int = 90
    # Frames of each training part whose identity vectors make the person's mean.
    reference_frames: int = 24

    def __post_init__(self) -> None:
        check_range(self.held_out, "held_out", low=0, high=0.9, low_open=True)
        check_range(self.gap_seconds, "gap_seconds", low=0)
        check_range(self.max_frames, "max_frames", low=0)
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
    variant_level: str = "c23"
    seed: int = 0
    # Pairs run at the same time on this machine (each gets cores / jobs threads).
    jobs: int = 1
    # Copy the real videos into original/ instead of hard-linking them.
    copy_originals: bool = False
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
        if self.jobs < 1:
            raise InvalidOptionError("jobs", self.jobs, "1 or more")
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
    crop_size: int = 96
    # The face box is enlarged this much around its centre before cropping, as
    # FaceForensics++ cuts its faces (1.3), so the crop holds the blend's edge and some
    # of the untouched face around it.
    box_scale: float = 1.3
    # Channels of the first stage; each of the four stages doubles them.
    width: int = 24
    # Compression levels (and variants) to train on; empty: the dataset's lossless level,
    # so that the other levels test how the detector carries across compression.
    train_levels: tuple[str, ...] = ()
    # At most this many frames of each fake video (and the same frames of its real
    # video), evenly spread; None: every labelled frame.
    frames_per_video: int | None = None
    # Stop after this many steps in total, or this many seconds of this run.
    steps: int | None = 600
    time_limit: float | None = None
    # Crops per step, half fake and half real (a balanced batch whatever the counts).
    batch_size: int = 32
    # Adam; the learning rate warms up linearly over ``warmup`` steps, then follows a
    # cosine to a tenth of itself at ``steps`` (constant when only a time limit is set).
    lr: float = 2e-3
    warmup: int = 20
    weight_decay: float = 0.0
    # Augmentation: horizontal flip probability, and a random shift by whole pixels of up
    # to this fraction of the crop (no resampling: interpolation would blur away the
    # fine detail a swap leaves).
    flip: float = 0.5
    jitter: float = 0.06
    seed: int = 0
    # "auto": bf16 autocast where the hardware computes it fast.
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    channels_last: bool = True
    # Save a checkpoint (and score the validation pairs) every N steps; log every N steps.
    save_every: int = 200
    log_every: int = 10

    #: Fields that define the network; they cannot change once a detector folder exists.
    ARCHITECTURE: ClassVar[tuple[str, ...]] = ("crop_size", "box_scale", "width")

    def __post_init__(self) -> None:
        check_range(check_number(self.crop_size, "crop_size", integral=True), "crop_size", low=32, high=512)
        check_range(self.box_scale, "box_scale", low=1.0, high=3.0)
        check_range(check_number(self.width, "width", integral=True), "width", low=4, high=256)
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
        check_range(check_number(self.batch_size, "batch_size", integral=True), "batch_size", low=2, high=4096)
        check_range(self.lr, "lr", low=0, high=1, low_open=True)
        check_range(check_number(self.warmup, "warmup", integral=True), "warmup", low=0)
        check_range(self.weight_decay, "weight_decay", low=0, high=1)
        check_range(self.flip, "flip", low=0, high=1)
        check_range(self.jitter, "jitter", low=0, high=0.25)
        check_number(self.seed, "seed", integral=True)
        _check_literals(self)
        for name in ("save_every", "log_every"):
            check_range(check_number(getattr(self, name), name, integral=True), name, low=1)

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
