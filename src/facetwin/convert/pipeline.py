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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facetwin.alignments import load_alignments
from facetwin.config import ConvertConfig, ExtractConfig
from facetwin.convert.swap import FaceSwapper, SwapFace
from facetwin.errors import InvalidAlignmentsError, OutputConflictError
from facetwin.extract import ProgressFn  # (frames_done, frames_total, faces): the same contract
from facetwin.faces.find import FaceFinder
from facetwin.io.images import write_png
from facetwin.io.media import Frame, open_media, prefetch
from facetwin.io.writers import open_writer
from facetwin.train.checkpoint import load_model
from facetwin.train.trainer import pick_device, use_bf16

__all__ = ["convert", "ConvertSummary"]

log = logging.getLogger(__name__)

#: Frames gathered before one batched pass through the model.
_FRAMES_PER_BATCH = 8


@dataclass
class ConvertSummary:
    """What a conversion did."""

    output: Path
    frames: int = 0
    frames_with_faces: int = 0
    faces_swapped: int = 0
    seconds: float = 0.0


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
        progress: called after each frame.

    Raises:
        FacetwinError subclasses for unreadable input, a bad model folder, an output
        that cannot be written or an alignments file of another input.
    """
    started = time.perf_counter()
    config = config or ConvertConfig()
    faces = faces or ExtractConfig()
    output = Path(output)
    dev = pick_device(device)
    model = load_model(model_dir, device=dev)
    swapper = FaceSwapper(model, config, bf16=use_bf16(config.precision, dev))
    summary = ConvertSummary(output)

    with open_media(inputs) as source:
        single_image = source.kind == "images" and output.suffix.lower() == ".png"
        if single_image and source.frame_count != 1:
            raise OutputConflictError(output, f"is one image, but the input has {source.frame_count}",
                                      "give a folder as the output")
        known = _read_alignments(alignments, source.frame_count) if alignments is not None else None
        finder = FaceFinder(faces, video=source.kind == "video") if known is None else None
        writer = None if single_image else open_writer(
            output, like=source if source.kind == "video" else None, crf=config.crf, preset=config.preset,
            fps=source.fps if source.kind != "video" else None,
        )
        encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facetwin-encode")
        pending: Future | None = None
        total = source.frame_count
        try:
            batch: list[tuple[Frame, list[SwapFace]]] = []
            frames = prefetch(source.frames(), depth=8)
            try:
                for frame in frames:
                    found = _faces_of(frame, finder, known)
                    batch.append((frame, found))
                    if len(batch) < _FRAMES_PER_BATCH and sum(len(f) for _, f in batch) < config.batch_size:
                        continue
                    pending = _flush(batch, swapper, config, writer, output, single_image, encoder, pending,
                                     summary, progress, total)
                    batch = []
                pending = _flush(batch, swapper, config, writer, output, single_image, encoder, pending,
                                 summary, progress, total)
            finally:
                frames.close()
            if pending is not None:
                pending.result()
            if writer is not None:
                writer.close()
        except BaseException:
            # The encoder thread may still be writing a frame: let it finish before the
            # file is closed under it (closing an encoder mid-frame crashes FFmpeg).
            encoder.shutdown(wait=True)
            if writer is not None:
                writer.abort()  # no half-written video under the final name
            raise
        finally:
            encoder.shutdown(wait=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _faces_of(frame: Frame, finder: FaceFinder | None, known: dict[int, list[SwapFace]] | None) -> list[SwapFace]:
    if known is not None:
        return known.get(frame.index, [])
    assert finder is not None
    return [SwapFace(f.landmarks, f.track_id) for f in finder(frame.image, frame.time)]


def _flush(batch, swapper, config, writer, output, single_image, encoder, pending, summary, progress, total):
    """Swap the faces of the gathered frames, then hand the frames to the encoder thread."""
    swapped_frames = swapper.swap_frames([frame.image for frame, _ in batch], [found for _, found in batch])
    for (frame, found), (swapped, mask) in zip(batch, swapped_frames):
        out = _side_by_side(frame.image, swapped, mask) if config.side_by_side else swapped
        if pending is not None:
            pending.result()  # one frame in flight: keeps order and memory bounded
        if single_image:
            write_png(output, out)
        else:
            pending = encoder.submit(writer.write, out, time=frame.time, name=frame.name)
        summary.frames += 1
        summary.frames_with_faces += bool(found)
        summary.faces_swapped += len(found)
        if progress is not None:
            progress(summary.frames, total, summary.faces_swapped)
    return pending


def _side_by_side(original: np.ndarray, swapped: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """input | output | mask, for review."""
    grey = np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.concatenate([original, swapped, np.repeat(grey[..., None], 3, axis=2)], axis=1)


def _read_alignments(path: str | Path, frame_count: int) -> dict[int, list[SwapFace]]:
    doc = load_alignments(path)
    if frame_count and doc.source.get("frame_count") not in (None, frame_count):
        raise InvalidAlignmentsError(
            path, "source", f"it describes {doc.source.get('frame_count')} frames but the input has {frame_count}; "
            "use the alignments file extracted from this input",
        )
    return {
        frame.index: [SwapFace(np.asarray(face.landmarks, np.float64), face.track) for face in frame.faces]
        for frame in doc.frames
    }
