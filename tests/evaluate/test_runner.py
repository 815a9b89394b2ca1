"""facetwin evaluate end to end on two short videos of the package portraits, tiny model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from _helpers import shifted, write_video, tiny_model_dir
from facetwin.config import ExtractConfig
from facetwin.evaluate.report import FORMAT, format_table, summary, write_report
from facetwin.evaluate.runner import EvaluateConfig, evaluate
from facetwin.evaluate.split import time_split
from facetwin.extract import extract
from facetwin.forensics import verify
from facetwin.io import read_image

FRAMES, FPS = 30, 10  # test part: the last 6 frames; training part: frames 0-13 (a second's gap)


def _video(path, image):
    small = image[:320, 64:384] if image.shape[0] >= 320 else image
    frames = [shifted(small, 0.8 * i, 0.4 * i)[32:288, 32:288] for i in range(FRAMES)]
    return write_video(path, frames, fps=FPS)


@pytest.fixture(scope="module")
def videos(tmp_path_factory, astronaut, grace_hopper):
    folder = tmp_path_factory.mktemp("videos")
    return _video(folder / "a.mp4", astronaut), _video(folder / "b.mp4", np.ascontiguousarray(grace_hopper[40:440, 60:460]))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def evaluation(videos, model_dir):
    events = []
    result = evaluate(model_dir, *videos, config=EvaluateConfig(reference_frames=4), device="cpu",
                      progress=lambda *e: events.append(e))
    return result, events


def test_every_metric_is_measured_on_the_test_part(evaluation):
    result, events = evaluation
    split = time_split(FRAMES, FPS, held_out=0.2)
    assert result.splits["a"]["test"] == [split.test.start, split.test.stop] == [24, 30]
    for name in ("a_to_b", "b_to_a"):
        faces = result.directions[name]
        assert [f.frame for f in faces] == list(range(24, 30))
        row = summary(result)[name]
        for key in ("id_retrieval_dlib", "identity_dlib_to_target", "identity_dlib_to_source", "landmark_error",
                    "pose_error_yaw", "seam", "flicker", "jitter_ratio"):
            assert row[key] is not None and math.isfinite(row[key]), key
        assert 0 <= row["id_retrieval_dlib"] <= 1
    assert result.reconstruction["a"]["faces"] == 6 and 0 < result.reconstruction["a"]["ssim"] <= 1
    assert {e[0] for e in events} >= {"a read", "a->b"}


def test_untrained_model_does_not_pass_for_the_target(evaluation):
    # An untrained model's output is grey noise: not a face of either person, so it
    # should not look like the target more than a real face of the target does (< 0.6).
    result, _ = evaluation
    row = summary(result)["a_to_b"]
    assert row["identity_dlib_to_target"] > 0.6


def test_report_files(evaluation, tmp_path):
    result, _ = evaluation
    paths = write_report(result, tmp_path)
    doc = json.loads(paths["report"].read_text())
    assert doc["format"] == FORMAT and doc["summary"]["a_to_b"]["faces"] == 6
    assert len(doc["faces"]["b_to_a"]) == 6 and doc["model_fingerprint"].startswith("sha256:")
    sheet = read_image(paths["sheet"])
    assert sheet.shape[0] > 160 and sheet.shape[2] == 3
    assert verify(paths["sheet"]).synthetic  # it shows swapped faces: marked like every output
    table = format_table(result)
    assert "A -> B" in table and "landmark error" in table and "reconstruction A->A" in table


def test_held_out_extraction_never_reads_the_test_part(videos, tmp_path):
    summary_ = extract(videos[0], tmp_path / "faces", config=ExtractConfig(held_out=0.2))
    split = time_split(FRAMES, FPS, held_out=0.2)
    assert summary_.frames_read == split.train.stop == 14
    assert max(int(p.stem.split("_")[0]) for p in (tmp_path / "faces").glob("*.png")) < split.test.start


def test_cli_prints_the_table_and_writes_the_report(videos, model_dir, tmp_path, capsys):
    from facetwin.cli import main

    code = main(["-q", "evaluate", "--model", str(model_dir), "--a", str(videos[0]), "--b", str(videos[1]),
                 "-o", str(tmp_path / "ev"), "--device", "cpu"])
    assert code == 0
    out = capsys.readouterr().out
    assert "ID retrieval" in out and (tmp_path / "ev" / "report.json").is_file()
    assert main(["evaluate", "--model", str(model_dir), "--a", str(videos[0]), "--b", str(videos[1]),
                 "--held-out", "0.95"]) == 2
