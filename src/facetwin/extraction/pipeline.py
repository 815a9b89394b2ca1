"""The extraction pipeline: media in, aligned face crops and an alignments file out.

Output folder::

    OUT/alignments.json      facetwin/alignments (docs/formats.md)
    OUT/000123_0.png         aligned crop of face 0 in source frame 123 (lossless)

``remove_faces`` takes faces out of such a folder again (a review's rejects).

The alignments file is rewritten atomically every few seconds and when the run stops
for any reason, so an interrupted run loses at most those seconds; running the same
command again continues after the last recorded frame. The file also keeps the face
tracker's state after that frame (tracks, smoothing filters, identity decisions), so a
continued run writes the same bytes as one that was never stopped.
"""

from __future__ import annotations

import errno
import logging
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facetwin._check import check_config, check_path, check_paths
from facetwin.alignments import (
    Alignments,
    FaceRecord,
    FrameRecord,
    load_alignments,
    save_alignments,
)
from facetwin.config import ExtractConfig
from facetwin.errors import (
    FacetwinError,
    InvalidAlignmentsError,
    InvalidOptionError,
    NoFaceFoundError,
    OutputConflictError,
    OutputWriteError,
    UnknownFaceError,
)
from facetwin.faces.align import crop_from_frame, warp_to_crop
from facetwin.faces.find import FaceFinder
from facetwin.io.atomic import atomic_write_bytes
from facetwin.io.images import encode_png
from facetwin.io.lock import output_lock
from facetwin.io.media import MediaSource, open_media, prefetch
from facetwin.io.paths import refuse_input_folder
from facetwin.progress import Progress, ProgressFn

__all__ = ["extract", "remove_faces", "ExtractSummary", "ALIGNMENTS_NAME"]

log = logging.getLogger(__name__)

ALIGNMENTS_NAME = "alignments.json"
_CROP_NAME = re.compile(r"(\d{6,})_(\d+)\.png")
_SAVE_EVERY_S = 3.0


@dataclass
class ExtractSummary:
    """What one extraction run did (counts include frames from earlier, resumed runs)."""

    output: Path
    frames_read: int = 0
    faces_saved: int = 0
    frames_without_face: int = 0
    dropped_small: int = 0
    dropped_other_person: int = 0
    resumed_at: int | None = None
    already_complete: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image name, why) of a folder's unreadable images

    @property
    def alignments_path(self) -> Path:
        return self.output / ALIGNMENTS_NAME


def _source_info(source: MediaSource, inputs: Sequence[str | Path]) -> dict:
    info = {
        "inputs": [str(Path(p).resolve()) for p in inputs],
        "kind": source.kind,
        "fps": round(source.fps, 6),
        "frame_count": source.frame_count,
    }
    return info


def _frames_to_read(source: MediaSource, config: ExtractConfig, stop: int | None) -> int | None:
    """The frames this extraction will record (the progress bar's total): a held-out end
    is never read, and with --every N only one frame in N of a video.

    >>> from types import SimpleNamespace as N
    >>> _frames_to_read(N(frame_count=100, kind="video"), N(every=3), 50)
    17
    """
    total = source.frame_count
    if not total:
        return None
    if stop is not None:
        total = min(total, stop)
    if source.kind == "video" and config.every > 1:
        total = -(-total // config.every)  # frames 0, N, 2N, ... below total
    return total


def _resume_state(out: Path, source_info: dict, settings: dict, overwrite: bool) -> Alignments | None:
    path = out / ALIGNMENTS_NAME
    if not path.exists() or overwrite:
        return None
    try:
        previous = load_alignments(path)
    except InvalidAlignmentsError as exc:
        raise OutputConflictError(
            out, f"holds a damaged alignments file ({exc.problem})", "use --overwrite to start again"
        ) from None
    # The frame count too: a folder whose images changed under the same name is another source.
    same_source = all(previous.source.get(k) == source_info[k] for k in ("inputs", "frame_count"))
    if not same_source or previous.settings != settings:
        what = "another source" if not same_source else "other settings"
        raise OutputConflictError(
            out,
            f"already holds an extraction of {what}",
            "choose another output folder or use --overwrite to replace it",
        )
    return previous


def _remove_stray_crops(out: Path, alignments: Alignments, after_index: int) -> None:
    """Delete crops written after the last saved frame (a run stopped between the two)."""
    known = {fa.crop for _, fa in alignments.faces()}
    for png in out.glob("*.png"):
        match = _CROP_NAME.fullmatch(png.name)
        if match and png.name not in known and int(match.group(1)) > after_index:
            png.unlink()


def extract(
    inputs: str | Path | Sequence[str | Path],
    output: str | Path,
    *,
    config: ExtractConfig | None = None,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
) -> ExtractSummary:
    """Find, align and save every face in a video, an image folder or images.

    Args:
        inputs: a video file, a folder of images, or image files.
        output: folder for the crops and ``alignments.json`` (created if missing).
        config: extraction settings; ``ExtractConfig()`` when omitted.
        overwrite: discard an earlier extraction in ``output`` instead of resuming it.
        progress: called with a ``Progress`` after every frame (facts: faces saved so far).

    Returns:
        Counts of what was read, saved and dropped.

    Raises:
        FacetwinError subclasses for bad input, a conflicting output folder (the
        input photos' folder; one another run is writing: ``OutputLockedError``), or a
        source in which no face was found (after saving what was read).
    """
    inputs = check_paths(inputs, "inputs")
    out = check_path(output, "output")
    config = check_config(config, "config", ExtractConfig)
    started = time.perf_counter()
    source = open_media(inputs)
    try:
        refuse_input_folder(out, inputs, writes="face crops and alignments.json")
        with output_lock(out, "extract"):
            return _run(source, list(inputs), out, config, overwrite, progress, started)
    except OSError as exc:
        if isinstance(exc, FacetwinError) or exc.errno not in _WRITE_ERRORS:
            raise
        raise OutputWriteError(out, exc.strerror or str(exc)) from None
    finally:
        source.close()


# What writing crops and alignments.json can meet: a full disk or quota, a read-only or
# failing drive, permissions. Each ends the run with one line; the frames saved so far
# are kept and a second run continues from them.
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def remove_faces(folder: str | Path, crops: Iterable[str]) -> int:
    """Take faces out of an extraction folder: their records in alignments.json, then their crops.

    For rejects of a face review (misdetections, other people, blurred frames). Frames
    keep their records, a frame whose faces all go with an empty face list, so resuming
    the extraction does not find those faces again; ``load_faces`` no longer sees them.

    alignments.json is rewritten (atomically) before any crop is deleted: a crash between
    the two leaves unlisted files, which nothing reads, never listed faces without files.
    Not while an extraction is writing into the folder: its next save would list the
    faces again.

    Args:
        folder: an extraction folder (holding alignments.json).
        crops: crop file names as listed in alignments.json (``FaceRecord.crop``), e.g.
            ``["000012_0.png"]``; repeats count once.

    Returns:
        How many faces were removed.

    Raises:
        InputNotFoundError: the folder holds no alignments.json.
        InvalidAlignmentsError: alignments.json is damaged.
        InvalidOptionError: ``crops`` is one string rather than a collection of names.
        UnknownFaceError: a name is not a face of the folder; nothing is changed.
    """
    if isinstance(crops, (str, bytes)):  # iterating one name would remove its characters
        raise InvalidOptionError("crops", crops, "a list of crop file names")
    folder = Path(folder)
    path = folder / ALIGNMENTS_NAME
    alignments = load_alignments(path)
    wanted = set(crops)
    listed = {face.crop for _, face in alignments.faces()}
    unknown = sorted(wanted - listed)
    if unknown:
        raise UnknownFaceError(path, unknown, len(listed))
    if not wanted:
        return 0
    for frame in alignments.frames:
        frame.faces = [face for face in frame.faces if face.crop not in wanted]
    save_alignments(path, alignments)
    for name in sorted(wanted):
        (folder / name).unlink(missing_ok=True)  # already deleted by hand: the goal is met
    log.info("%s: removed %d faces", folder, len(wanted))
    return len(wanted)


def _run(
    source: MediaSource,
    inputs: list,
    out: Path,
    config: ExtractConfig,
    overwrite: bool,
    progress: ProgressFn | None,
    started: float,
) -> ExtractSummary:
    info = _source_info(source, inputs)
    settings = config.result_settings()
    log.info(
        "%s: %s, %s frames at %.3g fps; detector %s, %d px crops at coverage %.2f -> %s",
        source.path,
        source.kind,
        source.frame_count if source.frame_count is not None else "unknown",
        source.fps,
        config.detector,
        config.crop_size,
        config.coverage,
        out,
    )
    if out.exists() and not out.is_dir():
        raise OutputConflictError(out, "exists and is not a folder", "choose another output path")
    out.mkdir(parents=True, exist_ok=True)
    summary = ExtractSummary(out)

    alignments = _resume_state(out, info, settings, overwrite)
    if overwrite:
        for png in out.glob("*.png"):
            if _CROP_NAME.fullmatch(png.name):  # only crops facetwin wrote, nothing else
                png.unlink()
    if alignments is not None and alignments.complete:
        summary.already_complete = True
        _count(summary, alignments)
        summary.seconds = time.perf_counter() - started
        if summary.faces_saved == 0:
            raise NoFaceFoundError(str(source.path), summary.frames_read)
        return summary
    start = 0
    if alignments is not None and alignments.frames:
        start = alignments.frames[-1].index + 1
        summary.resumed_at = start
        _remove_stray_crops(out, alignments, start - 1)
        log.info("resuming %s at frame %d", source.path, start)
    if alignments is None:
        alignments = Alignments(info, settings, config.crop_size)

    finder = FaceFinder(config, video=source.kind == "video")
    if start:
        _restore_finder(finder, alignments, out, summary)

    # Decoding runs ahead on one thread and crops are cut and written on another: both
    # release the GIL, so on two cores they overlap detection and landmarks.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facetwin-png")
    frames = prefetch(source.frames(start), depth=8)
    pending: list = []
    last_save = time.perf_counter()
    json_cache: dict = {}  # frames are never edited once recorded
    stop = _training_stop(source, config)
    total = _frames_to_read(source, config, stop)
    done = len(alignments.frames)
    saved = alignments.face_count
    error: BaseException | None = None
    try:
        for frame in frames:
            if stop is not None and frame.index >= stop:
                break  # the held-out part is never read, so no face of it can reach training
            if source.kind == "video" and config.every > 1 and frame.index % config.every:
                continue
            record = FrameRecord(frame.index, frame.time, frame.name)
            for face in finder(frame.image, frame.time):
                matrix = crop_from_frame(face.landmarks, crop_size=config.crop_size, coverage=config.coverage)
                name = f"{frame.index:06d}_{len(record.faces)}.png"
                pending.append(
                    writer.submit(
                        _write_crop, out / name, frame.image, matrix, config.crop_size, config.png_compression
                    )
                )
                record.faces.append(
                    FaceRecord(
                        len(record.faces),
                        face.track_id,
                        face.box,
                        face.score,
                        face.landmarks,
                        matrix,
                        name,
                        face.identity,
                    )
                )
            alignments.frames.append(record)
            # After every frame, not at each save: an interruption inside the finder
            # leaves its state part-way into a frame that is not recorded.
            alignments.resume = finder.state()
            done += 1
            saved += len(record.faces)
            if progress is not None:
                progress(
                    Progress("extract", done, total or None, "frame", detail=f"{saved} faces", facts={"faces": saved})
                )
            if time.perf_counter() - last_save > _SAVE_EVERY_S:
                _flush(pending)
                save_alignments(out / ALIGNMENTS_NAME, alignments, cache=json_cache)
                last_save = time.perf_counter()
        alignments.complete, alignments.resume = True, None
    except BaseException as exc:  # KeyboardInterrupt too: save what was done, then re-raise
        error = exc
        raise
    finally:
        frames.close()
        writer.shutdown(wait=True)
        write_error: OSError | None = None
        try:
            _flush(pending)
        except OSError as exc:
            write_error = exc
            _drop_unwritten(out, alignments)  # a full disk: some crops never reached it
        # Only frames whose crops are on disk are recorded: the writer has finished. A
        # first run that recorded nothing leaves no file, so a bad input leaves no trace.
        if alignments.frames or (out / ALIGNMENTS_NAME).exists():
            save_alignments(out / ALIGNMENTS_NAME, alignments, cache=json_cache)
        _count(summary, alignments)
        if write_error is not None and error is None:
            raise write_error
        summary.seconds = time.perf_counter() - started
    summary.dropped_small, summary.dropped_other_person = finder.dropped_small, finder.dropped_other_person
    summary.skipped = list(getattr(source, "skipped", []))
    if summary.skipped:
        summary.notes.append(f"{len(summary.skipped)} unreadable image(s) skipped (the first: {summary.skipped[0][1]})")
    if summary.faces_saved == 0:
        raise NoFaceFoundError(str(source.path), summary.frames_read, finder.no_face_hint())
    return summary


def _restore_finder(finder: FaceFinder, alignments: Alignments, out: Path, summary: ExtractSummary) -> None:
    """Give the finder its state after the last recorded frame, so tracks continue unchanged."""
    if alignments.resume is None:  # written by a facetwin that did not keep it
        note = (
            f"tracking restarts at frame {summary.resumed_at}: the alignments file does not keep the "
            "tracker's state, so faces from there on may differ slightly from an uninterrupted run"
        )
        summary.notes.append(note)
        log.warning("%s", note)
        return
    try:
        finder.restore(alignments.resume)
    except ValueError as exc:
        raise OutputConflictError(
            out, f"holds a damaged alignments file (resume: {exc})", "use --overwrite to start again"
        ) from None


def _training_stop(source: MediaSource, config: ExtractConfig) -> int | None:
    """First frame not to read when the end of a video is held out for evaluation."""
    if not config.held_out or source.kind != "video":
        return None
    from facetwin.data.split import time_split

    return time_split(source.frame_count, source.fps, held_out=config.held_out).train.stop


def _write_crop(path: Path, frame: np.ndarray, matrix: np.ndarray, crop_size: int, compression: int) -> None:
    crop = warp_to_crop(frame, matrix, crop_size)
    atomic_write_bytes(path, encode_png(crop, compression=compression))


def _drop_unwritten(out: Path, alignments: Alignments) -> None:
    """Forget the frames from the first whose crop is missing on, so a resume makes them again."""
    for i, frame in enumerate(alignments.frames):
        if any(not (out / face.crop).is_file() for face in frame.faces):
            del alignments.frames[i:]
            # The tracker's state is of the last frame read, not of the last one kept:
            # tracking restarts at the resume, with a note that says so.
            alignments.resume = None
            alignments.complete = False
            return


def _flush(pending: list) -> None:
    while pending:
        pending.pop(0).result()


def _count(summary: ExtractSummary, alignments: Alignments) -> None:
    summary.frames_read = len(alignments.frames)
    summary.faces_saved = alignments.face_count
    summary.frames_without_face = sum(1 for f in alignments.frames if not f.faces)
