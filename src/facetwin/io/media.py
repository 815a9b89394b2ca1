"""Reading frames from a video, a folder of images, or a list of images.

Every source yields ``Frame`` objects with RGB uint8 pixels, an index and a time, so
later stages never ask what kind of input they got. Videos are decoded with PyAV
(FFmpeg), rotation metadata applied, so a phone's portrait video comes out upright.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from facetwin.errors import (
    EmptyInputError,
    FacetwinError,
    InputNotFoundError,
    TooManyPixelsError,
    TruncatedMediaError,
    UnreadableMediaError,
)
from facetwin.io.images import IMAGE_SUFFIXES, check_pixels, read_image

logger = logging.getLogger(__name__)

__all__ = ["Frame", "MediaSource", "VideoSource", "ImageSource", "open_media", "prefetch", "VIDEO_SUFFIXES"]

T = TypeVar("T")

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".gif")


@dataclass(frozen=True)
class Frame:
    """One picture from a source.

    Attributes:
        index: position in the source, from 0.
        time: presentation time in seconds (index / fps for image sequences).
        image: RGB uint8 (H, W, 3), upright.
        name: file name for images, ``None`` for video frames.
    """

    index: int
    time: float
    image: np.ndarray
    name: str | None = None


class MediaSource:
    """Base of the frame sources."""

    kind: str
    path: Path
    fps: float
    frame_count: int

    def frames(self, start: int = 0) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> MediaSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def rotate_upright(image: np.ndarray, rotation: float) -> np.ndarray:
    """Apply a display rotation (degrees counter-clockwise, as PyAV reports it).

    >>> rotate_upright(np.array([[1, 2]]), 90)
    array([[2],
           [1]])
    """
    k = int(round(rotation / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


class VideoSource(MediaSource):
    kind = "video"

    def __init__(self, path: Path) -> None:
        import av

        self.path = path
        try:
            self._container = av.open(str(path))
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            reason = _ffmpeg_reason(exc)
            if path.suffix.lower() in VIDEO_SUFFIXES:
                reason = f"the video is damaged, truncated or in an unknown format (FFmpeg: {reason})"
            raise UnreadableMediaError(path, reason) from None
        if not self._container.streams.video:
            self._container.close()
            raise UnreadableMediaError(path, "it has no video stream")
        stream = self._container.streams.video[0]
        try:
            check_pixels(path, stream.codec_context.width, stream.codec_context.height)
        except TooManyPixelsError:
            self._container.close()
            raise
        stream.thread_type = "AUTO"  # frame + slice threads: 2-3x faster decode
        self._stream = stream
        self._decoded = False
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 25.0
        self.frame_count = int(stream.frames or 0)
        # Seconds the container promises (Matroska and others give no frame count).
        # Matroska keeps the video's own length in a DURATION tag; the container's
        # duration covers every stream, and a soundtrack may run on past the pictures,
        # so that one only estimates the frame count and is not held against the decode.
        self.duration = 0.0
        self._duration_is_video = True
        tagged = _tag_seconds(stream.metadata.get("DURATION"))
        if stream.duration and stream.time_base:
            self.duration = float(stream.duration * stream.time_base)
        elif tagged:
            self.duration = tagged
        elif self._container.duration:
            self.duration = self._container.duration / 1_000_000
            self._duration_is_video = len(self._container.streams) == 1
        if not self.frame_count and self.duration:
            self.frame_count = int(round(self.duration * self.fps))
        self._exact_count = bool(stream.frames)

    def frames(self, start: int = 0) -> Iterator[Frame]:
        import av

        if self._decoded:  # a second pass: the demuxer sits where the last one stopped
            self._container.close()
            self._container = av.open(str(self.path))
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
        self._decoded = True
        from av.video.reformatter import VideoReformatter

        # One scaler for the whole video, on this thread: frame.to_ndarray() would build a
        # new one with threads of its own for every frame (issue 19).
        to_rgb = VideoReformatter()
        index = 0
        last_time = 0.0
        stream = self._stream
        try:
            for frame in self._container.decode(stream):
                if index >= start:
                    time = float(frame.time) if frame.time is not None else index / self.fps
                    last_time = time
                    # FFmpeg pads rows (a 642-px frame is 1,968 bytes a row, not 1,926) and PyAV
                    # returns a strided view of them, which dlib refuses or misreads.
                    image = np.ascontiguousarray(to_rgb.reformat(frame, format="rgb24", threads=1).to_ndarray())
                    image = rotate_upright(image, getattr(frame, "rotation", 0) or 0)
                    yield Frame(index, time, image)
                index += 1
        except av.error.FFmpegError as exc:
            raise TruncatedMediaError(self.path, index, _ffmpeg_reason(exc)) from None
        if index == 0:
            raise UnreadableMediaError(self.path, "no frame could be decoded")
        # A file cut short still demuxes cleanly up to the cut: compare with what the
        # container promised, the video's duration where it has one, else the frame
        # count. The duration first: FFmpeg writes a frame it dropped (to keep a constant
        # rate in AVI) as an empty packet, counted in the header yet never decoded, so
        # a whole AVI can decode fewer frames than it announces and still end on time.
        if self._duration_is_video and self.duration:
            if last_time < self.duration - 3.0 / self.fps:
                raise TruncatedMediaError(self.path, index, f"frames end at {last_time:.2f} s of {self.duration:.2f} s")
        elif self._exact_count and index < self.frame_count:
            raise TruncatedMediaError(self.path, index, f"the container announces {self.frame_count} frames")

    def close(self) -> None:
        self._container.close()


class ImageSource(MediaSource):
    kind = "images"

    def __init__(self, path: Path, files: Sequence[Path], fps: float = 25.0) -> None:
        self.path = path
        self.files = list(files)
        self.fps = fps
        self.frame_count = len(self.files)
        # (file name, reason) of images passed over: one damaged photo in a folder of
        # hundreds should cost that photo, not the run.
        self.skipped: list[tuple[str, str]] = []

    def frames(self, start: int = 0) -> Iterator[Frame]:
        first_error: FacetwinError | None = None
        read = 0
        for index, file in enumerate(self.files[start:], start):
            try:
                image = read_image(file)
            except (UnreadableMediaError, TooManyPixelsError, InputNotFoundError) as exc:
                if len(self.files) == 1:
                    raise
                first_error = first_error or exc
                self.skipped.append((file.name, str(exc)))
                logger.info("skipped %s", exc)  # the caller reports it (ExtractSummary.skipped)
                continue
            read += 1
            yield Frame(index, index / self.fps, image, name=file.name)
        if read == 0 and first_error is not None:
            raise first_error  # nothing readable at all: that is the input's problem, not one file's


def _tag_seconds(value: str | None) -> float:
    """Seconds of a Matroska DURATION tag ("00:01:02.500000000"); 0.0 when absent or odd.

    >>> _tag_seconds("01:02:03.500000000"), _tag_seconds(None), _tag_seconds("soon")
    (3723.5, 0.0, 0.0)
    """
    try:
        hours, minutes, seconds = (value or "").split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return 0.0


def _ffmpeg_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip().rstrip(".") or type(exc).__name__


def open_media(paths: str | Path | Sequence[str | Path]) -> MediaSource:
    """Open a video file, a folder of images, or one or more image files.

    Raises:
        InputNotFoundError: a path does not exist.
        EmptyInputError: a folder without images.
        UnreadableMediaError: not an image or video, or damaged beyond opening.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise EmptyInputError(".", IMAGE_SUFFIXES)
    for p in paths:
        if not p.exists():
            raise InputNotFoundError(p)
        if not (p.is_file() or p.is_dir()):  # FFmpeg would wait on a pipe for ever
            raise UnreadableMediaError(p, "it is not a regular file (a pipe, socket or device)")
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        files = sorted(
            (f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES),
            key=_natural_key,
        )
        if not files:
            raise EmptyInputError(folder, IMAGE_SUFFIXES)
        return ImageSource(folder, files)
    if len(paths) == 1 and paths[0].suffix.lower() not in IMAGE_SUFFIXES:
        return VideoSource(paths[0])
    for p in paths:
        if p.is_dir():
            raise UnreadableMediaError(p, "give a folder on its own, not among files")
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            raise UnreadableMediaError(p, "only images can be given several at a time")
    return ImageSource(paths[0].parent, paths)


def prefetch(iterator: Iterator[T], depth: int) -> Generator[T, None, None]:
    """Run ``iterator`` on a background thread, ``depth`` items ahead.

    Decoding releases the GIL, so on two cores it overlaps the work on each frame.

    Exceptions raised by the source (a truncated file) arrive in order, after the
    frames before them; closing the generator stops the thread.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        items.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            items.put((done, exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="facetwin-decode", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = items.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()
