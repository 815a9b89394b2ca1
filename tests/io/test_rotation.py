"""Rotation metadata of phone videos is honoured: frames come out upright."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from _helpers import write_video

from facetwin.io import open_media


def set_display_matrix(path, a: int, b: int, c: int, d: int) -> None:
    """Patch the track header matrix of an MP4 in place, as phones write it."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    assert at > 0 and data[at + 4] == 0, "expects a version-0 tkhd box"
    # type(4) version+flags(4) created(4) modified(4) track(4) reserved(4) duration(4)
    # reserved(8) layer/group/volume/reserved(8), then the 3x3 matrix.
    offset = at + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 8 + 8
    one = 1 << 16
    data[offset : offset + 36] = struct.pack(">9i", a * one, b * one, 0, c * one, d * one, 0, 0, 0, 1 << 30)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("matrix", "turns_ccw"),
    [((0, 1, -1, 0), -1), ((-1, 0, 0, -1), 2), ((0, -1, 1, 0), 1)],
    ids=["portrait-90-clockwise", "upside-down", "portrait-90-anticlockwise"],
)
def test_rotated_video_frames_come_out_upright(tmp_path, matrix, turns_ccw):
    image = np.zeros((64, 128, 3), np.uint8)
    image[:, :32] = 255  # a white band on the left edge
    image[:16, :, 1] = 200  # a green band along the top
    video = write_video(tmp_path / "v.mp4", [image] * 3)
    set_display_matrix(video, *matrix)
    with open_media(video) as source:
        frame = next(iter(source.frames()))
    expected = np.rot90(image, turns_ccw)
    assert frame.image.shape == expected.shape
    assert np.abs(frame.image.astype(int) - expected).mean() < 6


def test_truncated_matroska_is_noticed_by_duration(tmp_path, astronaut):
    """Matroska has no frame count: a cut file is caught by its announced duration."""
    import av
    import cv2

    from facetwin.errors import TruncatedMediaError

    small = cv2.resize(astronaut, (128, 128))
    path = tmp_path / "v.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 128
        stream.pix_fmt = "yuv420p"
        for i in range(60):
            frame = av.VideoFrame.from_ndarray(np.roll(small, 2 * i, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = path.read_bytes()
    with open_media(path) as source:
        assert sum(1 for _ in source.frames()) == 60  # the whole file raises nothing
    path.write_bytes(data[: int(len(data) * 0.6)])
    with open_media(path) as source:
        seen = []
        with pytest.raises(TruncatedMediaError, match="frames end at"):
            for frame in source.frames():
                seen.append(frame.index)
    assert 0 < len(seen) < 60 and seen == list(range(len(seen)))
