"""Tests for facetwin.io.media: frames from videos, folders and lists of images."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from _helpers import shared_data, write_video

from facetwin.errors import (
    EmptyInputError,
    InputNotFoundError,
    TooManyPixelsError,
    TruncatedMediaError,
    UnreadableMediaError,
)
from facetwin.io import IMAGE_SUFFIXES, images, open_media, write_png
from facetwin.io.media import ImageSource, VideoSource, rotate_upright

SIZE = 128
FPS = 25


@pytest.fixture(scope="module")
def small(astronaut) -> np.ndarray:
    return cv2.resize(astronaut, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def _frame_pixels(small: np.ndarray, i: int) -> np.ndarray:
    """Frame i of the test videos: the astronaut panned 4 px per frame."""
    return np.roll(small, 4 * i, axis=1)


def _write_video(path: Path, small: np.ndarray, count: int, *, faststart: bool = False) -> Path:
    frames = [_frame_pixels(small, i) for i in range(count)]
    return write_video(path, frames, FPS, crf=18, faststart=faststart)


@pytest.fixture(scope="module")
def video(tmp_path_factory, small) -> Path:
    return _write_video(tmp_path_factory.mktemp("video") / "ten.mp4", small, 10)


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory, small) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("long")
    return {
        "moov_at_end": _write_video(folder / "end.mp4", small, 60),
        "moov_at_start": _write_video(folder / "start.mp4", small, 60, faststart=True),
    }


def _cut(source: Path, target: Path, fraction: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


# --- folders and lists of images -----------------------------------------------------


@pytest.fixture
def folder(tmp_path, small) -> Path:
    for i, name in enumerate(["10.png", "2.png", "1.png", "frame_9.PNG"]):
        write_png(tmp_path / name, np.full((8, 8, 3), 20 * i + 10, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    write_png(tmp_path / "sub" / "0.png", small)  # sub-folders are not read
    return tmp_path


def test_folder_in_natural_order(folder):
    with open_media(folder) as source:
        assert isinstance(source, ImageSource) and source.kind == "images"
        assert source.path == folder and source.frame_count == 4 and source.fps == 25.0
        frames = list(source.frames())
    assert [f.name for f in frames] == ["1.png", "2.png", "10.png", "frame_9.PNG"]
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [f.time for f in frames] == [0.0, 0.04, 0.08, 0.12]
    # Pixels come from the named file: 1.png was written third (value 50).
    assert [int(f.image[0, 0, 0]) for f in frames] == [50, 30, 10, 70]
    assert all(f.image.shape == (8, 8, 3) and f.image.dtype == np.uint8 for f in frames)


def test_folder_start_offset(folder):
    frames = list(open_media(folder).frames(start=2))
    assert [(f.index, f.name) for f in frames] == [(2, "10.png"), (3, "frame_9.PNG")]
    assert frames[0].time == pytest.approx(2 / 25)


@pytest.mark.parametrize("content", [None, "notes.txt"])
def test_empty_folder(tmp_path, content):
    if content:
        (tmp_path / content).write_text("no images here")
    with pytest.raises(EmptyInputError) as info:
        open_media(tmp_path)
    assert info.value.path == tmp_path
    assert str(info.value) == f"{tmp_path} holds no images or videos (looked for {', '.join(IMAGE_SUFFIXES)})"
    assert isinstance(info.value, ValueError)


def test_list_of_images_keeps_the_given_order(folder):
    paths = [folder / "10.png", str(folder / "1.png")]
    source = open_media(paths)
    assert source.frame_count == 2
    assert [f.name for f in source.frames()] == ["10.png", "1.png"]


def test_single_image(folder):
    source = open_media(folder / "2.png")
    assert source.kind == "images" and source.frame_count == 1
    assert [f.name for f in source.frames()] == ["2.png"]


def test_empty_list():
    with pytest.raises(EmptyInputError):
        open_media([])


def test_missing_path_in_list(folder):
    missing = folder / "99.png"
    with pytest.raises(InputNotFoundError) as info:
        open_media([folder / "1.png", missing])
    assert str(info.value) == f"input not found: {missing}"


def test_folder_among_files(folder):
    with pytest.raises(UnreadableMediaError) as info:
        open_media([folder / "1.png", folder / "sub"])
    assert str(info.value) == (
        f"cannot read {folder / 'sub'} as an image or video: give a folder on its own, not among files"
    )


def test_video_among_files(folder, video):
    with pytest.raises(UnreadableMediaError, match="only images can be given several at a time"):
        open_media([folder / "1.png", video])


def test_unreadable_image_in_folder_is_skipped_and_recorded(folder):
    (folder / "3.png").write_text("not a png")
    source = open_media(folder)
    names = [frame.name for frame in source.frames()]
    assert names == ["1.png", "2.png", "10.png", "frame_9.PNG"]
    assert [name for name, _ in source.skipped] == ["3.png"]
    assert "3.png" in source.skipped[0][1] and "damaged" in source.skipped[0][1]


def test_folder_of_only_unreadable_images_fails(tmp_path):
    for name in ("a.png", "b.jpg"):
        (tmp_path / name).write_bytes(b"\x89PNG not really")
    with pytest.raises(UnreadableMediaError) as info:
        list(open_media(tmp_path).frames())
    assert info.value.path == tmp_path / "a.png"


def test_one_unreadable_image_given_alone_fails(tmp_path):
    (tmp_path / "a.png").write_text("not a png")
    with pytest.raises(UnreadableMediaError):
        list(open_media(tmp_path / "a.png").frames())


def test_video_over_the_pixel_limit_refused_at_open(video, monkeypatch):
    monkeypatch.setattr(images, "_max_pixels", 1000)
    with pytest.raises(TooManyPixelsError) as info:
        open_media(video)
    assert info.value.path == video and info.value.size is not None
    assert info.value.pixels == info.value.size[0] * info.value.size[1] > 1000
    assert "over the limit of 0.001 megapixels" in str(info.value)


# --- videos --------------------------------------------------------------------------


def test_video(video, small):
    with open_media(video) as source:
        assert isinstance(source, VideoSource) and source.kind == "video"
        assert source.path == video and source.frame_count == 10 and source.fps == FPS
        frames = list(source.frames())
    assert [f.index for f in frames] == list(range(10))
    np.testing.assert_allclose([f.time for f in frames], np.arange(10) / FPS, atol=1e-9)
    assert all(f.name is None for f in frames)
    for i, f in enumerate(frames):
        assert f.image.shape == (SIZE, SIZE, 3) and f.image.dtype == np.uint8
        # H.264 at crf 18 through 4:2:0 chroma: close to the source, and to no other frame.
        error = np.abs(f.image.astype(int) - _frame_pixels(small, i)).mean()
        assert error < 6
        assert error < 0.5 * np.abs(f.image.astype(int) - _frame_pixels(small, i + 1)).mean()


def test_video_start_offset_and_second_pass(video):
    source = open_media(video)
    every = list(source.frames())
    later = list(source.frames(start=4))  # a second pass over the same source
    assert [f.index for f in later] == [4, 5, 6, 7, 8, 9]
    for a, b in zip(every[4:], later):
        assert a.time == b.time
        np.testing.assert_array_equal(a.image, b.image)
    source.close()
    with open_media(video) as fresh:  # a first pass that starts late
        assert [f.index for f in fresh.frames(start=7)] == [7, 8, 9]


def test_real_video():
    path = shared_data("videos", "faceswap_test.mp4")
    with open_media(path) as source:
        assert (source.frame_count, source.fps) == (91, 5.0)
        frames = list(source.frames())
    assert len(frames) == 91 and frames[-1].time == pytest.approx(90 / 5)
    assert frames[0].image.shape == (240, 426, 3)


def test_text_named_as_video(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_text("these are notes, not a video\n")
    with pytest.raises(UnreadableMediaError) as info:
        open_media(path)
    assert str(info.value) == (
        f"cannot read {path} as an image or video: the video is damaged, truncated or in an "
        "unknown format (FFmpeg: Invalid data found when processing input)"
    )


def test_file_without_video_stream(tmp_path):
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(10):
            samples = (0.2 * np.sin(np.arange(1024) * 0.05 + i)).astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 16000
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(UnreadableMediaError) as info:
        open_media(path)
    assert info.value.reason == "it has no video stream"


def test_truncated_video_with_index_at_end_fails_at_open(tmp_path, long_videos):
    # The moov atom (the index) is written last, so cutting the file loses it.
    path = _cut(long_videos["moov_at_end"], tmp_path / "cut.mp4", 0.6)
    with pytest.raises(UnreadableMediaError) as info:
        open_media(path)
    assert info.value.reason == (
        "the video is damaged, truncated or in an unknown format (FFmpeg: Invalid data found when processing input)"
    )


@pytest.mark.parametrize("fraction", [0.3, 0.6])
def test_truncated_video_yields_what_decoded_then_raises(tmp_path, long_videos, fraction):
    full = list(open_media(long_videos["moov_at_start"]).frames())
    assert len(full) == 60
    path = _cut(long_videos["moov_at_start"], tmp_path / "cut.mp4", fraction)
    source = open_media(path)
    assert source.frame_count == 60  # the index, at the start, still promises 60
    got = []
    with pytest.raises(TruncatedMediaError) as info:
        for frame in source.frames():
            got.append(frame)
    error = info.value
    assert error.frames_read == len(got)
    assert 0 < len(got) < fraction * 60 + 5  # no more than the bytes kept can hold
    assert error.reason.startswith("frames end at ") and error.reason.endswith(" of 2.40 s")
    assert str(error) == (
        f"{path} is damaged or truncated: decoding stopped after frame {len(got)} "
        f"({error.reason}); the frames before it were kept"
    )
    # What was yielded is exactly the start of the intact video.
    assert [f.index for f in got] == list(range(len(got)))
    for a, b in zip(got, full):
        np.testing.assert_array_equal(a.image, b.image)


def test_avi_with_dropped_frames_is_whole(tmp_path, small):
    # FFmpeg keeps AVI's constant rate by writing each dropped frame as an empty packet:
    # the header counts it, the decoder returns nothing for it. Such a file is complete.
    path = tmp_path / "dropped.avi"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        pts = 0
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(_frame_pixels(small, i), format="rgb24")
            frame.pts = pts
            pts += 2 if i % 5 == 4 else 1  # five frames dropped
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    source = open_media(path)
    assert source.frame_count == 29  # what the header announces
    frames = list(source.frames())
    assert len(frames) == 25 and frames[-1].time == pytest.approx(28 / FPS)


def test_missing_video(tmp_path):
    with pytest.raises(InputNotFoundError):
        open_media(tmp_path / "nope.mp4")


# --- rotate_upright ------------------------------------------------------------------


@pytest.fixture
def grid() -> np.ndarray:
    return np.arange(6).reshape(2, 3)  # non-square, so every rotation is visible


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        (90, [[2, 5], [1, 4], [0, 3]]),  # counter-clockwise
        (180, [[5, 4, 3], [2, 1, 0]]),
        (270, [[3, 0], [4, 1], [5, 2]]),
        (-90, [[3, 0], [4, 1], [5, 2]]),  # same as 270
        (-180.0, [[5, 4, 3], [2, 1, 0]]),
        (89.6, [[2, 5], [1, 4], [0, 3]]),  # metadata rounding
        (360, [[0, 1, 2], [3, 4, 5]]),
    ],
)
def test_rotate_upright(grid, rotation, expected):
    out = rotate_upright(grid, rotation)
    np.testing.assert_array_equal(out, expected)
    assert out.flags.c_contiguous


def test_rotate_upright_image_channels_and_round_trip(astronaut):
    image = np.ascontiguousarray(astronaut[:, :300])
    turned = rotate_upright(image, 90)
    assert turned.shape == (300, 512, 3)
    np.testing.assert_array_equal(turned, cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE))
    np.testing.assert_array_equal(rotate_upright(turned, -90), image)
    assert rotate_upright(image, 0) is image


def test_matroska_with_a_longer_soundtrack_is_not_truncated(tmp_path):
    # Matroska has no per-stream duration field; the container's covers the sound too.
    frames = [np.full((64, 64, 3), 10 * i, np.uint8) for i in range(10)]
    path = write_video(tmp_path / "talk.mkv", frames, fps=25, audio=2.0)
    source = open_media(path)
    assert source.duration == pytest.approx(0.4, abs=0.05)
    assert len(list(source.frames())) == 10


def test_frames_of_a_video_with_padded_rows_are_contiguous(padded_video, astronaut):
    # PyAV returns FFmpeg's padded rows (642 x 3 bytes stored in 1,968) as a strided
    # view, which dlib refuses (identity) or misreads (HOG finds nothing).
    with av.open(str(padded_video)) as container:
        raw = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert raw.shape == (488, 642, 3) and not raw.flags.c_contiguous  # the case is real
    with open_media(padded_video) as source:
        frames = list(source.frames())
    assert len(frames) == 6
    for frame in frames:
        assert frame.image.shape == (488, 642, 3) and frame.image.flags.c_contiguous
    np.testing.assert_array_equal(frames[0].image, raw)
    # Still the picture: the astronaut's face, within the encoder's loss.
    face = frames[0].image[40:220, 225:365].astype(int)
    assert np.abs(face - astronaut[52:232, 160:300]).mean() < 6
