"""``facetwin verify`` (``verify``): is this file synthetic, by facetwin's three marks?

Each mark is checked on its own, because each is lost in different ways: re-encoding
drops metadata and the C2PA manifest but keeps the watermark; an edit invalidates the
manifest; a crop or heavy compression may weaken the watermark. A file is synthetic
when any one of them says so; the report says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facetwin.errors import FacetwinError, InputNotFoundError, UnreadableMediaError
from facetwin.forensics.provenance import read_png_claim, read_png_text, read_video_claim
from facetwin.forensics.watermark import THRESHOLD, WatermarkReader, WatermarkResult, watermark_score
from facetwin.io.images import IMAGE_SUFFIXES, read_image

__all__ = ["verify", "FileReport", "format_report", "VIDEO_FRAMES"]

#: Frames of a video the watermark is read from, spread evenly over it.
VIDEO_FRAMES = 32


@dataclass(frozen=True)
class FileReport:
    """What ``verify`` found in one file."""

    path: Path
    kind: str  # "image" or "video"
    watermark: WatermarkResult
    claim: dict[str, Any] | None  # facetwin's metadata, if present
    c2pa: Any  # facetwin.forensics.c2pa.ManifestReport
    problems: tuple[str, ...] = field(default=())

    @property
    def metadata_found(self) -> bool:
        return self.claim is not None and self.claim.get("synthetic") is True

    @property
    def synthetic(self) -> bool:
        return self.watermark.found or self.metadata_found or self.c2pa_says_synthetic

    @property
    def c2pa_says_synthetic(self) -> bool:
        from facetwin.forensics.provenance import DIGITAL_SOURCE_TYPE

        return bool(self.c2pa.present and self.c2pa.digital_source_type == DIGITAL_SOURCE_TYPE)

    @property
    def verdict(self) -> str:
        if not self.synthetic:
            return "no facetwin marks found"
        c2pa = "C2PA" if self.c2pa.valid else "C2PA, invalid: changed after signing"
        found = [name for name, hit in (("watermark", self.watermark.found), ("metadata", self.metadata_found),
                                        (c2pa, self.c2pa_says_synthetic)) if hit]
        return "SYNTHETIC (facetwin: " + ", ".join(found) + ")"

    def as_dict(self) -> dict[str, Any]:
        c2pa = self.c2pa
        return {
            "path": str(self.path),
            "kind": self.kind,
            "synthetic": self.synthetic,
            "verdict": self.verdict,
            "watermark": {
                "found": self.watermark.found,
                "score_sigma": round(self.watermark.score, 2),
                "false_alarm_probability": self.watermark.false_alarm,
                "frames_read": self.watermark.frames,
                "frames_marked": self.watermark.frames_marked,
            },
            "metadata": {"found": self.metadata_found, "claim": self.claim},
            "c2pa": {
                "present": c2pa.present,
                "valid": c2pa.valid,
                "trusted": c2pa.trusted,
                "digital_source_type": c2pa.digital_source_type,
                "signer": c2pa.signer,
                "problems": list(c2pa.problems),
            },
            "problems": list(self.problems),
        }


def verify(path: str | Path, *, frames: int = VIDEO_FRAMES, trust_dir: str | Path | None = None) -> FileReport:
    """Check one image or video for facetwin's watermark, metadata and C2PA manifest.

    Args:
        path: the file.
        frames: video frames to read the watermark from (evenly spaced).
        trust_dir: signing key folder whose certificate counts as trusted; default the
            local key folder (``facetwin.forensics.c2pa``).

    Raises:
        InputNotFoundError: no such file.
        UnreadableMediaError: neither an image nor a video this build can decode.
    """
    from facetwin.forensics.c2pa import read_manifest

    path = Path(path)
    if path.is_dir():
        raise UnreadableMediaError(path, "it is a folder; give the files in it (the command line looks inside folders)")
    if not path.is_file():
        raise InputNotFoundError(path)
    manifest = read_manifest(path, trust_dir=Path(trust_dir) if trust_dir is not None else None)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        claim = read_png_claim(read_png_text(path.read_bytes())) if path.suffix.lower() == ".png" else None
        try:
            score = watermark_score(read_image(path))
        except UnreadableMediaError as exc:
            if claim is None and not manifest.present:
                raise
            # Damaged pixels do not erase what the metadata and the manifest say.
            return FileReport(path, "image", WatermarkResult(0.0, 0, 0), claim, manifest,
                              (f"the pixels could not be decoded ({exc.reason}); watermark not checked",))
        mark = WatermarkResult(score, 1, int(score >= THRESHOLD))
        return FileReport(path, "image", mark, claim, manifest)
    mark, tags = _read_video(path, frames)
    return FileReport(path, "video", mark, read_video_claim(tags), manifest)


def _read_video(path: Path, frames: int) -> tuple[WatermarkResult, dict[str, str]]:
    import av

    reader = WatermarkReader()
    try:
        with av.open(str(path)) as container:
            tags = dict(container.metadata)
            if not container.streams.video:
                raise UnreadableMediaError(path, "it has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            total = stream.frames or _count_frames(path)
            if total > _SEEK_ABOVE and stream.duration:
                _read_by_seeking(container, stream, frames, reader)
            else:
                picks = set(np.linspace(0, max(total - 1, 0), num=min(frames, max(total, 1))).round().astype(int).tolist())
                for index, frame in enumerate(container.decode(stream)):
                    if index in picks:
                        reader.add(frame.to_ndarray(format="rgb24"))
                    if index >= max(picks):
                        break
    except (av.error.FFmpegError, OSError) as exc:
        if isinstance(exc, FacetwinError):
            raise
        raise UnreadableMediaError(path, str(exc).strip() or type(exc).__name__) from None
    if reader.frames == 0:
        raise UnreadableMediaError(path, "no frame could be decoded")
    return reader.result(), tags


#: Longer videos are sampled by seeking (decoding from the keyframe before each pick)
#: rather than decoding every frame up to the last pick.
_SEEK_ABOVE = 3000


def _read_by_seeking(container, stream, frames: int, reader: WatermarkReader) -> None:
    start = stream.start_time or 0
    for target in np.linspace(start, start + stream.duration, num=frames, endpoint=False).astype(np.int64):
        container.seek(int(target), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is not None and frame.pts >= target:
                reader.add(frame.to_ndarray(format="rgb24"))
                break


def _count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.demux(video=0) if _.size)


def format_report(report: FileReport) -> str:
    """The report as the command line prints it: a verdict line, then one line a mark."""
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
