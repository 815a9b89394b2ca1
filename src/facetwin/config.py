"""Settings of each stage as frozen dataclasses; every CLI option maps to one field."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from facetwin._check import check_choice, check_range
from facetwin.errors import InvalidOptionError

__all__ = ["ExtractConfig", "TrainConfig", "ConvertConfig"]


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
        check_choice(self.detector, "detector", ["hog", "yunet"])
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
        check_choice(self.face, "face", ["inner", "whole"])
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
        check_choice(self.precision, "precision", ["auto", "bf16", "fp32"])
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
    mask: Literal["hull", "learned", "both"] = "hull"
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
    colour: Literal["mean", "reinhard", "histogram", "none"] = "mean"
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
        check_choice(self.to, "to", ["a", "b"])
        if self.coverage is not None:
            check_range(self.coverage, "coverage", low=0.1, high=1.5)
        check_choice(self.mask, "mask", ["hull", "learned", "both"])
        check_range(self.forehead, "forehead", low=0, high=1)
        check_range(self.erode, "erode", low=-0.25, high=0.25)
        check_range(self.feather, "feather", low=0, high=0.25)
        check_choice(self.colour, "colour", ["mean", "reinhard", "histogram", "none"])
        check_range(self.colour_smoothing, "colour_smoothing", low=0, high=1, low_open=True)
        check_choice(self.blend, "blend", ["alpha", "poisson"])
        check_range(self.batch_size, "batch_size", low=1, high=1024)
        check_choice(self.precision, "precision", ["auto", "bf16", "fp32"])
        check_range(self.crf, "crf", low=0, high=51)
        from facetwin.io.writers import X264_PRESETS

        check_choice(self.preset, "preset", X264_PRESETS)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
