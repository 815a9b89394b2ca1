"""Settings of each stage as frozen dataclasses; every CLI option maps to one field."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from facetwin._check import check_choice, check_range

__all__ = ["ExtractConfig"]


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
    # Fraction of the crop side spanned by the mean face (brows to lips, ear to ear of
    # the inner landmarks); smaller shows more of the head. 0.625 is the original's.
    coverage: float = 0.625
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
        object.__setattr__(self, "ref_faces", tuple(str(p) for p in self.ref_faces))

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def result_settings(self) -> dict[str, Any]:
        """The fields that change what is written (resuming needs them unchanged)."""
        d = self.to_json()
        d.pop("png_compression")
        return d
