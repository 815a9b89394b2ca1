"""Settings of a detector training run (``facetwin detect train``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from facetwin._check import check_choice, check_number, check_range
from facetwin.errors import InvalidOptionError

__all__ = ["DetectConfig"]


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
            check_range(check_number(self.frames_per_video, "frames_per_video", integral=True),
                        "frames_per_video", low=1)
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
        check_choice(self.precision, "precision", ["auto", "bf16", "fp32"])
        for name in ("save_every", "log_every"):
            check_range(check_number(getattr(self, name), name, integral=True), name, low=1)

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
