from fractions import Fraction

import av
import numpy as np
import pytest

from _helpers import shifted, write_video, tiny_model_dir
from facetwin import ExtractConfig, extract
from facetwin.config import ConvertConfig
from facetwin.convert import convert
from facetwin.errors import InvalidAlignmentsError, NotAModelDirError, OutputConflictError, UnsupportedOutputError
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
        return {"frames": frames, "rate": v.average_rate, "size": (v.width, v.height),
                "audio": [s.codec_context.name for s in c.streams.audio]}


def test_video_keeps_frames_rate_size_and_sound(tmp_path, talking, model_dir):
    calls = []
    summary = convert(talking, model_dir, tmp_path / "out.mp4", progress=lambda *a: calls.append(a))
    src, out = _streams(talking), _streams(tmp_path / "out.mp4")
    assert len(out["frames"]) == len(src["frames"]) == 10
    assert out["rate"] == src["rate"] == Fraction(30000, 1001)
    assert out["size"] == src["size"] and out["audio"] == ["aac"]
    assert summary.frames == 10 and summary.frames_with_faces == 8 and summary.faces_swapped == 8
    assert calls[-1] == (10, 10, 8)
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
    def stop(done, total, faces):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert(talking, model_dir, tmp_path / "cut.mp4", progress=stop)
    assert list(tmp_path.iterdir()) == []


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
