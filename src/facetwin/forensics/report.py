"""``facetwin verify`` (``verify``): is this file synthetic, by facetwin's three marks?

Each mark is checked on its own, because each is lost in different ways: re-encoding
drops metadata and the C2PA manifest but keeps the watermark; an edit invalidates the
manifest; a crop or heavy compression may weaken the watermark.

The marks do not weigh the same, because they do not cost the same to fake. Copying
bytes from a facetwin output into a real photo copies its text chunks and its manifest
but not its watermark, and the copied manifest no longer validates (its hash is of the
other file's pixels). So a file is called synthetic only on evidence bound to its own
content: the watermark in its pixels, or a C2PA manifest that validates for these very
bytes and says the content is AI-made. Unsigned metadata, and a manifest that fails its
checks (edited after signing, or taken from another file), are reported as an
unverified claim: ``status`` "unverified", never "synthetic".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facetwin._check import check_number, check_path, check_range
from facetwin.errors import FacetwinError, InputNotFoundError, UnreadableMediaError
from facetwin.forensics.provenance import (
    CAPTURE_SOURCE_TYPE,
    DIGITAL_SOURCE_TYPE,
    read_png_claim,
    read_png_text,
    read_video_claim,
)
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
        """facetwin's unsigned metadata says synthetic: a claim anyone can copy or write."""
        return self.claim is not None and self.claim.get("synthetic") is True

    @property
    def c2pa_says_synthetic(self) -> bool:
        """A manifest that validates for these very bytes says the content is AI-made."""
        return bool(self.c2pa.valid and self.c2pa.digital_source_type == DIGITAL_SOURCE_TYPE)

    @property
    def c2pa_invalid_claim(self) -> bool:
        """A manifest says AI-made but fails its checks here: edited since, or copied from another file."""
        return bool(self.c2pa.present and not self.c2pa.valid and self.c2pa.digital_source_type == DIGITAL_SOURCE_TYPE)

    @property
    def original_claim(self) -> bool:
        """A manifest valid for these bytes says: a detection dataset's real footage, watermarked on purpose."""
        c2pa = self.c2pa
        return bool(
            c2pa.valid
            and c2pa.digital_source_type == CAPTURE_SOURCE_TYPE
            and isinstance(c2pa.claim, dict)
            and c2pa.claim.get("dataset_original") is True
        )

    @property
    def dataset_original(self) -> bool:
        """Real footage of a facetwin dataset, on the word of a *trusted* signer.

        The watermark on such a file is there by design (so that it cannot tell a dataset's
        real frames from its fakes). Only a signer this machine trusts may say so: anyone
        can sign a watermarked fake with a key of their own, so an untrusted "original"
        manifest is reported and the watermark still counts.
        """
        return self.original_claim and bool(self.c2pa.trusted)

    @property
    def proof(self) -> tuple[str, ...]:
        """The marks bound to this file's content that say synthetic ("watermark", "C2PA")."""
        if self.dataset_original:
            return ()
        return tuple(
            name for name, hit in (("watermark", self.watermark.found), ("C2PA", self.c2pa_says_synthetic)) if hit
        )

    @property
    def unverified(self) -> tuple[str, ...]:
        """Claims of synthetic that copying bytes from another file reproduces: no proof alone."""
        return tuple(
            name
            for name, hit in (
                ("unsigned metadata", self.metadata_found),
                ("C2PA invalid for this file", self.c2pa_invalid_claim),
            )
            if hit
        )

    @property
    def synthetic(self) -> bool:
        """Proven synthetic: the watermark, or a valid manifest saying so (``proof``)."""
        return bool(self.proof)

    @property
    def status(self) -> str:
        """ "synthetic" (proof), "original" (a dataset's real footage, trusted signer),
        "unverified" (only claims anyone can copy) or "none"."""
        if self.dataset_original:
            return "original"
        return "synthetic" if self.proof else "unverified" if self.unverified else "none"

    @property
    def verdict(self) -> str:
        if self.dataset_original:
            return (
                "REAL: original footage of a facetwin detection dataset (C2PA, trusted signer, valid for this "
                "file); the watermark is on it by design, as on the dataset's fakes"
            )
        if self.proof:
            verdict = "SYNTHETIC (facetwin: " + ", ".join(self.proof + self.unverified) + ")"
            if self.original_claim:
                verdict += (
                    f"; a manifest signed by {self.c2pa.signer or 'an unknown signer'}, not trusted here, "
                    "says it is a detection dataset's real footage (give that dataset's signer folder "
                    "with --trust-dir if you trust it)"
                )
            return verdict
        if self.unverified:
            watermark = "the watermark was not checked" if self.watermark.frames == 0 else "no watermark"
            return (
                f"UNVERIFIED claim of synthetic (facetwin: {', '.join(self.unverified)}): "
                f"{watermark} and no valid C2PA manifest back it"
            )
        return "no facetwin marks found"

    def as_dict(self) -> dict[str, Any]:
        c2pa = self.c2pa
        return {
            "path": str(self.path),
            "kind": self.kind,
            "synthetic": self.synthetic,
            "status": self.status,
            "verdict": self.verdict,
            "proof": list(self.proof),
            "unverified": list(self.unverified),
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
        InvalidOptionError: an argument of the wrong type, or ``frames`` under 1.
    """
    from facetwin.forensics.c2pa import read_manifest

    path = check_path(path, "path")
    frames = int(check_number(frames, "frames", integral=True))
    check_range(frames, "frames", low=1)
    if trust_dir is not None:
        trust_dir = check_path(trust_dir, "trust_dir")
        if not trust_dir.is_dir():  # a typo would make every signer read as untrusted, silently
            raise InputNotFoundError(trust_dir)
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
            return FileReport(
                path,
                "image",
                WatermarkResult(0.0, 0, 0),
                claim,
                manifest,
                (f"the pixels could not be decoded ({exc.reason}); watermark not checked",),
            )
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
                picks = set(
                    np.linspace(0, max(total - 1, 0), num=min(frames, max(total, 1))).round().astype(int).tolist()
                )
                for index, frame in enumerate(container.decode(stream)):
                    if index in picks:
                        reader.add(frame.to_ndarray(format="rgb24"))
                    if index >= max(picks):
                        break
    except (av.error.FFmpegError, OSError) as exc:
        if isinstance(exc, FacetwinError):
            raise
        # FFmpeg's own words ("Invalid data found when processing input"), not its errno
        # and the path again, which OSError's str() would add.
        reason = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
        raise UnreadableMediaError(
            path, f"the video is damaged, truncated or in an unknown format ({reason})"
        ) from None
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
    watermark = (
        f"found, {mark.score:.1f} sigma (chance of a false alarm {chance}){frames}"
        if mark.found
        else f"not found ({mark.score:.1f} sigma{frames})"
    )
    claim = report.claim
    metadata = (
        f"found, unsigned: {claim.get('software')} {claim.get('version')}, model {claim.get('model_fingerprint')}"
        if claim is not None
        else "not found"
    )
    c2pa = report.c2pa
    if not c2pa.present:
        unsupported = any("NotSupported" in p or "unsupported" in p for p in c2pa.problems)
        manifest = "none" + (
            " (this file type cannot carry one)" if unsupported else f" ({c2pa.problems[0]})" if c2pa.problems else ""
        )
    elif c2pa.valid:
        manifest = "valid" + (", trusted signer" if c2pa.trusted else ", untrusted signer")
        manifest += f", signed by {c2pa.signer}" if c2pa.signer else ""
    else:
        # A hash mismatch is what both an edit and a manifest copied from another file give;
        # the signer it names signed some other bytes, so it is no one's word about these.
        moved = any("mismatch" in problem for problem in c2pa.problems)
        manifest = "INVALID for this file" + (" (edited after signing, or copied from another file)" if moved else "")
        manifest += f", names signer {c2pa.signer}" if c2pa.signer else ""
        shown = [problem for problem in c2pa.problems if "mismatch" in problem] or c2pa.problems
        manifest += f": {shown[0]}" if shown else ""
    text = (
        f"{report.path}: {report.verdict}\n  watermark: {watermark}\n  metadata:  {metadata}\n  C2PA:      {manifest}"
    )
    return text + "".join(f"\n  note:      {problem}" for problem in report.problems)
