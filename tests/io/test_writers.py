"""Tests for facetwin.io.writers: videos that keep a source's timing, orientation and audio; PNG sequences."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from _helpers import shared_data, write_video

from facetwin.errors import (
    FacetwinError,
    InputNotFoundError,
    InvalidOptionError,
    OutputConflictError,
    OutputWriteError,
    UnsupportedOutputError,
)
from facetwin.io import (
    ImageSequenceWriter,
    VideoWriter,
    open_media,
    open_writer,
    read_image,
)

W, H = 96, 64


@pytest.fixture(scope="module")
def pictures(astronaut) -> list[np.ndarray]:
    """12 frames of the astronaut panning 3 px per frame, (64, 96, 3)."""
    small = cv2.resize(astronaut, (W, H), interpolation=cv2.INTER_AREA)
    return [np.roll(small, 3 * i, axis=1) for i in range(12)]


@pytest.fixture(scope="module")
def ntsc_video(tmp_path_factory, pictures) -> Path:
    """30000/1001 fps H.264 with 0.5 s of AAC tone."""
    path = tmp_path_factory.mktemp("ntsc") / "ntsc.mp4"
    return write_video(path, pictures, Fraction(30000, 1001), crf=12, audio=0.5)


def _convert(source_path: Path, out: Path, **options) -> tuple[list[np.ndarray], VideoWriter]:
    """Copy every frame of ``source_path`` through a VideoWriter; the frames written."""
    written = []
    with open_media(source_path) as source, VideoWriter(out, like=source, **options) as writer:
        for frame in source.frames():
            writer.write(frame.image, time=frame.time)
            written.append(frame.image)
    return written, writer


def _probe(path: Path, limit: int | None = None) -> dict:
    """Stream properties and the first ``limit`` decoded frames, read with PyAV directly."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info = {
            "rate": video.average_rate,
            "width": video.width,
            "height": video.height,
            "count": video.frames,
            "codec": video.codec_context.name,
        }
        if container.streams.audio:
            audio = container.streams.audio[0]
            info["audio_codec"] = audio.codec_context.name
            info["audio_start"] = audio.start_time * audio.time_base
            info["audio_duration"] = audio.duration * audio.time_base if audio.duration else None
            info["audio_packets"] = [bytes(p) for p in container.demux(audio) if p.size]
            container.seek(0)
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) == limit:
                break
        info["times"] = [frame.pts * frame.time_base for frame in frames]
        info["images"] = [frame.to_ndarray(format="rgb24") for frame in frames]
        info["rotation"] = frames[0].rotation
    return info


def _mean_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --- timing, size, pixels, audio -------------------------------------------------------


def test_round_trip_keeps_rate_times_size_and_pixels(ntsc_video, tmp_path):
    written, writer = _convert(ntsc_video, tmp_path / "out.mp4", crf=10, preset="ultrafast")
    before, after = _probe(ntsc_video), _probe(tmp_path / "out.mp4")
    assert after["codec"] == "h264"
    assert after["rate"] == before["rate"] == Fraction(30000, 1001)
    assert after["count"] == before["count"] == len(after["images"]) == 12
    assert (after["width"], after["height"]) == (before["width"], before["height"]) == (W, H)
    assert after["times"] == before["times"]  # exact rationals
    assert writer.frames_written == 12 and writer.size == (W, H) and not writer.padded
    errors = [_mean_error(a, b) for a, b in zip(after["images"], written)]
    assert max(errors) < 2.0


def test_audio_is_copied_packet_for_packet(ntsc_video, tmp_path):
    _, writer = _convert(ntsc_video, tmp_path / "out.mp4", preset="ultrafast")
    before, after = _probe(ntsc_video), _probe(tmp_path / "out.mp4")
    assert writer.audio_mode == "copy"
    assert after["audio_codec"] == before["audio_codec"] == "aac"
    assert after["audio_start"] == before["audio_start"]
    assert after["audio_duration"] == before["audio_duration"] == Fraction(1, 2)
    assert after["audio_packets"] == before["audio_packets"]


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_other_containers_keep_timing_and_copy_audio(ntsc_video, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    _, writer = _convert(ntsc_video, out, preset="ultrafast")
    before, after = _probe(ntsc_video), _probe(out)
    assert writer.audio_mode == "copy" and after["audio_packets"] == before["audio_packets"]
    assert len(after["images"]) == 12
    if suffix == ".mov":
        assert after["times"] == before["times"]
    else:
        # Matroska counts in milliseconds and cannot start below zero: FFmpeg shifts the
        # file by the AAC priming (1024 samples), the same for sound and pictures.
        shift = after["times"][0] - before["times"][0]
        assert shift == Fraction(23, 1000) and after["audio_start"] == 0
        assert all(abs(a - b - shift) <= Fraction(1, 1000) for a, b in zip(after["times"], before["times"]))


def test_audio_the_container_cannot_hold_is_reencoded_as_aac(pictures, tmp_path):
    source = write_video(tmp_path / "pcm.mkv", pictures[:10], 25, audio=0.4, audio_codec="pcm_s16le")
    _, writer = _convert(source, tmp_path / "out.mp4", preset="ultrafast")
    after = _probe(tmp_path / "out.mp4")
    assert writer.audio_mode == "aac" and after["audio_codec"] == "aac"
    assert after["audio_start"] == 0
    assert abs(after["audio_duration"] - Fraction(2, 5)) < Fraction(1024, 44100)


def test_no_audio_in_no_audio_out(pictures, tmp_path):
    silent = write_video(tmp_path / "silent.mp4", pictures[:4])
    _, writer = _convert(silent, tmp_path / "out.mp4", preset="ultrafast")
    assert writer.audio_mode is None and "audio_codec" not in _probe(tmp_path / "out.mp4")


def test_audio_false_drops_the_track(ntsc_video, tmp_path):
    _convert(ntsc_video, tmp_path / "out.mp4", preset="ultrafast", audio=False)
    assert "audio_codec" not in _probe(tmp_path / "out.mp4")


def test_variable_frame_times_and_a_late_start_are_kept(pictures, tmp_path):
    times = [0.5, 0.54, 0.62, 0.66, 0.7, 0.9, 0.95, 1.0]
    source = write_video(tmp_path / "vfr.mp4", pictures[:8], 25, times=times)
    _convert(source, tmp_path / "out.mp4", preset="ultrafast")
    before, after = _probe(source), _probe(tmp_path / "out.mp4")
    assert after["times"] == before["times"] == [Fraction(round(t * 90000), 90000) for t in times]


def test_without_a_source_frames_are_spaced_by_fps(pictures, tmp_path):
    with VideoWriter(tmp_path / "out.mp4", fps=Fraction(24000, 1001), preset="ultrafast", crf=0) as writer:
        for image in pictures[:5]:
            writer.write(image)
    after = _probe(tmp_path / "out.mp4")
    assert after["rate"] == Fraction(24000, 1001)
    assert after["times"] == [Fraction(1001 * i, 24000) for i in range(5)]


# --- orientation and odd sizes --------------------------------------------------------------


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_source_displays_the_same(tmp_path, degrees):
    image = np.zeros((64, 128, 3), np.uint8)
    image[:, :32] = 255  # a white band on the left edge
    image[:16, :, 1] = 200  # a green band along the top
    source = tmp_path / "rotated.mp4"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 64, "yuv420p"
        stream.set_display_rotation(degrees)  # what a phone writes
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert _probe(source)["rotation"] % 360 == degrees
    _convert(source, tmp_path / "out.mp4", preset="ultrafast")
    with open_media(source) as a, open_media(tmp_path / "out.mp4") as b:
        shown_before, shown_after = next(a.frames()).image, next(b.frames()).image
    assert shown_after.shape == shown_before.shape == np.rot90(image, degrees // 90).shape
    assert _mean_error(shown_after, shown_before) < 3
    after = _probe(tmp_path / "out.mp4")  # stored upright, no tag for players to miss
    assert after["rotation"] == 0 and (after["height"], after["width"]) == shown_before.shape[:2]


def test_odd_size_is_padded_for_yuv420p(pictures, tmp_path, caplog):
    odd = [p[:63, :95] for p in pictures[:3]]
    with VideoWriter(tmp_path / "odd.mp4", preset="ultrafast", crf=8) as writer:
        for image in odd:
            writer.write(image)
    assert writer.padded and writer.size == (95, 63) and "is odd" in caplog.text
    after = _probe(tmp_path / "odd.mp4")
    assert (after["width"], after["height"]) == (96, 64)
    assert _mean_error(after["images"][0][:63, :95], odd[0]) < 4
    # the added column and row repeat the edge
    assert _mean_error(after["images"][0][:63, 95], odd[0][:, 94]) < 6


def test_odd_size_is_kept_with_yuv444p(pictures, tmp_path):
    odd = [p[:63, :95] for p in pictures[:3]]
    with VideoWriter(tmp_path / "odd.mp4", preset="ultrafast", crf=8, pix_fmt="yuv444p") as writer:
        for image in odd:
            writer.write(image)
    after = _probe(tmp_path / "odd.mp4")
    assert not writer.padded and (after["width"], after["height"]) == (95, 63)
    assert _mean_error(after["images"][0], odd[0]) < 1.5


# --- atomic writes ------------------------------------------------------------------------------


def test_an_exception_leaves_no_file(pictures, tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="model crashed"):
        with VideoWriter(target, preset="ultrafast") as writer:
            writer.write(pictures[0])
            assert not target.exists()  # only the hidden temporary file exists meanwhile
            assert [p.name.startswith(".out.mp4.") for p in tmp_path.iterdir()] == [True]
            raise RuntimeError("model crashed")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_keeps_the_previous_file(pictures, tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(target, preset="ultrafast") as writer:
            writer.write(pictures[0])
            raise KeyboardInterrupt
    assert target.read_bytes() == b"previous" and len(list(tmp_path.iterdir())) == 1
    with VideoWriter(target, preset="ultrafast") as writer:  # a clean run replaces it
        writer.write(pictures[0])
    assert _probe(target)["count"] == 1 and len(list(tmp_path.iterdir())) == 1


def test_closing_without_frames_raises_and_leaves_nothing(tmp_path):
    writer = VideoWriter(tmp_path / "out.mp4")
    with pytest.raises(OutputWriteError, match=r"out\.mp4: no frame was written.*; write at least one frame"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


# --- errors -------------------------------------------------------------------------------------


def test_unknown_suffix(tmp_path):
    with pytest.raises(UnsupportedOutputError) as info:
        VideoWriter(tmp_path / "out.avi")
    assert isinstance(info.value, ValueError) and isinstance(info.value, FacetwinError)
    assert str(info.value) == (
        f"cannot write {tmp_path / 'out.avi'}: '.avi' is not an output format; "
        "give a video file ending in .mp4, .m4v, .mov, .mkv"
    )
    with pytest.raises(UnsupportedOutputError, match=r"'\.png' is not an output format; .*or a folder \(no suffix\)"):
        open_writer(tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OutputWriteError) as info:
        VideoWriter(blocker / "out.mp4")
    assert isinstance(info.value, OSError)
    assert str(info.value).startswith(f"cannot write {blocker / 'out.mp4'}: ")
    assert str(info.value).endswith("; check that the folder is writable and has free space")
    (tmp_path / "clip.mp4").mkdir()
    with pytest.raises(OutputConflictError, match="is a folder; give a file name ending in .mp4"):
        VideoWriter(tmp_path / "clip.mp4")


def test_missing_source(tmp_path):
    with pytest.raises(InputNotFoundError, match="input not found"):
        VideoWriter(tmp_path / "out.mp4", like=tmp_path / "missing.mp4")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"crf": 60}, "crf must be >= 0 and <= 51, got 60"),
        ({"preset": "quick"}, "preset must be one of ultrafast, superfast, .*placebo, got 'quick'"),
        ({"pix_fmt": "rgb24"}, "pix_fmt must be one of yuv420p, yuv444p, got 'rgb24'"),
        ({"fps": 0}, "fps must be > 0, got 0"),
    ],
)
def test_invalid_options(tmp_path, options, message):
    with pytest.raises(InvalidOptionError, match=message):
        VideoWriter(tmp_path / "out.mp4", **options)
    assert list(tmp_path.iterdir()) == []


def test_invalid_frames(pictures, tmp_path):
    with VideoWriter(tmp_path / "out.mp4", preset="ultrafast") as writer:
        with pytest.raises(InvalidOptionError, match=r"image must be of dtype uint8, got dtype float32"):
            writer.write(pictures[0].astype(np.float32))
        writer.write(pictures[0], time=0.2)
        with pytest.raises(
            InvalidOptionError, match=r"image must be an array of shape \(64, 96, 3\), got shape \(32, 96, 3\)"
        ):
            writer.write(pictures[1][:32])
        with pytest.raises(
            InvalidOptionError, match=r"time must be later than the previous frame's time 0.200000 s, got 0.2"
        ):
            writer.write(pictures[1], time=0.2)
        with pytest.raises(InvalidOptionError, match="time must be a finite number of seconds, got nan"):
            writer.write(pictures[1], time=float("nan"))
        writer.write(pictures[1], time=np.float32(0.24))  # the writer is still usable
    assert _probe(tmp_path / "out.mp4")["count"] == 2
    with pytest.raises(OutputWriteError, match="already closed; open a new writer"):
        writer.write(pictures[2])


# --- image sequences and the factory --------------------------------------------------------


def test_image_sequence_round_trip_is_exact(pictures, tmp_path):
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(3)]
    with ImageSequenceWriter(tmp_path / "frames", start=1) as writer:
        paths = [writer.write(image) for image in noise]
    assert [p.name for p in paths] == ["000001.png", "000002.png", "000003.png"]
    assert writer.written == paths and writer.frames_written == 3
    for path, image in zip(paths, noise):
        assert np.array_equal(read_image(path), image)
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [p.name for p in paths]  # no temp files
    with open_media(tmp_path / "frames") as source:
        assert all(np.array_equal(f.image, image) for f, image in zip(source.frames(), noise))


def test_image_sequence_keeps_source_names(pictures, tmp_path):
    writer = ImageSequenceWriter(tmp_path, pattern="frame_{index:03d}.png")
    assert writer.write(pictures[0], name="holiday.jpg").name == "holiday.png"
    assert writer.write(pictures[1]).name == "frame_001.png"
    with pytest.raises(
        OutputConflictError, match=r"holiday\.png: would be written twice; give each frame a different name"
    ):
        writer.write(pictures[2], name="holiday.jpeg")


def test_image_sequence_errors(tmp_path):
    with pytest.raises(InvalidOptionError, match="pattern must be a file name pattern ending in .png"):
        ImageSequenceWriter(tmp_path, pattern="{index}.jpg")
    with pytest.raises(InvalidOptionError, match=r"pattern must be a pattern with only the field \{index\}"):
        ImageSequenceWriter(tmp_path, pattern="{frame}.png")
    (tmp_path / "taken").write_text("")
    with pytest.raises(OutputConflictError, match="exists and is not a folder"):
        ImageSequenceWriter(tmp_path / "taken")
    with pytest.raises(InvalidOptionError, match=r"image must be an array of shape \(H, W, 3\)"):
        ImageSequenceWriter(tmp_path / "ok").write(np.zeros((4, 4), np.uint8))


def test_open_writer_chooses_by_path(ntsc_video, tmp_path):
    folder = open_writer(tmp_path / "frames")
    assert isinstance(folder, ImageSequenceWriter) and (tmp_path / "frames").is_dir()
    with open_media(ntsc_video) as source:
        video = open_writer(tmp_path / "out.MKV", like=source, crf=20)
    assert isinstance(video, VideoWriter) and video.fps == Fraction(30000, 1001) and video.crf == 20
    video.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


# --- real data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["multi_hamilton.mp4", "talking_d12.mp4"])
def test_real_video_keeps_stream_properties(tmp_path, name):
    """The first 30 frames of a real clip with audio (hamilton: 29.97 fps, video from 0.85 s)."""
    path = shared_data("videos", name)
    out = tmp_path / "out.mp4"
    written = []
    with open_media(path) as source, VideoWriter(out, like=source, preset="ultrafast", crf=14) as writer:
        for frame in source.frames():
            writer.write(frame.image, time=frame.time)
            written.append(frame.image)
            if len(written) == 30:
                break
    before, after = _probe(path, limit=30), _probe(out)
    assert after["rate"] == before["rate"]
    assert (after["width"], after["height"]) == (before["width"], before["height"])
    assert after["times"] == before["times"][:30]
    assert writer.audio_mode == "copy" and after["audio_codec"] == before["audio_codec"] == "aac"
    assert after["audio_start"] == before["audio_start"]
    # d12's own edit list rounds its length to the millisecond (movie timescale 1000);
    # the copy states the packets' exact end.
    assert abs(after["audio_duration"] - before["audio_duration"]) < Fraction(1, 1000)
    assert after["audio_packets"] == before["audio_packets"]
    with open_media(out) as copy:  # colours too: the source's matrix and range are kept
        errors = [_mean_error(f.image, image) for f, image in zip(copy.frames(), written)]
    assert max(errors) < 3.0


def test_outputs_get_the_usual_file_mode_not_mkstemps(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        with VideoWriter(tmp_path / "v.mp4", fps=25, preset="ultrafast") as out:
            out.write(np.zeros((16, 16, 3), np.uint8))
        with ImageSequenceWriter(tmp_path / "frames") as seq:
            png = seq.write(np.zeros((16, 16, 3), np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "v.mp4").stat().st_mode) == 0o644
    assert stat.S_IMODE(png.stat().st_mode) == 0o644
