"""An input's audio track carried into an output container, in step with its video.

Conversion changes the pictures, never the sound: the audio packets are copied as they
are (no re-encoding, no loss, timestamps kept) where the output container takes the
codec, and re-encoded to AAC with the same timestamps where it does not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import av

__all__ = ["AudioPassthrough", "COPYABLE_AUDIO"]

logger = logging.getLogger(__name__)

# Audio codecs each muxer stores as they are; anything else is transcoded to AAC.
# ``None``: whatever FFmpeg's muxer accepts (Matroska holds nearly everything).
# PyAV's ``supported_codecs`` alone is too lenient for MP4 (it lists Vorbis and PCM,
# which players reject there), hence the explicit lists.
COPYABLE_AUDIO: dict[str, frozenset[str] | None] = {
    "mp4": frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}),
    "mov": frozenset({"aac", "mp3", "ac3", "eac3", "alac"}),
    "matroska": None,
}

# Channel count -> the layout FFmpeg's AAC encoder takes for it.
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 8: "7.1"}


class AudioPassthrough:
    """The first audio track of a file, fed into an output in step with its video.

    Open it with ``open(path)`` (``None`` when the file has no audio), call ``add_to``
    before the output's first packet, then ``mux_until`` as the video advances. ``mode``
    is ``"copy"`` (packets remuxed untouched, timestamps kept, so the sound stays where it
    was relative to the frames) or ``"aac"`` (decoded and re-encoded where the container
    cannot hold the codec, timestamps kept likewise); ``None`` until ``add_to``.
    """

    def __init__(self, source: av.container.InputContainer) -> None:
        self._source = source
        self._in = source.streams.audio[0]
        self.codec: str = self._in.codec_context.name
        self.sample_rate: int = self._in.rate
        self.mode: Literal["copy", "aac"] | None = None
        self._out = None
        self._packets: Iterator = source.demux(self._in)
        self._pending = None
        self._done = False

    @classmethod
    def open(cls, path: str | Path) -> AudioPassthrough | None:
        """The first audio track of ``path``, or ``None`` where it has none.

        Raises:
            InputNotFoundError, UnreadableMediaError: as ``open_media`` for ``path``.
        """
        import av

        try:
            source = av.open(str(path))
        except (OSError, av.error.FFmpegError):
            from facetwin.io.media import open_media

            open_media(path).close()  # raises facetwin's own error for the path
            raise
        if not source.streams.audio:
            source.close()
            return None
        return cls(source)

    def add_to(self, output: av.container.OutputContainer, muxer: str) -> None:
        """Add the audio stream to ``output`` (FFmpeg format ``muxer``, a key of ``COPYABLE_AUDIO``)."""
        allowed = COPYABLE_AUDIO[muxer]
        if allowed is None:
            allowed = output.supported_codecs
        if self.codec in allowed:
            self._out = output.add_stream_from_template(self._in)
            self.mode = "copy"
            return
        logger.info("%s: audio codec %s does not fit %s, re-encoding it as AAC", self._source.name, self.codec, muxer)
        out = output.add_stream("aac", rate=self.sample_rate)
        # The default layout for the channel count: AAC rejects unordered ones such as
        # Matroska PCM's "2 channels", and the resampler maps channels across.
        out.layout = _DEFAULT_LAYOUTS.get(self._in.channels, "stereo")
        out.format = "fltp"  # the native AAC encoder's only sample format
        out.codec_context.open()  # now, so the header gets its decoder config
        self._out = out
        self.mode = "aac"

    def mux_until(self, until: float | None) -> None:
        """Mux the audio up to ``until`` seconds (the video's time so far); None: the rest."""
        while not self._done:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                self._done = True
                if self.mode == "aac":
                    self._mux_encoded(None)
                return
            if packet.size == 0 or packet.dts is None:  # the demuxer's final empty packet
                continue
            if until is not None and packet.pts is not None and float(packet.pts * packet.time_base) > until:
                self._pending = packet
                return
            if self.mode == "copy":
                packet.stream = self._out
                self._out.container.mux(packet)
            else:
                for frame in packet.decode():
                    self._mux_encoded(frame)

    def _mux_encoded(self, frame: av.AudioFrame | None) -> None:
        for packet in self._out.encode(frame):
            self._out.container.mux(packet)

    def close(self) -> None:
        self._source.close()
