"""Stage 3: a video, an image or a folder in, the same with faces swapped out.

Frames are decoded on one thread ahead of the work, faces are found as extraction finds
them (or read from its alignments file), swapped in batches by ``FaceSwapper`` and the
frames encoded on another thread, so decoding, the model and encoding overlap. A video
keeps its frame count, frame times, size and audio (io/writers.py); frames without a
face pass through untouched.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from facetwin._check import check_config, check_path
from facetwin.alignments import load_alignments
from facetwin.config import ConvertConfig, ExtractConfig
from facetwin.conversion.direction import direction
from facetwin.conversion.swap import FaceSwapper, SwapFace
from facetwin.device import pick_device, use_bf16
from facetwin.errors import InvalidAlignmentsError, OutputConflictError, TruncatedMediaError
from facetwin.faces.find import FaceFinder
from facetwin.forensics.provenance import Provenance, write_marked_png
from facetwin.io.lock import output_lock
from facetwin.io.media import Frame, open_media, prefetch
from facetwin.io.paths import refuse_input_file
from facetwin.io.writers import open_writer
from facetwin.models.checkpoint import load_model
from facetwin.progress import Progress, ProgressFn

__all__ = ["convert", "ConvertSummary", "ConvertedFrame"]

log = logging.getLogger(__name__)

#: Frames gathered (at most) for one batched pass through the model.
_FRAMES_PER_BATCH = 8
#: Frames handed to the writer thread and not yet written, at most (memory: 2.7 MB a 720p frame).
_FRAMES_IN_FLIGHT = _FRAMES_PER_BATCH + 4


@dataclass
class ConvertSummary:
    """What a conversion did."""

    output: Path
    frames: int = 0
    frames_with_faces: int = 0
    faces_swapped: int = 0
    seconds: float = 0.0
    to: str = ""  # whose face the output shows ("a" or "b"), with "auto" decided
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConvertedFrame:
    """One frame as converted, for callers that record more than the output (datasets).

    ``image`` is the frame as swapped, before the watermark is added on writing;
    ``mask`` the full-frame blend mask, float32 (H, W) in [0, 1]: how much of each
    output pixel came from the model (0 where the frame was left as it was).
    """

    index: int
    time: float | None
    faces: list[SwapFace]
    image: np.ndarray
    mask: np.ndarray


def convert(
    inputs: str | Path,
    model_dir: str | Path,
    output: str | Path,
    *,
    config: ConvertConfig | None = None,
    faces: ExtractConfig | None = None,
    alignments: str | Path | None = None,
    device: str = "auto",
    progress: ProgressFn | None = None,
    key_dir: str | Path | None = None,
    on_frame: Callable[[ConvertedFrame], None] | None = None,
) -> ConvertSummary:
    """Swap the faces of ``inputs`` with the model in ``model_dir``; write ``output``.

    Args:
        inputs: a video, an image, or a folder of images.
        model_dir: a folder written by ``facetwin train``.
        output: a video file (.mp4, .mov, .mkv) for a video; a folder for images (the
            input names are kept, as PNG); a .png file for a single image.
        config: how faces are swapped and blended.
        faces: how faces are found (detection, following, ``ref_faces`` to swap only one
            person); ignored when ``alignments`` is given.
        alignments: an alignments file written by ``facetwin extract`` from the same
            input: its landmarks are used instead of finding faces again.
        device: "auto" (CUDA if available), "cpu" or "cuda".
        progress: called with a ``Progress`` after each frame (facts: faces swapped so far).
        key_dir: the folder of the key that signs the outputs' C2PA manifests (made on
            first use); default ``$FACETWIN_KEY_DIR`` or ``~/.config/facetwin/c2pa``.
        on_frame: called with each ``ConvertedFrame``, in order, before it is written.

    Every output carries facetwin's marks (``facetwin.forensics.provenance``): an
    invisible watermark in every frame, metadata naming the model, and a signed C2PA
    manifest for PNG, MP4 and MOV. There is no way to leave them out.

    Raises:
        FacetwinError subclasses for unreadable input, a bad model folder, an output
        that cannot be written, is the input, or is being written by another run
        (``OutputLockedError``), or an alignments file of another input.
    """
    started = time.perf_counter()
    inputs, model_dir, output = (
        check_path(inputs, "inputs"),
        check_path(model_dir, "model_dir"),
        check_path(output, "output"),
    )
    alignments = check_path(alignments, "alignments") if alignments is not None else None
    config = check_config(config, "config", ConvertConfig)
    faces = check_config(faces, "faces", ExtractConfig)
    notes = []
    if config.to == "auto":
        to, why = direction(inputs, model_dir)
        config, notes = replace(config, to=to), [why]
    # A folder out (image sequence), as open_writer decides; a file for a video or one .png.
    into_folder = output.is_dir() or not output.suffix
    refuse_input_file(output, [inputs])
    if into_folder and Path(inputs).is_file():  # the image keeps its name, as .png
        refuse_input_file(output / f"{Path(inputs).stem}.png", [inputs])
    dev = pick_device(device)
    model = load_model(model_dir, device=dev)
    provenance = Provenance.for_model(model_dir, key_dir=key_dir)
    swapper = FaceSwapper(model, config, bf16=use_bf16(config.precision, dev))
    log.info(
        "%s (%s, %s face) on %s, %s; %s's face; mask %s, colour %s, blend %s",
        model_dir,
        model.config.get("name", "?"),
        swapper.face.name,
        dev,
        "bf16" if "bfloat16" in str(swapper.dtype) else "float32",
        config.to.upper(),
        config.mask,
        config.colour,
        config.blend,
    )
    summary = ConvertSummary(output, to=config.to, notes=notes)

    with open_media(inputs) as source, output_lock(output, "convert", kind="folder" if into_folder else "file"):
        single_image = source.kind == "images" and output.suffix.lower() == ".png"
        if single_image and source.frame_count != 1:
            raise OutputConflictError(
                output, f"is one image, but the input has {source.frame_count}", "give a folder as the output"
            )
        known = _read_alignments(alignments, source.frame_count) if alignments is not None else None
        finder = FaceFinder(faces, video=source.kind == "video") if known is None else None
        out = _Output(output, source, config, single_image, provenance)
        total = source.frame_count
        try:
            frames = prefetch(source.frames(), depth=8)
            try:
                for batch in _batches(frames, lambda frame: _faces_of(frame, finder, known), config.batch_size):
                    swapped = swapper.swap_frames([frame.image for frame, _ in batch], [found for _, found in batch])
                    for (frame, found), (image, mask) in zip(batch, swapped):
                        if on_frame is not None:
                            on_frame(ConvertedFrame(frame.index, frame.time, found, image, mask))
                        out.put(_side_by_side(frame.image, image, mask) if config.side_by_side else image, frame)
                        summary.frames += 1
                        summary.frames_with_faces += bool(found)
                        summary.faces_swapped += len(found)
                        if progress is not None:
                            progress(
                                Progress(
                                    "convert",
                                    summary.frames,
                                    total or None,
                                    "frame",
                                    detail=f"{summary.faces_swapped} faces swapped",
                                    facts={"faces_swapped": summary.faces_swapped},
                                )
                            )
            except TruncatedMediaError:
                # The error says the frames before the damage were kept: so they are,
                # converted and written, and the error still ends the run (exit 2).
                out.close()
                raise
            finally:
                frames.close()
            out.close()
        except TruncatedMediaError:
            raise
        except BaseException:
            out.abort()
            raise
    summary.seconds = time.perf_counter() - started
    return summary


def _faces_of(frame: Frame, finder: FaceFinder | None, known: dict[int, list[SwapFace]] | None) -> list[SwapFace]:
    if known is not None:
        return known.get(frame.index, [])
    assert finder is not None
    return [SwapFace(f.landmarks, f.track_id, f.box) for f in finder(frame.image, frame.time)]


def _batches(frames, faces_of, max_faces: int):
    """Consecutive (frame, faces) pairs, up to _FRAMES_PER_BATCH frames or ``max_faces`` faces."""
    batch: list[tuple[Frame, list[SwapFace]]] = []
    count = 0
    try:
        for frame in frames:
            found = faces_of(frame)
            batch.append((frame, found))
            count += len(found)
            if len(batch) >= _FRAMES_PER_BATCH or count >= max_faces:
                yield batch
                batch, count = [], 0
    except TruncatedMediaError:
        if batch:  # the frames decoded before the damage are converted too
            yield batch
        raise
    if batch:
        yield batch


class _Output:
    """Frames out, in order: a video or a folder written on a thread of its own, or one PNG."""

    def __init__(self, output: Path, source, config: ConvertConfig, single_image: bool, provenance: Provenance) -> None:
        self.output, self.single_image, self.provenance = output, single_image, provenance
        video = source.kind == "video"
        self.writer = (
            None
            if single_image
            else open_writer(
                output,
                like=source if video else None,
                fps=None if video else source.fps,
                crf=config.crf,
                preset=config.preset,
                provenance=provenance,
            )
        )
        self.encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facetwin-encode")
        self.pending: deque[Future] = deque()

    def put(self, image: np.ndarray, frame: Frame) -> None:
        # Up to a batch of frames and then some in flight (one writer thread keeps the
        # order): with one, each frame of a batch after the first waited for the previous
        # frame's mark and encoding, and the face finder for the next batch waited too
        # (720p: 24.8 -> 30.5 frames/s for 150 frames, 29.9 -> 39.9 steady; docs/BENCHMARKS.md).
        while len(self.pending) >= _FRAMES_IN_FLIGHT:
            self.pending.popleft().result()
        if self.writer is None:
            write_marked_png(self.output, image, self.provenance)
        else:
            self.pending.append(self.encoder.submit(self.writer.write, image, time=frame.time, name=frame.name))

    def close(self) -> None:
        while self.pending:
            self.pending.popleft().result()
        self.encoder.shutdown(wait=True)
        if self.writer is not None:
            self.writer.close()

    def abort(self) -> None:
        # The encoder thread may still be writing a frame: let it finish before the file
        # is closed under it (closing an encoder mid-frame crashes FFmpeg); the frames
        # queued behind it are dropped.
        self.encoder.shutdown(wait=True, cancel_futures=True)
        if self.writer is not None:
            self.writer.abort()  # no half-written video under the final name


def _side_by_side(original: np.ndarray, swapped: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """input | output | mask, for review."""
    grey = np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.concatenate([original, swapped, np.repeat(grey[..., None], 3, axis=2)], axis=1)


def _read_alignments(path: str | Path, frame_count: int) -> dict[int, list[SwapFace]]:
    doc = load_alignments(path)
    if frame_count and doc.source.get("frame_count") not in (None, frame_count):
        raise InvalidAlignmentsError(
            path,
            "source",
            f"it describes {doc.source.get('frame_count')} frames but the input has {frame_count}; "
            "use the alignments file extracted from this input",
        )
    return {
        frame.index: [
            SwapFace(np.asarray(face.landmarks, np.float64), face.track, np.asarray(face.box, np.float64))
            for face in frame.faces
        ]
        for frame in doc.frames
    }
