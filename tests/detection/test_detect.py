"""facetwin detect on a tiny dataset of package-shipped portraits (made once per module)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil

import numpy as np
import pytest
import torch
from _helpers import shifted, write_video

from facetwin import cli
from facetwin.config import ExtractConfig, TrainConfig
from facetwin.dataset import DatasetConfig, Pair, generate_dataset
from facetwin.detection import DetectConfig, dataset_splits, evaluate_detector, roc_auc, train_detector
from facetwin.detection.data import crop_square, cut_face, open_dataset, pair_crops
from facetwin.detection.trainer import augment_crops
from facetwin.errors import DatasetFolderError, InvalidOptionError
from facetwin.forensics.watermark import THRESHOLD

FRAMES = 8
# A detector small enough that a step takes a few hundredths of a second.
TINY = DetectConfig(crop_size=64, width=8, steps=4, batch_size=8, save_every=2, log_every=1)


def _video(path, image):
    small = image[:320, 64:384] if image.shape[0] >= 320 else image
    return write_video(path, [shifted(small, 1.5 * i, 0.7 * i)[32:288, 32:288] for i in range(FRAMES)], fps=25)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, astronaut, grace_hopper):
    folder = tmp_path_factory.mktemp("videos")
    astro = _video(folder / "astro.mp4", astronaut)
    grace = _video(folder / "grace.mp4", np.ascontiguousarray(grace_hopper[40:440, 60:460]))
    config = DatasetConfig(
        ladder={"c0": 0, "c23": 23},
        variants=("resize:0.5",),
        init_from=None,
        extract=ExtractConfig(identity=False),
        train=TrainConfig(model="tiny64", steps=2, batch_size=4, preview_every=1000, save_every=1000, log_every=1),
    )
    out = tmp_path_factory.mktemp("dataset")
    summary = generate_dataset([Pair(astro, grace), Pair(grace, astro)], out, config=config, device="cpu")
    assert summary.done == ["astro_grace", "grace_astro"]
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset):
    out = tmp_path_factory.mktemp("detector") / "det"
    summary = train_detector(dataset, out, config=TINY, device="cpu")
    return out, summary


# --- crops ------------------------------------------------------------------------------------


def test_crop_box_is_enlarged_and_squared_around_the_centre():
    # 40 x 20 box centred on (60, 60): a 52-px square (1.3 x the longer side) around the same centre.
    assert crop_square([40, 50, 80, 70], scale=1.3) == (34, 34, 52)
    assert crop_square([40, 50, 80, 70], scale=1.0) == (40, 40, 40)
    left, top, side = crop_square([10.2, 20.7, 30.2, 60.7], scale=1.5)
    assert (
        side == 60
        and left + side / 2 == pytest.approx(20.2, abs=0.5)
        and top + side / 2 == pytest.approx(40.7, abs=0.5)
    )


def test_cut_face_copies_the_square_and_pads_outside_the_frame(astronaut):
    crop = cut_face(astronaut, [100, 120, 140, 140], size=52, scale=1.3)  # side 52: no resizing
    np.testing.assert_array_equal(crop, astronaut[104:156, 94:146])
    # A face at the top-left corner: the square reaches outside, which is black.
    edge = cut_face(astronaut, [0, 0, 20, 20], size=26, scale=1.3)  # square (-3, -3) to (23, 23)
    assert not edge[:3].any() and not edge[:, :3].any()
    np.testing.assert_array_equal(edge[3:, 3:], astronaut[:23, :23])
    small = cut_face(astronaut, [100, 120, 140, 140], size=26, scale=1.3)
    assert small.shape == (26, 26, 3) and small.dtype == np.uint8
    assert abs(float(small.mean()) - float(crop.mean())) < 2  # area-averaged, not a different place


def test_fake_and_real_crops_are_matched(dataset):
    folder = open_dataset(dataset)
    crops = pair_crops(folder, "astro_grace", "c0", size=96, scale=1.3)
    assert len(crops) >= FRAMES - 1 and crops.fake.shape == crops.real.shape == (len(crops), 96, 96, 3)
    diff = np.abs(crops.fake.astype(int) - crops.real.astype(int)).max(axis=3)
    # The same frame and box: the swap changes the face in the middle; the crop's corners
    # (outside the blend mask, which reaches the sides at the forehead and jaw) are the
    # same picture in both, up to the lossless codec.
    corners = np.r_[
        diff[:, :6, :6].ravel(), diff[:, :6, -6:].ravel(), diff[:, -6:, :6].ravel(), diff[:, -6:, -6:].ravel()
    ]
    assert diff[:, 32:64, 32:64].mean() > 8 and corners.mean() < 1, (diff[:, 32:64, 32:64].mean(), corners.mean())


def test_crops_of_a_resized_variant_show_the_same_face(dataset):
    folder = open_dataset(dataset)
    assert folder.levels == ("c0", "c23", "c23_resize0.5") and folder.variants == {"c23_resize0.5": "resize:0.5"}
    full = pair_crops(folder, "grace_astro", "c23", size=64, scale=1.3)
    half = pair_crops(folder, "grace_astro", "c23_resize0.5", size=64, scale=1.3)
    assert len(full) == len(half) > 0
    # Boxes are scaled to the half-size frames: the crops frame the same face (a box left
    # unscaled would cut the top-left quarter of the face, or the background).
    for a, b in ((full.real, half.real), (full.fake, half.fake)):
        a, b = a.astype(float).ravel(), b.astype(float).ravel()
        assert np.corrcoef(a, b)[0, 1] > 0.9


def test_augmentation_flips_and_shifts_by_whole_pixels():
    crops = torch.randint(0, 256, (6, 16, 16, 3), dtype=torch.uint8)
    as_float = crops.permute(0, 3, 1, 2).float() / 255
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(augment_crops(crops, flip=1.0, jitter=0, generator=g), as_float.flip(3))
    torch.testing.assert_close(augment_crops(crops, flip=0.0, jitter=0, generator=g), as_float)
    shifted_crops = augment_crops(crops, flip=0.0, jitter=2, generator=g)
    # Every output is its input moved by at most 2 px: its centre 12 x 12 is found in it.
    for out, src in zip(shifted_crops, as_float):
        assert any(
            torch.equal(out[:, 2:14, 2:14], src[:, 2 + dy : 14 + dy, 2 + dx : 14 + dx])
            for dy, dx in itertools.product(range(-2, 3), repeat=2)
        )


# --- metrics and splits -----------------------------------------------------------------------


def test_auc_against_hand_counts():
    # Positives 0.35 and 0.8 against negatives 0.1 and 0.4: of the 4 pairs, 3 are ordered right.
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    # A tie counts half: 0.5 vs 0.5 -> 1/2, 0.9 vs 0.5 -> 1: (0.5 + 1) / 2.
    assert roc_auc([0.5, 0.5, 0.9], [0, 1, 1]) == 0.75
    assert roc_auc([0.2, 0.3], [1, 1]) is None
    rng = np.random.default_rng(0)
    scores, labels = rng.integers(0, 5, 40) / 4, rng.integers(0, 2, 40)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()
    assert roc_auc(scores, labels) == pytest.approx(pairs / (len(pos) * len(neg)))


def _fake_dataset(root, pairs, splits=None):
    (root / "labels").mkdir(parents=True)
    manifest = {
        "format": "facetwin/dataset",
        "version": 2,
        "settings": {"ladder": {"c0": 0}},
        "pairs": {f"{t}_{s}": {"target": f"{t}.mp4", "source": f"{s}.mp4", "status": "done"} for t, s in pairs},
    }
    if splits is not None:
        manifest["splits"] = splits
    (root / "manifest.json").write_text(json.dumps(manifest))
    for t, s in pairs:
        (root / "labels" / f"{t}_{s}.json").write_text(json.dumps({"complete": True, "rows": []}))
    return root


def test_splits_keep_every_video_in_one_split(tmp_path):
    pairs = [("a", "b"), ("b", "a"), ("c", "d"), ("d", "e"), ("f", "g"), ("h", "i"), ("i", "h"), ("j", "k")]
    root = _fake_dataset(tmp_path / "ds", pairs)
    splits = dataset_splits(root)
    assert splits.method == "videos" and splits.note is None
    assert sorted(sum(splits.values(), [])) == sorted(f"{t}_{s}" for t, s in pairs)
    assert splits["train"] and splits["test"]
    videos = {name: {v for p in names for v in p.split("_")} for name, names in splits.items()}
    assert (
        not videos["train"] & videos["test"]
        and not videos["train"] & videos["val"]
        and not videos["val"] & videos["test"]
    )
    assert dataset_splits(root) == splits  # deterministic


def test_splits_fall_back_to_pairs_and_follow_the_manifest(tmp_path):
    linked = _fake_dataset(tmp_path / "one", [("a", "b"), ("b", "a"), ("b", "c")])
    splits = dataset_splits(linked)
    assert splits.method == "pairs" and "no split keeps videos apart" in splits.note
    assert splits["train"] and splits["test"] and not set(splits["train"]) & set(splits["test"])
    given = {"train": ["a_b"], "val": [], "test": [["b", "a"]], "by": "video", "seed": 0}
    chosen = dataset_splits(_fake_dataset(tmp_path / "given", [("a", "b"), ("b", "a")], given))
    assert chosen.method == "manifest" and chosen == {"train": ["a_b"], "val": [], "test": ["b_a"]}
    with pytest.raises(DatasetFolderError, match="1 finished pair"):
        dataset_splits(_fake_dataset(tmp_path / "single", [("a", "b")]))


def test_config_is_checked():
    with pytest.raises(InvalidOptionError, match="crop_size"):
        DetectConfig(crop_size=8)
    with pytest.raises(InvalidOptionError, match="train_levels"):
        DetectConfig(train_levels="c0")
    with pytest.raises(InvalidOptionError, match="steps"):
        DetectConfig(steps=None)


# --- training and evaluation ------------------------------------------------------------------


def test_training_writes_a_detector_folder(trained):
    out, summary = trained
    assert summary.step == 4 and summary.stopped_by == "steps" and summary.levels == ["c0"]
    assert summary.split["method"] == "pairs"  # two pairs of the same two people
    assert summary.crops["train"] >= FRAMES - 1
    for name in ("config.json", "weights.safetensors", "optimizer.safetensors", "state.json", "history.csv"):
        assert (out / name).is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "facetwin/detector" and config["crop_size"] == 64 and config["levels"] == ["c0"]
    rows = (out / "history.csv").read_text().splitlines()
    assert rows[0].startswith("step,seconds,loss,accuracy") and [r.split(",")[0] for r in rows[1:]] == [
        "1",
        "2",
        "3",
        "4",
    ]


def test_an_interrupted_run_resumes_exactly(tmp_path, dataset, trained):
    straight, _ = trained
    out = tmp_path / "det"
    first = train_detector(dataset, out, config=TINY, device="cpu", should_stop=lambda: True)
    assert first.step == 1 and first.stopped_by == "requested"
    second = train_detector(dataset, out, config=TINY, device="cpu", resume=True)
    assert (second.start_step, second.step, second.notes) == (1, 4, [])
    from safetensors.torch import load_file

    a, b = load_file(straight / "weights.safetensors"), load_file(out / "weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r.split(",")[0] for r in (out / "history.csv").read_text().splitlines()[1:]] == ["1", "2", "3", "4"]


def test_eval_writes_the_report(capsys, dataset, trained):
    out, _ = trained
    assert cli.main(["-q", "detect", "eval", str(dataset), "-m", str(out), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "c23" in printed and "shortcut probe" in printed and "report.json" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "facetwin/detect-report" and report["version"] == 1
    assert report["trained_on"] == ["c0"] and report["step"] == 4
    assert report["split"]["pairs"] == dataset_splits(dataset)["test"] and report["split"]["method"] == "pairs"
    assert set(report["levels"]) == {"c0", "c23", "c23_resize0.5"} and report["levels"]["c0"]["trained"]
    assert report["levels"]["c23_resize0.5"]["variant"] == "resize:0.5" and not report["levels"]["c23"]["trained"]
    for level in ("c0", "c23", "c23_resize0.5"):
        frames, videos = report["levels"][level]["frames"], report["levels"][level]["videos"]
        assert frames["fake"] >= FRAMES - 1 and frames["real"] == frames["fake"]  # one target video: no repeats
        assert (videos["fake"], videos["real"]) == (1, 1)
        assert 0 <= frames["auc"] <= 1 and 0 <= frames["accuracy"] <= 1
    assert set(report["cross_level"]["frame_auc"]) == set(report["levels"])
    assert report["all"]["frames"]["fake"] == sum(v["frames"]["fake"] for v in report["levels"].values())
    probe = report["probe"]["levels"]["c0"]
    # Both kinds carry the mark in this dataset (version 2): the probe takes it out, and the
    # watermark's own score says it worked.
    assert probe["fake_changed"]["mark"] == probe["real_changed"]["mark"] == "removed"
    assert probe["watermark"]["fake"] >= THRESHOLD > probe["watermark"]["fake_changed"]
    assert probe["watermark"]["real"] >= THRESHOLD > probe["watermark"]["real_changed"]
    assert 0 <= report["probe"]["decisions_changed_max"] <= 1
    assert probe["auc_real_changed"] is not None and probe["shift_fake"] is not None


def test_every_config_field_has_an_option():
    parser = cli.build_parser()
    detect = next(a for a in parser._actions if a.dest == "command").choices["detect"]
    train = next(a for a in detect._actions if a.dest == "detect_command").choices["train"]
    dests = {a.dest: a for a in train._actions}
    assert {f.name for f in dataclasses.fields(DetectConfig)} <= set(dests)
    assert all(a.help and len(a.help) > 15 for a in train._actions)


# --- bad input: one line, exit 2 --------------------------------------------------------------


def _one_line(capsys, argv) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_bad_inputs_are_one_line(capsys, tmp_path, dataset, trained):
    out, _ = trained
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "manifest.json" in _one_line(capsys, ["-q", "detect", "train", str(empty), "-o", str(tmp_path / "d")])
    assert "does not exist" in _one_line(
        capsys, ["-q", "detect", "train", str(tmp_path / "nope"), "-o", str(tmp_path / "d")]
    )
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(dataset / "manifest.json", unfinished / "manifest.json")
    assert "no finished pairs" in _one_line(
        capsys, ["-q", "detect", "train", str(unfinished), "-o", str(tmp_path / "d")]
    )
    err = _one_line(capsys, ["-q", "detect", "train", str(dataset), "-o", str(tmp_path / "d"), "--train-levels", "c40"])
    assert "no level c40" in err and "c0, c23, c23_resize0.5" in err
    assert "--crop-size" in _one_line(
        capsys, ["-q", "detect", "train", str(dataset), "-o", str(tmp_path / "d"), "--crop-size", "4"]
    )
    assert "no detector to resume" in _one_line(
        capsys, ["-q", "detect", "train", str(dataset), "-o", str(tmp_path / "d"), "--resume"]
    )
    assert not (tmp_path / "d" / "weights.safetensors").exists()
    assert "not a detector folder" in _one_line(capsys, ["-q", "detect", "eval", str(dataset), "-m", str(empty)])
    swap_model = dataset / "work" / "models" / "astro_grace"
    assert "face-swap model, not a detector" in _one_line(
        capsys, ["-q", "detect", "eval", str(dataset), "-m", str(swap_model)]
    )
    assert "no level c40" in _one_line(
        capsys, ["-q", "detect", "eval", str(dataset), "-m", str(out), "--levels", "c40"]
    )
    assert "no pairs in its val split" in _one_line(
        capsys, ["-q", "detect", "eval", str(dataset), "-m", str(out), "--split", "val", "--no-probe"]
    )
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged, ignore=shutil.ignore_patterns("crops"))
    data = bytearray((damaged / "weights.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (damaged / "weights.safetensors").write_bytes(bytes(data))
    assert "damaged" in _one_line(capsys, ["-q", "detect", "eval", str(dataset), "-m", str(damaged)])
    with pytest.raises(DatasetFolderError, match="no finished pairs"):
        evaluate_detector(out, unfinished)


@pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(), reason="torch built without gloo"
)
def test_torchrun_two_processes(tmp_path, dataset):
    """The path several GPUs take (DDP), over gloo on the CPU: rank 0 cuts the crops and writes."""
    import os
    import subprocess
    import sys

    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "facetwin",
        "-q",
        "detect",
        "train",
        str(dataset),
        "-o",
        str(tmp_path / "det"),
        "--device",
        "cpu",
        "--crop-size",
        "64",
        "--width",
        "8",
        "--steps",
        "3",
        "--batch-size",
        "8",
        "--log-every",
        "1",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("steps 0 -> 3") == 1
    assert json.loads((tmp_path / "det" / "state.json").read_text())["step"] == 3
    assert [r.split(",")[0] for r in (tmp_path / "det" / "history.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]
