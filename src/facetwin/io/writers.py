"""Writing frames out: H.264 videos that keep a source's timing and audio, PNG sequences.

``VideoWriter`` takes the upright RGB frames facetwin's sources yield and writes an H.264
(libx264) video that plays like the source: the same frame times in the source's own
time base (so 30000/1001 fps and variable frame timing survive exactly in MP4/MOV), the
same displayed size and orientation, and the source's audio track, copied packet for
packet where the container takes its codec. ``ImageSequenceWriter`` writes lossless PNGs
into a folder. ``open_writer`` picks one by the output path.

Both write atomically: a video goes to a hidden temporary file beside the target and is
renamed over it only when closed cleanly, so an exception, Ctrl-C or a killed process
never leaves half a video under the final name; each PNG is written the same way.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from facetwin._check import check_array, check_choice, check_range
from facetwin.errors import InvalidOptionError, OutputConflictError, OutputWriteError, UnsupportedOutputError
from facetwin.io.atomic import file_mode
from facetwin.io.audio import AudioPassthrough
from facetwin.io.images import IMAGE_SUFFIXES, write_png
from facetwin.io.media import MediaSource, VideoSource

__all__ = [
    "Marks",
    "MediaWriter",
    "VideoWriter",
    "ImageSequenceWriter",
    "open_writer",
    "VIDEO_OUTPUT_SUFFIXES",
    "X264_PRESETS",
]

logger = logging.getLogger(__name__)

# Output suffix -> FFmpeg muxer. Only containers that hold H.264 and common audio well.
VIDEO_OUTPUT_SUFFIXES = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}

# Containers that carry a C2PA manifest (c2pa-rs's BMFF support) -> MIME type.
_C2PA_FORMATS = {"mp4": "video/mp4", "mov": "video/quicktime"}

X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)

# FFmpeg colour matrix (AVColorSpace) -> swscale coefficients (SWS_CS_*), for the
# RGB -> YUV step; unknown or unspecified matrices use BT.601, as decoders assume.
_SWS_COLORSPACE = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
_MPEG_RANGE, _JPEG_RANGE = 1, 2


class Marks(Protocol):
    """What a writer needs to mark its output as synthetic.

    ``facetwin.forensics.provenance.Provenance`` implements it. The writers take it as
    an argument instead of importing the marks, so that io stays below them (the marks
    write their PNGs and signed files through io).
    """

    def mark_frame(self, image: np.ndarray) -> np.ndarray:
        """The frame with the invisible watermark, before it is encoded."""

    def video_tags(self) -> dict[str, str]:
        """Container tags that state what the file is."""

    def sign_video(self, path: Path, *, mime: str, title: str) -> None:
        """Add the signed C2PA manifest to the finished file in place."""

    def write_png(self, path: Path, image: np.ndarray, *, compression: int) -> None:
        """Write ``image`` as a marked PNG, atomically."""


class MediaWriter:
    """Base of the frame writers: ``write`` frames, then ``close`` (or leave the ``with``).

    Leaving a ``with`` block by an exception calls ``abort`` instead of ``close``: nothing
    is left under the final name.
    """

    path: Path
    frames_written: int = 0

    def write(self, image: np.ndarray, *, time: float | None = None, name: str | None = None) -> Path | None:
        """Append RGB uint8 (H, W, 3) ``image``: videos place it at ``time``, folders name it ``name``."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def __enter__(self) -> MediaWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class VideoWriter(MediaWriter):
    """Write upright RGB frames as an H.264 video that plays like a source video.

    Args:
        path: output file; ``.mp4``, ``.m4v``, ``.mov`` or ``.mkv``. Missing parent
            folders are made; an existing file is replaced when the writer closes.
        like: the source the frames come from. From a video it takes the frame rate and
            time base (exact rationals), the colour tags and, unless ``audio`` is False,
            the audio track. From a folder of images it takes the frame rate.
        fps: frames per second when there is no ``like`` (default 25), or to override
            it; a ``Fraction`` such as ``Fraction(30000, 1001)`` stays exact.
        crf: x264 constant rate factor, 0 (lossless) to 51; 18 looks near-lossless.
        preset: x264 speed preset, one of ``X264_PRESETS``; slower gives smaller files.
        pix_fmt: ``"yuv420p"`` plays everywhere but needs even sizes: an odd width or
            height gets one column or row repeated at the right or bottom edge (logged).
            ``"yuv444p"`` keeps odd sizes and full colour resolution, but many players,
            browsers and phones cannot play it (H.264 High 4:4:4).
        audio: copy the audio track of ``audio_from``; False writes video only.
        audio_from: the file whose first audio track to copy; default ``like``'s file.
        provenance: marks the video as synthetic (``facetwin.forensics.provenance``):
            every frame watermarked, the claim in the container tags, and for MP4/MOV a
            signed C2PA manifest added when the writer closes. Leave it out only for
            videos with nothing synthetic in them.

    Frame times: ``write(image, time=frame.time)`` places each frame at the time the
    source showed it, rounded to the time base (which the source's own times fit
    exactly). Without ``time``, frame ``i`` shows at ``i / fps``. Times must increase.

    Orientation: see ``write``; the output carries no rotation tag.

    MP4 and MOV keep every time exactly (edit lists carry a late first frame and the
    audio's priming). Matroska keeps times in milliseconds, so 30000/1001 fps comes back
    only to the millisecond, and, having no negative times, FFmpeg shifts a whole file
    whose copied audio starts with priming samples (AAC: 1024) by that much; sound and
    pictures stay in step.

    Conversion writes ``with open_media(src) as source, VideoWriter(dst, like=source) as
    out:`` and then ``out.write(swapped, time=frame.time)`` for each frame.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder, VideoWriter(
    ...     f"{folder}/grey.mp4", fps=Fraction(30000, 1001), preset="ultrafast"
    ... ) as out:
    ...     for _ in range(3):
    ...         out.write(np.full((48, 64, 3), 128, np.uint8))
    >>> out.frames_written, out.size, out.time_base, out.audio_mode
    (3, (64, 48), Fraction(1, 30000), None)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        like: MediaSource | str | Path | None = None,
        fps: float | Fraction | None = None,
        crf: int = 18,
        preset: str = "medium",
        pix_fmt: Literal["yuv420p", "yuv444p"] = "yuv420p",
        audio: bool = True,
        audio_from: str | Path | None = None,
        provenance: Marks | None = None,
    ) -> None:
        self.path = Path(path)
        self.provenance = provenance
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_OUTPUT_SUFFIXES:
            raise UnsupportedOutputError(self.path, tuple(VIDEO_OUTPUT_SUFFIXES))
        check_range(crf, "crf", low=0, high=51)
        check_choice(preset, "preset", X264_PRESETS)
        check_choice(pix_fmt, "pix_fmt", ("yuv420p", "yuv444p"))
        if fps is not None:
            check_range(float(fps), "fps", low=0, low_open=True)
        self._format = VIDEO_OUTPUT_SUFFIXES[suffix]
        self.crf, self.preset, self.pix_fmt = int(crf), preset, pix_fmt

        like_path = _video_path(like)
        probe = _probe_video(like_path) if like_path is not None else _VideoProbe()
        if fps is not None:
            self.fps = _as_fraction(fps)
        elif probe.rate is not None:
            self.fps = probe.rate
        elif isinstance(like, MediaSource):
            self.fps = _as_fraction(like.fps)
        else:
            self.fps = Fraction(25)
        # A source's own time base fits its frame times exactly; otherwise 1/fps does.
        base = probe.time_base if fps is None and probe.time_base is not None else 1 / self.fps
        self.time_base = _mp4_time_base(base)
        self._colour = probe.colour
        self._to_yuv = None  # one scaler for the whole video, made with the first frame

        self.audio_source: Path | None = None
        if audio:
            self.audio_source = Path(audio_from) if audio_from is not None else like_path
        # Opened now, so a missing or unreadable audio file fails before any work.
        self._audio = AudioPassthrough.open(self.audio_source) if self.audio_source is not None else None

        self.size: tuple[int, int] | None = None  # (width, height) of the frames given
        self.padded = False
        self._video = None
        self._last_pts: int | None = None
        self._closed = False
        try:
            self._open_container()
        except BaseException:
            if self._audio is not None:
                self._audio.close()
            raise

    @property
    def audio_mode(self) -> Literal["copy", "aac"] | None:
        """How the audio is written: ``"copy"``, ``"aac"`` (re-encoded), or ``None`` (no audio)."""
        return self._audio.mode if self._audio is not None else None

    # --- public ---------------------------------------------------------------------

    def write(self, image: np.ndarray, *, time: float | None = None, name: str | None = None) -> None:
        """Append one frame.

        Args:
            image: RGB uint8 (H, W, 3), upright as facetwin's sources yield it; every
                frame must have the size of the first.
            time: when the frame shows, in seconds (``Frame.time``); default
                ``frames_written / fps``.
            name: ignored (image sequences use it).

        Rotation: frames are stored upright and the output has no rotation tag. A
        rotated source (a phone's portrait video) therefore comes out with width and
        height swapped in the file but displays the same, in every player, including
        those that ignore rotation tags; it is also what FFmpeg itself does when it
        re-encodes (autorotate), and it spares turning every frame back.
        """
        if self._closed:
            raise OutputWriteError(self.path, "the writer is already closed", "open a new writer")
        if self.size is None:
            check_array(image, "image", ["H", "W", 3], dtypes=[np.uint8])
        else:
            check_array(image, "image", [self.size[1], self.size[0], 3], dtypes=[np.uint8])
        pts = self._pts(time)
        if self.provenance is not None:
            image = self.provenance.mark_frame(image)
        try:
            if self._video is None:
                self._start(image.shape[1], image.shape[0])
            self._encode(self._frame(image, pts))
            if self._audio is not None:
                self._audio.mux_until(float(pts * self.time_base))
        except (OSError, _av_error()) as exc:
            self.abort()
            raise OutputWriteError(self.path, _reason(exc)) from exc
        self._last_pts = pts
        self.frames_written += 1

    def close(self) -> None:
        """Finish the video and move it to ``path``; an empty writer raises and leaves no file."""
        if self._closed:
            return
        if self._video is None:
            self.abort()
            raise OutputWriteError(
                self.path, "no frame was written, so there is no video to save", "write at least one frame"
            )
        try:
            self._encode(None)
            if self._audio is not None:
                self._audio.mux_until(None)
                self._audio.close()
            self._container.close()
            if self.provenance is not None and self._format in _C2PA_FORMATS:
                self.provenance.sign_video(Path(self._tmp), mime=_C2PA_FORMATS[self._format], title=self.path.name)
            with open(self._tmp, "rb+") as f:  # the data reaches the disk before the rename
                os.fsync(f.fileno())
            os.chmod(self._tmp, file_mode())
            os.replace(self._tmp, self.path)
        except (OSError, _av_error()) as exc:
            self.abort()
            raise OutputWriteError(self.path, _reason(exc)) from exc
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def abort(self) -> None:
        """Stop and delete what was written; the target path is left as it was."""
        if self._closed:
            return
        self._closed = True
        if self._audio is not None:
            self._audio.close()
        try:
            self._container.close()
        except Exception:  # a half-written file may fail to finalise; it is deleted anyway
            pass
        Path(self._tmp).unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    # --- internals --------------------------------------------------------------------

    def _open_container(self) -> None:
        import av

        folder = self.path.parent
        if self.path.is_dir():
            suffixes = ", ".join(VIDEO_OUTPUT_SUFFIXES)
            raise OutputConflictError(self.path, "is a folder", f"give a file name ending in {suffixes}")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=folder)
            os.close(fd)
        except OSError as exc:
            raise OutputWriteError(self.path, _reason(exc)) from None
        options = {}
        if self._format in ("mp4", "mov"):
            # Edit lists (a late first frame, audio priming) are counted in the movie
            # timescale, 1/1000 s by default: one that divides into both tracks' ticks
            # (the audio's is its sample rate) keeps every start time exact.
            options["movie_timescale"] = str(_movie_timescale(self.time_base, self._audio))
            if self.provenance is not None:
                options["movflags"] = "use_metadata_tags"  # keeps the "facetwin" claim tag
        try:
            self._container = av.open(self._tmp, "w", format=self._format, options=options)
        except (OSError, av.error.FFmpegError) as exc:
            Path(self._tmp).unlink(missing_ok=True)
            raise OutputWriteError(self.path, _reason(exc)) from None
        if self.provenance is not None:
            self._container.metadata.update(self.provenance.video_tags())

    def _start(self, width: int, height: int) -> None:
        """Add the streams once the frame size is known (the header follows with the first packet)."""
        self.size = (width, height)
        coded_w, coded_h = width, height
        if self.pix_fmt == "yuv420p" and (width % 2 or height % 2):
            # 4:2:0 H.264 cannot code odd sizes (its cropping works in steps of 2), and
            # 4:4:4 plays in few places: repeat the last column/row instead.
            coded_w, coded_h = width + width % 2, height + height % 2
            self.padded = True
            logger.warning(
                "%s: %dx%d is odd, H.264 yuv420p needs even sizes: written as %dx%d with the "
                "edge repeated (pix_fmt='yuv444p' keeps the size but plays in fewer players)",
                self.path,
                width,
                height,
                coded_w,
                coded_h,
            )
        stream = self._container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height = coded_w, coded_h
        stream.pix_fmt = self.pix_fmt
        stream.time_base = self.time_base
        context = stream.codec_context
        context.time_base = self.time_base
        if self._colour.matrix is not None:
            context.colorspace = self._colour.matrix
            context.color_primaries = self._colour.primaries
            context.color_trc = self._colour.trc
            context.color_range = self._colour.range
        stream.options = {"crf": str(self.crf), "preset": self.preset}
        self._video = stream
        if self._audio is not None:
            self._audio.add_to(self._container, self._format)

    def _pts(self, time: float | None) -> int:
        if time is None:
            pts = round(self.frames_written / self.fps / self.time_base)
        else:
            if not math.isfinite(time):  # Fraction() would raise a bare ValueError/OverflowError
                raise InvalidOptionError("time", time, "a finite number of seconds")
            pts = round(Fraction(float(time)) / self.time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            last = float(self._last_pts * self.time_base)
            raise InvalidOptionError("time", time, f"later than the previous frame's time {last:.6f} s")
        return pts

    def _frame(self, image: np.ndarray, pts: int):
        import av

        width, height = self._video.width, self._video.height
        if (width, height) != self.size:
            image = np.pad(image, ((0, height - image.shape[0]), (0, width - image.shape[1]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        # RGB -> YUV with the source's matrix and range, so a decoder that reads the tags
        # (set on the stream) gets back the RGB the source decodes to. One scaler for the
        # whole video, on this thread (frame.reformat would build one a frame, with threads).
        colour = self._colour
        if self._to_yuv is None:
            from av.video.reformatter import VideoReformatter

            self._to_yuv = VideoReformatter()
        frame = self._to_yuv.reformat(
            frame,
            threads=1,
            format=self.pix_fmt,
            dst_colorspace=_SWS_COLORSPACE.get(colour.matrix, 5) if colour.matrix is not None else None,
            dst_color_range=_JPEG_RANGE if colour.range == _JPEG_RANGE else _MPEG_RANGE,
        )
        frame.pts = pts
        frame.time_base = self.time_base
        # The nominal duration: it sets the last frame's length, hence the stream's.
        frame.duration = max(1, round(1 / self.fps / self.time_base))
        return frame

    def _encode(self, frame) -> None:
        for packet in self._video.encode(frame):
            self._container.mux(packet)


class ImageSequenceWriter(MediaWriter):
    """Write frames as lossless PNGs into a folder, each one atomically.

    Args:
        folder: made if missing; files already there are kept (same names are replaced).
        pattern: file name for frames written without a ``name``: ``str.format`` fields
            ``index`` (running count from ``start``); must end in ``.png``.
        start: first index.
        compression: PNG level 0-9 (lossless at every level; 1 is fastest, see ``write_png``).
        provenance: marks every PNG as synthetic (watermark, text chunks, signed C2PA
            manifest; ``facetwin.forensics.provenance``).

    ``write(image, name=frame.name)`` keeps a source image's file name (as ``.png``), so
    a converted folder of photos keeps its names. ``written`` lists the paths in order.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder, ImageSequenceWriter(folder) as out:
    ...     first = out.write(np.zeros((8, 8, 3), np.uint8))
    ...     named = out.write(np.zeros((8, 8, 3), np.uint8), name="IMG_0042.jpg")
    >>> first.name, named.name
    ('000000.png', 'IMG_0042.png')
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        pattern: str = "{index:06d}.png",
        start: int = 0,
        compression: int = 1,
        provenance: Marks | None = None,
    ) -> None:
        self.path = Path(folder)
        self.provenance = provenance
        if not pattern.lower().endswith(".png"):
            raise InvalidOptionError(
                "pattern", pattern, "a file name pattern ending in .png, such as '{index:06d}.png'"
            )
        try:
            pattern.format(index=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise InvalidOptionError("pattern", pattern, f"a pattern with only the field {{index}} ({exc})") from None
        check_range(start, "start", low=0)
        check_range(compression, "compression", low=0, high=9)
        if self.path.exists() and not self.path.is_dir():
            raise OutputConflictError(self.path, "exists and is not a folder", "choose another output path")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputWriteError(self.path, _reason(exc)) from None
        self.pattern, self.start, self.compression = pattern, start, compression
        self.written: list[Path] = []
        self._names: set[str] = set()

    def write(self, image: np.ndarray, *, time: float | None = None, name: str | None = None) -> Path:
        """Write one frame as PNG and return its path.

        Args:
            image: RGB uint8 (H, W, 3).
            time: ignored (videos use it).
            name: file name to keep (its suffix becomes ``.png``); default the pattern.
        """
        check_array(image, "image", ["H", "W", 3], dtypes=[np.uint8])
        if name is not None:
            file_name = Path(name).stem + ".png"
        else:
            file_name = self.pattern.format(index=self.start + self.frames_written)
        if file_name in self._names:
            raise OutputConflictError(
                self.path / file_name, "would be written twice", "give each frame a different name"
            )
        target = self.path / file_name
        try:
            if self.provenance is not None:
                self.provenance.write_png(target, image, compression=self.compression)
            else:
                write_png(target, image, compression=self.compression)
        except OSError as exc:
            raise OutputWriteError(target, _reason(exc)) from exc
        self._names.add(file_name)
        self.written.append(target)
        self.frames_written += 1
        return target

    def __enter__(self) -> ImageSequenceWriter:
        return self


def open_writer(
    path: str | Path,
    *,
    like: MediaSource | str | Path | None = None,
    fps: float | Fraction | None = None,
    crf: int = 18,
    preset: str = "medium",
    pix_fmt: Literal["yuv420p", "yuv444p"] = "yuv420p",
    audio: bool = True,
    pattern: str = "{index:06d}.png",
    provenance: Marks | None = None,
) -> MediaWriter:
    """A writer chosen by the output path: a video suffix gives a ``VideoWriter``, a path
    without suffix (or an existing folder) an ``ImageSequenceWriter``.

    Video options (``like`` to ``audio``) are those of ``VideoWriter``; ``pattern`` is the
    image sequence's; ``provenance`` marks the output as synthetic with either writer.

    Raises:
        UnsupportedOutputError: a suffix that is neither a video format facetwin writes
            nor none (a folder).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir() or (not suffix and not path.exists()):
        return ImageSequenceWriter(path, pattern=pattern, provenance=provenance)
    if suffix in VIDEO_OUTPUT_SUFFIXES:
        return VideoWriter(
            path, like=like, fps=fps, crf=crf, preset=preset, pix_fmt=pix_fmt, audio=audio, provenance=provenance
        )
    remedy = "a folder (no suffix) for PNG frames" if suffix in IMAGE_SUFFIXES else None
    raise UnsupportedOutputError(path, tuple(VIDEO_OUTPUT_SUFFIXES), also=remedy)


def _movie_timescale(time_base: Fraction, audio: AudioPassthrough | None) -> int:
    """The least common multiple of the tracks' timescales, where it fits MP4's 32 bits."""
    scale = time_base.denominator
    if audio is not None and audio.sample_rate:
        both = math.lcm(scale, audio.sample_rate)
        scale = both if both < 2**31 else scale
    return scale


# --- probing the source -------------------------------------------------------------------


@dataclass(frozen=True)
class _Colour:
    """FFmpeg colour tags (AVColorSpace, AVColorPrimaries, AVColorTransferCharacteristic, AVColorRange)."""

    matrix: int | None = None
    primaries: int | None = None
    trc: int | None = None
    range: int | None = None


@dataclass(frozen=True)
class _VideoProbe:
    rate: Fraction | None = None
    time_base: Fraction | None = None
    colour: _Colour = _Colour()


def _video_path(like: MediaSource | str | Path | None) -> Path | None:
    if isinstance(like, VideoSource):
        return like.path
    if isinstance(like, (str, Path)):
        return Path(like)
    return None


def _probe_video(path: Path) -> _VideoProbe:
    import av

    from facetwin.io.media import open_media

    try:
        container = av.open(str(path))
    except (OSError, av.error.FFmpegError):
        open_media(path).close()  # raises facetwin's own error for the path
        raise
    with container:
        if not container.streams.video:
            return _VideoProbe()
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        context = stream.codec_context
        colour = _Colour()
        if context.colorspace not in (None, 2):  # 2: unspecified; leave the output untagged too
            colour = _Colour(
                int(context.colorspace), int(context.color_primaries), int(context.color_trc), int(context.color_range)
            )
        return _VideoProbe(
            Fraction(rate) if rate else None,
            Fraction(stream.time_base) if stream.time_base else None,
            colour,
        )


def _as_fraction(fps: float | Fraction) -> Fraction:
    """fps as an exact rational; floats like 29.97 become 2997/100, not a binary fraction.

    >>> _as_fraction(29.97), _as_fraction(Fraction(30000, 1001))
    (Fraction(2997, 100), Fraction(30000, 1001))
    """
    if isinstance(fps, Fraction):
        return fps
    return Fraction(fps).limit_denominator(1001 * 1000)


def _mp4_time_base(base: Fraction) -> Fraction:
    """``1/N`` that holds every multiple of ``base`` exactly, at least 1/10000 s fine.

    MP4 stores one integer timescale per track and FFmpeg's muxer doubles a coarse one
    up to 10000; choosing it here keeps encoder, muxer and edit lists on one clock.

    >>> _mp4_time_base(Fraction(1, 25)), _mp4_time_base(Fraction(1001, 30000))
    (Fraction(1, 12800), Fraction(1, 30000))
    """
    scale = base.denominator
    while scale < 10000:
        scale *= 2
    return Fraction(1, scale)


def _av_error() -> type[BaseException]:
    import av

    return av.error.FFmpegError


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip().rstrip(".") or type(exc).__name__
