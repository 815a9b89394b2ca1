from fractions import Fraction

import av
import numpy as np
import pytest
from _helpers import lock_held_elsewhere, shifted, tiny_model_dir, write_video

from facetwin import ExtractConfig, extract
from facetwin.config import ConvertConfig
from facetwin.conversion import convert
from facetwin.errors import (
    InvalidAlignmentsError,
    NotAModelDirError,
    OutputConflictError,
    TruncatedMediaError,
    UnsupportedOutputError,
)
from facetwin.io import read_image, write_png


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def talking(tmp_path_factory, astronaut):
    """10 frames of the astronaut drifting, with a second of sound; frames 4-5 show no face."""
    small = astronaut[:320, 64:384]
    frames = [shifted(small, 1.5 * i, 0.7 * i)[32:288, 32:288] for i in range(10)]
    frames[4] = frames[5] = np.full_like(frames[0], 90)
    return write_video(tmp_path_factory.mktemp("video") / "talk.mp4", frames, fps=Fraction(30000, 1001), audio=1.0)


def _streams(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        return {
            "frames": frames,
            "rate": v.average_rate,
            "size": (v.width, v.height),
            "audio": [s.codec_context.name for s in c.streams.audio],
        }


def test_video_keeps_frames_rate_size_and_sound(tmp_path, talking, model_dir):
    calls = []
    summary = convert(talking, model_dir, tmp_path / "out.mp4", progress=calls.append)
    src, out = _streams(talking), _streams(tmp_path / "out.mp4")
    assert len(out["frames"]) == len(src["frames"]) == 10
    assert out["rate"] == src["rate"] == Fraction(30000, 1001)
    assert out["size"] == src["size"] and out["audio"] == ["aac"]
    assert summary.frames == 10 and summary.frames_with_faces == 8 and summary.faces_swapped == 8
    last = calls[-1]
    assert (last.stage, last.done, last.total, last.unit, last.facts["faces_swapped"]) == (
        "convert",
        10,
        10,
        "frame",
        8,
    )
    # the faceless frames pass through (up to re-encoding); the others changed in the face
    assert np.abs(out["frames"][4].astype(int) - src["frames"][4]).mean() < 1.5
    assert np.abs(out["frames"][0].astype(int) - src["frames"][0]).mean() > 2


def test_side_by_side_review(tmp_path, talking, model_dir):
    convert(talking, model_dir, tmp_path / "review.mp4", config=ConvertConfig(side_by_side=True, preset="ultrafast"))
    out = _streams(tmp_path / "review.mp4")
    assert out["size"] == (3 * 256, 256) and len(out["frames"]) == 10


def test_alignments_from_extract_are_used(tmp_path, talking, model_dir):
    extract(talking, tmp_path / "faces")
    a = convert(talking, model_dir, tmp_path / "a.mp4", alignments=tmp_path / "faces" / "alignments.json")
    assert a.frames == 10 and a.faces_swapped == 8


def test_alignments_of_another_input_are_refused(tmp_path, talking, moving_video, model_dir):
    extract(moving_video, tmp_path / "faces", config=ExtractConfig())
    with pytest.raises(InvalidAlignmentsError, match="12 frames but the input has 10"):
        convert(talking, model_dir, tmp_path / "x.mp4", alignments=tmp_path / "faces" / "alignments.json")
    assert not (tmp_path / "x.mp4").exists()


def test_image_folder_keeps_faceless_images_but_for_the_watermark(tmp_path, astronaut, model_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    write_png(folder / "face.png", astronaut)
    wall = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    write_png(folder / "wall.png", wall)
    summary = convert(folder, model_dir, tmp_path / "out")
    assert summary.frames == 2 and summary.faces_swapped == 1
    # Every file written is marked; a faceless one differs only by the watermark's few levels.
    wall_out = read_image(tmp_path / "out" / "wall.png").astype(int)
    assert 0 < np.abs(wall_out - wall).max() <= 5
    face_out = read_image(tmp_path / "out" / "face.png").astype(int)
    assert np.abs(face_out - astronaut).max() > 40


def test_single_image_to_png(tmp_path, grace_hopper_path, model_dir):
    convert(grace_hopper_path, model_dir, tmp_path / "grace.png")
    assert read_image(tmp_path / "grace.png").shape == read_image(grace_hopper_path).shape


def test_interrupted_video_leaves_no_file(tmp_path, talking, model_dir):
    def stop(event):
        if event.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert(talking, model_dir, tmp_path / "cut.mp4", progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_truncated_video_keeps_the_frames_it_says_it_kept(tmp_path, astronaut, model_dir):
    small = astronaut[:320, 64:384]
    frames = [shifted(small, 0.5 * i, 0.3 * i)[32:288, 32:288] for i in range(40)]
    whole = write_video(tmp_path / "whole.mp4", frames, faststart=True)
    data = whole.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(TruncatedMediaError) as info:
        convert(tmp_path / "cut.mp4", model_dir, tmp_path / "out.mp4")
    assert "the frames before it were kept" in str(info.value)
    kept = _streams(tmp_path / "out.mp4")["frames"]
    assert 10 < len(kept) == info.value.frames_read < 40
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_bad_model_and_outputs(tmp_path, talking, astronaut, model_dir):
    with pytest.raises(NotAModelDirError):
        convert(talking, tmp_path, tmp_path / "o.mp4")
    with pytest.raises(UnsupportedOutputError, match=r"\.avi"):
        convert(talking, model_dir, tmp_path / "o.avi")
    folder = tmp_path / "two"
    folder.mkdir()
    write_png(folder / "1.png", astronaut)
    write_png(folder / "2.png", astronaut)
    with pytest.raises(OutputConflictError, match="input has 2"):
        convert(folder, model_dir, tmp_path / "one.png")


def test_ref_face_swaps_only_that_person(tmp_path, astronaut, grace_hopper, grace_hopper_path, model_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    write_png(folder / "astronaut.png", astronaut)
    write_png(folder / "grace.png", grace_hopper)
    summary = convert(folder, model_dir, tmp_path / "out", faces=ExtractConfig(ref_faces=(str(grace_hopper_path),)))
    assert summary.faces_swapped == 1
    # The astronaut is left alone (but for the watermark every output carries); Grace is swapped.
    assert np.abs(read_image(tmp_path / "out" / "astronaut.png").astype(int) - astronaut).max() <= 5
    assert np.abs(read_image(tmp_path / "out" / "grace.png").astype(int) - grace_hopper).max() > 40


# --- outputs that are inputs, or in use (issue 15) ----------------------------------------------


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("spelling", ["./in/../in/talk.mp4", "link.mp4", "in/hard.mp4"])
def test_the_input_video_is_never_replaced(tmp_path, talking, model_dir, monkeypatch, spelling):
    (tmp_path / "in").mkdir()
    video = tmp_path / "in" / "talk.mp4"
    video.write_bytes(talking.read_bytes())
    (tmp_path / "link.mp4").symlink_to(video)
    (tmp_path / "in" / "hard.mp4").hardlink_to(video)
    before = video.read_bytes()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputConflictError, match="is the same file as the input in/talk.mp4; choose another"):
        convert("in/talk.mp4", model_dir, spelling)
    assert video.read_bytes() == before  # byte for byte
    assert _listing(tmp_path / "in") == ["hard.mp4", "talk.mp4"]  # no temporary, no lock left


def test_the_input_image_folder_is_never_written_into(tmp_path, astronaut, model_dir, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    write_png(folder / "face.png", astronaut)
    before = (folder / "face.png").read_bytes()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputConflictError, match="is the same folder as the input in"):
        convert("in", model_dir, "./in/")
    # One photo into its own folder would be written as face.png: over itself.
    with pytest.raises(OutputConflictError, match="face.png: is the same file as the input in/face.png"):
        convert("in/face.png", model_dir, "in")
    with pytest.raises(OutputConflictError, match="is the same file as the input"):
        convert("in/face.png", model_dir, "in/../in/face.png")
    assert (folder / "face.png").read_bytes() == before and _listing(folder) == ["face.png"]


def test_an_output_another_conversion_writes_is_refused(tmp_path, talking, model_dir):
    from facetwin.errors import OutputLockedError

    with lock_held_elsewhere(tmp_path / "out.mp4", "convert", kind="file"):
        with pytest.raises(OutputLockedError, match=r"out.mp4 is in use by facetwin convert \(pid \d+"):
            convert(talking, model_dir, tmp_path / "out.mp4")
    assert _listing(tmp_path) == []


def test_the_part_file_of_a_killed_conversion_is_removed_by_the_next(tmp_path, talking, model_dir):
    # As a kill -9 leaves them (tests/io/test_lock.py kills a real writer): the video's
    # temporary and its signing temporary; a file of another program is kept.
    stale = [".out.mp4.3bor2rec.part", "..out.mp4.3bor2rec.part.zz0011yy.c2pa.tmp"]
    for name in stale:
        (tmp_path / name).write_bytes(b"\0\0\0\x18ftypisom" + bytes(1000))
    (tmp_path / ".notes.txt.abcdefgh.tmp").write_text("not facetwin's")
    summary = convert(talking, model_dir, tmp_path / "out.mp4", config=ConvertConfig(preset="ultrafast"))
    assert summary.frames == 10
    assert _listing(tmp_path) == [".notes.txt.abcdefgh.tmp", "out.mp4"]
