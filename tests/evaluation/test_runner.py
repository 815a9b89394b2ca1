"""facetwin evaluate end to end on two short videos of the package portraits, tiny model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _helpers import shifted, tiny_model_dir, write_video

from facetwin.config import ExtractConfig
from facetwin.data.split import time_split
from facetwin.evaluation.report import FORMAT, format_table, summary, write_report
from facetwin.evaluation.runner import EvaluateConfig, evaluate
from facetwin.extraction import extract
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
    return _video(folder / "a.mp4", astronaut), _video(
        folder / "b.mp4", np.ascontiguousarray(grace_hopper[40:440, 60:460])
    )


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def evaluation(videos, model_dir):
    events = []
    result = evaluate(
        model_dir, *videos, config=EvaluateConfig(reference_frames=4), device="cpu", progress=events.append
    )
    return result, events


def test_every_metric_is_measured_on_the_test_part(evaluation):
    result, events = evaluation
    split = time_split(FRAMES, FPS, held_out=0.2)
    assert result.splits["a"]["test"] == [split.test.start, split.test.stop] == [24, 30]
    for name in ("a_to_b", "b_to_a"):
        faces = result.directions[name]
        assert [f.frame for f in faces] == list(range(24, 30))
        row = summary(result)[name]
        for key in (
            "id_retrieval_dlib",
            "identity_dlib_to_target",
            "identity_dlib_to_source",
            "landmark_error",
            "pose_error_yaw",
            "seam",
            "flicker",
            "jitter_ratio",
        ):
            assert row[key] is not None and math.isfinite(row[key]), key
        assert 0 <= row["id_retrieval_dlib"] <= 1
    assert result.reconstruction["a"]["faces"] == 6 and 0 < result.reconstruction["a"]["ssim"] <= 1
    assert {e.stage for e in events} >= {"a read", "a->b"}


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

    code = main(
        [
            "-q",
            "evaluate",
            "--model",
            str(model_dir),
            str(videos[0]),
            str(videos[1]),
            "-o",
            str(tmp_path / "ev"),
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "ID top-1 in the gallery" in out and "ID two-way" in out and (tmp_path / "ev" / "report.json").is_file()
    assert main(["evaluate", "--model", str(model_dir), str(videos[0]), str(videos[1]), "--held-out", "0.95"]) == 2
    capsys.readouterr()
    # --json: stdout is the JSON alone (a pipe parses it), where it went is on stderr.
    argv = ["-q", "evaluate", "-m", str(model_dir), str(videos[0]), str(videos[1]), "-o", str(tmp_path / "ev2")]
    assert main([*argv, "--device", "cpu", "--json"]) == 0
    captured = capsys.readouterr()
    assert set(json.loads(captured.out)) >= {"a_to_b", "b_to_a"}
    assert "report.json" in captured.err


# --- many pairs --------------------------------------------------------------------------------


def test_every_face_has_a_gallery_rank_expression_and_detail(evaluation):
    result, _ = evaluation
    assert result.gallery == ["a", "b"]  # one pair, no extra people: its two people
    for name in ("a_to_b", "b_to_a"):
        row = summary(result)[name]
        for key in (
            "id_top1_dlib",
            "id_top5_dlib",
            "pose_error_l2",
            "expression_error",
            "detail_ratio",
            "motion_ratio",
        ):
            assert row[key] is not None and math.isfinite(row[key]), key
        assert row["id_top5_dlib"] == 1.0  # two people: the target is always among the first five
        faces = result.directions[name]
        assert all(f.rank_dlib in (1, 2) for f in faces)
        # With two people, top-1 by cosine and two-way by Euclidean distance mostly agree.
        assert abs(row["id_top1_dlib"] - row["id_retrieval_dlib"]) <= 0.5


@pytest.fixture(scope="module")
def pair_list(tmp_path_factory, videos, model_dir):
    folder = tmp_path_factory.mktemp("pairs")
    (folder / "pairs.csv").write_text(
        f"target,source,model\n{videos[0]},{videos[1]},{model_dir}\n{videos[1]},{videos[0]},{model_dir}\n"
    )
    return folder / "pairs.csv"


def test_many_pairs_share_one_gallery_and_summarise_over_pairs(pair_list, videos, tmp_path, grace_hopper):
    from facetwin.evaluation.pairs import (
        evaluate_pairs,
        format_pairs_table,
        load_pairs,
        pairs_summary,
        write_pairs_report,
    )
    from facetwin.io import write_png

    extra = tmp_path / "extra" / "grace"
    extra.mkdir(parents=True)
    write_png(extra / "0.png", grace_hopper)
    pairs = load_pairs(pair_list)
    assert [p.name for p in pairs] == ["a_b", "b_a"]
    result = evaluate_pairs(
        pairs, config=EvaluateConfig(reference_frames=4, max_frames=4), gallery=[extra], gallery_frames=1, device="cpu"
    )
    assert sorted(result.pairs) == ["a_b", "b_a"] and not result.failed
    assert [p.name for p in result.gallery.people] == ["a", "b", "grace"]
    data = pairs_summary(result)
    assert [r["direction"] for r in data["rows"]] == ["a->b", "b->a", "b->a", "a->b"]
    assert all(r["gallery_size"] == 3 for r in data["rows"])
    top1 = [data["pairs"][name]["id_top1_dlib"] for name in ("a_b", "b_a")]
    assert data["overall"]["id_top1_dlib"]["mean"] == pytest.approx(np.mean(top1))
    assert data["overall"]["id_top1_dlib"]["std"] == pytest.approx(np.std(top1, ddof=1))
    assert data["overall"]["pose_error_l2"]["pairs"] == 2
    table = format_pairs_table(result, data)
    assert "gallery of 3 people" in table and "ID top-1 in the gallery, dlib" in table and "a->b" in table
    paths = write_pairs_report(result, tmp_path / "ev")
    lines = paths["csv"].read_text().splitlines()
    assert lines[0].startswith("pair,direction,") and len(lines) == 1 + 4 + 2
    assert (tmp_path / "ev" / "a_b" / "report.json").is_file()
    assert json.loads(paths["summary"].read_text())["gallery_size"] == 3


def test_pair_lists_need_a_model_for_every_pair(tmp_path, videos, model_dir):
    from facetwin.errors import InputNotFoundError, InvalidOptionError
    from facetwin.evaluation.pairs import load_pairs

    (tmp_path / "no_model.csv").write_text(f"{videos[0]},{videos[1]}\n")
    with pytest.raises(InvalidOptionError, match="a model for every pair"):
        load_pairs(tmp_path / "no_model.csv")
    (tmp_path / "missing_model.csv").write_text(f"{videos[0]},{videos[1]},{tmp_path / 'nothing'}\n")
    with pytest.raises(InputNotFoundError):
        load_pairs(tmp_path / "missing_model.csv")
    (tmp_path / "pairs.json").write_text(
        json.dumps([{"target": str(videos[0]), "source": str(videos[1]), "model": str(model_dir)}])
    )
    assert load_pairs(tmp_path / "pairs.json")[0].model == model_dir


def test_a_dataset_folder_is_a_pair_list(tmp_path, videos, model_dir):
    import shutil

    from facetwin.errors import InputNotFoundError, InvalidOptionError
    from facetwin.evaluation.pairs import load_pairs

    folder = tmp_path / "dataset"
    with pytest.raises(InputNotFoundError):
        load_pairs(folder.parent)  # a folder without manifest.json
    (folder / "original").mkdir(parents=True)
    for video in videos:
        shutil.copy(video, folder / "original" / video.name)
    (folder / "manifest.json").write_text(json.dumps({"pairs": {"a_b": {"target": "a.mp4", "source": "b.mp4"}}}))
    with pytest.raises(InputNotFoundError):  # the model it trained is gone
        load_pairs(folder)
    shutil.copytree(model_dir, folder / "work" / "models" / "a_b")
    pairs = load_pairs(folder)
    assert [(p.target.name, p.source.name, p.model.name) for p in pairs] == [("a.mp4", "b.mp4", "a_b")]
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(InvalidOptionError):
        load_pairs(folder)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--pairs", "{missing}"], "input not found"),
        (["--pairs", "{empty}"], "at least one pair"),
        (["--pairs", "{no_model}"], "a model for every pair"),
        (["--pairs", "{list}", "--model", "{model}"], "--pairs must be given alone"),
        (["--model", "{model}", "{a}"], "VIDEO_B is missing"),
        (["--pairs", "{list}", "--gallery", "{missing}"], "input not found"),
        (["--pairs", "{list}", "--gallery-frames", "0"], "--gallery-frames must be 1 or more"),
    ],
)
def test_cli_bad_pair_inputs_are_one_line_and_exit_2(argv, message, tmp_path, videos, model_dir, pair_list, capsys):
    from facetwin.cli import main

    (tmp_path / "empty.csv").write_text("target,source,model\n")
    (tmp_path / "no_model.csv").write_text(f"{videos[0]},{videos[1]}\n")
    names = {
        "missing": tmp_path / "missing.csv",
        "empty": tmp_path / "empty.csv",
        "no_model": tmp_path / "no_model.csv",
        "list": pair_list,
        "model": model_dir,
        "a": videos[0],
    }
    assert main(["evaluate", *(a.format(**names) for a in argv)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_cli_evaluates_a_pair_list(pair_list, tmp_path, capsys):
    from facetwin.cli import main

    code = main(
        [
            "-q",
            "evaluate",
            "--pairs",
            str(pair_list),
            "--max-frames",
            "3",
            "-o",
            str(tmp_path / "ev"),
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "2 pairs, both directions; gallery of 2 people" in out and "b->a" in out
    assert (tmp_path / "ev" / "summary.csv").is_file() and (tmp_path / "ev" / "b_a" / "contact_sheet.png").is_file()
