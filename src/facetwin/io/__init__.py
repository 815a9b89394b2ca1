"""Media input and output: frames from videos and images, videos and PNG sequences out, atomic file writes,
one run per output (locks)."""

from facetwin.io.atomic import atomic_write_bytes, atomic_write_json
from facetwin.io.images import IMAGE_SUFFIXES, encode_png, read_image, to_rgb8, write_png
from facetwin.io.lock import output_lock, remove_stale_temps
from facetwin.io.media import VIDEO_SUFFIXES, Frame, MediaSource, open_media
from facetwin.io.paths import same_path
from facetwin.io.writers import (
    VIDEO_OUTPUT_SUFFIXES,
    ImageSequenceWriter,
    MediaWriter,
    VideoWriter,
    open_writer,
)

__all__ = [
    "Frame",
    "MediaSource",
    "open_media",
    "MediaWriter",
    "VideoWriter",
    "ImageSequenceWriter",
    "open_writer",
    "read_image",
    "to_rgb8",
    "encode_png",
    "write_png",
    "atomic_write_bytes",
    "atomic_write_json",
    "output_lock",
    "remove_stale_temps",
    "same_path",
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "VIDEO_OUTPUT_SUFFIXES",
]
